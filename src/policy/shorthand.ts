import { PolicyError } from './errors.ts'
import type { Action, Rule, Rules, TimeWindow } from './types.ts'

/** Subscription fields that expand to rules when the subscription has no `policy`. */
export const SHORTHAND_FIELDS = ['window', 'acceptRealtime', 'deployOnConnect', 'stageOnly', 'confirm'] as const
export type ShorthandField = typeof SHORTHAND_FIELDS[number]

/** Policy fields of a parsed subscription. `null` means the same as a missing field. */
export interface PolicyFields {
  policy?: Rules | null
  window?: TimeWindow | null
  acceptRealtime?: boolean | null
  deployOnConnect?: boolean | null
  stageOnly?: boolean | null
  confirm?: boolean | null
}

/** Returns the shorthand fields that are set (not missing and not null). */
export function presentShorthandFields (fields: PolicyFields): ShorthandField[] {
  return SHORTHAND_FIELDS.filter(field => fields[field] != null)
}

export function mixedFieldsMessage (field: ShorthandField): string {
  return `"${field}" cannot be combined with "policy": express it as a rule in the policy, or remove the policy`
}

/**
 * Returns the rules of a parsed subscription: its `policy` when set, else
 * the rules that the shorthand fields expand to. With no field set, that
 * is the default policy: stage every arriving intent, activate on an
 * admin's retry. Throws `PolicyError` when `policy` and shorthand fields
 * are both set. docs/POLICY.md lists the expansion.
 */
export function expandPolicy (fields: PolicyFields): Rules {
  if (fields.policy == null) return expandShorthand(fields)

  const mixed = presentShorthandFields(fields)
  if (mixed.length > 0) {
    throw new PolicyError(mixed.map(field => ({ path: [field], message: mixedFieldsMessage(field) })))
  }
  return fields.policy
}

function expandShorthand (fields: PolicyFields): Rules {
  const stageOnly = fields.stageOnly === true
  const confirm = fields.confirm === true
  const window = fields.window ?? undefined
  const deploy = (): Action[] => stageOnly ? ['stage'] : ['stage', 'activate']
  const rules: Rules = {}

  // With stageOnly and a window, staging itself waits for the window (a
  // metered link); otherwise arrivals stage at once so a window is spent activating.
  if (!stageOnly || window === undefined) {
    rules.arrival = { actions: ['stage'], triggers: ['realtime', 'poll_on_connect'], confirm: false }
  }
  if (fields.acceptRealtime === true) {
    rules.realtime = { actions: deploy(), triggers: ['realtime'], confirm }
  }
  if (fields.deployOnConnect === true) {
    rules.connect = { actions: deploy(), triggers: ['poll_on_connect'], confirm }
  }
  rules.retry = { actions: deploy(), triggers: ['user_retry'], confirm }
  if (window !== undefined) {
    rules.window = windowRule(window, stageOnly, confirm)
  }
  return rules
}

function windowRule (window: TimeWindow, stageOnly: boolean, confirm: boolean): Rule {
  return {
    actions: stageOnly ? ['stage'] : ['stage', 'activate', 'restart'],
    triggers: ['schedule'],
    window: { ...window, days: [...window.days] },
    confirm
  }
}

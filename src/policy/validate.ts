import type { z } from 'zod'
import { severityOf, type FindingCode, type FindingSeverity } from './findings.ts'
import { listItemName, policyFieldsSchema, showValue } from './schema.ts'
import { mixedFieldsMessage, presentShorthandFields, type PolicyFields } from './shorthand.ts'

type Path = Array<string | number>

/** One problem in a subscription set. */
export interface PolicyFinding {
  code: FindingCode
  severity: FindingSeverity
  /** Name of the subscription, or null when it has none. */
  subscription: string | null
  /** Name of the rule, or null when the finding concerns the subscription. */
  rule: string | null
  /** Location of the value, from the subscription list: `[0, 'policy', 'nightly', 'window', 'zone']`. */
  path: Path
  message: string
}

/** The findings for a subscription set. `valid` is false when any finding is an error. */
export interface PolicyReport {
  valid: boolean
  findings: PolicyFinding[]
}

/** Subscription and rule that a finding concerns, for its message and fields. */
interface Subject {
  index: number
  subscription: string | null
  rule: string | null
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function describeSubject (subject: Subject): string {
  const subscription = subject.subscription === null
    ? `subscription ${subject.index} (unnamed)`
    : `subscription "${subject.subscription}"`
  return subject.rule === null ? subscription : `${subscription}, rule "${subject.rule}"`
}

function finding (code: FindingCode, subject: Subject, path: Path, detail: string): PolicyFinding {
  return {
    code,
    severity: severityOf(code),
    subscription: subject.subscription,
    rule: subject.rule,
    path: [subject.index, ...path],
    message: `${describeSubject(subject)}: ${detail}`
  }
}

function valueAt (root: unknown, path: Path): unknown {
  let value = root
  for (const segment of path) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined
    value = (value as Record<string | number, unknown>)[segment]
  }
  return value
}

/** Returns the finding code for a zod issue of `policyFieldsSchema`, using the raw subscription for context. */
function classifyIssue (issue: z.core.$ZodIssue, path: Path, raw: unknown): FindingCode {
  const params = issue.code === 'custom' ? issue.params as { finding?: FindingCode } | undefined : undefined
  if (params?.finding !== undefined) return params.finding

  const parent = path.at(-2)
  switch (issue.code) {
    case 'unrecognized_keys':
      return 'unknown_field'
    case 'invalid_key':
      return 'invalid_rule_name'
    case 'invalid_value':
      if (parent === 'actions') return 'unknown_action'
      if (parent === 'triggers') return 'unknown_trigger'
      return 'invalid_field'
    case 'invalid_format':
    case 'too_big':
      return path.at(-1) === 'name' ? 'invalid_rule_name' : 'invalid_field'
    case 'invalid_type':
      if (path.length === 1 && path[0] === 'policy') return 'invalid_policy'
      return valueAt(raw, path) === undefined ? 'missing_field' : 'invalid_field'
    default:
      return 'invalid_field'
  }
}

/** Returns the rule an issue path points into, for a map or a list policy. */
function ruleNameAt (path: Path, policy: unknown): string | null {
  if (path[0] !== 'policy' || path.length < 2) return null
  const key = path[1]
  if (typeof key === 'string') return key
  return Array.isArray(policy) ? listItemName(policy[key], key) : null
}

function issueFindings (raw: Record<string, unknown>, index: number, subscription: string | null): PolicyFinding[] {
  const result = policyFieldsSchema.safeParse(raw)
  if (result.success) return []
  return result.error.issues.flatMap(issue => {
    const path = issue.path.map(segment => typeof segment === 'symbol' ? String(segment) : segment)
    const code = classifyIssue(issue, path, raw)
    // Mixed fields are reported from the raw subscription, since zod skips that check when other fields fail.
    if (code === 'mixed_policy_fields') return []
    const rule = ruleNameAt(path, raw.policy)
    const prefix = rule === null ? '' : `rule "${rule}": `
    const detail = issue.message.startsWith(prefix) ? issue.message.slice(prefix.length) : issue.message
    return [finding(code, { index, subscription, rule }, path, detail)]
  })
}

function mixedFieldFindings (raw: Record<string, unknown>, subject: Subject): PolicyFinding[] {
  if (raw.policy == null) return []
  return presentShorthandFields(raw as PolicyFields)
    .map(field => finding('mixed_policy_fields', subject, [field], mixedFieldsMessage(field)))
}

function hasEmptyDays (window: unknown): boolean {
  return isPlainObject(window) && Array.isArray(window.days) && window.days.length === 0
}

const NO_DAYS_MESSAGE = 'the window never opens because days is empty: list days such as ["mon", "fri"], ' +
  'or leave out days for every day'

/**
 * Returns the warnings for one rule, raw or parsed, with `path` leading to
 * the rule. Each check reads only the fields it needs, so a rule with an
 * error in another field still gets its warnings.
 */
function ruleWarnings (rule: Record<string, unknown>, subject: Subject, path: Path): PolicyFinding[] {
  const actions = Array.isArray(rule.actions) ? rule.actions as unknown[] : undefined
  const triggers = Array.isArray(rule.triggers) ? rule.triggers as unknown[] : undefined
  const hasWindow = isPlainObject(rule.window)
  const warnings: PolicyFinding[] = []
  if (actions?.length === 0) {
    warnings.push(finding('no_actions', subject, [...path, 'actions'],
      'the rule never applies because actions is empty: list stage, activate or restart, or remove the rule'))
  }
  if (triggers?.length === 0) {
    warnings.push(finding('no_triggers', subject, [...path, 'triggers'],
      'the rule never applies because triggers is empty: list realtime, poll_on_connect, schedule or user_retry, ' +
      'or remove the rule'))
  }
  if (hasEmptyDays(rule.window)) {
    warnings.push(finding('no_days', subject, [...path, 'window', 'days'], NO_DAYS_MESSAGE))
  }
  if (actions !== undefined && actions.includes('restart') && !actions.includes('activate')) {
    warnings.push(finding('restart_without_activate', subject, [...path, 'actions'],
      'actions has "restart" but not "activate", although restart activates too: add "activate", ' +
      'or replace "restart" with "activate" if the rule must not reboot or restart'))
  }
  if (hasWindow && triggers !== undefined && triggers.length > 0 && !triggers.includes('schedule')) {
    warnings.push(finding('window_without_schedule', subject, [...path, 'triggers'],
      'the rule has a window but no "schedule" trigger, so a deployment that arrives while the window is ' +
      'closed does not wait for it: add "schedule" to triggers if it should'))
  }
  return warnings
}

/** Returns the warnings for each rule of a raw or parsed policy. */
function policyWarnings (policy: unknown, index: number, subscription: string | null): PolicyFinding[] {
  const entries: Array<[string, unknown, string | number]> = Array.isArray(policy)
    ? policy.map((item, position) => [listItemName(item, position), item, position])
    : isPlainObject(policy) ? Object.entries(policy).map(([name, rule]) => [name, rule, name]) : []
  return entries.flatMap(([rule, raw, key]) => isPlainObject(raw)
    ? ruleWarnings(raw, { index, subscription, rule }, ['policy', key])
    : [])
}

/** Returns warnings for the shorthand window, the only shorthand field that can make a rule that never applies. */
function shorthandWarnings (raw: Record<string, unknown>, index: number, subscription: string | null): PolicyFinding[] {
  if (raw.policy != null || !hasEmptyDays(raw.window)) return []
  return [finding('no_days', { index, subscription, rule: 'window' }, ['window', 'days'], NO_DAYS_MESSAGE)]
}

function subscriptionName (raw: Record<string, unknown>): string | null {
  return typeof raw.name === 'string' && raw.name !== '' ? raw.name : null
}

function nameFindings (
  raw: Record<string, unknown>,
  subject: Subject,
  firstIndexByName: Map<string, number>
): PolicyFinding[] {
  if (subject.subscription === null) {
    return [finding('missing_subscription_name', subject, ['name'],
      `missing subscription name (got ${raw.name === undefined ? 'none' : showValue(raw.name)}): ` +
      'give every subscription a unique name')]
  }
  const firstIndex = firstIndexByName.get(subject.subscription)
  if (firstIndex === undefined) {
    firstIndexByName.set(subject.subscription, subject.index)
    return []
  }
  return [finding('duplicate_subscription', subject, ['name'],
    `subscriptions ${firstIndex} and ${subject.index} are both named "${subject.subscription}": ` +
    'give each subscription its own name')]
}

/**
 * Validates the policies of a whole subscription set, raw from a config
 * file or already parsed, and returns every finding: errors that make the
 * set invalid and warnings about rules that never apply or mislead.
 */
export function validateSubscriptions (subscriptions: unknown): PolicyReport {
  if (!Array.isArray(subscriptions)) {
    const found: PolicyFinding = {
      code: 'invalid_subscription',
      severity: 'error',
      subscription: null,
      rule: null,
      path: [],
      message: `expected a list of subscriptions, got ${showValue(subscriptions)}`
    }
    return { valid: false, findings: [found] }
  }

  const findings: PolicyFinding[] = []
  const firstIndexByName = new Map<string, number>()
  subscriptions.forEach((raw: unknown, index) => {
    if (!isPlainObject(raw)) {
      findings.push(finding('invalid_subscription', { index, subscription: null, rule: null }, [],
        `expected an object with a name and policy fields, got ${showValue(raw)}`))
      return
    }
    const subscription = subscriptionName(raw)
    const subject = { index, subscription, rule: null }
    findings.push(
      ...nameFindings(raw, subject, firstIndexByName),
      ...mixedFieldFindings(raw, subject),
      ...issueFindings(raw, index, subscription),
      ...(raw.policy == null ? [] : policyWarnings(raw.policy, index, subscription)),
      ...shorthandWarnings(raw, index, subscription)
    )
  })
  return { valid: findings.every(item => item.severity !== 'error'), findings }
}

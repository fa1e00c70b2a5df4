import { z } from 'zod'
import { PolicyError, type PolicyIssue } from './errors.ts'
import { isKnownZone } from './zone.ts'
import type { FindingCode } from './findings.ts'
import { expandPolicy, mixedFieldsMessage, presentShorthandFields, type PolicyFields } from './shorthand.ts'
import {
  ACTIONS, TRIGGERS, WEEKDAYS,
  type Action, type Rule, type Rules, type TimeWindow, type Trigger, type Weekday
} from './types.ts'

export { expandPolicy }
export type { PolicyFields }

export const RULE_NAME_MAX_CHARS = 64
const RULE_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]*$/
const START_PATTERN = /^([01]\d|2[0-3]):[0-5]\d$/
const END_PATTERN = /^(([01]\d|2[0-3]):[0-5]\d|24:00)$/
const RULE_FIELDS = ['actions', 'triggers', 'window', 'confirm']
const WINDOW_FIELDS = ['days', 'start', 'end', 'zone']
const FULL_DAY_NAMES = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']

type IssueContext = z.core.$RefinementCtx | z.core.ParsePayload
type ErrorMap = (issue: z.core.$ZodRawIssue) => string | undefined

/** Parameters that tell `validateSubscriptions` which finding a custom issue is. */
function findingParams (code: FindingCode): { finding: FindingCode } {
  return { finding: code }
}

/** Formats an input value for a message: strings quoted, long values cut. */
export function showValue (value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 60 ? `${text.slice(0, 57)}...` : text
}

function listWords (values: readonly string[]): string {
  return `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`
}

function fieldList (fields: string[]): string {
  return listWords(fields.map(field => `"${field}"`))
}

function objectError (kind: string, fields: string[]): ErrorMap {
  return issue => {
    if (issue.code === 'unrecognized_keys') {
      const keys = issue.keys.map(key => `"${key}"`).join(', ')
      return `unknown field ${keys} in ${kind}: use ${fieldList(fields)}`
    }
    if (issue.code === 'invalid_type') {
      return `expected ${kind} to be an object with the fields ${fields.join(', ')}, got ${showValue(issue.input)}`
    }
    return undefined
  }
}

function booleanError (field: string): ErrorMap {
  return issue => `expected ${field} to be true or false, got ${showValue(issue.input)}`
}

function listError (field: string, example: string): ErrorMap {
  return issue => issue.input === undefined
    ? `missing ${field}: list them, e.g. ${example}`
    : `expected ${field} to be a list such as ${example}, got ${showValue(issue.input)}`
}

export const actionSchema = z.enum(ACTIONS, {
  error: issue => `unknown action ${showValue(issue.input)}: use ${listWords(ACTIONS)}`
})

export const triggerSchema = z.enum(TRIGGERS, {
  error: issue => `unknown trigger ${showValue(issue.input)}: use ${listWords(TRIGGERS)}`
})

/** Parses a day name, short (`mon`) or full (`monday`), in any letter case. */
export function parseWeekday (value: string): Weekday | undefined {
  const lower = value.toLowerCase()
  const short = WEEKDAYS.find(day => day === lower)
  if (short !== undefined) return short
  const index = FULL_DAY_NAMES.indexOf(lower)
  return index === -1 ? undefined : WEEKDAYS[index]
}

const daySchema = z.unknown().transform((input, ctx): Weekday => {
  const day = typeof input === 'string' ? parseWeekday(input) : undefined
  if (day !== undefined) return day
  ctx.issues.push({
    code: 'custom',
    input,
    message: `unknown day ${showValue(input)}: use ${listWords(WEEKDAYS)}, or the full English name`,
    params: findingParams('invalid_day')
  })
  return z.NEVER
})

function timeSchema (field: 'start' | 'end'): z.ZodType<string> {
  const pattern = field === 'start' ? START_PATTERN : END_PATTERN
  const range = field === 'start' ? '00:00 to 23:59' : '00:00 to 24:00'
  return z.unknown().transform((input, ctx): string => {
    if (typeof input === 'string' && pattern.test(input)) return input
    ctx.issues.push({
      code: 'custom',
      input,
      message: input === undefined
        ? `missing window ${field}: give a time of day as HH:MM, ${range}`
        : `invalid window ${field} ${showValue(input)}: use HH:MM, ${range}`,
      params: findingParams(input === undefined ? 'missing_field' : 'invalid_time')
    })
    return z.NEVER
  })
}

/**
 * An IANA zone name, kept as written: Intl's canonical names are legacy ones
 * (`Asia/Calcutta` for `Asia/Kolkata`) that operators would not recognise.
 */
export const zoneSchema = z.unknown().transform((input, ctx): string => {
  if (typeof input === 'string' && isKnownZone(input)) return input
  ctx.issues.push({
    code: 'custom',
    input,
    message: `unknown time zone ${showValue(input)}: use an IANA name such as "Europe/Berlin" or "UTC"`,
    params: findingParams('invalid_zone')
  })
  return z.NEVER
})

function sortUnique<T extends string> (values: readonly T[], order: readonly T[]): T[] {
  return order.filter(value => values.includes(value))
}

export const windowSchema = z.strictObject({
  days: z.array(daySchema, { error: listError('days', '["mon", "fri"]') }).nullish(),
  start: timeSchema('start'),
  end: timeSchema('end'),
  zone: zoneSchema.nullish()
}, { error: objectError('window', WINDOW_FIELDS) }).superRefine((window, ctx) => {
  if (window.start !== window.end) return
  ctx.addIssue({
    code: 'custom',
    path: ['end'],
    message: `window start and end are both "${window.start}": for a whole day use start "00:00" ` +
      'and end "24:00", or leave out the window to apply at all times',
    params: findingParams('window_start_equals_end')
  })
}).transform((window): TimeWindow => {
  const normalised: TimeWindow = {
    days: window.days == null ? [...WEEKDAYS] : sortUnique(window.days, WEEKDAYS),
    start: window.start,
    end: window.end
  }
  if (window.zone != null) normalised.zone = window.zone
  return normalised
})

function invalidRuleNameMessage (name: unknown): string {
  return `invalid rule name ${showValue(name)}: use at most ${RULE_NAME_MAX_CHARS} letters, digits, "_" or "-", ` +
    'starting with a letter or digit'
}

export const ruleNameSchema = z.string({ error: issue => `expected a rule name, got ${showValue(issue.input)}` })
  .max(RULE_NAME_MAX_CHARS, { error: issue => invalidRuleNameMessage(issue.input) })
  .regex(RULE_NAME_PATTERN, { error: issue => invalidRuleNameMessage(issue.input) })

const ruleShape = {
  actions: z.array(actionSchema, { error: listError('actions', '["stage", "activate"]') }),
  triggers: z.array(triggerSchema, { error: listError('triggers', '["realtime", "schedule"]') }),
  window: windowSchema.nullish(),
  confirm: z.boolean({ error: booleanError('confirm') }).nullish()
}

interface ParsedRule {
  actions: Action[]
  triggers: Trigger[]
  window?: TimeWindow | null
  confirm?: boolean | null
}

function toRule (parsed: ParsedRule): Rule {
  const rule: Rule = {
    actions: sortUnique(parsed.actions, ACTIONS),
    triggers: sortUnique(parsed.triggers, TRIGGERS),
    confirm: parsed.confirm ?? false
  }
  if (parsed.window != null) rule.window = parsed.window
  return rule
}

/** One rule of a policy map. Parses to a normalised `Rule`. */
export const ruleSchema = z.strictObject(ruleShape, { error: objectError('rule', RULE_FIELDS) }).transform(toRule)

const listedRuleSchema = z.strictObject(
  { name: ruleNameSchema.nullish(), ...ruleShape },
  { error: objectError('rule', ['name', ...RULE_FIELDS]) }
)

/** Returns the name a list item gets: its own `name`, else `rule-<position from 1>`. */
export function listItemName (item: unknown, index: number): string {
  const name = typeof item === 'object' && item !== null ? (item as { name?: unknown }).name : undefined
  return typeof name === 'string' ? name : `rule-${index + 1}`
}

/** Pushes issues of a nested parse into `ctx`, under `prefix` and with `describe` applied to each message. */
function forwardIssues (
  ctx: IssueContext,
  issues: z.core.$ZodIssue[],
  prefix: Array<string | number> = [],
  describe: (message: string) => string = message => message
): void {
  for (const issue of issues) {
    const forwarded = { ...issue, path: [...prefix, ...issue.path], message: describe(issue.message) }
    ctx.issues.push(forwarded as z.core.$ZodRawIssue)
  }
}

function describeListItem (index: number, generated: boolean): string {
  return generated ? `${index} (unnamed, so named by its position)` : String(index)
}

function isGeneratedName (item: unknown, name: string): boolean {
  return (item as { name?: unknown } | null)?.name !== name
}

const policyListSchema = z.array(z.unknown()).transform((items, ctx): Rules => {
  const rules: Rules = {}
  const firstIndexByName = new Map<string, number>()
  items.forEach((item, index) => {
    const name = listItemName(item, index)
    const firstIndex = firstIndexByName.get(name)
    if (firstIndex !== undefined) {
      const generated = isGeneratedName(item, name)
      const first = describeListItem(firstIndex, isGeneratedName(items[firstIndex], name))
      ctx.issues.push({
        code: 'custom',
        input: item,
        path: generated ? [index] : [index, 'name'],
        message: `list items ${first} and ${describeListItem(index, generated)} are both named "${name}": ` +
          'give each rule its own name',
        params: findingParams('duplicate_rule')
      })
    } else {
      firstIndexByName.set(name, index)
    }

    const result = listedRuleSchema.safeParse(item)
    if (!result.success) {
      forwardIssues(ctx, result.error.issues, [index], message => `rule "${name}": ${message}`)
    } else if (firstIndex === undefined) {
      rules[name] = toRule(result.data)
    }
  })
  return rules
})

const policyMapSchema = z.record(ruleNameSchema, ruleSchema, {
  error: issue => issue.code === 'invalid_key'
    ? invalidRuleNameMessage(issue.input)
    : `expected policy to be a map of named rules or a list of rules, got ${showValue(issue.input)}`
})

/**
 * A policy: a map of named rules, or a list of rules whose items may carry
 * a `name` (unnamed items become `rule-1`, `rule-2`, ... by position).
 * Both parse to the same `Rules` map.
 */
export const policySchema = z.unknown().transform((input, ctx): Rules => {
  const result = Array.isArray(input) ? policyListSchema.safeParse(input) : policyMapSchema.safeParse(input)
  if (result.success) return result.data
  forwardIssues(ctx, result.error.issues)
  return z.NEVER
})

/**
 * The policy fields of a subscription: a `policy`, or shorthand fields that
 * expand to rules (see `expandPolicy`). The config schema extends this object
 * with the other subscription fields. `null` means the same as a missing field.
 */
export const policyFieldsSchema = z.object({
  policy: policySchema.nullish(),
  window: windowSchema.nullish(),
  acceptRealtime: z.boolean({ error: booleanError('acceptRealtime') }).nullish(),
  deployOnConnect: z.boolean({ error: booleanError('deployOnConnect') }).nullish(),
  stageOnly: z.boolean({ error: booleanError('stageOnly') }).nullish(),
  confirm: z.boolean({ error: booleanError('confirm') }).nullish()
}).superRefine((fields, ctx) => {
  // NOTE: zod runs this check only when every field parsed, so a config with
  // other errors learns about the mix after fixing them. validateSubscriptions reports it at once.
  if (fields.policy == null) return
  for (const field of presentShorthandFields(fields)) {
    ctx.addIssue({
      code: 'custom',
      path: [field],
      message: mixedFieldsMessage(field),
      params: findingParams('mixed_policy_fields')
    })
  }
})

function toPolicyIssues (error: z.ZodError, prefix: Array<string | number>): PolicyIssue[] {
  return error.issues.map(issue => ({
    path: [...prefix, ...issue.path.map(segment => typeof segment === 'symbol' ? String(segment) : segment)],
    message: issue.message
  }))
}

/** Parses a policy map or list into `Rules`. Throws `PolicyError` with paths under `policy`. */
export function parsePolicy (input: unknown): Rules {
  const result = policySchema.safeParse(input)
  if (!result.success) throw new PolicyError(toPolicyIssues(result.error, ['policy']))
  return result.data
}

/** Parses the policy fields of a subscription and ignores its other fields. Throws `PolicyError`. */
export function parsePolicyFields (input: unknown): PolicyFields {
  const result = policyFieldsSchema.safeParse(input)
  if (!result.success) throw new PolicyError(toPolicyIssues(result.error, []))
  return result.data
}

/** Parses the policy fields of a subscription and expands them to rules. Throws `PolicyError`. */
export function parseSubscriptionPolicy (input: unknown): Rules {
  return expandPolicy(parsePolicyFields(input))
}

/** Words for one policy rule as a garden reports it; the report is untrusted, so every field is checked. */
export interface RuleWords {
  actions: string
  triggers: string
  window?: string
  confirm: boolean
  /** Fields this view does not know, as JSON, so nothing reported is hidden. */
  other?: string
}

function stringList (value: unknown): string[] {
  if (!Array.isArray(value)) return []
  return value.filter((item): item is string => typeof item === 'string')
}

function asObject (value: unknown): Record<string, unknown> | undefined {
  return value != null && typeof value === 'object' && !Array.isArray(value)
    ? value as Record<string, unknown>
    : undefined
}

function describeWindow (value: unknown): string | undefined {
  const window = asObject(value)
  if (window == null) return undefined
  const days = stringList(window.days)
  const start = typeof window.start === 'string' ? window.start : '?'
  const end = typeof window.end === 'string' ? window.end : '?'
  const zone = typeof window.zone === 'string'
    ? window.zone
    : typeof window.timeZone === 'string' ? window.timeZone : "in the garden's zone"
  const dayText = days.length > 0 ? `${days.join(', ')} ` : 'daily '
  return `${dayText}${start}–${end} ${zone}`
}

const KNOWN_FIELDS = new Set(['actions', 'triggers', 'window', 'confirm'])

/** Describes a rule such as `{ actions: ['activate'], triggers: ['realtime'], confirm: true }`. */
export function describeRule (value: unknown): RuleWords {
  const rule = asObject(value)
  if (rule == null) return { actions: '', triggers: '', confirm: false, other: JSON.stringify(value) ?? String(value) }
  const unknown = Object.entries(rule).filter(([key]) => !KNOWN_FIELDS.has(key))
  const words: RuleWords = {
    actions: stringList(rule.actions).join(', '),
    triggers: stringList(rule.triggers).join(', '),
    confirm: rule.confirm === true
  }
  const window = describeWindow(rule.window)
  if (window != null) words.window = window
  if (unknown.length > 0) words.other = JSON.stringify(Object.fromEntries(unknown))
  return words
}

/**
 * Lists the rules of a policy by name. Policies are maps of named rules,
 * and a list (the other accepted form) is named by position.
 */
export function policyRules (policy: unknown): Array<[string, RuleWords]> {
  if (Array.isArray(policy)) return policy.map((rule, index) => [`#${index + 1}`, describeRule(rule)])
  const map = asObject(policy)
  if (map == null) return []
  return Object.entries(map).map(([name, rule]) => [name, describeRule(rule)])
}

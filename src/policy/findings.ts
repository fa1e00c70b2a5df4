/**
 * Codes of policy problems. Errors make a subscription set invalid. Warnings
 * mark rules that load but cannot do what their author most likely meant.
 */
export const ERROR_CODES = [
  'invalid_subscription',
  'missing_subscription_name',
  'duplicate_subscription',
  'invalid_policy',
  'mixed_policy_fields',
  'invalid_field',
  'missing_field',
  'unknown_field',
  'invalid_rule_name',
  'duplicate_rule',
  'unknown_action',
  'unknown_trigger',
  'invalid_day',
  'invalid_time',
  'invalid_zone',
  'window_start_equals_end'
] as const

export const WARNING_CODES = [
  'no_actions',
  'no_triggers',
  'no_days',
  'restart_without_activate',
  'window_without_schedule'
] as const

export type FindingCode = typeof ERROR_CODES[number] | typeof WARNING_CODES[number]
export type FindingSeverity = 'error' | 'warning'

export function severityOf (code: FindingCode): FindingSeverity {
  return (WARNING_CODES as readonly string[]).includes(code) ? 'warning' : 'error'
}

/**
 * Policy engine: which action a garden may take on a deployment, for which
 * trigger, at which time, and how it carries that action out. Pure
 * functions of their arguments, with no I/O.
 */
export {
  ACTIONS, SEED_TYPES, TRIGGERS, WEEKDAYS, actionRank, isAction, isSeedType, isTrigger,
  type Action, type Rule, type Rules, type SeedType, type TimeWindow, type Trigger, type Weekday
} from './types.ts'
export { PolicyArgumentError, PolicyError, formatPath, type PolicyIssue } from './errors.ts'
export {
  RULE_NAME_MAX_CHARS, actionSchema, listItemName, parsePolicy, parsePolicyFields, parseSubscriptionPolicy,
  parseWeekday, policyFieldsSchema, policySchema, ruleNameSchema, ruleSchema, triggerSchema, windowSchema, zoneSchema
} from './schema.ts'
export { SHORTHAND_FIELDS, expandPolicy, type PolicyFields, type ShorthandField } from './shorthand.ts'
export { DEFAULT_ZONE, isKnownZone } from './zone.ts'
export { isWindowOpen, nextOpening, windowSpanAt, type WindowSpan } from './window.ts'
export { evaluate, type EvaluateOptions, type PolicyDecision, type WindowWait } from './evaluate.ts'
export { DEPLOYMENT_REASONS, triggerForReason, type DeploymentReason } from './reason.ts'
export { modeFor, type DeploymentMode, type DeploymentModeKind, type ModeOptions } from './mode.ts'
export { ERROR_CODES, WARNING_CODES, type FindingCode, type FindingSeverity } from './findings.ts'
export { validateSubscriptions, type PolicyFinding, type PolicyReport } from './validate.ts'

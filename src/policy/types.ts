import { SEED_TYPES, TRIGGERS, type SeedType } from '../records/schemas.ts'

export { SEED_TYPES, TRIGGERS }
export type { SeedType }

/** Actions a rule can permit, lowest first: each one includes the steps of those before it. */
export const ACTIONS = ['stage', 'activate', 'restart'] as const
export type Action = typeof ACTIONS[number]

/** Route by which a deployment reached the garden, as named in a rule's `triggers`. */
export type Trigger = typeof TRIGGERS[number]

/** Days of the week in ISO order, as windows store them. */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const
export type Weekday = typeof WEEKDAYS[number]

/**
 * Times of day in a zone when a rule applies. A span starts on each listed
 * day at `start` (inclusive) and ends at `end` (exclusive), on the next day
 * when `end` is before `start`. `end` may be `24:00`.
 */
export interface TimeWindow {
  days: Weekday[]
  /** `HH:MM`, 00:00 to 23:59. */
  start: string
  /** `HH:MM`, 00:00 to 24:00, never equal to `start`. */
  end: string
  /** IANA time zone name as written; the garden's zone when absent. */
  zone?: string
}

/** One named rule of a policy, normalised: actions and triggers sorted and unique. */
export interface Rule {
  actions: Action[]
  triggers: Trigger[]
  window?: TimeWindow
  /** The permitted action waits for a signed confirm intent or an operator. */
  confirm: boolean
}

/** A policy: rules by name. */
export type Rules = Record<string, Rule>

/** Returns the position of an action in `ACTIONS`, so `stage < activate < restart`. */
export function actionRank (action: Action): number {
  return ACTIONS.indexOf(action)
}

export function isAction (value: unknown): value is Action {
  return typeof value === 'string' && (ACTIONS as readonly string[]).includes(value)
}

export function isTrigger (value: unknown): value is Trigger {
  return typeof value === 'string' && (TRIGGERS as readonly string[]).includes(value)
}

export function isSeedType (value: unknown): value is SeedType {
  return typeof value === 'string' && (SEED_TYPES as readonly string[]).includes(value)
}

import { PolicyArgumentError } from './errors.ts'
import {
  actionRank, isSeedType, isTrigger,
  type Action, type Rule, type Rules, type SeedType, type Trigger
} from './types.ts'
import { isWindowOpen, nextOpening } from './window.ts'
import { DEFAULT_ZONE, resolveZone } from './zone.ts'

export interface EvaluateOptions {
  /** IANA zone of the garden, for windows that name none. Defaults to `UTC`. */
  zone?: string
}

/** A higher action that a window permits later, when the garden evaluates again with the `schedule` trigger. */
export interface WindowWait {
  action: Action
  /** Name of the rule that permits `action` at `opensAt`. */
  rule: string
  /** `action` will wait for a confirmation too. */
  confirm: boolean
  /** The earliest instant at or after the evaluation time when that window is open. */
  opensAt: Date
}

/**
 * The outcome of a policy for one deployment at one time.
 *
 * - Denied: `denied` is true, `action` and `waitForWindow` are null. The
 *   deployment ends with `policy_denied`.
 * - Go: `action` is set and `confirm` is false. The garden carries it out now.
 * - Confirmation required: `action` is set and `confirm` is true. The garden
 *   records `confirmation_required` and waits for a confirm intent or an operator.
 * - Waiting for a window: `waitForWindow` is set. The garden does `action`
 *   now when there is one (at least staging, when `stageNow` is true), and
 *   evaluates again with the `schedule` trigger at `waitForWindow.opensAt`.
 */
export interface PolicyDecision {
  /** Highest action that a rule permits for this trigger now, or null. */
  action: Action | null
  /** Name of the rule that permits `action`, or null. */
  rule: string | null
  /** `action` waits for an explicit confirmation. False when `action` is null. */
  confirm: boolean
  /** No rule permits anything now, and no window will permit more later. */
  denied: boolean
  /**
   * Some rule without `confirm` permits at least staging for this trigger
   * now, so the garden may download and verify the closure while it waits
   * for a window or a confirmation.
   */
  stageNow: boolean
  /** A window that permits a higher action later, or null. */
  waitForWindow: WindowWait | null
}

/** One action that one rule permits. */
interface Grant {
  rule: string
  action: Action
  confirm: boolean
}

/**
 * Returns the rank of an action by what it does to a seed of this type. For
 * `service` and `home` seeds `restart` does what `activate` does, so the two
 * rank equal and a wait for `restart` after `activate` brings nothing.
 */
function effectRank (action: Action, seedType: SeedType): number {
  if (action === 'restart' && seedType !== 'system') return actionRank('activate')
  return actionRank(action)
}

/**
 * Returns whether grant `a` is preferred over `b`: the greater effect wins,
 * then the one without confirm, then the higher action, then the rule name
 * that sorts first, so the result never depends on the order of the rules.
 */
function isPreferred (a: Grant, b: Grant, seedType: SeedType): boolean {
  const effect = effectRank(a.action, seedType) - effectRank(b.action, seedType)
  if (effect !== 0) return effect > 0
  if (a.confirm !== b.confirm) return !a.confirm
  const rank = actionRank(a.action) - actionRank(b.action)
  if (rank !== 0) return rank > 0
  return a.rule < b.rule
}

function bestGrant (grants: Grant[], seedType: SeedType): Grant | null {
  let best: Grant | null = null
  for (const grant of grants) {
    if (best === null || isPreferred(grant, best, seedType)) best = grant
  }
  return best
}

function appliesAt (rule: Rule, trigger: Trigger, at: Date, zone: string): boolean {
  if (!rule.triggers.includes(trigger)) return false
  return rule.window === undefined || isWindowOpen(rule.window, at, zone)
}

function grantsAt (rules: Rules, trigger: Trigger, at: Date, zone: string): Grant[] {
  return Object.entries(rules)
    .filter(([, rule]) => appliesAt(rule, trigger, at, zone))
    .flatMap(([name, rule]) => rule.actions.map(action => ({ rule: name, action, confirm: rule.confirm })))
}

/**
 * Finds the earliest opening of a window whose rule accepts the `schedule`
 * trigger and permits more than `currentRank`, and returns what the policy
 * permits for `schedule` at that instant.
 */
function findWindowWait (
  rules: Rules,
  seedType: SeedType,
  now: Date,
  zone: string,
  currentRank: number
): WindowWait | null {
  let earliestMs: number | null = null
  for (const rule of Object.values(rules)) {
    if (rule.window === undefined || !rule.triggers.includes('schedule')) continue
    if (!rule.actions.some(action => effectRank(action, seedType) > currentRank)) continue
    const opensAt = nextOpening(rule.window, now, zone)
    if (opensAt !== null && (earliestMs === null || opensAt.getTime() < earliestMs)) earliestMs = opensAt.getTime()
  }
  if (earliestMs === null) return null

  const opensAt = new Date(earliestMs)
  const best = bestGrant(grantsAt(rules, 'schedule', opensAt, zone), seedType)
  if (best === null) return null
  return { action: best.action, rule: best.rule, confirm: best.confirm, opensAt }
}

function checkArguments (trigger: Trigger, seedType: SeedType, now: Date, zone: string): void {
  if (!isTrigger(trigger)) {
    throw new PolicyArgumentError(
      `unknown trigger "${String(trigger)}": use realtime, poll_on_connect, schedule or user_retry`
    )
  }
  if (!isSeedType(seedType)) {
    throw new PolicyArgumentError(`unknown seed type "${String(seedType)}": use system, service or home`)
  }
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new PolicyArgumentError('invalid evaluation time: pass a Date with a valid time')
  }
  resolveZone(zone)
}

/**
 * Evaluates a policy for a deployment of a seed of `seedType` that arrived
 * through `trigger`, at `now`. Pure: the result depends on the arguments only.
 * Throws `PolicyArgumentError` for an unknown trigger, seed type or zone, or
 * an invalid date.
 */
export function evaluate (
  rules: Rules,
  trigger: Trigger,
  seedType: SeedType,
  now: Date,
  options: EvaluateOptions = {}
): PolicyDecision {
  const zone = options.zone ?? DEFAULT_ZONE
  checkArguments(trigger, seedType, now, zone)

  const grants = grantsAt(rules, trigger, now, zone)
  const best = bestGrant(grants, seedType)
  const currentRank = best === null ? -1 : effectRank(best.action, seedType)
  const waitForWindow = findWindowWait(rules, seedType, now, zone, currentRank)
  return {
    action: best?.action ?? null,
    rule: best?.rule ?? null,
    confirm: best?.confirm ?? false,
    denied: best === null && waitForWindow === null,
    stageNow: grants.some(grant => !grant.confirm),
    waitForWindow
  }
}

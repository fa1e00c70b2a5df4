import type { IntentBody } from '../records/index.ts'
import { CLOCK_SKEW_MAX_MS } from '../trust/index.ts'
import type { DeploySubscription, GardenIdentity } from './types.ts'

/** Returns whether one of an intent's selectors (`*`, `name:`, `tag:`, `peer:`) selects this garden. */
export function selectsGarden (targets: readonly string[], self: GardenIdentity): boolean {
  return targets.some(target => selects(target, self))
}

function selects (target: string, self: GardenIdentity): boolean {
  if (target === '*') return true
  const colon = target.indexOf(':')
  const kind = target.slice(0, colon)
  const value = target.slice(colon + 1)
  switch (kind) {
    case 'name': return value === self.name
    case 'tag': return self.tags.includes(value)
    case 'peer': return value === self.peer
    default: return false
  }
}

/** Returns the first subscription of a seed. */
export function subscriptionFor (subscriptions: readonly DeploySubscription[], seed: string): DeploySubscription | undefined {
  return subscriptions.find(subscription => subscription.seed === seed)
}

/**
 * Returns whether an intent has expired at `nowMs`, allowing the fleet's
 * clock skew (`CLOCK_SKEW_MAX_MS`), as `checkFreshness` in src/trust does.
 */
export function isExpired (intent: Pick<IntentBody, 'expiresAt'>, nowMs: number): boolean {
  return Date.parse(intent.expiresAt) + CLOCK_SKEW_MAX_MS <= nowMs
}

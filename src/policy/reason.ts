import { PolicyArgumentError } from './errors.ts'
import type { Trigger } from './types.ts'

/**
 * Why a garden starts or resumes a deployment:
 * - `gossip`: the intent arrived by gossip while the garden was online.
 * - `sync`: the intent arrived by sync after the garden (re)connected.
 * - `import`: the intent arrived in a bundle imported from a file.
 * - `window_opened`: a deployment deferred to a window, whose window opened.
 * - `retry`: an admin signed a retry intent.
 */
export const DEPLOYMENT_REASONS = ['gossip', 'sync', 'import', 'window_opened', 'retry'] as const
export type DeploymentReason = typeof DEPLOYMENT_REASONS[number]

const TRIGGER_BY_REASON: Record<DeploymentReason, Trigger> = {
  gossip: 'realtime',
  sync: 'poll_on_connect',
  // A bundle carries records that a garden missed, as sync does.
  import: 'poll_on_connect',
  window_opened: 'schedule',
  retry: 'user_retry'
}

/** Returns the trigger that a deployment reason implies. Throws `PolicyArgumentError` for an unknown reason. */
export function triggerForReason (reason: DeploymentReason): Trigger {
  if (!Object.hasOwn(TRIGGER_BY_REASON, reason)) {
    throw new PolicyArgumentError(`unknown deployment reason "${String(reason)}": use ${DEPLOYMENT_REASONS.join(', ')}`)
  }
  return TRIGGER_BY_REASON[reason]
}

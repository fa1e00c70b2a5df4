import { DateTime } from 'luxon'
import type { DeploymentResult, EventBody } from '../../records/index.ts'
import type { DeploymentSummary } from '../../store/index.ts'

/**
 * State shown in a result cell: a deployment result, an end state that the
 * policy set without a result (`policy_denied`, `staged_only`), or the state
 * of an open deployment. The policy and confirmation states have their own
 * words and styles and never read as a failure.
 */
export type Status = DeploymentResult | 'policy_denied' | 'staged_only' | 'confirmation_required' |
  'waiting_for_window' | 'in_progress' | 'never_deployed'

export const STATUS_LABELS: Record<Status, string> = {
  success: 'Success',
  partial: 'Partial',
  failure: 'Failure',
  canceled: 'Canceled',
  superseded: 'Superseded',
  policy_denied: 'Policy denied',
  staged_only: 'Staged only',
  confirmation_required: 'Confirmation required',
  waiting_for_window: 'Waiting for window',
  in_progress: 'In progress',
  never_deployed: 'Never deployed'
}

/** Derives the state of a deployment from its summary. */
export function deploymentStatus (deployment: Pick<DeploymentSummary, 'result' | 'policyEnd' | 'lastEvent'>): Status {
  if (deployment.policyEnd != null) return deployment.policyEnd
  if (deployment.result != null) return deployment.result
  const lastEvent = deployment.lastEvent
  // A summary stored before `policyEnd` existed still ends with its policy_denied event.
  if (lastEvent === 'policy_denied' || lastEvent === 'confirmation_required' || lastEvent === 'waiting_for_window') return lastEvent
  return 'in_progress'
}

export const TRIGGER_LABELS: Record<string, string> = {
  realtime: 'Received by gossip while online',
  poll_on_connect: 'Received by sync after connecting',
  schedule: 'Deployment window opened',
  user_retry: 'Retry signed by an admin'
}

export function triggerLabel (trigger: string | undefined): string {
  if (trigger == null) return ''
  return Object.hasOwn(TRIGGER_LABELS, trigger) ? TRIGGER_LABELS[trigger] : trigger
}

/** Names of admin keys by key id, from the current root. */
export type AdminNames = ReadonlyMap<string, string>

/** Names who caused a step: `admin alice`, `the policy`, `the garden` or a shortened key id. */
export function actorLabel (actor: string | undefined, admins: AdminNames): string | undefined {
  if (actor == null) return undefined
  const admin = admins.get(actor)
  if (admin != null) return `admin ${admin}`
  if (actor === 'policy' || actor === 'garden') return `the ${actor}`
  return actor.length > 20 ? `key ${actor.slice(0, 12)}…${actor.slice(-4)}` : actor
}

/** The tone of a timeline entry, which sets its style. */
export type Tone = 'info' | 'ok' | 'failure' | 'policy' | 'confirm' | 'waiting' | 'neutral'

export interface EventDescription {
  title: string
  tone: Tone
}

type Detail = NonNullable<EventBody['detail']>

function text (detail: Detail | undefined, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = detail?.[key]
    if (typeof value === 'string' && value !== '') return value
    if (typeof value === 'number') return String(value)
  }
  return undefined
}

function signedBy (event: EventBody, admins: AdminNames): string {
  const actor = actorLabel(event.actor, admins)
  return actor != null ? `, signed by ${actor}` : ''
}

const RECEIVED_BY_TRIGGER: Record<string, string> = {
  realtime: 'Received by gossip while online',
  poll_on_connect: 'Received by sync after connecting',
  schedule: 'Started when its window opened',
  user_retry: 'Received as a signed retry'
}

/** Arrivals named by a `reason` detail, which tells a bundle import apart from sync. */
const RECEIVED_BY_REASON: Record<string, string> = {
  gossip: 'Received by gossip while online',
  sync: 'Received by sync after connecting',
  import: 'Received in an imported bundle',
  window_opened: 'Started when its window opened',
  retry: 'Received as a signed retry'
}

function describeArrival (event: EventBody): string {
  const reason = text(event.detail, 'reason')
  if (reason != null && Object.hasOwn(RECEIVED_BY_REASON, reason)) return RECEIVED_BY_REASON[reason]
  const trigger = event.trigger ?? ''
  return Object.hasOwn(RECEIVED_BY_TRIGGER, trigger) ? RECEIVED_BY_TRIGGER[trigger] : 'Received'
}

/** `Sat 02:00 Europe/Berlin` for a window opening given as an ISO time and an IANA zone. */
export function formatWindowOpening (iso: string, zone: string | undefined): string {
  const time = DateTime.fromISO(iso, { zone: zone ?? 'utc' })
  if (!time.isValid) return zone != null ? `${iso} ${zone}` : iso
  return `${time.toFormat('ccc HH:mm')} ${zone ?? 'UTC'}`
}

function describeWaiting (event: EventBody): string {
  const opensAt = text(event.detail, 'opensAt', 'windowOpensAt', 'opens')
  if (opensAt == null) return 'Waiting for the policy window to open'
  return `Waiting for the window opening ${formatWindowOpening(opensAt, text(event.detail, 'zone', 'timeZone'))}`
}

function describePolicyDenied (event: EventBody, deploymentTrigger: string | undefined): string {
  const reason = text(event.detail, 'reason')
  if (reason != null) return `Policy denied: ${reason}`
  const action = text(event.detail, 'action') ?? 'any action'
  const trigger = event.trigger ?? text(event.detail, 'trigger') ?? deploymentTrigger ?? 'this trigger'
  return `Policy denied: no rule permits ${action} on ${trigger}`
}

function describeResult (event: EventBody): EventDescription {
  const reason = text(event.detail, 'reason', 'error')
  switch (event.result) {
    case 'success': return { title: 'Finished: success', tone: 'ok' }
    case 'partial': return { title: 'Finished: partial, some seeds failed', tone: 'failure' }
    case 'canceled': return { title: 'Finished: canceled', tone: 'neutral' }
    case 'superseded': return { title: 'Finished: superseded by a newer intent', tone: 'neutral' }
    default: return { title: reason != null ? `Failed: ${reason}` : 'Failed', tone: 'failure' }
  }
}

function healthCheckFailed (detail: Detail | undefined): boolean {
  return detail?.ok === false || detail?.passed === false ||
    (typeof detail?.exitCode === 'number' && detail.exitCode !== 0)
}

function generationSuffix (detail: Detail | undefined): string {
  const generation = text(detail, 'generation')
  return generation != null ? ` generation ${generation}` : ''
}

/**
 * Describes one deployment event in plain words, e.g. "Policy denied: no
 * rule permits activate on realtime". `deploymentTrigger` names the trigger
 * when the event itself carries none.
 */
export function describeEvent (event: EventBody, admins: AdminNames, deploymentTrigger?: string): EventDescription {
  const detail = event.detail
  const by = actorLabel(event.actor, admins)
  switch (event.kind) {
    case 'received':
      return { title: `${describeArrival(event)}${signedBy(event, admins)}`, tone: 'info' }
    case 'policy_denied':
      return { title: describePolicyDenied(event, deploymentTrigger), tone: 'policy' }
    case 'waiting_for_window':
      return { title: describeWaiting(event), tone: 'waiting' }
    case 'confirmation_required': {
      const action = text(detail, 'action')
      return { title: action != null ? `Confirmation required before ${action}` : 'Confirmation required', tone: 'confirm' }
    }
    case 'confirmed':
      return { title: by != null ? `Confirmed by ${by}` : 'Confirmed', tone: 'info' }
    case 'staging': {
      const source = text(detail, 'source')
      return { title: source != null ? `Staging the closure from ${source}` : 'Staging the closure', tone: 'info' }
    }
    case 'staged':
      return { title: 'Staged the closure', tone: 'info' }
    case 'activating': {
      const mode = text(detail, 'mode')
      return { title: mode != null ? `Activating (${mode})` : 'Activating', tone: 'info' }
    }
    case 'activated':
      return { title: `Activated${generationSuffix(detail)}`, tone: 'info' }
    case 'health_check':
      return healthCheckFailed(detail)
        ? { title: 'Health check failed', tone: 'failure' }
        : { title: 'Health check passed', tone: 'info' }
    case 'rolled_back':
      return { title: `Rolled back to the previous generation${generationSuffix(detail)}`, tone: 'failure' }
    case 'result':
      return describeResult(event)
    case 'canceled':
      return { title: by != null ? `Canceled by ${by}` : 'Canceled', tone: 'neutral' }
    case 'superseded':
      return { title: 'Superseded by a newer intent for this seed', tone: 'neutral' }
    case 'retry':
      return { title: by != null ? `Retry requested by ${by}` : 'Retry requested', tone: 'info' }
    default:
      return { title: String(event.kind), tone: 'info' }
  }
}

import { DateTime } from 'luxon'
import type { DeploymentResult, EventKind } from '../../records/index.ts'
import type { DeploymentSummary, DeploymentWait } from '../../store/index.ts'

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

const WAIT_STATUSES: Record<DeploymentWait['kind'], Status> = {
  confirmation: 'confirmation_required',
  window: 'waiting_for_window'
}

/** Fields of a deployment summary, or of a garden's latest deployment, that decide its state. */
type StatusFields = Pick<DeploymentSummary, 'result' | 'policyEnd' | 'waiting'> & { lastEvent?: EventKind }

/** Derives the state of a deployment from its summary. */
export function deploymentStatus (deployment: StatusFields): Status {
  if (deployment.policyEnd != null) return deployment.policyEnd
  if (deployment.result != null) return deployment.result
  if (deployment.waiting != null) return WAIT_STATUSES[deployment.waiting.kind]
  const lastEvent = deployment.lastEvent
  // A summary stored before `policyEnd` and `waiting` existed still ends with its denial or wait event.
  if (lastEvent === 'policy_denied' || lastEvent === 'confirmation_required' || lastEvent === 'waiting_for_window') return lastEvent
  return 'in_progress'
}

/** Returns the words of a result cell. A window wait adds its opening: `Waiting for window (opens Sat 02:00 UTC)`. */
export function statusLabel (status: Status, waiting?: DeploymentWait): string {
  const label = STATUS_LABELS[status] ?? status
  if (status !== 'waiting_for_window' || waiting?.opensAt == null) return label
  return `${label} (opens ${formatWindowOpening(waiting.opensAt, waiting.zone)})`
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

/**
 * Names who caused a step: `admin alice`, `the policy`, `the garden`, `an
 * operator on the garden` (a confirmation made on the garden itself) or a
 * shortened key id.
 */
export function actorLabel (actor: string | undefined, admins: AdminNames): string | undefined {
  if (actor == null) return undefined
  const admin = admins.get(actor)
  if (admin != null) return `admin ${admin}`
  if (actor === 'policy' || actor === 'garden') return `the ${actor}`
  if (actor === 'operator') return 'an operator on the garden'
  return actor.length > 20 ? `key ${actor.slice(0, 12)}…${actor.slice(-4)}` : actor
}

/** `Sat 02:00 Europe/Berlin` for a window opening given as an ISO time and an IANA zone. */
export function formatWindowOpening (iso: string, zone: string | undefined): string {
  const time = DateTime.fromISO(iso, { zone: zone ?? 'utc' })
  if (!time.isValid) return zone != null ? `${iso} ${zone}` : iso
  return `${time.toFormat('ccc HH:mm')} ${zone ?? 'UTC'}`
}

import type { DeploymentResult, EventKind, SignedRecord, TRIGGERS } from '../records/index.ts'
import { isNewer, stampOf } from './key-layout.ts'

/*
 * The deployment summary: one garden working on one seed of one intent,
 * derived from its events whatever their arrival order, like the other
 * summaries (see summaries.ts).
 */

export type Trigger = typeof TRIGGERS[number]

/**
 * End state that a garden's engine records without a result: the policy
 * denied the deployment (`policy_denied`), or permitted staging only and the
 * closure was staged (`staged_only`). Both end with a `policy_denied` event,
 * whose `detail.staged` is true for `staged_only` only.
 */
export type PolicyEnd = 'policy_denied' | 'staged_only'

/** One deployment: one garden working on one seed of one intent. */
export interface DeploymentSummary {
  id: string
  garden: string
  intent: string
  seed: string
  /** Trigger of the newest event that names one. */
  trigger?: Trigger
  /** Result of the newest event that carries one, unless a newer `retry` event reopened it. */
  result?: DeploymentResult
  /**
   * Set when the newest `policy_denied` event ended the deployment: there is
   * no result and no newer `retry` event reopened it.
   */
  policyEnd?: PolicyEnd
  /** Kind of the newest event. */
  lastEvent: EventKind
  startedAt: string
  updatedAt: string
}

interface DeploymentTracking {
  first: string
  last: string
  trigger?: string
  result?: string
  retry?: string
  outcome?: DeploymentResult
  /** Stamp of the newest `policy_denied` event. */
  denial?: string
  /** Whether that event marks the closure as staged (`detail.staged`). */
  denialStaged?: boolean
}

export interface DeploymentState extends DeploymentSummary {
  tracking: DeploymentTracking
}

/**
 * Decides whether a deployment is open: it has no result and its policy did
 * not end it. Open deployments count as pending and compaction keeps their
 * events.
 */
export function isOpenDeployment (deployment: DeploymentSummary): boolean {
  return deployment.result == null && deployment.policyEnd == null
}

export function deploymentWithEvent (state: DeploymentState | undefined, record: SignedRecord<'event'>): DeploymentState {
  const { body } = record
  const stamp = stampOf(record)
  const current: DeploymentState = state ?? {
    id: body.deployment,
    garden: record.author,
    intent: body.intent,
    seed: body.seed,
    lastEvent: body.kind,
    startedAt: body.issuedAt,
    updatedAt: body.issuedAt,
    tracking: { first: stamp, last: stamp }
  }

  const next: DeploymentState = { ...current }
  const tracking: DeploymentTracking = { ...current.tracking }
  if (stamp < tracking.first) {
    tracking.first = stamp
    next.startedAt = body.issuedAt
  }
  if (stamp >= tracking.last) {
    tracking.last = stamp
    next.lastEvent = body.kind
    next.updatedAt = body.issuedAt
  }

  if (body.trigger != null && isNewer(stamp, tracking.trigger)) {
    tracking.trigger = stamp
    next.trigger = body.trigger
  }
  if (body.result != null && isNewer(stamp, tracking.result)) {
    tracking.result = stamp
    tracking.outcome = body.result
  }
  if (body.kind === 'retry' && isNewer(stamp, tracking.retry)) {
    tracking.retry = stamp
  }
  if (body.kind === 'policy_denied' && isNewer(stamp, tracking.denial)) {
    tracking.denial = stamp
    tracking.denialStaged = body.detail?.staged === true
  }

  next.tracking = tracking
  return withDeploymentEnd(next)
}

/**
 * Sets `result` and `policyEnd` from the tracked stamps. A result is kept
 * unless a newer retry reopened the deployment. Without one, the newest
 * `policy_denied` event ends the deployment unless a newer retry reopened it.
 */
function withDeploymentEnd (state: DeploymentState): DeploymentState {
  const { result: _result, policyEnd: _policyEnd, ...rest } = state
  const { outcome, result, retry, denial, denialStaged } = state.tracking
  const reopened = retry != null && result != null && retry > result
  if (outcome != null && !reopened) {
    return { ...rest, result: outcome }
  }
  if (denial != null && (retry == null || denial > retry)) {
    return { ...rest, policyEnd: denialStaged === true ? 'staged_only' : 'policy_denied' }
  }
  return rest
}

export function toDeploymentSummary (state: DeploymentState): DeploymentSummary {
  const { tracking: _tracking, ...summary } = state
  return summary
}

import type { DeploymentResult, EventBody, EventKind, SignedRecord, TRIGGERS } from '../records/index.ts'
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

/**
 * Wait of an open deployment: for a confirmation (`confirmation_required`)
 * or for a policy window to open (`waiting_for_window`). The garden may
 * stage while it waits, so the wait is often not the newest event.
 */
export interface DeploymentWait {
  kind: 'confirmation' | 'window'
  /** UTC ISO time at which the window opens, from the event's `detail.opensAt`. */
  opensAt?: string
  /** IANA zone of the window, from the event's `detail.zone`. */
  zone?: string
}

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
  /**
   * Set while the deployment is open and its newest `confirmation_required`
   * or `waiting_for_window` event holds: no later event ended it.
   */
  waiting?: DeploymentWait
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
  /** Stamp of the newest `confirmation_required` or `waiting_for_window` event. */
  wait?: string
  /** The wait that event started. */
  waitFacts?: DeploymentWait
  /** Stamp of the newest `confirmed` event. */
  confirmed?: string
  /** Stamp of the newest event that ends any wait: one whose kind is not in `WAIT_KEEPING_KINDS`. */
  waitEnd?: string
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
  trackEnds(tracking, body, stamp)
  trackWaits(tracking, body, stamp)

  next.tracking = tracking
  return withDeploymentEnd(next)
}

function trackEnds (tracking: DeploymentTracking, body: EventBody, stamp: string): void {
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
}

const WAIT_KINDS: Partial<Record<EventKind, DeploymentWait['kind']>> = {
  confirmation_required: 'confirmation',
  waiting_for_window: 'window'
}

/**
 * Event kinds that leave a wait in place. The engine stages while a
 * deployment waits for a confirmation. A `confirmed` event during a window
 * wait releases a later confirmation but does not open the window, so it
 * ends only a confirmation wait (see `currentWait`). A newer wait replaces
 * an older one. Every other kind ends a wait: `received` (the window
 * opened), `activating`, `policy_denied`, `canceled`, `superseded`, `retry`
 * and the result.
 */
const WAIT_KEEPING_KINDS = new Set<EventKind>([
  'staging', 'staged', 'confirmed', 'confirmation_required', 'waiting_for_window'
])

function trackWaits (tracking: DeploymentTracking, body: EventBody, stamp: string): void {
  const kind = WAIT_KINDS[body.kind]
  if (kind != null && isNewer(stamp, tracking.wait)) {
    tracking.wait = stamp
    tracking.waitFacts = waitOf(kind, body.detail)
  }
  if (body.kind === 'confirmed' && isNewer(stamp, tracking.confirmed)) {
    tracking.confirmed = stamp
  }
  if (!WAIT_KEEPING_KINDS.has(body.kind) && isNewer(stamp, tracking.waitEnd)) {
    tracking.waitEnd = stamp
  }
}

function waitOf (kind: DeploymentWait['kind'], detail: EventBody['detail']): DeploymentWait {
  const wait: DeploymentWait = { kind }
  if (kind === 'window' && typeof detail?.opensAt === 'string') {
    wait.opensAt = detail.opensAt
  }
  if (kind === 'window' && typeof detail?.zone === 'string') {
    wait.zone = detail.zone
  }
  return wait
}

/** Returns the newest wait unless a later event ended it. */
function currentWait (tracking: DeploymentTracking): DeploymentWait | undefined {
  const { wait, waitFacts, waitEnd, confirmed } = tracking
  if (wait == null || waitFacts == null || (waitEnd != null && waitEnd > wait)) {
    return undefined
  }
  if (waitFacts.kind === 'confirmation' && confirmed != null && confirmed > wait) {
    return undefined
  }
  return { ...waitFacts }
}

/**
 * Sets `result`, `policyEnd` and `waiting` from the tracked stamps. A result
 * is kept unless a newer retry reopened the deployment. Without one, the
 * newest `policy_denied` event ends the deployment unless a newer retry
 * reopened it. Only a deployment that did not end can wait.
 */
function withDeploymentEnd (state: DeploymentState): DeploymentState {
  const { result: _result, policyEnd: _policyEnd, waiting: _waiting, ...rest } = state
  const { outcome, result, retry, denial, denialStaged } = state.tracking
  const reopened = retry != null && result != null && retry > result
  if (outcome != null && !reopened) {
    return { ...rest, result: outcome }
  }
  if (denial != null && (retry == null || denial > retry)) {
    return { ...rest, policyEnd: denialStaged === true ? 'staged_only' : 'policy_denied' }
  }
  const waiting = currentWait(state.tracking)
  return waiting == null ? rest : { ...rest, waiting }
}

export function toDeploymentSummary (state: DeploymentState): DeploymentSummary {
  const { tracking: _tracking, ...summary } = state
  return summary
}

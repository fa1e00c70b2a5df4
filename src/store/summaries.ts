import { DEPLOYMENT_RESULTS } from '../records/index.ts'
import type {
  DeploymentResult, EventKind, IntentAction, IntentBody, SignedRecord, GARDEN_ROLES, TRIGGERS
} from '../records/index.ts'
import { issuedAtOf, stampOf } from './key-layout.ts'
import type { StoredMeta } from './types.ts'

/*
 * Materialised views. Each summary is a function of the set of records
 * stored, whatever their arrival order: "latest" fields compare record
 * stamps (issue time, feed position, id) and keep the greatest, and counters
 * are sums over per-garden states that are themselves order-independent.
 * Applying the same record twice changes nothing.
 */

export type GardenRole = typeof GARDEN_ROLES[number]
export type Trigger = typeof TRIGGERS[number]

/**
 * End state that a garden's engine records without a result: the policy
 * denied the deployment (`policy_denied`), or permitted staging only and the
 * closure was staged (`staged_only`). Both end with a `policy_denied` event,
 * whose `detail.staged` is true for `staged_only` only.
 */
export type PolicyEnd = 'policy_denied' | 'staged_only'

/** The newest deployment of a garden, by the issue time of its newest event. */
export interface DeploymentRef {
  id: string
  intent: string
  seed: string
  /** Result of this deployment; absent while it is open. */
  result?: DeploymentResult
  /** Set when the deployment ended by its policy, without a result. */
  policyEnd?: PolicyEnd
  updatedAt: string
}

/** One garden: every peer with a certificate or a report. */
export interface GardenSummary {
  peer: string
  /** From the newest certificate; the peer id until a certificate is stored. */
  name: string
  tags: string[]
  roles: GardenRole[]
  /** Id of the newest certificate. */
  certificate?: string
  certificateIssuedAt?: string
  certificateExpiresAt?: string
  /** True when the newest revocation was issued at or after the newest certificate. */
  revoked: boolean
  revokedAt?: string
  /** From the newest report. */
  agentVersion?: string
  addresses: string[]
  /** Id of the newest report. */
  report?: string
  reportedAt?: string
  /**
   * Newest time at which the garden signed a report or an event: the issue
   * time, or the receive time when that is earlier (a garden clock ahead).
   */
  lastSeen?: string
  latestDeployment?: DeploymentRef
  /** Result of the newest event that carries one, in any deployment of this garden. */
  latestResult?: DeploymentResult
  /** Open deployments of this garden: without a result and not ended by their policy. */
  pending: number
}

/** Stamps of the records that won each "latest" field, so late arrivals compare correctly. */
interface GardenTracking {
  certificate?: string
  report?: string
  deployment?: string
  result?: string
}

export interface GardenState extends GardenSummary {
  tracking: GardenTracking
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

/** One release of a deploy intent: its seed and the store path it deploys. */
export interface IntentRelease {
  seed: string
  storePath: string
}

/** One intent with the progress of the gardens working on it. */
export interface IntentSummary {
  id: string
  author: string
  action: IntentAction
  /** For retry, cancel and confirm: the deploy intent they refer to. */
  intent?: string
  /** Seeds of the releases, or the seeds a follow-up names (empty: all seeds of its intent). */
  seeds: string[]
  /** Seed and store path of each release of a deploy intent, in its order; empty for follow-ups. */
  releases: IntentRelease[]
  targets: string[]
  issuedAt: string
  expiresAt: string
  sequence?: number
  /** Gardens with at least one event for this intent. */
  gardens: number
  /** Gardens whose result for this intent is `success`. */
  applied: number
  /** Gardens per result; a garden with several seeds counts once, see `combineResults`. */
  results: Record<DeploymentResult, number>
}

type IntentFacts = Omit<IntentSummary, 'gardens' | 'applied' | 'results'>

/** An intent's counters exist before the intent itself when its events arrive first. */
export interface IntentState {
  id: string
  facts?: IntentFacts
  gardens: number
  results: Record<DeploymentResult, number>
}

/** One garden's deployments of one intent: result per seed, `null` while open. */
export interface IntentGardenState {
  seeds: Record<string, DeploymentResult | null>
}

function isNewer (stamp: string, than: string | undefined): boolean {
  return than == null || stamp > than
}

function maxIso (a: string | undefined, b: string): string {
  return a == null || b > a ? b : a
}

function emptyGarden (peer: string): GardenState {
  return { peer, name: peer, tags: [], roles: [], revoked: false, addresses: [], pending: 0, tracking: {} }
}

function withRevokedFlag (state: GardenState): GardenState {
  const revoked = state.revokedAt != null &&
    (state.certificateIssuedAt == null || state.revokedAt >= state.certificateIssuedAt)
  return { ...state, revoked }
}

export function gardenWithCertificate (state: GardenState | undefined, record: SignedRecord<'certificate'>): GardenState {
  const current = state ?? emptyGarden(record.body.peer)
  const stamp = stampOf(record)
  if (!isNewer(stamp, current.tracking.certificate)) {
    return current
  }
  const { body } = record
  return withRevokedFlag({
    ...current,
    name: body.name,
    tags: [...body.tags],
    roles: [...body.roles],
    certificate: record.id,
    certificateIssuedAt: body.issuedAt,
    certificateExpiresAt: body.expiresAt,
    tracking: { ...current.tracking, certificate: stamp }
  })
}

export function gardenWithRevocation (state: GardenState | undefined, record: SignedRecord<'revocation'>): GardenState {
  const current = state ?? emptyGarden(record.body.peer)
  return withRevokedFlag({ ...current, revokedAt: maxIso(current.revokedAt, record.body.issuedAt) })
}

function seenAt (record: SignedRecord, meta: StoredMeta): string {
  const issuedAt = issuedAtOf(record)
  return meta.receivedAt < issuedAt ? meta.receivedAt : issuedAt
}

export function gardenWithReport (state: GardenState | undefined, record: SignedRecord<'report'>, meta: StoredMeta): GardenState {
  const current = state ?? emptyGarden(record.author)
  const lastSeen = maxIso(current.lastSeen, seenAt(record, meta))
  const stamp = stampOf(record)
  if (!isNewer(stamp, current.tracking.report)) {
    return { ...current, lastSeen }
  }
  return {
    ...current,
    agentVersion: record.body.agentVersion,
    addresses: [...record.body.addresses],
    report: record.id,
    reportedAt: record.body.issuedAt,
    lastSeen,
    tracking: { ...current.tracking, report: stamp }
  }
}

/**
 * Applies an event to its garden. `deployment` is the deployment's state
 * with the event applied, `before` its state without it.
 */
export function gardenWithEvent (
  state: GardenState | undefined, record: SignedRecord<'event'>, meta: StoredMeta,
  deployment: DeploymentState, before: DeploymentState | undefined
): GardenState {
  const current = state ?? emptyGarden(record.author)
  const wasOpen = before != null && isOpenDeployment(before)
  const next: GardenState = {
    ...current,
    lastSeen: maxIso(current.lastSeen, seenAt(record, meta)),
    pending: current.pending + Number(isOpenDeployment(deployment)) - Number(wasOpen)
  }
  const tracking = { ...current.tracking }
  if (current.latestDeployment?.id === deployment.id || isNewer(deployment.tracking.last, tracking.deployment)) {
    next.latestDeployment = deploymentRef(deployment)
    tracking.deployment = deployment.tracking.last
  }
  const stamp = stampOf(record)
  if (record.body.result != null && isNewer(stamp, tracking.result)) {
    next.latestResult = record.body.result
    tracking.result = stamp
  }
  next.tracking = tracking
  return next
}

function deploymentRef (deployment: DeploymentState): DeploymentRef {
  const ref: DeploymentRef = {
    id: deployment.id,
    intent: deployment.intent,
    seed: deployment.seed,
    updatedAt: deployment.updatedAt
  }
  if (deployment.result != null) {
    ref.result = deployment.result
  }
  if (deployment.policyEnd != null) {
    ref.policyEnd = deployment.policyEnd
  }
  return ref
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

export function intentWithRecord (state: IntentState | undefined, record: SignedRecord<'intent'>): IntentState {
  const current = state ?? emptyIntent(record.id)
  const { body } = record
  const facts: IntentFacts = {
    id: record.id,
    author: body.author,
    action: body.action,
    seeds: body.action === 'deploy' ? body.releases.map(release => release.seed) : [...body.seeds ?? []],
    releases: intentReleases(body),
    targets: [...body.targets],
    issuedAt: body.issuedAt,
    expiresAt: body.expiresAt
  }
  if (body.action === 'deploy') {
    facts.sequence = body.sequence
  } else {
    facts.intent = body.intent
  }
  return { ...current, facts }
}

/** Returns the seed and store path of each release of a deploy intent, none for a follow-up. */
export function intentReleases (body: IntentBody): IntentRelease[] {
  return body.action === 'deploy' ? body.releases.map(release => ({ seed: release.seed, storePath: release.storePath })) : []
}

export function emptyIntent (id: string): IntentState {
  const results = Object.fromEntries(DEPLOYMENT_RESULTS.map(result => [result, 0])) as Record<DeploymentResult, number>
  return { id, gardens: 0, results }
}

/**
 * Moves one garden's count from its result `before` to `after` (undefined:
 * no result yet). `isNewGarden` counts a garden's first event for the intent.
 */
export function intentWithGardenChange (
  state: IntentState, before: DeploymentResult | undefined, after: DeploymentResult | undefined, isNewGarden: boolean
): IntentState {
  const results = { ...state.results }
  if (before != null) {
    results[before] -= 1
  }
  if (after != null) {
    results[after] += 1
  }
  return { ...state, gardens: state.gardens + (isNewGarden ? 1 : 0), results }
}

/**
 * Combines one garden's per-seed results into its result for an intent.
 * There is none while any seed is open, and the common result when all
 * seeds agree. A mix that contains `success` or `partial` is `partial`.
 * Any other mix is the first of `failure`, `canceled`, `superseded` in it.
 */
export function combineResults (seeds: Record<string, DeploymentResult | null>): DeploymentResult | undefined {
  const results = Object.values(seeds)
  if (results.length === 0 || results.includes(null)) {
    return undefined
  }
  const distinct = new Set(results as DeploymentResult[])
  if (distinct.size === 1) {
    return results[0] as DeploymentResult
  }
  if (distinct.has('success') || distinct.has('partial')) {
    return 'partial'
  }
  return (['failure', 'canceled', 'superseded'] as const).find(result => distinct.has(result))
}

export function toGardenSummary (state: GardenState): GardenSummary {
  const { tracking: _tracking, ...summary } = state
  return summary
}

export function toDeploymentSummary (state: DeploymentState): DeploymentSummary {
  const { tracking: _tracking, ...summary } = state
  return summary
}

export function toIntentSummary (state: IntentState): IntentSummary | undefined {
  if (state.facts == null) {
    return undefined
  }
  return { ...state.facts, gardens: state.gardens, applied: state.results.success, results: { ...state.results } }
}

/** Decides whether a garden is listed, which it is once a certificate or a report of it is stored. */
export function isListedGarden (state: GardenState): boolean {
  return state.certificate != null || state.report != null
}

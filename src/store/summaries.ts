import { DEPLOYMENT_RESULTS } from '../records/index.ts'
import type { DeploymentResult, IntentAction, IntentBody, SignedRecord, GARDEN_ROLES } from '../records/index.ts'
import { isOpenDeployment } from './deployment-summary.ts'
import type { DeploymentState, DeploymentWait, PolicyEnd } from './deployment-summary.ts'
import { isNewer, issuedAtOf, stampOf } from './key-layout.ts'
import type { StoredMeta } from './types.ts'

/*
 * Materialised views. Each summary is a function of the set of records
 * stored, whatever their arrival order: "latest" fields compare record
 * stamps (issue time, feed position, id) and keep the greatest, and counters
 * are sums over per-garden states that are themselves order-independent.
 * Applying the same record twice changes nothing.
 */

export type GardenRole = typeof GARDEN_ROLES[number]

/** The newest deployment of a garden, by the issue time of its newest event. */
export interface DeploymentRef {
  id: string
  intent: string
  seed: string
  /** Result of this deployment; absent while it is open. */
  result?: DeploymentResult
  /** Set when the deployment ended by its policy, without a result. */
  policyEnd?: PolicyEnd
  /** Set while the deployment waits for a confirmation or a window. */
  waiting?: DeploymentWait
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
  if (deployment.waiting != null) {
    ref.waiting = { ...deployment.waiting }
  }
  return ref
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

import type { Config } from '../config/index.ts'
import { InvalidInputError } from '../errors.ts'
import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import type { FleetNode, Ingest, TrustState } from '../network/index.ts'
import { judgeRecord } from '../network/index.ts'
import type { StoreBackend } from '../nix/index.ts'
import { parseRecord, signRecord } from '../records/index.ts'
import type { BodyTypes, Envelope, EventBody, RecordType, ReportBody, SignedRecord } from '../records/index.ts'
import { isOpenDeployment } from '../store/index.ts'
import type { DeploymentSummary, GardenSummary, IntentSummary, RecordStore } from '../store/index.ts'
import { exportBundle, importBundle } from './bundle.ts'
import type { BundleExportOptions, BundleExportSummary, BundleImportSummary } from './bundle.ts'
import { NoAdminKeyError } from './errors.ts'
import { readExpiries } from './expiry.ts'
import type { Expiries } from './expiry.ts'
import { feedMarkPath } from './feed-mark.ts'
import { checkFeedMark } from './feed-marks.ts'
import type { FeedMarkCheck } from './feed-marks.ts'
import type { OwnFeedStatus } from './own-feed.ts'

/** Record types that admins sign through a node. */
export type AdminRecordType = 'certificate' | 'revocation' | 'intent'

/** A body as a command sends it: the node fills in the fleet, the issue time and the feed position. */
export type SignBody<T extends AdminRecordType> = DistributiveOmit<BodyTypes[T], 'author' | 'seq' | 'prev' | 'fleet' | 'issuedAt'>
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export interface NodeInfo {
  peer: string
  fleet: string
  rootVersion: number
  root: string
  /** Whether the fleet network runs in this node, so published records are gossiped at once. */
  networked: boolean
  addresses: string[]
  webUrl: string | null
  adminKeys: Array<{ key: string, admin: string | null, scopes: string[] }>
  /** Every admin of the current root, to show names for key ids. */
  admins: Array<{ name: string, key: string }>
  nix: { backend: 'nix' | 'plain', storeRoot: string }
  connectedMembers: number
  /** Whether this node may sign records of its own feed now; null when only the store is open. */
  ownFeed: OwnFeedStatus | null
  /**
   * The feed head mark of each admin key compared with the store and, when
   * only the store is open, that of the node key too, which `ownFeed`
   * covers while the node runs.
   */
  feedMarks: FeedMarkCheck[]
  /** When the current root and this node's certificate expire. */
  expiries: Expiries
}

export interface GardenDetail {
  summary: GardenSummary
  member: boolean
  memberReason: string | null
  report: ReportBody | null
}

/** A deployment as commands show it, with what its events tell beyond the summary. */
export interface DeploymentView extends DeploymentSummary {
  /**
   * The policy permitted staging but not activation: `policyEnd` is
   * `staged_only`. Such a deployment ends with a `policy_denied` event whose
   * detail marks the closure as staged.
   */
  stagedOnly?: boolean
  /**
   * The deployment waits for a confirmation: `waiting.kind` is
   * `confirmation`. Its newest event may be a later `staging` or `staged`,
   * because a garden stages while it waits.
   */
  awaitingConfirmation?: boolean
}

/** Event kinds after which a deployment no longer waits for a confirmation. */
const CONFIRMATION_ENDS = new Set<string>([
  'confirmed', 'activating', 'activated', 'result', 'canceled', 'superseded', 'retry', 'policy_denied'
])

/** One garden in the fleet overview, with its newest deployment of each seed. */
export interface GardenOverview extends GardenSummary {
  member: boolean
  seeds: DeploymentView[]
}

/** Deployments read per garden to find the newest of each seed. */
const OVERVIEW_DEPLOYMENTS_MAX = 64

export interface EventView {
  id: string
  issuedAt: string
  kind: EventBody['kind']
  trigger?: EventBody['trigger']
  actor?: string
  result?: EventBody['result']
  detail?: EventBody['detail']
}

export interface DeploymentDetail {
  summary: DeploymentView
  events: EventView[]
}

export interface PublishOutcome {
  record: Envelope
  id: string
  /** Peers that received the gossip message; 0 when no peer is connected or the network is not running. */
  recipients: number
  networked: boolean
}

/**
 * Operations that commands request from a node. A running node serves them
 * over its control socket. When the node is stopped, a command opens the
 * store in its own process, or the whole node when it must reach peers.
 */
export interface NodeApi {
  info: (params: Record<string, never>) => Promise<NodeInfo>
  gardens: (params: Record<string, never>) => Promise<GardenSummary[]>
  overview: (params: Record<string, never>) => Promise<GardenOverview[]>
  garden: (params: { peer: string }) => Promise<GardenDetail | null>
  deployments: (params: { garden?: string, intent?: string, limit?: number }) => Promise<DeploymentView[]>
  deployment: (params: { id: string }) => Promise<DeploymentDetail | null>
  intents: (params: { limit?: number }) => Promise<IntentSummary[]>
  intent: (params: { id: string }) => Promise<{ summary: IntentSummary | null, record: Envelope } | null>
  nextSequence: (params: { seed: string }) => Promise<number>
  sign: <T extends AdminRecordType>(params: { type: T, body: SignBody<T>, signer?: string }) => Promise<PublishOutcome>
  publish: (params: { record: Envelope }) => Promise<PublishOutcome>
  importBundle: (params: { file: string }) => Promise<BundleImportSummary>
  exportBundle: (params: { file: string } & BundleExportOptions) => Promise<BundleExportSummary>
  startWeb: (params: { host?: string, port?: number, token?: string }) => Promise<{ url: string }>
  /** Releases one of this garden's deployments that waits for a confirmation, as an operator on it. */
  confirmHere: (params: { deployment: string }) => Promise<{ confirmed: boolean }>
}

export const NODE_API_METHODS = [
  'info', 'gardens', 'overview', 'garden', 'deployments', 'deployment', 'intents', 'intent', 'nextSequence',
  'sign', 'publish', 'importBundle', 'exportBundle', 'startWeb', 'confirmHere'
] as const satisfies ReadonlyArray<keyof NodeApi>

export interface GardenApiParts {
  config: Config
  store: RecordStore
  trust: TrustState
  ingest: Ingest
  nodeKey: SigningKey
  adminKeys: readonly SigningKey[]
  backend: StoreBackend
  logger: Logger
  /** The running fleet node; absent when only the store is open. */
  node?: FleetNode
  /** Starts the web view over this node's store, or returns the running one's URL. */
  startWeb?: (init: { host?: string, port?: number, token?: string }) => Promise<string>
  webUrl?: () => string | null
  confirmHere?: (deploymentId: string) => Promise<boolean>
  ownFeed?: () => OwnFeedStatus
  /** Called after a bundle import, which brings back records of the node's own feed like a sync. */
  bundleImported?: () => void
  nowMs?: () => number
}

/** Returns the JSON form of a record, as files, bundles and the control socket carry it. */
export function toEnvelope (record: SignedRecord): Envelope {
  return { type: record.type, body: record.body, signatures: record.signatures }
}

/** The node side of `NodeApi`, over a node's parts. */
export class GardenApi implements NodeApi {
  readonly #parts: GardenApiParts
  readonly #nowMs: () => number

  constructor (parts: GardenApiParts) {
    this.#parts = parts
    this.#nowMs = parts.nowMs ?? Date.now
  }

  async info (): Promise<NodeInfo> {
    const { trust, node, config, nodeKey } = this.#parts
    return {
      peer: nodeKey.id,
      fleet: trust.fleet,
      rootVersion: trust.root.body.version,
      root: trust.root.id,
      networked: node?.started === true,
      addresses: node?.getMultiaddrs() ?? [],
      webUrl: this.#parts.webUrl?.() ?? null,
      adminKeys: this.#parts.adminKeys.map(key => {
        const admin = trust.root.body.admins.find(candidate => candidate.key === key.id)
        return { key: key.id, admin: admin?.name ?? null, scopes: admin?.scopes.map(scope => scope.name) ?? [] }
      }),
      admins: trust.root.body.admins.map(admin => ({ name: admin.name, key: admin.key })),
      nix: { backend: config.nix.backend, storeRoot: config.nix.storeRoot },
      connectedMembers: node?.connectedMembers().length ?? 0,
      ownFeed: this.#parts.ownFeed?.() ?? null,
      feedMarks: await this.#checkFeedMarks(),
      expiries: readExpiries(trust, nodeKey.id)
    }
  }

  /** Compares the marks that `NodeInfo.feedMarks` lists with the store, skipping an admin key that is the node key. */
  async #checkFeedMarks (): Promise<FeedMarkCheck[]> {
    const { store, config, nodeKey, adminKeys } = this.#parts
    const checks: FeedMarkCheck[] = []
    if (this.#parts.ownFeed == null) {
      checks.push(await checkFeedMark(store, 'own', nodeKey.id, feedMarkPath(config.nodeKey)))
    }
    const seen = new Set([nodeKey.id])
    for (const [index, key] of adminKeys.entries()) {
      if (!seen.has(key.id)) {
        seen.add(key.id)
        checks.push(await checkFeedMark(store, 'admin', key.id, feedMarkPath(config.adminKeys[index])))
      }
    }
    return checks
  }

  async gardens (): Promise<GardenSummary[]> {
    return await this.#parts.store.gardens()
  }

  async overview (): Promise<GardenOverview[]> {
    const { store, trust } = this.#parts
    const overview: GardenOverview[] = []
    for (const summary of await store.gardens()) {
      const newestBySeed = new Map<string, DeploymentSummary>()
      for (const deployment of await store.deployments({ garden: summary.peer, limit: OVERVIEW_DEPLOYMENTS_MAX })) {
        const known = newestBySeed.get(deployment.seed)
        if (known == null || deployment.updatedAt > known.updatedAt) {
          newestBySeed.set(deployment.seed, deployment)
        }
      }
      const seeds = await this.#toViews([...newestBySeed.values()].sort((a, b) => a.seed.localeCompare(b.seed)))
      overview.push({ ...summary, member: trust.isMember(summary.peer), seeds })
    }
    return overview
  }

  async garden (params: { peer: string }): Promise<GardenDetail | null> {
    const { store, trust } = this.#parts
    const summary = await store.garden(params.peer)
    if (summary == null) {
      return null
    }
    const status = trust.status(params.peer)
    const report = await store.latestReport(params.peer)
    return {
      summary,
      member: status.member,
      memberReason: status.member ? null : status.reason,
      report: report?.body ?? null
    }
  }

  async deployments (params: { garden?: string, intent?: string, limit?: number }): Promise<DeploymentView[]> {
    return await this.#toViews(await this.#parts.store.deployments(params))
  }

  async deployment (params: { id: string }): Promise<DeploymentDetail | null> {
    const { store } = this.#parts
    const summary = await store.deployment(params.id)
    if (summary == null) {
      return null
    }
    const events = await store.eventsOfDeployment(params.id)
    return { summary: toView(summary, events), events: events.map(toEventView) }
  }

  async intents (params: { limit?: number }): Promise<IntentSummary[]> {
    return await this.#parts.store.intents(params)
  }

  async intent (params: { id: string }): Promise<{ summary: IntentSummary | null, record: Envelope } | null> {
    const { store } = this.#parts
    const record = await store.get(params.id)
    if (record == null || record.type !== 'intent') {
      return null
    }
    return { summary: await store.intent(params.id) ?? null, record: toEnvelope(record) }
  }

  /** Returns one more than the highest sequence of any deploy intent for `seed` that this node stores. */
  async nextSequence (params: { seed: string }): Promise<number> {
    let highest = 0
    for await (const record of this.#parts.store.listByType('intent')) {
      const body = (record as SignedRecord<'intent'>).body
      if (body.action === 'deploy' && body.releases.some(release => release.seed === params.seed)) {
        highest = Math.max(highest, body.sequence)
      }
    }
    return highest + 1
  }

  /**
   * Signs a record with an admin key of this node that may sign it (the one
   * named by `signer`, a key id or admin name, when given), appends it to
   * that key's feed and publishes it. Checks run before anything is stored,
   * so a record that peers would reject never enters the feed.
   */
  async sign<T extends AdminRecordType> (params: { type: T, body: SignBody<T>, signer?: string }): Promise<PublishOutcome> {
    const { store, trust } = this.#parts
    const body = { ...params.body, fleet: trust.fleet, issuedAt: new Date(this.#nowMs()).toISOString() }
    const key = this.#pickSigner(params.type, body, params.signer)
    const record = await store.append(params.type, body as any, key)
    this.#parts.logger.info({ record: record.id, type: record.type, signer: key.id }, 'admin record signed')
    return await this.#publishStored(record)
  }

  /** Publishes a record signed elsewhere, such as a new root version. */
  async publish (params: { record: Envelope }): Promise<PublishOutcome> {
    const decoded = parseRecord(params.record)
    if (!decoded.ok) {
      throw new InvalidInputError(`cannot publish: ${decoded.error.message}`)
    }
    const record = decoded.record
    const { node } = this.#parts
    if (node?.started === true) {
      const { recipients } = await node.publish(record)
      return { record: toEnvelope(record), id: record.id, recipients, networked: true }
    }
    const outcome = await this.#parts.ingest(record.bytes, { via: 'local' })
    if (outcome.action === 'reject' || (outcome.action === 'ignore' && outcome.code !== 'ERR_KNOWN')) {
      throw new InvalidInputError(`cannot publish ${record.type} ${record.id}: ${outcome.reason}`)
    }
    return { record: toEnvelope(record), id: record.id, recipients: 0, networked: false }
  }

  async importBundle (params: { file: string }): Promise<BundleImportSummary> {
    const summary = await importBundle(this.#bundleParts(), params.file)
    this.#parts.bundleImported?.()
    return summary
  }

  async exportBundle (params: { file: string } & BundleExportOptions): Promise<BundleExportSummary> {
    const { file, ...options } = params
    return await exportBundle(this.#bundleParts(), file, options)
  }

  async startWeb (params: { host?: string, port?: number, token?: string }): Promise<{ url: string }> {
    if (this.#parts.startWeb == null) {
      throw new InvalidInputError('this node cannot serve a web view')
    }
    return { url: await this.#parts.startWeb(params) }
  }

  /**
   * Adds what the events of open deployments show. Ended and waiting ones
   * need no events read, because their summary carries the state.
   */
  async #toViews (deployments: DeploymentSummary[]): Promise<DeploymentView[]> {
    const views: DeploymentView[] = []
    for (const deployment of deployments) {
      const needsEvents = isOpenDeployment(deployment) && deployment.waiting == null
      const events = needsEvents ? await this.#parts.store.eventsOfDeployment(deployment.id) : []
      views.push(toView(deployment, events))
    }
    return views
  }

  async confirmHere (params: { deployment: string }): Promise<{ confirmed: boolean }> {
    if (this.#parts.confirmHere == null) {
      throw new InvalidInputError('the node is not running: start it with `sower node` to confirm a deployment on it')
    }
    return { confirmed: await this.#parts.confirmHere(params.deployment) }
  }

  #bundleParts (): Parameters<typeof importBundle>[0] {
    const { store, trust, ingest, backend, logger } = this.#parts
    return { store, trust, ingest, backend, logger }
  }

  async #publishStored (record: SignedRecord): Promise<PublishOutcome> {
    const { node } = this.#parts
    if (node?.started === true) {
      const { recipients } = await node.publish(record)
      return { record: toEnvelope(record), id: record.id, recipients, networked: true }
    }
    return { record: toEnvelope(record), id: record.id, recipients: 0, networked: false }
  }

  #pickSigner (type: RecordType, body: Record<string, unknown>, wanted?: string): SigningKey {
    const { adminKeys, trust } = this.#parts
    const admins = trust.root.body.admins
    const candidates = wanted == null
      ? adminKeys
      : adminKeys.filter(key => key.id === wanted || admins.some(admin => admin.key === key.id && admin.name === wanted))
    if (candidates.length === 0) {
      throw new NoAdminKeyError(wanted == null
        ? `this node has no admin key to sign the ${type} with; add a key file with the needed scope to adminKeys in ${this.#parts.config.file}`
        : `no admin key of this node is named ${wanted}; adminKeys in ${this.#parts.config.file} lists the keys it can use`)
    }
    const problems: string[] = []
    for (const key of candidates) {
      const trial = signRecord(type, { ...body, author: key.id, seq: 1, prev: null } as any, [key])
      const judged = judgeRecord(trust, trial, this.#nowMs())
      if (judged == null) {
        return key
      }
      problems.push(`key ${key.id}: ${judged.reason}`)
    }
    throw new NoAdminKeyError(`no admin key of this node may sign this ${type}: ${problems.join('; ')}`)
  }
}

function toView (deployment: DeploymentSummary, events: Array<SignedRecord<'event'>>): DeploymentView {
  const view: DeploymentView = { ...deployment }
  const last = events.at(-1)
  if (deployment.policyEnd != null) {
    view.stagedOnly = deployment.policyEnd === 'staged_only'
  } else if (deployment.lastEvent === 'policy_denied' && last?.body.kind === 'policy_denied') {
    // A summary stored before `policyEnd` existed leaves the end state to its last event.
    view.stagedOnly = last.body.detail?.staged === true
  }
  if (deployment.waiting != null) {
    if (deployment.waiting.kind === 'confirmation') view.awaitingConfirmation = true
    return view
  }
  // A summary stored before `waiting` existed leaves a confirmation wait to its events.
  const asked = events.findLastIndex(event => event.body.kind === 'confirmation_required')
  if (deployment.result == null && asked !== -1 && !events.slice(asked + 1).some(event => CONFIRMATION_ENDS.has(event.body.kind))) {
    view.awaitingConfirmation = true
  }
  return view
}

function toEventView (record: SignedRecord<'event'>): EventView {
  const { body } = record
  const view: EventView = { id: record.id, issuedAt: body.issuedAt, kind: body.kind }
  for (const field of ['trigger', 'actor', 'result', 'detail'] as const) {
    if (body[field] != null) {
      (view as any)[field] = body[field]
    }
  }
  return view
}

import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Config } from '../config/index.ts'
import { InvalidInputError } from '../errors.ts'
import { readKeyFile } from '../keys/index.ts'
import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import { FleetNode, TrustState, createIngest } from '../network/index.ts'
import type { FleetNodeInit, IntentEvent } from '../network/index.ts'
import type { StoreBackend } from '../nix/index.ts'
import { parseRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { RecordStore } from '../store/index.ts'
import { DeploymentEngine } from '../deploy/index.ts'
import type { GardenIdentity } from '../deploy/index.ts'
import { ClosureTransfer } from '../transfer/index.ts'
import { startWebView } from '../web/index.ts'
import type { OwnFeedView, WebView } from '../web/index.ts'
import { AdminFeedGuard } from './admin-feed.ts'
import { GardenApi } from './api.ts'
import { createBackend } from './backend.ts'
import { ControlServer, controlSocketPath } from './control-server.ts'
import { EXPIRY_CHECK_INTERVAL_MS, expiryWarnings, readExpiries } from './expiry.ts'
import { feedMarkPath } from './feed-mark.ts'
import { OWN_FEED_WAIT_MS, OwnFeedGuard } from './own-feed.ts'
import type { OwnFeedStatus } from './own-feed.ts'
import { OWN_FEED_STATE_LABELS } from './own-feed-words.ts'
import { SOWER_VERSION } from './version.ts'

export { GardenApi, NODE_API_METHODS, toEnvelope } from './api.ts'
export type { NodeApi, NodeInfo, GardenDetail, GardenOverview, DeploymentView, DeploymentDetail, EventView, PublishOutcome, SignBody } from './api.ts'
export { ControlServer, controlSocketPath, CONTROL_SOCKET_NAME } from './control-server.ts'
export { createBackend } from './backend.ts'
export { buildRelease, resolveStorePath } from './release.ts'
export { exportBundle, importBundle, writeRecordsBundle, BUNDLE_FORMAT, BUNDLE_VERSION } from './bundle.ts'
export type { BundleExportSummary, BundleImportSummary } from './bundle.ts'
export { AdminFeedGuard, adminBehindMessage } from './admin-feed.ts'
export {
  AdminFeedBehindError, BundleError, ControlError, NoAdminKeyError, NotFoundError, OwnFeedBehindError, OwnFeedForkedError, OwnFeedStoppedError, RemoteError
} from './errors.ts'
export { EXPIRY_CHECK_INTERVAL_MS, EXPIRY_WARNING_MS, expiryWarnings, readExpiries } from './expiry.ts'
export type { Expiries, ExpiryWarning } from './expiry.ts'
export { FEED_MARK_SUFFIX, feedMarkPath, readFeedMark } from './feed-mark.ts'
export type { FeedMark } from './feed-mark.ts'
export { checkFeedMark } from './feed-marks.ts'
export type { FeedMarkCheck } from './feed-marks.ts'
export { OWN_FEED_STATE_LABELS } from './own-feed-words.ts'
export { OWN_FEED_VOUCHED_WAIT_MS, OWN_FEED_WAIT_MS, OwnFeedGuard, judgeOwnFeed } from './own-feed.ts'
export type { OwnFeedState, OwnFeedStatus } from './own-feed.ts'
export { SOWER_VERSION } from './version.ts'

/** Folder of the record store inside a node's data folder. */
export const RECORDS_FOLDER = 'records'
/** Time between two compactions of the record store within the config's `retention` limits. */
export const COMPACTION_INTERVAL_MS = 60 * 60 * 1000
const DAY_MS = 24 * 60 * 60 * 1000

export interface GardenInit {
  logger: Logger
  /** Serve the control socket in the data folder. @default true */
  control?: boolean
  /** Serve the web view when the config enables it. @default true */
  web?: boolean
  /** Overrides of the fleet network's timing, for tests and the demo fleet. */
  network?: Partial<Pick<FleetNodeInit, 'syncIntervalMs' | 'membershipGraceMs' | 'redialDelaysMs' | 'redialMaxDelayMs'>>
  /** Overrides of the wait for a first sync before the node signs, for tests. */
  ownFeed?: { waitMs?: number, vouchedWaitMs?: number }
  /**
   * Override of the time after start during which a record of an admin key
   * whose store is below its feed head mark waits for sync, for tests.
   * @default OWN_FEED_WAIT_MS
   */
  adminFeed?: { waitMs?: number }
  nowMs?: () => number
}

/** Keys and pinned root that a node reads from disk before it starts. */
interface Identity {
  nodeKey: SigningKey
  adminKeys: SigningKey[]
  root: SignedRecord<'root'>
}

/**
 * A Sower node, garden or admin. It is the composition root, the only
 * module that imports every part. From a parsed config it reads the keys,
 * opens the record store, starts the fleet network, the closure transfer,
 * the deployment engine, the web view and the control socket, and stops
 * them in reverse order. An admin node is the same node with admin keys
 * configured and usually no subscriptions. Signals are the caller's business.
 */
export class Garden {
  readonly config: Config
  readonly #init: GardenInit
  readonly #log: Logger
  #store?: RecordStore
  #node?: FleetNode
  #backend?: StoreBackend
  #transfer?: ClosureTransfer
  #engine?: DeploymentEngine
  #ownFeed?: OwnFeedGuard
  #adminFeeds: AdminFeedGuard[] = []
  /** The engine's start, which waits until the own feed is ready. */
  #engineStart?: Promise<void>
  #cancelEngineStart?: () => void
  #web?: WebView
  #control?: ControlServer
  #api?: GardenApi
  #identity?: Identity
  #starting?: Promise<void>
  #stopping?: Promise<void>
  #compactionTimer?: NodeJS.Timeout
  #compacting?: Promise<void>
  #expiryTimer?: NodeJS.Timeout
  readonly #onIntent = (event: IntentEvent): void => { this.#intentArrived(event) }

  constructor (config: Config, init: GardenInit) {
    this.config = config
    this.#init = init
    this.#log = init.logger
  }

  get peerId (): string {
    return this.#require(this.#identity, 'peerId').nodeKey.id
  }

  get api (): GardenApi {
    return this.#require(this.#api, 'api')
  }

  get store (): RecordStore {
    return this.#require(this.#store, 'store')
  }

  get node (): FleetNode {
    return this.#require(this.#node, 'node')
  }

  get backend (): StoreBackend {
    return this.#require(this.#backend, 'backend')
  }

  /** Listen addresses with `/p2p/<peer id>`. */
  get addresses (): string[] {
    return this.#node?.getMultiaddrs() ?? []
  }

  get webUrl (): string | null {
    return this.#web?.url ?? null
  }

  get controlPath (): string | null {
    return this.#control?.path ?? null
  }

  /** Whether this node signs its own records now, and why not; null before `start`. */
  get ownFeed (): OwnFeedStatus | null {
    return this.#ownFeed?.status() ?? null
  }

  /** Starts every part; a second call waits for the first. On failure, what started is stopped again. */
  async start (): Promise<void> {
    this.#starting ??= this.#startOnce()
    await this.#starting
  }

  async #startOnce (): Promise<void> {
    try {
      await this.#startParts()
    } catch (err) {
      await this.#stopParts()
      throw err
    }
  }

  async #startParts (): Promise<void> {
    const { config } = this
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
    const identity = await readIdentity(config)
    this.#identity = identity
    const store = await RecordStore.open(join(config.dataDir, RECORDS_FOLDER), { logger: this.#log })
    this.#store = store
    const node = new FleetNode({ store, nodeKey: identity.nodeKey, logger: this.#log }, {
      root: identity.root,
      listenAddresses: [...config.listen],
      bootstrap: [...config.bootstrap],
      syncBudgetBurstBytes: config.sync.budgetBurstBytes,
      syncBudgetRefillBytesPerSec: config.sync.budgetRefillBytesPerSec,
      nowMs: this.#init.nowMs,
      ...this.#init.network
    })
    this.#node = node
    const ownFeed = new OwnFeedGuard({ store, node, author: identity.nodeKey.id, logger: this.#log }, {
      markFile: feedMarkPath(config.nodeKey),
      ...this.#init.ownFeed
    })
    this.#ownFeed = ownFeed
    await ownFeed.start()
    this.#adminFeeds = startAdminFeedGuards({ store, identity, config, logger: this.#log }, {
      waitMs: this.#init.adminFeed?.waitMs ?? OWN_FEED_WAIT_MS,
      exceptAuthor: identity.nodeKey.id
    })
    this.#backend = createBackend(config.nix)
    this.#api = new GardenApi({
      config,
      store,
      trust: node.trust,
      ingest: node.ingest,
      nodeKey: identity.nodeKey,
      adminKeys: identity.adminKeys,
      backend: this.#backend,
      logger: this.#log,
      node,
      startWeb: async options => await this.#startWeb(options),
      confirmHere: async deploymentId => await this.confirmHere(deploymentId),
      webUrl: () => this.webUrl,
      ownFeed: () => ownFeed.status(),
      bundleImported: () => { ownFeed.syncCompleted() },
      nowMs: this.#init.nowMs
    })
    await node.start()
    this.#transfer = new ClosureTransfer({ node, backend: this.#backend, logger: this.#log }, {
      binaryCaches: [...config.nix.binaryCaches],
      profiles: config.subscriptions.map(subscription => subscription.profile)
    })
    await this.#transfer.start()
    this.#engine = new DeploymentEngine({
      store,
      nodeKey: identity.nodeKey,
      backend: this.#backend,
      stager: this.#transfer,
      announce: async record => { await node.publish(record) },
      self: () => this.#self(),
      logger: this.#log,
      ...(this.#init.nowMs == null ? {} : { now: this.#init.nowMs })
    }, {
      fleet: config.fleet,
      subscriptions: config.subscriptions,
      timeZone: config.timeZone,
      agentVersion: SOWER_VERSION,
      clockReliable: config.clock.reliable
    })
    node.on('intent', this.#onIntent)
    this.#startEngineWhenReady(this.#engine, ownFeed, node.trust)
    if (config.web.enabled && this.#init.web !== false) {
      await this.#startWeb({})
    }
    if (this.#init.control !== false) {
      this.#control = new ControlServer({ api: this.#api, logger: this.#log }, { path: controlSocketPath(config.dataDir) })
      await this.#control.start()
    }
    this.#compactionTimer = setInterval(() => { this.#compact() }, COMPACTION_INTERVAL_MS)
    this.#compactionTimer.unref()
    this.#warnWithoutCertificate()
    this.#warnOfExpiries()
    this.#expiryTimer = setInterval(() => { this.#warnOfExpiries() }, EXPIRY_CHECK_INTERVAL_MS)
    this.#expiryTimer.unref()
    this.#log.info({ peer: identity.nodeKey.id, fleet: config.fleet, web: this.webUrl, ownFeed: ownFeed.state }, 'garden started')
  }

  /** Stops every part in reverse order; safe to call twice and before `start`. */
  async stop (): Promise<void> {
    if (this.#starting == null) {
      return
    }
    this.#stopping ??= (async () => {
      await this.#starting?.catch(() => {})
      await this.#stopParts()
    })()
    await this.#stopping
  }

  async #stopParts (): Promise<void> {
    clearInterval(this.#compactionTimer)
    this.#compactionTimer = undefined
    clearInterval(this.#expiryTimer)
    this.#expiryTimer = undefined
    await this.#compacting
    await this.#stopPart('control socket', async () => { await this.#control?.stop() })
    await this.#stopPart('web view', async () => { await this.#web?.close() })
    this.#node?.off('intent', this.#onIntent)
    this.#cancelEngineStart?.()
    await this.#engineStart
    await this.#stopPart('deployment engine', async () => { await this.#engine?.stop() })
    await this.#stopPart('own feed guard', async () => { await this.#ownFeed?.stop() })
    await this.#stopPart('admin feed guards', async () => { this.#adminFeeds.forEach(guard => { guard.stop() }) })
    await this.#stopPart('closure transfer', async () => { await this.#transfer?.stop() })
    await this.#stopPart('fleet node', async () => { await this.#node?.stop() })
    await this.#stopPart('record store', async () => { await this.#store?.close() })
    this.#control = undefined
    this.#web = undefined
  }

  async #stopPart (name: string, stop: () => Promise<void>): Promise<void> {
    try {
      await stop()
    } catch (err) {
      this.#log.error({ err, part: name }, 'stopping a part of the garden failed')
    }
  }

  /**
   * Starts the deployment engine once the own feed is ready, in the
   * background, because every step of a deployment is an event in that
   * feed. While the current root has expired it waits for a valid one too,
   * so that the garden signs no report under a root that grants no
   * authority. Intents that arrive meanwhile are handled when it starts.
   * NOTE: a root that expires while the engine runs does not stop it, so
   * the garden goes on signing reports into its store.
   */
  #startEngineWhenReady (engine: DeploymentEngine, ownFeed: OwnFeedGuard, trust: TrustState): void {
    const canceled = Promise.withResolvers<boolean>()
    this.#cancelEngineStart = () => { canceled.resolve(false) }
    const ready = ownFeed.ready().then(async () => { await this.#untilRootValid(trust, canceled.promise) })
    this.#engineStart = Promise.race([ready.then(() => true), canceled.promise])
      .then(async ready => {
        if (ready) {
          await engine.start()
        }
      })
      .catch((err: unknown) => { this.#log.error({ err }, 'starting the deployment engine failed') })
  }

  /** Resolves once the current root has not expired, or when `canceled` settles. */
  async #untilRootValid (trust: TrustState, canceled: Promise<unknown>): Promise<void> {
    if (!trust.rootExpired) {
      return
    }
    this.#log.info({ rootVersion: trust.root.body.version }, 'the deployment engine waits for a root version that has not expired')
    const valid = Promise.withResolvers<void>()
    const onValid = (): void => { valid.resolve() }
    trust.on('rootValid', onValid)
    try {
      await Promise.race([valid.promise, canceled])
    } finally {
      trust.off('rootValid', onValid)
    }
  }

  /** Drops reports and events beyond the config's retention limits; one run at a time. */
  #compact (): void {
    if (this.#compacting != null || this.#store == null) {
      return
    }
    const { retention } = this.config
    const limits = { maxAgeMs: retention.maxAgeDays * DAY_MS, maxRecordsPerAuthor: retention.maxRecordsPerGarden }
    this.#compacting = this.#store.compact(limits)
      .then(() => {}, (err: unknown) => { this.#log.error({ err }, 'compacting the record store failed') })
      .finally(() => { this.#compacting = undefined })
  }

  async #startWeb (options: { host?: string, port?: number, token?: string }): Promise<string> {
    if (this.#web != null) {
      return this.#web.url
    }
    const { web } = this.config
    const token = options.token ?? web.token
    this.#web = await startWebView({ store: this.store, logger: this.#log }, {
      host: options.host ?? web.host,
      port: options.port ?? web.port,
      ...(token == null ? {} : { token }),
      nodeInfo: { peer: this.peerId, fleet: this.config.fleet, version: SOWER_VERSION, name: this.#ownName() },
      ownFeed: () => this.#ownFeedView()
    })
    return this.#web.url
  }

  #ownFeedView (): OwnFeedView | null {
    const status = this.ownFeed
    return status == null ? null : { state: status.state, label: OWN_FEED_STATE_LABELS[status.state], detail: status.detail }
  }

  #warnWithoutCertificate (): void {
    const status = this.node.trust.status(this.peerId)
    if (!status.member && status.code === 'ERR_NO_CERTIFICATE') {
      this.#log.warn({ peer: this.peerId },
        'this node has no certificate yet, so members close its connections: enroll it with ' +
        `\`sower enroll ${this.peerId} --name NAME\` (add \`--role admin\` for an admin node); ` +
        'it receives the certificate from the first member it reaches')
    }
  }

  /** Logs one warning for each of the current root and this node's certificate that expires soon. */
  #warnOfExpiries (): void {
    const nowMs = (this.#init.nowMs ?? Date.now)()
    for (const warning of expiryWarnings(readExpiries(this.node.trust, this.peerId), this.peerId, nowMs)) {
      this.#log.warn({ peer: this.peerId, item: warning.item, expiresAt: warning.expiresAt }, warning.message)
    }
  }

  #ownName (): string | undefined {
    const [certificate] = this.#node?.trust.certificatesOf(this.peerId) ?? []
    return certificate?.body.name
  }

  /** This garden as intents target it: the name and tags of its newest certificate. */
  #self (): GardenIdentity {
    const peer = this.peerId
    const [certificate] = this.#node?.trust.certificatesOf(peer) ?? []
    return {
      peer,
      name: certificate?.body.name ?? peer,
      tags: certificate?.body.tags ?? [],
      addresses: this.addresses
    }
  }

  /** Hands an arrived intent to the engine, with `import` as the reason for one from a bundle. */
  #intentArrived (event: IntentEvent): void {
    const engine = this.#engine
    if (engine == null) {
      return
    }
    const work = async (): Promise<void> => {
      const meta = await this.store.getMeta(event.record.id)
      await engine.handleIntent(event.record, event.trigger, meta?.via === 'bundle' ? 'import' : undefined)
    }
    work().catch(err => {
      this.#log.error({ err, intent: event.record.id }, 'handing an intent to the deployment engine failed')
    })
  }

  /** Releases a deployment that waits for a confirmation, as an operator on this garden. */
  async confirmHere (deploymentId: string): Promise<boolean> {
    return await this.#engine?.confirm(deploymentId) ?? false
  }

  #require<T> (value: T | undefined, what: string): T {
    if (value == null) {
      throw new Error(`garden ${what} is not available before start()`)
    }
    return value
  }
}

/** Reads the node key, the admin keys and the pinned root that a config names. */
export async function readIdentity (config: Config): Promise<Identity> {
  const nodeKey = await readKeyFile(config.nodeKey)
  const adminKeys: SigningKey[] = []
  for (const path of config.adminKeys) {
    adminKeys.push(await readKeyFile(path))
  }
  const root = await readRootFile(config.root)
  if (root.body.fleet !== config.fleet) {
    throw new InvalidInputError(`root ${config.root} belongs to fleet ${root.body.fleet}, but ${config.file} names fleet ${config.fleet}`)
  }
  return { nodeKey, adminKeys, root }
}

/** Reads a file that contains one record as JSON. */
export async function readRecordFile (path: string): Promise<SignedRecord> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message
    throw new InvalidInputError(`cannot read record file ${path}: ${reason}`, { cause: err })
  }
  const decoded = parseRecord(json)
  if (!decoded.ok) {
    throw new InvalidInputError(`invalid record file ${path}: ${decoded.error.message}`)
  }
  return decoded.record
}

export async function readRootFile (path: string): Promise<SignedRecord<'root'>> {
  const record = await readRecordFile(path)
  if (record.type !== 'root') {
    throw new InvalidInputError(`${path} contains a record of type ${record.type}, not a root; create one with \`sower root create\``)
  }
  return record as SignedRecord<'root'>
}

export interface StoreOnlyNode {
  api: GardenApi
  store: RecordStore
  trust: TrustState
  close: () => Promise<void>
}

/**
 * Opens a node's store without its network, for commands that run while the
 * node is stopped. Records it signs wait in the store until the node runs
 * and syncs; records it imports pass the same ingest pipeline as gossip.
 */
export async function openStoreOnly (config: Config, logger: Logger): Promise<StoreOnlyNode> {
  const identity = await readIdentity(config)
  await mkdir(config.dataDir, { recursive: true, mode: 0o700 })
  const store = await RecordStore.open(join(config.dataDir, RECORDS_FOLDER), { logger })
  try {
    // Nothing here syncs, so an append below an admin key's mark fails at once.
    const adminFeeds = startAdminFeedGuards({ store, identity, config, logger }, { waitMs: 0 })
    const trust = new TrustState({ store, logger }, { root: identity.root })
    await trust.load()
    const ingest = createIngest({ store, trust, logger })
    const api = new GardenApi({
      config,
      store,
      trust,
      ingest,
      nodeKey: identity.nodeKey,
      adminKeys: identity.adminKeys,
      backend: createBackend(config.nix),
      logger
    })
    const close = async (): Promise<void> => {
      adminFeeds.forEach(guard => { guard.stop() })
      await store.close()
    }
    return { api, store, trust, close }
  } catch (err) {
    await store.close()
    throw err
  }
}

/**
 * Guards the appends of each admin key of the config with the feed head
 * mark beside its key file. `exceptAuthor` is a key that another guard
 * covers already, such as a garden's node key.
 */
function startAdminFeedGuards (parts: { store: RecordStore, identity: Identity, config: Config, logger: Logger },
  init: { waitMs: number, exceptAuthor?: string }): AdminFeedGuard[] {
  const { store, identity, config, logger } = parts
  const guards = new Map<string, AdminFeedGuard>()
  for (const [index, key] of identity.adminKeys.entries()) {
    if (key.id === init.exceptAuthor || guards.has(key.id)) {
      continue
    }
    const guard = new AdminFeedGuard({ store, author: key.id, logger }, { markFile: feedMarkPath(config.adminKeys[index]), waitMs: init.waitMs })
    guard.start()
    guards.set(key.id, guard)
  }
  return [...guards.values()]
}

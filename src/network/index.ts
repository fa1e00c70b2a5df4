import { EventEmitter } from 'node:events'
import type { GossipSub } from '@libp2p/gossipsub'
import type { AbortOptions, Connection, Libp2p, PeerInfo, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import type { KadDHT } from '@libp2p/kad-dht'
import { SowerError } from '../errors.ts'
import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import { decodeRecord, forkFields } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { storePathKey } from './dht.ts'
import { DhtGate } from './dht-gate.ts'
import { NotMemberError } from './errors.ts'
import { attachValidators, detachValidators } from './gossip.ts'
import { handleHello, sendHello } from './hello.ts'
import { createBatchIngest, createIngest, judgeRecord } from './ingest.ts'
import type { Ingest, IngestBatch, IngestInit, IngestMeta, IngestResult } from './ingest.ts'
import { createFleetLibp2p } from './libp2p.ts'
import { MemberGate } from './member-gate.ts'
import { SignaturePool } from './signature-pool.ts'
import { SYNC_BUDGET_MAX_PEERS, TOPIC_OF_TYPE, fleetProtocols, resolveInit } from './options.ts'
import type { FleetNodeInit, FleetProtocols, ResolvedInit } from './options.ts'
import { ROOT_AUTHOR_RANGE, pullFrom, serveSync } from './sync.ts'
import { SyncBudget } from './sync-budget.ts'
import type { SettledCursors, SyncSummary } from './sync.ts'
import { TrustState } from './trust-state.ts'
import type { PeerStatusChange } from './trust-state.ts'

export * from './options.ts'
export { storePathKey } from './dht.ts'
export { NotMemberError, SyncSessionBusyError } from './errors.ts'
export { createBatchIngest, createIngest, judgeRecord } from './ingest.ts'
export type { Ingest, IngestAction, IngestBatch, IngestBatchOptions, IngestInit, IngestMeta, IngestResult } from './ingest.ts'
export { SignaturePool } from './signature-pool.ts'
export { redialDelayMs } from './redial.ts'
export { TrustState } from './trust-state.ts'
export type { PeerStatusChange } from './trust-state.ts'
export type { SyncSummary } from './sync.ts'
export { ProtocolError } from './frames.ts'

/** Waits before each hello attempt on one connection: at once, then after 1 s and 3 s. */
const HELLO_RETRY_DELAYS_MS = [0, 1_000, 3_000]

/** Resolves after `ms`, or at once when `signal` aborts. */
async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) {
    return
  }
  await new Promise<void>(resolve => {
    const onAbort = (): void => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal.addEventListener('abort', onAbort, { once: true })
  })
}

/**
 * Resolves with what `work` resolves to, or with undefined as soon as
 * `signal` aborts. `work` goes on either way.
 */
async function unlessAborted<T> (work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    return undefined
  }
  const aborted = Promise.withResolvers<undefined>()
  const onAbort = (): void => { aborted.resolve(undefined) }
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    return await Promise.race([work, aborted.promise])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** The path by which a garden learned of an intent, named as policy triggers are. */
export type IntentTrigger = 'realtime' | 'poll_on_connect'

export interface IntentEvent {
  record: SignedRecord<'intent'>
  trigger: IntentTrigger
}

export interface RecordEvent {
  record: SignedRecord
  via: IngestMeta['via']
  from?: string
}

export interface SyncEvent extends SyncSummary {
  peer: string
  durationMs: number
}

export interface FleetNodeEvents {
  /**
   * An intent was stored: by gossip or a local publish (`realtime`) or by sync or bundle import
   * (`poll_on_connect`). Expired intents stored as history are not emitted.
   */
  intent: [IntentEvent]
  /** Any record was accepted and stored. */
  record: [RecordEvent]
  /** A peer became a member or stopped being one. */
  status: [PeerStatusChange]
  /** This node detected a fork and signed an alert about it. */
  alert: [SignedRecord<'alert'>]
  /** A sync session with a peer finished. */
  sync: [SyncEvent]
}

export interface FleetNodeComponents {
  store: RecordStore
  /** The node's identity: its peer id and the key it signs reports, events and alerts with. */
  nodeKey: SigningKey
  logger: Logger
}

/** Our own record failed the checks our peers would run. */
export class PublishRejectedError extends SowerError {}

export class NotStartedError extends SowerError {
  constructor () {
    super('the fleet node is not started; call start() first', 'ERR_NOT_STARTED')
  }
}

/**
 * A garden's network: libp2p with TCP, Noise, yamux, identify, ping,
 * gossipsub and a fleet-scoped Kademlia DHT, a hello protocol that admits
 * only members, gossip and sync that feed one ingest pipeline, and a redial
 * loop with backoff.
 */
export class FleetNode extends EventEmitter<FleetNodeEvents> {
  readonly #components: FleetNodeComponents
  readonly #init: ResolvedInit
  readonly #log: Logger
  readonly protocols: FleetProtocols
  readonly trust: TrustState
  readonly ingest: Ingest
  readonly #ingestBatch: IngestBatch
  /** Verifies the signatures of sync batches on worker threads while the node is started. */
  readonly #signatures: SignaturePool
  #libp2p?: Libp2p<{ pubsub: GossipSub, dht: KadDHT }>
  #gate?: MemberGate
  #dhtGate?: DhtGate
  #controller = new AbortController()
  #syncTimer?: ReturnType<typeof setInterval>
  readonly #syncing = new Map<string, Promise<SyncSummary | undefined>>()
  /** Hello and sync exchanges in flight, awaited by stop so none touches the store after it. */
  readonly #inFlight = new Set<Promise<unknown>>()
  readonly #settled: SettledCursors = new Map()
  /** Bytes and sessions that the sync server grants each peer, kept across restarts. */
  readonly #syncBudget: SyncBudget
  readonly #onStatus = (change: PeerStatusChange): void => { this.#statusChanged(change) }
  readonly #onRootValid = (): void => { this.#greetNonMembers() }

  constructor (components: FleetNodeComponents, init: FleetNodeInit) {
    super()
    this.#components = components
    this.#init = resolveInit(init)
    this.#log = components.logger
    this.protocols = fleetProtocols(init.root.body.fleet)
    this.trust = new TrustState(components, { root: init.root, nowMs: this.#init.nowMs })
    this.#signatures = new SignaturePool({ logger: this.#log })
    const ingestComponents = { ...components, trust: this.trust, signatures: this.#signatures }
    const ingestInit: IngestInit = {
      nowMs: this.#init.nowMs,
      onFork: (record, existing) => { this.#startForkAlert(record, existing) },
      onAccept: (record, meta, expired) => { this.#accepted(record, meta, expired) }
    }
    this.ingest = createIngest(ingestComponents, ingestInit)
    this.#ingestBatch = createBatchIngest(ingestComponents, ingestInit)
    this.#syncBudget = new SyncBudget({
      burstBytes: this.#init.syncBudgetBurstBytes,
      refillBytesPerSec: this.#init.syncBudgetRefillBytesPerSec,
      maxPeers: SYNC_BUDGET_MAX_PEERS
    })
  }

  get peerId (): string {
    return this.#components.nodeKey.id
  }

  get fleet (): string {
    return this.trust.fleet
  }

  get started (): boolean {
    return this.#libp2p != null
  }

  /** Byte limits of the sync that this node serves to each peer, as configured. */
  get syncBudgetLimits (): { burstBytes: number, refillBytesPerSec: number } {
    return { burstBytes: this.#init.syncBudgetBurstBytes, refillBytesPerSec: this.#init.syncBudgetRefillBytesPerSec }
  }

  /** The libp2p node while started, for diagnostics; Sower code uses the methods below. */
  get libp2p (): Libp2p | undefined {
    return this.#libp2p
  }

  /** Listen addresses with `/p2p/<peer id>`, ready to pass to another node as bootstrap. */
  getMultiaddrs (): string[] {
    return this.#libp2p?.getMultiaddrs().map(address => address.toString()) ?? []
  }

  async start (): Promise<void> {
    if (this.#libp2p != null) {
      return
    }
    this.#controller = new AbortController()
    await this.trust.load()
    this.#dhtGate = new DhtGate({ isMember: peer => this.trust.isMember(peer), logger: this.#log })
    const libp2p = await createFleetLibp2p(this.#components.nodeKey, this.#init, this.protocols, this.trust, this.#dhtGate)
    this.#libp2p = libp2p
    this.#signatures.start()
    await libp2p.handle(this.protocols.hello, async (stream, connection) => {
      await this.#track(handleHello(this.#helloComponents(), this.#helloInit(), stream, connection))
    }, { maxInboundStreams: 4 })
    await this.handle(this.protocols.sync, async (stream, connection) => {
      const components = { ...this.#syncComponents(), budget: this.#syncBudget }
      await this.#track(serveSync(components, this.#syncInit(), stream, connection))
    }, { maxInboundStreams: 4 })
    this.#gate = new MemberGate({ libp2p, trust: this.trust, logger: this.#log }, {
      graceMs: this.#init.membershipGraceMs,
      bootstrap: this.#init.bootstrap,
      redialDelaysMs: this.#init.redialDelaysMs,
      redialMaxDelayMs: this.#init.redialMaxDelayMs,
      redialMaxMembers: this.#init.redialMaxMembers,
      onConnection: (connection) => { this.#connected(connection) },
      onMember: (peer) => { this.syncWith(peer).catch(() => {}) }
    })
    this.trust.on('status', this.#onStatus)
    this.trust.on('rootValid', this.#onRootValid)
    await libp2p.start()
    attachValidators(libp2p.services.pubsub, this.protocols, this.#ingestGossip, {
      isMember: peer => this.trust.isMember(peer) || this.trust.rootExpired,
      logger: this.#log
    })
    this.#gate.start()
    this.#startPeriodicSync()
    this.#log.info({ peer: this.peerId, fleet: this.fleet, addresses: this.getMultiaddrs() }, 'fleet node started')
  }

  async stop (): Promise<void> {
    const libp2p = this.#libp2p
    if (libp2p == null) {
      return
    }
    clearInterval(this.#syncTimer)
    this.#syncTimer = undefined
    this.#gate?.stop()
    this.#gate = undefined
    this.#dhtGate = undefined
    this.#controller.abort()
    detachValidators(libp2p.services.pubsub, this.protocols)
    this.trust.off('status', this.#onStatus)
    this.trust.off('rootValid', this.#onRootValid)
    await Promise.allSettled([...this.#syncing.values(), ...this.#inFlight])
    await this.#signatures.stop()
    await libp2p.stop()
    this.#libp2p = undefined
    this.#log.info({ peer: this.peerId }, 'fleet node stopped')
  }

  /**
   * Stores a record (durable before anything is sent) and gossips it. With
   * no peer reachable the record waits in the store for sync. Throws
   * `PublishRejectedError` when the record would not pass our peers' checks.
   */
  async publish (record: SignedRecord): Promise<{ recipients: number }> {
    const outcome = await this.ingest(record.bytes, { via: 'local' })
    if (outcome.action !== 'accept') {
      await this.#checkKnownLocal(record, outcome)
    }
    return { recipients: await this.#gossip(record) }
  }

  /** A record that is already stored may be published again, if it still passes our checks. */
  async #checkKnownLocal (record: SignedRecord, outcome: IngestResult): Promise<void> {
    if (outcome.code !== 'ERR_KNOWN') {
      throw new PublishRejectedError(`cannot publish ${record.type} ${record.id}: ${outcome.reason}`, outcome.code)
    }
    const judged = judgeRecord(this.trust, record, this.#init.nowMs())
    if (judged != null && judged.code !== 'ERR_ROOT_STALE') {
      throw new PublishRejectedError(`cannot publish ${record.type} ${record.id}: ${judged.reason}`, judged.code)
    }
    const meta = await this.#components.store.getMeta(record.id)
    if (meta?.via === 'local' && record.type !== 'root') {
      // Records appended to the store directly skipped the pipeline: apply them now.
      this.trust.apply(record)
      this.#accepted(record, { via: 'local' }, false)
    }
  }

  async #gossip (record: SignedRecord): Promise<number> {
    const libp2p = this.#libp2p
    if (libp2p == null) {
      return 0
    }
    try {
      const topic = this.protocols.topics[TOPIC_OF_TYPE[record.type]]
      const sent = await libp2p.services.pubsub.publish(topic, record.bytes)
      return sent.recipients.length
    } catch (err) {
      this.#log.warn({ err, record: record.id }, 'gossip publish failed; the record waits in the store for sync')
      return 0
    }
  }

  /** Pulls what `peer` has and we lack. Concurrent calls for one peer share one session. */
  async syncWith (peer: string): Promise<SyncSummary | undefined> {
    const running = this.#syncing.get(peer)
    if (running != null) {
      return await running
    }
    const session = this.#runSync(peer).finally(() => { this.#syncing.delete(peer) })
    this.#syncing.set(peer, session)
    return await session
  }

  async #runSync (peer: string): Promise<SyncSummary | undefined> {
    const connection = this.#libp2p?.getConnections(peerIdFromString(peer)).find(conn => conn.status === 'open')
    if (connection == null || !this.trust.isMember(peer)) {
      return undefined
    }
    const startedAt = performance.now()
    try {
      const summary = await pullFrom(this.#syncComponents(), this.#syncInit(), connection, this.protocols.sync, this.#settled)
      const durationMs = Math.round(performance.now() - startedAt)
      this.#log.debug({ peer, ...summary, durationMs }, 'sync finished')
      this.emit('sync', { peer, durationMs, ...summary })
      return summary
    } catch (err) {
      if (!this.#controller.signal.aborted) {
        this.#log.info({ peer, err: (err as Error).message }, 'sync with peer failed')
      }
      return undefined
    }
  }

  /**
   * Pulls only the root chain from the peer of `connection`, member or not.
   * While our root has expired no peer is a member, and the hello reply
   * may not fit every version we lack. Ingest takes nothing but roots then.
   * Cursors settle in a copy, so that a floor that a non-member claims
   * cannot make later pulls skip the root versions we lack.
   */
  async #pullRoots (connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    try {
      const summary = await pullFrom(this.#syncComponents(), this.#syncInit(), connection, this.protocols.sync,
        new Map(this.#settled), ROOT_AUTHOR_RANGE)
      this.#log.debug({ peer, ...summary }, 'root chain pulled while the root has expired')
    } catch (err) {
      if (!this.#controller.signal.aborted) {
        this.#log.debug({ peer, err: (err as Error).message }, 'pulling the root chain from peer failed')
      }
    }
  }

  /**
   * The ingest of gossip. While our root has expired no peer is a member,
   * so gossip from every peer reaches this ingest, but only roots pass.
   * Other records are ignored before their signatures are checked.
   */
  readonly #ingestGossip: Ingest = async (bytes, meta) => {
    if (this.trust.rootExpired && !isRootBytes(bytes)) {
      return { action: 'ignore', code: 'ERR_ROOT_EXPIRED', reason: 'only roots are accepted while the current root has expired' }
    }
    return await this.ingest(bytes, meta)
  }

  /** Peers connected now that are members. */
  connectedMembers (): string[] {
    const peers = this.#libp2p?.getPeers().map(peer => peer.toString()) ?? []
    return peers.filter(peer => this.trust.isMember(peer))
  }

  /** Dials a multiaddr (with `/p2p/<peer id>`) or a peer id and keeps redialling it while disconnected. */
  async dial (target: string, options?: AbortOptions): Promise<void> {
    this.#requireStarted()
    await this.#gate?.dial(target, options)
  }

  /**
   * Registers a protocol that only members may use: streams from other
   * peers are aborted before `handler` is called.
   */
  async handle (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void> {
    const libp2p = this.#requireStarted()
    await libp2p.handle(protocol, async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      if (!this.trust.isMember(peer)) {
        this.#log.debug({ peer, protocol }, 'stream from a non-member aborted')
        stream.abort(new NotMemberError(`peer ${peer} is not a member`))
        return
      }
      await handler(stream, connection)
    }, options)
  }

  async unhandle (protocol: string): Promise<void> {
    await this.#libp2p?.unhandle(protocol)
  }

  /** Opens a stream to a member; throws `NotMemberError` for anyone else. */
  async dialProtocol (peer: string, protocol: string | string[], options?: AbortOptions): Promise<Stream> {
    const libp2p = this.#requireStarted()
    if (!this.trust.isMember(peer)) {
      throw new NotMemberError(`peer ${peer} is not a member of fleet ${this.fleet}`)
    }
    return await libp2p.dialProtocol(peerIdFromString(peer), protocol, options)
  }

  /** Announces in the fleet DHT that this node can serve the closure of `storePath`. */
  async provide (storePath: string, options?: AbortOptions): Promise<void> {
    await this.#requireStarted().contentRouting.provide(storePathKey(storePath), options)
  }

  /** Finds nodes that announced the closure of `storePath`. */
  async * findProviders (storePath: string, options?: AbortOptions): AsyncGenerator<PeerInfo> {
    yield * this.#requireStarted().contentRouting.findProviders(storePathKey(storePath), options)
  }

  /** Looks up the addresses of a peer id through the fleet DHT. */
  async findPeer (peer: string, options?: AbortOptions): Promise<PeerInfo> {
    return await this.#requireStarted().peerRouting.findPeer(peerIdFromString(peer), options)
  }

  #requireStarted (): Libp2p<{ pubsub: GossipSub, dht: KadDHT }> {
    if (this.#libp2p == null) {
      throw new NotStartedError()
    }
    return this.#libp2p
  }

  #connected (connection: Connection): void {
    this.#track(this.#greet(connection)).catch(() => {})
  }

  /**
   * Sends our hello on a new connection, retrying while it stays open: on
   * a busy host a hello can time out, and without one the peer cannot
   * learn our certificate until the grace period closes the connection.
   */
  async #greet (connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    for (const [attempt, delayMs] of HELLO_RETRY_DELAYS_MS.entries()) {
      await sleep(delayMs, this.#controller.signal)
      if (connection.status !== 'open' || this.#controller.signal.aborted) {
        return
      }
      try {
        await sendHello(this.#helloComponents(), this.#helloInit(), connection, this.protocols.hello)
        if (this.trust.rootExpired && !this.#controller.signal.aborted) {
          await this.#pullRoots(connection)
        }
        if (this.trust.isMember(peer) && !this.#controller.signal.aborted) {
          this.syncWith(peer).catch(() => {})
        }
        return
      } catch (err) {
        if (!this.#controller.signal.aborted) {
          this.#log.debug({ peer, attempt: attempt + 1, err: (err as Error).message }, 'hello to peer failed')
        }
      }
    }
  }

  /**
   * Greets again every connected peer that is not a member, once our root
   * is valid again, because their certificates were ignored while it had expired.
   */
  #greetNonMembers (): void {
    for (const connection of this.#libp2p?.getConnections() ?? []) {
      if (connection.status === 'open' && !this.trust.isMember(connection.remotePeer.toString())) {
        this.#connected(connection)
      }
    }
  }

  /** Remembers `work` until it settles, so that stop can wait for it. */
  async #track<T> (work: Promise<T>): Promise<T> {
    this.#inFlight.add(work)
    try {
      return await work
    } finally {
      this.#inFlight.delete(work)
    }
  }

  #statusChanged (change: PeerStatusChange): void {
    this.#gate?.statusChanged(change)
    this.#dhtGate?.statusChanged(change)
    this.emit('status', change)
  }

  #accepted (record: SignedRecord, meta: IngestMeta, expired: boolean): void {
    this.emit('record', { record, via: meta.via, from: meta.from })
    if (record.type === 'intent' && !expired) {
      const trigger: IntentTrigger = meta.via === 'gossip' || meta.via === 'local' ? 'realtime' : 'poll_on_connect'
      this.emit('intent', { record: record as SignedRecord<'intent'>, trigger })
    }
  }

  /**
   * Raises a fork alert in the background, so that the ingest of a sync
   * batch never waits for this node's appends, which a garden holds back
   * until its first sync. Stop waits for the work but not for an append
   * that is still held back. A failure is logged.
   */
  #startForkAlert (record: SignedRecord, existing: string): void {
    this.#track(this.#raiseForkAlert(record, existing, this.#controller.signal)).catch(err => {
      this.#log.error({ err, subject: record.author, record: record.id, existing }, 'fork alert not raised')
    })
  }

  /**
   * Signs and gossips an alert that carries both records of a fork the
   * store detected. The store detects at most one fork per author, so a
   * node raises at most one alert per author. Nodes that learn the fork
   * from an alert raise none. When `signal` aborts while the append waits,
   * the node stops waiting for it, and the alert is neither emitted nor
   * gossiped.
   */
  async #raiseForkAlert (record: SignedRecord, existing: string, signal: AbortSignal): Promise<void> {
    if (record.author === 'root') {
      this.#log.error({ record: record.id, existing }, 'two root records share one version')
      return
    }
    if (record.author === this.peerId) {
      this.#log.error({ record: record.id, existing }, 'our own key signed two histories; this node refuses its own feed from now on')
      await this.#spreadOwnFork(record, existing)
      return
    }
    const other = await this.#components.store.get(existing)
    const fields = other == null ? null : forkFields(other, record)
    if (fields == null) {
      this.#log.error({ record: record.id, existing }, 'fork alert not raised: the stored record is missing or larger than an alert can carry')
      return
    }
    const appending = this.#components.store.append('alert', {
      fleet: this.fleet,
      issuedAt: new Date(this.#init.nowMs()).toISOString(),
      kind: 'fork',
      ...fields
    }, this.#components.nodeKey)
    const alert = await unlessAborted(appending, signal)
    if (alert == null || signal.aborted) {
      this.#awaitAlertAfterStop(appending, record.author)
      return
    }
    this.#log.warn({ alert: alert.id, subject: record.author, seq: fields.subjectSeq }, 'fork alert raised')
    this.emit('alert', alert)
    await this.#gossip(alert)
  }

  /**
   * Gossips both records of a fork of our own key. This node cannot sign an
   * alert with a refused key, but a peer that holds only one history, such
   * as the one of another machine with this key, detects the fork from the
   * other record and alerts the fleet.
   * NOTE: a peer that misses this gossip learns the fork only when it
   * receives records of both histories in another way.
   */
  async #spreadOwnFork (record: SignedRecord, existing: string): Promise<void> {
    const other = await this.#components.store.get(existing)
    for (const forked of [other, record]) {
      if (forked != null) {
        await this.#gossip(forked)
      }
    }
  }

  /**
   * Logs the end of an alert append that stop left waiting in the store's
   * queue. The store's append guard decides when it completes or fails, and
   * a garden's own feed guard fails the appends of a stopped garden.
   * NOTE: a fork stays refused after a restart but raises no alert again,
   * so an alert that fails here reaches no peer from this node.
   */
  #awaitAlertAfterStop (appending: Promise<SignedRecord<'alert'>>, subject: string): void {
    appending.then(alert => {
      this.#log.info({ alert: alert.id, subject }, 'fork alert stored after the node stopped; it reaches peers by sync')
    }, err => {
      this.#log.warn({ err, subject }, 'fork alert not raised, because the node stopped while this node\'s appends were held back')
    })
  }

  #startPeriodicSync (): void {
    if (this.#init.syncIntervalMs <= 0) {
      return
    }
    this.#syncTimer = setInterval(() => {
      const connected = this.#libp2p?.getPeers().map(peer => peer.toString()) ?? []
      this.trust.recheck(connected)
      const members = connected.filter(peer => this.trust.isMember(peer))
      if (members.length > 0) {
        this.syncWith(members[Math.floor(Math.random() * members.length)]).catch(() => {})
      }
    }, this.#init.syncIntervalMs)
  }

  #helloComponents (): Parameters<typeof sendHello>[0] {
    return { store: this.#components.store, trust: this.trust, ingest: this.ingest, logger: this.#log, self: this.peerId }
  }

  #helloInit (): Parameters<typeof sendHello>[1] {
    return { maxBytes: this.#init.helloMaxBytes, timeoutMs: this.#init.helloTimeoutMs, signal: this.#controller.signal }
  }

  #syncComponents (): Parameters<typeof pullFrom>[0] {
    return { store: this.#components.store, trust: this.trust, ingestBatch: this.#ingestBatch, logger: this.#log }
  }

  #syncInit (): Parameters<typeof pullFrom>[1] {
    return {
      batchMaxRecords: this.#init.syncBatchMaxRecords,
      batchMaxBytes: this.#init.syncBatchMaxBytes,
      readTimeoutMs: this.#init.syncReadTimeoutMs,
      requestMaxAuthors: this.#init.syncRequestMaxAuthors,
      signal: this.#controller.signal
    }
  }
}

/** Tells whether `bytes` are a root. Bytes that do not decode count as one, so that the ingest rejects them and lowers the sender's score. */
function isRootBytes (bytes: Uint8Array): boolean {
  const decoded = decodeRecord(bytes)
  return !decoded.ok || decoded.record.type === 'root'
}

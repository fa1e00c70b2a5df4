import { EventEmitter } from 'node:events'
import { silentLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { base32, decodeRecord, sha256 } from '../records/index.ts'
import type { RecordType, SignedRecord } from '../records/index.ts'
import type { SigningKey } from '../keys/index.ts'
import { stageCompaction } from './compaction.ts'
import { StoreClosedError } from './errors.ts'
import { EMPTY_FEED } from './feed.ts'
import type { FeedState } from './feed.ts'
import { alertKey, decodeFeedEntry, feedKey, joinKey, lastPart, prefixRange } from './key-layout.ts'
import { FeedAppender } from './append.ts'
import type { AppendGuard } from './append.ts'
import { checkSchemaVersion, indexStoredAlerts, loadMemory, openDatabase } from './open.ts'
import { READ_PAGE_RECORDS, RecordReader } from './reader.ts'
import { Staging } from './staging.ts'
import { toDeploymentSummary } from './deployment-summary.ts'
import type { DeploymentSummary } from './deployment-summary.ts'
import { intentReleases, isListedGarden, toGardenSummary, toIntentSummary } from './summaries.ts'
import type { GardenSummary, IntentRelease, IntentSummary } from './summaries.ts'
import { openTables } from './tables.ts'
import type { Database, LocalSublevel, Table, Tables } from './tables.ts'
import { Writer } from './writer.ts'
import type { CommittedPut } from './writer.ts'
import type {
  AppendBody, CompactionLimits, DeploymentQuery, ForkEvidence, ListOptions, PutResult, RecordStoreEvents, ReportedFork,
  StoredMeta
} from './types.ts'

export * from './errors.ts'
export type * from './types.ts'
export type { DeploymentSummary, DeploymentWait, PolicyEnd, Trigger } from './deployment-summary.ts'
export { isOpenDeployment } from './deployment-summary.ts'
export type { DeploymentRef, GardenRole, GardenSummary, IntentRelease, IntentSummary } from './summaries.ts'
export type { FeedState } from './feed.ts'
export type { AppendGuard } from './append.ts'
export type { LocalSublevel } from './tables.ts'
export { GROUP_MAX_RECORDS } from './writer.ts'
export { COMPACTION_BATCH_RECORDS } from './compaction.ts'
export { STORE_SCHEMA_VERSION } from './open.ts'

/** A stored record as its canonical bytes, with its id and feed position. */
export interface StoredBytes {
  id: string
  author: string
  seq: number
  bytes: Uint8Array
}

export interface RecordStoreInit {
  logger?: Logger
}

interface StoreParts {
  path: string
  db: Database
  tables: Tables
  log: Logger
}

/**
 * The node's copy of the fleet's signed history, in LevelDB: records by id,
 * each author's feed, indexes and materialised views. A record and all that
 * it changes go into one batch, which is durable before the put resolves
 * and before the `record` event fires. Callers verify signatures and
 * authority first.
 * Records read back are decoded again; a corrupt one is logged and skipped.
 * Create one with `RecordStore.open`.
 */
export class RecordStore extends EventEmitter<RecordStoreEvents> {
  readonly path: string
  readonly #db: Database
  readonly #tables: Tables
  readonly #log: Logger
  readonly #writer: Writer
  readonly #reader: RecordReader
  /** Frozen summaries of listed gardens, updated after each batch. */
  readonly #gardens = new Map<string, GardenSummary>()
  #gardenList: GardenSummary[] | undefined
  readonly #appender: FeedAppender
  #closing: Promise<void> | undefined

  /** Use `RecordStore.open`, which checks the schema and loads the in-memory tables. */
  constructor (parts: StoreParts) {
    super()
    this.path = parts.path
    this.#db = parts.db
    this.#tables = parts.tables
    this.#log = parts.log
    this.#reader = new RecordReader(parts.tables.records, parts.log)
    this.#writer = new Writer({
      db: parts.db,
      tables: parts.tables,
      log: parts.log,
      afterCommit: (staging, committed) => { this.#afterCommit(staging, committed) }
    })
    this.#appender = new FeedAppender(parts.tables, this.#writer, parts.log)
    for (const [peer, state] of parts.tables.gardens.memory ?? []) {
      if (isListedGarden(state)) {
        this.#gardens.set(peer, deepFreeze(toGardenSummary(state)))
      }
    }
  }

  /**
   * Opens or creates the store in folder `path`. Throws `StoreLockedError`
   * when another process has the folder open, `StoreVersionError` when it
   * was written by another schema version, `StoreOpenError` otherwise.
   */
  static async open (path: string, init: RecordStoreInit = {}): Promise<RecordStore> {
    const log = init.logger ?? silentLogger()
    const db = await openDatabase(path)
    const tables = await openTables(db)
    try {
      await checkSchemaVersion(db, tables, path)
      for (const table of Object.values(tables) as Array<Table<unknown>>) {
        await loadMemory(table, log)
      }
      await indexStoredAlerts(db, tables, log)
    } catch (err) {
      await db.close()
      throw err
    }
    const store = new RecordStore({ path, db, tables, log })
    log.info({ path, feeds: tables.feeds.memory?.size, gardens: store.#gardens.size }, 'record store opened')
    return store
  }

  /** Waits for queued writes, then closes the database. Calls after this one reject with `StoreClosedError`. */
  async close (): Promise<void> {
    this.#closing ??= this.#closeOnce()
    await this.#closing
  }

  async #closeOnce (): Promise<void> {
    await this.#appender.idle()
    await this.#writer.idle()
    await this.#db.close()
    this.#log.info({ path: this.path }, 'record store closed')
  }

  async has (id: string): Promise<boolean> {
    this.#assertOpen()
    return await this.#tables.records.sublevel.has(id)
  }

  /** Returns, for each of `ids` in order, whether it is stored, with synchronous lookups like the reads of a put. */
  hasMany (ids: string[]): boolean[] {
    this.#assertOpen()
    const records = this.#tables.records.sublevel
    return ids.map(id => records.getSync(id) !== undefined)
  }

  async get (id: string): Promise<SignedRecord | undefined> {
    this.#assertOpen()
    const [record] = await this.#reader.readRecords([id])
    return record
  }

  async getMeta (id: string): Promise<StoredMeta | undefined> {
    this.#assertOpen()
    return await this.#reader.readValue(this.#tables.meta, id)
  }

  async getBySeq (author: string, seq: number): Promise<SignedRecord | undefined> {
    this.#assertOpen()
    const value = await this.#tables.feed.sublevel.get(feedKey(author, seq)) as string | undefined
    return value == null ? undefined : await this.get(decodeFeedEntry(value).id)
  }

  /**
   * Stores a verified record with its indexes and views in one durable batch.
   * Returns `duplicate` for a stored id or a position below the author's floor,
   * `fork` (both records kept, author refused) or `refused`.
   */
  async put (record: SignedRecord, meta: StoredMeta): Promise<PutResult> {
    this.#assertOpen()
    return await this.#writer.put(record, meta)
  }

  /** Stores many records; puts that are queued together share one durable batch. */
  async putMany (entries: Array<{ record: SignedRecord, meta: StoredMeta }>): Promise<PutResult[]> {
    this.#assertOpen()
    return await Promise.all(entries.map(async ({ record, meta }) => await this.#writer.put(record, meta)))
  }

  /**
   * Records a fork that an alert proved and refuses its author, in one
   * durable batch. The caller has verified that both records are signed by
   * their author. Neither record enters the author's feed, indexes or
   * views. Returns `fork` (the `fork` event fires) or `refused` when the
   * author is refused already.
   */
  async putReportedFork (fork: ReportedFork, meta: StoredMeta): Promise<PutResult> {
    this.#assertOpen()
    return await this.#writer.putReportedFork(fork, meta)
  }

  /** Per author: the highest seq such that every seq from the author's floor up to it is stored. */
  async heads (): Promise<Map<string, number>> {
    this.#assertOpen()
    return new Map([...this.#feeds()].map(([author, feed]) => [author, feed.head]))
  }

  /** Per author: the highest seq stored, with or without gaps below it. */
  async lastSeqs (): Promise<Map<string, number>> {
    this.#assertOpen()
    return new Map([...this.#feeds()].map(([author, feed]) => [author, feed.last]))
  }

  /** The lowest seq of `author` still kept after compaction; sync never needs anything below it. */
  async floor (author: string): Promise<number> {
    this.#assertOpen()
    return this.#feeds().get(author)?.floor ?? EMPTY_FEED.floor
  }

  /** Returns the floor, head and last seq of `author`'s feed in this store, or the empty feed's. */
  feed (author: string): FeedState {
    this.#assertOpen()
    return { ...this.#feeds().get(author) ?? EMPTY_FEED }
  }

  /** Stored records of `author` from `fromSeq` on, ascending; missing positions are left out. */
  async range (author: string, fromSeq: number, limit: number): Promise<SignedRecord[]> {
    this.#assertOpen()
    const from = clampSeq(fromSeq)
    if (limit <= 0 || from > Number.MAX_SAFE_INTEGER) {
      return []
    }
    const values = await this.#tables.feed.sublevel.values({
      gte: feedKey(author, from),
      lt: prefixRange(author).lt,
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1
    }).all()
    return await this.#reader.readRecords(values.map(value => decodeFeedEntry(value as string).id))
  }

  /**
   * Like `range`, but returns the stored bytes, for sending to a peer that
   * judges every record itself. A record is decoded only when its bytes do
   * not hash to its id, as for a root, whose id hashes its signing bytes.
   * A record that does not decode to its id is logged and left out.
   * Records are read in pages, and reading stops after the page in which
   * they reach `maxBytes` in total, so the last ones may cross it.
   */
  async rangeBytes (author: string, fromSeq: number, limit: number, maxBytes = Infinity): Promise<StoredBytes[]> {
    this.#assertOpen()
    const from = clampSeq(fromSeq)
    if (limit <= 0 || from > Number.MAX_SAFE_INTEGER) {
      return []
    }
    const entries = await this.#tables.feed.sublevel.iterator({
      gte: feedKey(author, from),
      lt: prefixRange(author).lt,
      limit: Number.isFinite(limit) ? Math.floor(limit) : -1
    }).all()
    const found: StoredBytes[] = []
    let read = 0
    let bytes = 0
    let largest = 0
    while (read < entries.length && bytes < maxBytes) {
      const page = entries.slice(read, read + pageRecords(read, maxBytes - bytes, largest))
      read += page.length
      for (const record of await this.#readFeedEntries(author, page)) {
        found.push(record)
        bytes += record.bytes.byteLength
        largest = Math.max(largest, record.bytes.byteLength)
      }
    }
    return found
  }

  async #readFeedEntries (author: string, entries: Array<[string, unknown]>): Promise<StoredBytes[]> {
    const ids = entries.map(([, value]) => decodeFeedEntry(value as string).id)
    const raws = await this.#tables.records.sublevel.getMany(ids)
    const found: StoredBytes[] = []
    entries.forEach(([key], index) => {
      const bytes = raws[index] as Uint8Array | undefined
      if (bytes != null && this.#matchesId(ids[index], bytes)) {
        found.push({ id: ids[index], author, seq: Number(lastPart(key)), bytes })
      }
    })
    return found
  }

  #matchesId (id: string, bytes: Uint8Array): boolean {
    if (id.slice(id.indexOf('_') + 1) === base32(sha256(bytes))) {
      return true
    }
    const decoded = decodeRecord(bytes)
    if (decoded.ok && decoded.record.id === id) {
      return true
    }
    this.#log.warn({ record: id }, 'skipping a stored record whose bytes do not match its id')
    return false
  }

  /** Positions of `author` up to `upToSeq` that are not stored, from its head on, ascending. */
  async missing (author: string, upToSeq: number, limit: number): Promise<number[]> {
    this.#assertOpen()
    const feed = this.#feeds().get(author) ?? EMPTY_FEED
    const end = Math.min(Math.floor(upToSeq), Number.MAX_SAFE_INTEGER)
    let next = Math.max(feed.head + 1, feed.floor)
    const gaps: number[] = []
    if (next > end || limit <= 0) {
      return gaps
    }
    const keys = this.#tables.feed.sublevel.keys({ gte: feedKey(author, next), lte: feedKey(author, end) })
    for await (const key of keys) {
      const seq = Number(lastPart(key))
      while (next < seq && gaps.length < limit) {
        gaps.push(next++)
      }
      if (gaps.length >= limit) {
        break
      }
      next = seq + 1
    }
    while (next <= end && gaps.length < limit) {
      gaps.push(next++)
    }
    return gaps
  }

  /**
   * Signs `body` as the next record of `key`'s feed (author, seq and prev
   * filled in) and stores it with via `local`. Appends by one key run one at
   * a time, so concurrent calls never fork the local feed. Throws
   * `StoreAppendError` when the body is invalid or the record is not stored.
   */
  async append<T extends RecordType> (type: T, body: AppendBody<T>, key: SigningKey): Promise<SignedRecord<T>> {
    this.#assertOpen()
    return await this.#appender.append(type, body, key)
  }

  /**
   * Sets a guard that every later append by the key `author` passes: it may
   * hold appends back, in order, or fail them before they are signed.
   * `undefined` removes it.
   */
  guardAppends (author: string, guard: AppendGuard | undefined): void {
    this.#assertOpen()
    this.#appender.guard(author, guard)
  }

  /**
   * Opens a sublevel for this node's own state that is not a record, such as
   * the garden's deployment jobs, with JSON values. It lives in the same
   * LevelDB as the records, under the prefix `local-<name>` so that it never
   * collides with the store's tables. Writes through it are not part of any
   * record batch: pass `{ sync: true }` for a write that must be durable
   * when it resolves.
   */
  sublevel<V> (name: string): LocalSublevel<V> {
    this.#assertOpen()
    if (!/^[a-z][a-z0-9-]{0,39}$/.test(name)) {
      throw new TypeError(`invalid sublevel name "${name}": use 1 to 40 lowercase letters, digits or "-"`)
    }
    return this.#db.sublevel<string, V>(`local-${name}`, { valueEncoding: 'json' })
  }

  /** True when a fork of `author` was detected; its records are refused from then on. */
  isRefused (author: string): boolean {
    this.#assertOpen()
    return this.#tables.refused.memory?.has(author) ?? false
  }

  /** True when an alert by `author` about `subject` is stored. The ingest pipeline ignores further ones over gossip. */
  hasAlertAbout (author: string, subject: string): boolean {
    this.#assertOpen()
    return this.#tables.alertsBySubject.memory?.has(alertKey(subject, author)) ?? false
  }

  /** The evidence of every detected fork. */
  async refusals (): Promise<ForkEvidence[]> {
    this.#assertOpen()
    return [...this.#tables.refused.memory?.values() ?? []]
  }

  /** Records of one type in order of issue time (then feed position and id). */
  async * listByType (type: RecordType, options: ListOptions = {}): AsyncGenerator<SignedRecord> {
    this.#assertOpen()
    const range = prefixRange(type)
    const bounds = options.sinceIso == null ? { gt: range.gt } : { gte: joinKey(type, options.sinceIso) }
    yield * this.#reader.walkIndex(this.#tables.byType, { ...bounds, lt: range.lt }, options)
  }

  /** Events of a deployment in order of issue time; compacted events are gone. */
  async eventsOfDeployment (deploymentId: string): Promise<Array<SignedRecord<'event'>>> {
    this.#assertOpen()
    return await this.#reader.collect(this.#tables.byDeployment, deploymentId) as Array<SignedRecord<'event'>>
  }

  /** Events of every deployment of an intent in order of issue time. */
  async eventsOfIntent (intentId: string): Promise<Array<SignedRecord<'event'>>> {
    this.#assertOpen()
    return await this.#reader.collect(this.#tables.byIntent, intentId) as Array<SignedRecord<'event'>>
  }

  /** The newest report of a garden by issue time; compaction never drops it. */
  async latestReport (garden: string): Promise<SignedRecord<'report'> | undefined> {
    this.#assertOpen()
    const id = this.#tables.gardens.memory?.get(garden)?.report
    return id == null ? undefined : await this.get(id) as SignedRecord<'report'> | undefined
  }

  /**
   * Every peer with a certificate or a report, sorted by name then peer id
   * (by code units, so `garden-10` comes before `garden-9`).
   * Served from memory; the summaries are frozen and the array is a copy.
   */
  async gardens (): Promise<GardenSummary[]> {
    this.#assertOpen()
    this.#gardenList ??= [...this.#gardens.values()].sort(compareGardens)
    return [...this.#gardenList]
  }

  async garden (peer: string): Promise<GardenSummary | undefined> {
    this.#assertOpen()
    return this.#gardens.get(peer)
  }

  /**
   * Deployments, most recently started first, of one garden, one intent,
   * both, or all. Without `limit` every match is returned.
   */
  async deployments (query: DeploymentQuery = {}): Promise<DeploymentSummary[]> {
    this.#assertOpen()
    const limit = query.limit ?? Infinity
    if (limit <= 0) {
      return []
    }
    const { table, range } = this.#deploymentIndex(query)
    const keys = table.sublevel.keys({ ...range, reverse: true })
    const found: DeploymentSummary[] = []
    try {
      while (found.length < limit) {
        const page = await keys.nextv(READ_PAGE_RECORDS)
        if (page.length === 0) {
          break
        }
        const states = await this.#reader.readValues(this.#tables.deployments, page.map(lastPart))
        const matches = states.filter(state => query.intent == null || state.intent === query.intent)
        found.push(...matches.slice(0, limit - found.length).map(toDeploymentSummary))
      }
    } finally {
      await keys.close()
    }
    return found
  }

  async deployment (id: string): Promise<DeploymentSummary | undefined> {
    this.#assertOpen()
    const state = await this.#reader.readValue(this.#tables.deployments, id)
    return state == null ? undefined : toDeploymentSummary(state)
  }

  /** One intent with its progress; undefined until the intent record itself is stored. */
  async intent (id: string): Promise<IntentSummary | undefined> {
    this.#assertOpen()
    const state = await this.#reader.readValue(this.#tables.intents, id)
    const summary = state == null ? undefined : toIntentSummary(state)
    return summary == null ? undefined : await this.#withReleases(summary)
  }

  /** Intents, newest issue time first, with how many gardens applied each. */
  async intents (options: { limit?: number } = {}): Promise<IntentSummary[]> {
    this.#assertOpen()
    const range = prefixRange('intent')
    const keys = await this.#tables.byType.sublevel.keys({ ...range, reverse: true, limit: options.limit ?? -1 }).all()
    const states = await this.#reader.readValues(this.#tables.intents, keys.map(lastPart))
    const summaries = states.map(toIntentSummary).filter(summary => summary != null)
    return await Promise.all(summaries.map(async summary => await this.#withReleases(summary)))
  }

  /**
   * Fills in the releases of an intent summary stored before summaries kept
   * them, from the intent record. Newer summaries need no read.
   */
  async #withReleases (summary: IntentSummary): Promise<IntentSummary> {
    if ((summary.releases as IntentRelease[] | undefined) != null) {
      return summary
    }
    const record = await this.get(summary.id) as SignedRecord<'intent'> | undefined
    return { ...summary, releases: record == null ? [] : intentReleases(record.body) }
  }

  async alerts (): Promise<Array<SignedRecord<'alert'>>> {
    this.#assertOpen()
    const alerts: Array<SignedRecord<'alert'>> = []
    for await (const record of this.listByType('alert')) {
      alerts.push(record as SignedRecord<'alert'>)
    }
    return alerts
  }

  /**
   * Drops old reports, events and alerts within `limits` and returns how
   * many were dropped. Alerts go by `maxAgeMs` alone. Each feed loses a
   * prefix only, and its floor records where the kept part starts. It never
   * drops roots, certificates, revocations, intents, a garden's latest
   * report, events of an open deployment (no result and not ended by its
   * policy), a feed's newest record, anything of a refused author, or the
   * evidence of a fork.
   * A `close()` meanwhile stops it after the current batch.
   */
  async compact (limits: CompactionLimits, nowMs = Date.now()): Promise<number> {
    this.#assertOpen()
    if (limits.maxAgeMs == null && limits.maxRecordsPerAuthor == null) {
      return 0
    }
    const startedMs = Date.now()
    let dropped = 0
    for (const author of [...this.#feeds().keys()]) {
      if (this.#tables.refused.memory?.has(author) === true) {
        continue
      }
      dropped += await this.#compactFeed(author, limits, nowMs)
    }
    this.#log.info({ dropped, ms: Date.now() - startedMs, limits }, 'record store compacted')
    return dropped
  }

  async #compactFeed (author: string, limits: CompactionLimits, nowMs: number): Promise<number> {
    let dropped = 0
    let done = false
    while (!done && this.#closing == null) {
      const step = await this.#writer.exclusive(async () => {
        const staging = new Staging(this.#log)
        const result = await stageCompaction(staging, this.#tables, author, limits, nowMs, this.#log)
        if (staging.size > 0) {
          await this.#db.batch(staging.operations() as any, { sync: true })
          staging.applyToMemory()
        }
        return result
      })
      dropped += step.dropped
      done = step.done
    }
    return dropped
  }

  #deploymentIndex (query: DeploymentQuery): { table: Table<string>, range: { gt: string, lt: string } | object } {
    if (query.garden != null) {
      return { table: this.#tables.deploymentsByGarden, range: prefixRange(query.garden) }
    }
    if (query.intent != null) {
      return { table: this.#tables.deploymentsByIntent, range: prefixRange(query.intent) }
    }
    return { table: this.#tables.deploymentsByTime, range: {} }
  }

  #feeds (): Map<string, FeedState> {
    return this.#tables.feeds.memory ?? new Map()
  }

  #afterCommit (staging: Staging, committed: CommittedPut[]): void {
    this.#refreshGardens(staging)
    for (const { record, meta, outcome } of committed) {
      if (outcome.result.status === 'stored') {
        this.#emitSafely('record', record, meta)
      }
      if (outcome.evidence != null) {
        this.#log.warn({ author: outcome.evidence.author, seq: outcome.evidence.seq, records: outcome.evidence.records },
          'fork detected; the author is refused from now on')
        this.#emitSafely('fork', outcome.evidence)
      }
    }
  }

  #refreshGardens (staging: Staging): void {
    for (const { key, value } of staging.writesTo(this.#tables.gardens)) {
      if (value != null && isListedGarden(value)) {
        this.#gardens.set(key, deepFreeze(toGardenSummary(value)))
      } else {
        this.#gardens.delete(key)
      }
      this.#gardenList = undefined
    }
  }

  /** Calls each listener on its own, so one that throws neither stops the others nor the writer. */
  #emitSafely<E extends keyof RecordStoreEvents> (event: E, ...args: RecordStoreEvents[E]): void {
    for (const listener of this.rawListeners(event as any)) {
      try {
        (listener as (...values: unknown[]) => void).apply(this, args)
      } catch (err) {
        this.#log.error({ err, event }, 'a record store listener threw')
      }
    }
  }

  #assertOpen (): void {
    if (this.#closing != null) {
      throw new StoreClosedError(this.path)
    }
  }
}

function clampSeq (seq: number): number {
  return Math.max(1, Math.ceil(seq))
}

/**
 * Returns how many records `rangeBytes` reads next: as many as it has read
 * so far (at least one), but no more than would fit in `remainingBytes` if
 * each were as large as the largest so far.
 */
function pageRecords (readRecords: number, remainingBytes: number, largestBytes: number): number {
  const fitting = largestBytes === 0 ? Infinity : Math.ceil(remainingBytes / largestBytes)
  return Math.max(1, Math.min(readRecords, fitting))
}

/** Orders by name, then peer id, by UTF-16 code units, which costs less than `localeCompare`. */
function compareGardens (a: GardenSummary, b: GardenSummary): number {
  return compareText(a.name, b.name) || compareText(a.peer, b.peer)
}

function compareText (a: string, b: string): number {
  if (a === b) {
    return 0
  }
  return a < b ? -1 : 1
}

function deepFreeze<T> (value: T): T {
  if (value != null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) {
      deepFreeze(child)
    }
  }
  return value
}

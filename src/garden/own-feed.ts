import type { Logger } from '../logger.ts'
import type { FleetNode } from '../network/index.ts'
import type { SignedRecord } from '../records/index.ts'
import type { AppendGuard, ForkEvidence, RecordStore, StoredMeta } from '../store/index.ts'
import { OwnFeedBehindError, OwnFeedForkedError, OwnFeedStoppedError } from './errors.ts'
import { readFeedMark, writeFeedMark } from './feed-mark.ts'
import type { FeedMark } from './feed-mark.ts'
import { behindMessage, forkedMessage, waitingMessage } from './own-feed-words.ts'

/**
 * Longest wait at start for a first sync when the store cannot vouch for
 * the node's own feed, because it has fewer own records than the feed head
 * mark or there is no mark. The value is an estimate that leaves room for
 * several redials (200 ms to 2 s apart) and hello retries (after 1 s and
 * 3 s, each with a 5 s timeout) on a slow link.
 */
export const OWN_FEED_WAIT_MS = 60_000
/**
 * Longest wait at start for a first sync when the store has the own feed
 * up to its mark, as after a normal restart. Newer records can exist then
 * only after a restore of the key, the mark and the data folder from one
 * old backup, or on a second machine with the same key.
 */
export const OWN_FEED_VOUCHED_WAIT_MS = 10_000
/** Time between two error logs while the own feed stays behind its mark or forked. */
export const OWN_FEED_REMINDER_MS = 60 * 60 * 1000

/**
 * `waiting`: appends queue up until a first sync. `ready`: appends go
 * through. `behind`: records up to the mark are missing, and appends fail
 * until sync or a bundle brings them back. `forked`: the fleet has two
 * histories of this key, and appends fail. `stopped`: appends fail.
 */
export type OwnFeedState = 'waiting' | 'ready' | 'behind' | 'forked' | 'stopped'

export interface OwnFeedStatus {
  state: OwnFeedState
  /** Key id of this node, the author of its feed. */
  author: string
  /** Highest seq of the own feed in the store; 0 when it has none. */
  storedSeq: number
  /** Highest seq of the key in its feed head mark, raised as records of the key are stored; null without a mark. */
  markSeq: number | null
  markFile: string
  /** When the state began, UTC ISO 8601. */
  since: string
  /** While `waiting`: when the wait ends at the latest, UTC ISO 8601. */
  waitEndsAt: string | null
  /** Explanation of the state for an operator, with the fix for `behind` and `forked`; null when `ready`. */
  detail: string | null
}

/** What decides whether a guard that is waiting or behind may let appends through. */
export interface OwnFeedFacts {
  storedSeq: number
  markSeq: number | null
  /** A sync with a member or a bundle import completed since start. */
  synced: boolean
  /** The wait at start is over. */
  waitOver: boolean
}

/**
 * Returns the state that `facts` lead to. Appends go through once the store
 * has the feed up to its mark and a sync completed, or no member was reached
 * in time. A store below its mark after the wait is `behind`.
 */
export function judgeOwnFeed (facts: OwnFeedFacts): 'waiting' | 'ready' | 'behind' {
  const complete = facts.storedSeq >= (facts.markSeq ?? 0)
  if (complete && (facts.synced || facts.waitOver)) {
    return 'ready'
  }
  return !complete && facts.waitOver ? 'behind' : 'waiting'
}

export interface OwnFeedGuardComponents {
  store: RecordStore
  /** The fleet node, which emits `sync` after each completed sync session with a member. */
  node: Pick<FleetNode, 'on' | 'off'>
  /** Key id of this node. */
  author: string
  logger: Logger
}

export interface OwnFeedGuardInit {
  /** Path of the feed head mark, beside the node key. */
  markFile: string
  /** @default OWN_FEED_WAIT_MS */
  waitMs?: number
  /** @default OWN_FEED_VOUCHED_WAIT_MS */
  vouchedWaitMs?: number
  /** @default Date.now */
  nowMs?: () => number
}

/**
 * Keeps this node from forking its own feed after its data folder was lost
 * or restored from an old copy. At start it holds the node's appends back,
 * in order, until a first sync with a member (or a bundle import) could
 * bring back the feed's newest records, for a bounded time.
 * The feed head mark beside the key contains the highest seq the key has
 * signed, written after each append and before the record is announced. A
 * store that stays below that mark keeps the node read-only for its own
 * feed until the missing records arrive.
 */
export class OwnFeedGuard implements AppendGuard {
  readonly #components: OwnFeedGuardComponents
  readonly #init: Required<OwnFeedGuardInit>
  readonly #log: Logger
  #state: OwnFeedState = 'waiting'
  #sinceMs = 0
  #waitEndsMs = 0
  #synced = false
  #waitOver = false
  #markSeq: number | null = null
  #markWrites: Promise<void> = Promise.resolve()
  #markFailing = false
  #fork: ForkEvidence | undefined
  #waitTimer?: NodeJS.Timeout
  #reminder?: NodeJS.Timeout
  /** Settles when the waiting appends may go on (resolve) or must fail (reject). */
  #appendGate = settledLater()
  /** Resolves once the state is `ready` for the first time. */
  readonly #readyGate = Promise.withResolvers<void>()
  readonly #onSync = (): void => { this.syncCompleted() }
  readonly #onRecord = (record: SignedRecord, meta: StoredMeta): void => { this.#recordStored(record, meta) }
  readonly #onFork = (evidence: ForkEvidence): void => { this.#forkDetected(evidence) }

  constructor (components: OwnFeedGuardComponents, init: OwnFeedGuardInit) {
    this.#components = components
    this.#init = {
      markFile: init.markFile,
      waitMs: init.waitMs ?? OWN_FEED_WAIT_MS,
      vouchedWaitMs: init.vouchedWaitMs ?? OWN_FEED_VOUCHED_WAIT_MS,
      nowMs: init.nowMs ?? Date.now
    }
    this.#log = components.logger.child({ component: 'own-feed' })
  }

  get state (): OwnFeedState {
    return this.#state
  }

  /**
   * Reads the mark, guards the store's appends by this node's key and
   * starts the wait. Call it before the fleet node starts, so that no
   * sync completes unseen.
   */
  async start (): Promise<void> {
    const { store, node, author } = this.#components
    this.#markSeq = (await this.#readMark())?.seq ?? null
    this.#sinceMs = this.#init.nowMs()
    store.guardAppends(author, this)
    store.on('record', this.#onRecord)
    store.on('fork', this.#onFork)
    node.on('sync', this.#onSync)
    if (store.isRefused(author)) {
      const evidence = (await store.refusals()).find(refusal => refusal.author === author)
      if (evidence != null) {
        this.#forkDetected(evidence)
        return
      }
    }
    this.#startWait()
  }

  /** Fails every waiting and later append, and stops the timers. Calling it again does nothing. */
  async stop (): Promise<void> {
    if (this.#state === 'stopped') {
      return
    }
    const { store, node } = this.#components
    clearTimeout(this.#waitTimer)
    clearInterval(this.#reminder)
    store.off('record', this.#onRecord)
    store.off('fork', this.#onFork)
    node.off('sync', this.#onSync)
    this.#enter('stopped')
    this.#appendGate.reject(new OwnFeedStoppedError(this.#components.author))
    await this.#markWrites
  }

  /** Resolves once appends may go through for the first time; stays pending while behind or forked. */
  async ready (): Promise<void> {
    await this.#readyGate.promise
  }

  status (): OwnFeedStatus {
    const { author } = this.#components
    return {
      state: this.#state,
      author,
      storedSeq: this.#storedSeq(),
      markSeq: this.#markSeq,
      markFile: this.#init.markFile,
      since: new Date(this.#sinceMs).toISOString(),
      waitEndsAt: this.#state === 'waiting' ? new Date(this.#waitEndsMs).toISOString() : null,
      detail: this.#detail()
    }
  }

  /** Records that a sync with a member or a bundle import completed, which ends the wait at start. */
  syncCompleted (): void {
    this.#synced = true
    this.#evaluate()
  }

  async beforeAppend (): Promise<void> {
    switch (this.#state) {
      case 'ready':
        return
      case 'waiting':
        await this.#appendGate.promise
        return
      default:
        throw this.#refusal()
    }
  }

  /**
   * Raises the mark to the appended record before the caller announces it.
   * NOTE: sync can serve the record between its store write and the mark
   * write. A data folder lost in that moment leaves the mark one record
   * short, which only a peer that has the record can correct.
   */
  async afterAppend (record: SignedRecord): Promise<void> {
    await this.#raiseMark(record.seq, record.id)
  }

  #startWait (): void {
    const storedSeq = this.#storedSeq()
    const vouched = this.#markSeq != null && storedSeq >= this.#markSeq
    const waitMs = vouched ? this.#init.vouchedWaitMs : this.#init.waitMs
    this.#waitEndsMs = this.#sinceMs + waitMs
    this.#waitTimer = setTimeout(() => { this.#waitEnded() }, waitMs)
    this.#waitTimer.unref()
    this.#log.info({ peer: this.#components.author, storedSeq, markSeq: this.#markSeq, waitMs },
      'waiting for a first sync with a member before this node signs, so that its feed continues after the newest record the fleet has')
  }

  #waitEnded (): void {
    this.#waitOver = true
    if (!this.#synced && this.#state === 'waiting') {
      const storedSeq = this.#storedSeq()
      const fields = { peer: this.#components.author, storedSeq, markSeq: this.#markSeq }
      if (this.#markSeq == null && storedSeq > 0) {
        this.#log.warn(fields, 'no member synced in time and there is no feed head mark; signing continues from the local store')
      } else {
        this.#log.info(fields, 'no member synced in time; signing continues from the local store')
      }
    }
    this.#evaluate()
  }

  #evaluate (): void {
    if (this.#state !== 'waiting' && this.#state !== 'behind') {
      return
    }
    const next = judgeOwnFeed({ storedSeq: this.#storedSeq(), markSeq: this.#markSeq, synced: this.#synced, waitOver: this.#waitOver })
    if (next === 'ready') {
      this.#becomeReady()
    } else if (next === 'behind' && this.#state === 'waiting') {
      this.#becomeBehind()
    }
  }

  #becomeReady (): void {
    const previous = this.#state
    clearTimeout(this.#waitTimer)
    clearInterval(this.#reminder)
    this.#enter('ready')
    this.#appendGate.resolve()
    this.#readyGate.resolve()
    const storedSeq = this.#storedSeq()
    const fields = { peer: this.#components.author, storedSeq, markSeq: this.#markSeq }
    if (previous === 'behind') {
      this.#log.info(fields, 'the missing records of this node\'s feed arrived; signing resumes')
    } else {
      this.#log.info(fields, `this node's feed continues at seq ${storedSeq + 1}`)
    }
    this.#raiseMarkToStore()
  }

  #becomeBehind (): void {
    this.#enter('behind')
    this.#appendGate.reject(this.#refusal())
    this.#logProblem()
    this.#reminder = setInterval(() => { this.#logProblem() }, OWN_FEED_REMINDER_MS)
    this.#reminder.unref()
  }

  #forkDetected (evidence: ForkEvidence): void {
    if (evidence.author !== this.#components.author || this.#state === 'forked' || this.#state === 'stopped') {
      return
    }
    this.#fork = evidence
    clearTimeout(this.#waitTimer)
    clearInterval(this.#reminder)
    this.#enter('forked')
    this.#appendGate.reject(this.#refusal())
    this.#logProblem()
    this.#reminder = setInterval(() => { this.#logProblem() }, OWN_FEED_REMINDER_MS)
    this.#reminder.unref()
  }

  #recordStored (record: SignedRecord, meta: StoredMeta): void {
    if (record.author !== this.#components.author) {
      return
    }
    // Records of this key that come back from the fleet raise the mark too; appends raise it in afterAppend.
    if (meta.via !== 'local') {
      this.#raiseMark(record.seq, record.id).catch(() => {})
    }
    this.#evaluate()
  }

  #enter (state: OwnFeedState): void {
    this.#state = state
    this.#sinceMs = this.#init.nowMs()
  }

  #logProblem (): void {
    const fields = { peer: this.#components.author, storedSeq: this.#storedSeq(), markSeq: this.#markSeq, markFile: this.#init.markFile }
    if (this.#state === 'forked' && this.#fork != null) {
      this.#log.error({ ...fields, seq: this.#fork.seq, records: this.#fork.records }, this.#detail() ?? '')
    } else if (this.#state === 'behind') {
      this.#log.error(fields, this.#detail() ?? '')
    }
  }

  #detail (): string | null {
    const { author } = this.#components
    switch (this.#state) {
      case 'waiting':
        return waitingMessage(new Date(this.#waitEndsMs).toISOString())
      case 'behind':
        return behindMessage(author, this.#storedSeq(), this.#markSeq ?? 0, this.#init.markFile)
      case 'forked':
        return this.#fork == null ? null : forkedMessage(author, this.#fork)
      default:
        return null
    }
  }

  #refusal (): Error {
    const detail = this.#detail() ?? ''
    switch (this.#state) {
      case 'behind':
        return new OwnFeedBehindError(detail)
      case 'forked':
        return new OwnFeedForkedError(detail)
      default:
        return new OwnFeedStoppedError(this.#components.author)
    }
  }

  #storedSeq (): number {
    return this.#components.store.feed(this.#components.author).last
  }

  async #readMark (): Promise<FeedMark | undefined> {
    const { author } = this.#components
    let mark: FeedMark | undefined
    try {
      mark = await readFeedMark(this.#init.markFile)
    } catch (err) {
      this.#log.error({ err, markFile: this.#init.markFile },
        'the feed head mark is unreadable, so a lost data folder cannot be detected without a peer; the next append replaces it')
      return undefined
    }
    if (mark != null && mark.author !== author) {
      this.#log.warn({ markFile: this.#init.markFile, markAuthor: mark.author, peer: author },
        'the feed head mark belongs to another key and is ignored; the next append replaces it')
      return undefined
    }
    return mark
  }

  /** Raises the mark to the store's own last record after sync brought records past it. */
  #raiseMarkToStore (): void {
    const { store, author } = this.#components
    const storedSeq = this.#storedSeq()
    if (storedSeq <= (this.#markSeq ?? 0)) {
      return
    }
    store.getBySeq(author, storedSeq)
      .then(async record => { if (record != null) await this.#raiseMark(record.seq, record.id) })
      .catch(err => { this.#log.error({ err, seq: storedSeq }, 'reading this node\'s last record for its feed head mark failed') })
  }

  /** Writes the mark when `seq` is above it. Writes run one at a time; a failure is logged, not thrown. */
  async #raiseMark (seq: number, record: string): Promise<void> {
    if (seq <= (this.#markSeq ?? 0)) {
      return
    }
    this.#markSeq = seq
    const mark: FeedMark = { author: this.#components.author, seq, record, writtenAt: new Date(this.#init.nowMs()).toISOString() }
    const write = this.#markWrites.then(async () => { await this.#writeMark(mark) })
    this.#markWrites = write
    await write
  }

  async #writeMark (mark: FeedMark): Promise<void> {
    if ((this.#markSeq ?? 0) > mark.seq) {
      // A later write carries a higher seq already.
      return
    }
    try {
      await writeFeedMark(this.#init.markFile, mark)
      if (this.#markFailing) {
        this.#markFailing = false
        this.#log.info({ markFile: this.#init.markFile, seq: mark.seq }, 'the feed head mark is written again')
      }
    } catch (err) {
      if (!this.#markFailing) {
        this.#markFailing = true
        this.#log.error({ err, markFile: this.#init.markFile, seq: mark.seq },
          'writing the feed head mark failed, so a lost data folder cannot be detected without a peer; ' +
          'make the folder of the node key writable by the node')
      }
    }
  }
}

/** Returns a promise with its resolvers, marked as handled so that a rejection that no caller awaits is not reported. */
function settledLater (): PromiseWithResolvers<void> {
  const gate = Promise.withResolvers<void>()
  gate.promise.catch(() => {})
  return gate
}

import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import type { AppendGuard, RecordStore } from '../store/index.ts'
import { AdminFeedBehindError } from './errors.ts'
import { readFeedMark, writeFeedMark } from './feed-mark.ts'

export interface AdminFeedGuardComponents {
  store: RecordStore
  /** Key id of the admin key, the author of the feed. */
  author: string
  logger: Logger
}

export interface AdminFeedGuardInit {
  /** Path of the feed head mark, beside the admin key file. */
  markFile: string
  /**
   * Maximum time after start during which an append below the mark waits
   * for the missing records instead of failing at once. Use it while a
   * fleet node runs and can sync them; 0 when only the store is open.
   */
  waitMs: number
  /** @default Date.now */
  nowMs?: () => number
}

/** A pending append that waits until the store reaches `markSeq` or the wait ends. */
interface Waiter {
  markSeq: number
  resolve: () => void
}

/**
 * Keeps an admin key from forking its feed after the store of its node was
 * lost or restored from an old copy while the key file survived. The feed
 * head mark beside the key file contains the highest seq the key has
 * signed, written after each append and before the record is published.
 * An append while the store has fewer records of the key than the mark
 * fails with `AdminFeedBehindError`, after the wait at start when a fleet
 * node runs. Unlike a garden's own feed, an admin feed whose store matches
 * its mark signs at once, without waiting for a first sync.
 */
export class AdminFeedGuard implements AppendGuard {
  readonly #components: AdminFeedGuardComponents
  readonly #init: Required<AdminFeedGuardInit>
  readonly #log: Logger
  #waitEndsMs = 0
  #waitTimer?: NodeJS.Timeout
  #waiters: Waiter[] = []
  readonly #onRecord = (record: SignedRecord): void => { this.#recordStored(record) }

  constructor (components: AdminFeedGuardComponents, init: AdminFeedGuardInit) {
    this.#components = components
    this.#init = { ...init, nowMs: init.nowMs ?? Date.now }
    this.#log = components.logger.child({ component: 'admin-feed' })
  }

  /** Guards the store's appends by the admin key and starts the wait. */
  start (): void {
    const { store, author } = this.#components
    store.guardAppends(author, this)
    store.on('record', this.#onRecord)
    this.#waitEndsMs = this.#init.nowMs() + this.#init.waitMs
    if (this.#init.waitMs > 0) {
      this.#waitTimer = setTimeout(() => { this.#releaseWaiters() }, this.#init.waitMs)
      this.#waitTimer.unref()
    }
  }

  /** Ends the wait, so that appends below the mark fail at once. Calling it again does nothing. */
  stop (): void {
    clearTimeout(this.#waitTimer)
    this.#waitEndsMs = 0
    this.#components.store.off('record', this.#onRecord)
    this.#releaseWaiters()
  }

  async beforeAppend (): Promise<void> {
    const markSeq = await this.#readMarkSeq()
    if (markSeq == null) {
      return
    }
    if (this.#storedSeq() < markSeq && this.#waiting()) {
      await this.#awaitRecords(markSeq)
    }
    const storedSeq = this.#storedSeq()
    if (storedSeq < markSeq) {
      throw new AdminFeedBehindError(adminBehindMessage(this.#components.author, storedSeq, markSeq, this.#init.markFile))
    }
  }

  /**
   * Raises the mark to the appended record before the caller publishes it.
   * A failed write is logged and the append still succeeds, because the
   * record is stored already.
   */
  async afterAppend (record: SignedRecord): Promise<void> {
    const { author } = this.#components
    const { markFile } = this.#init
    try {
      await writeFeedMark(markFile, { author, seq: record.seq, record: record.id, writtenAt: new Date(this.#init.nowMs()).toISOString() })
    } catch (err) {
      this.#log.error({ err, markFile, author, seq: record.seq },
        'writing the feed head mark of the admin key failed, so a lost store cannot be detected before this key signs again; ' +
        'make the folder of the admin key file writable by the node')
    }
  }

  #waiting (): boolean {
    return this.#init.nowMs() < this.#waitEndsMs
  }

  async #awaitRecords (markSeq: number): Promise<void> {
    const { author } = this.#components
    const storedSeq = this.#storedSeq()
    this.#log.warn({ author, storedSeq, markSeq, waitEndsAt: new Date(this.#waitEndsMs).toISOString() },
      'the store lacks records that this admin key signed; the next record waits until sync brings them back')
    const arrived = Promise.withResolvers<void>()
    this.#waiters.push({ markSeq, resolve: arrived.resolve })
    await arrived.promise
  }

  #recordStored (record: SignedRecord): void {
    if (record.author !== this.#components.author) {
      return
    }
    const storedSeq = this.#storedSeq()
    const ready = this.#waiters.filter(waiter => storedSeq >= waiter.markSeq)
    this.#waiters = this.#waiters.filter(waiter => storedSeq < waiter.markSeq)
    for (const waiter of ready) {
      waiter.resolve()
    }
  }

  #releaseWaiters (): void {
    for (const waiter of this.#waiters.splice(0)) {
      waiter.resolve()
    }
  }

  #storedSeq (): number {
    return this.#components.store.feed(this.#components.author).last
  }

  /**
   * Returns the seq of the mark, or null when there is none. A mark that
   * cannot be read or belongs to another key is logged and ignored, as a
   * garden's own feed guard does, and the next append replaces it.
   */
  async #readMarkSeq (): Promise<number | null> {
    const { author } = this.#components
    const { markFile } = this.#init
    try {
      const mark = await readFeedMark(markFile)
      if (mark != null && mark.author !== author) {
        this.#log.warn({ markFile, markAuthor: mark.author, author },
          'the feed head mark belongs to another key and is ignored; the next record of the admin key replaces it')
        return null
      }
      return mark?.seq ?? null
    } catch (err) {
      this.#log.error({ err, markFile, author },
        'the feed head mark of the admin key is unreadable, so a lost store cannot be detected; the next record replaces it')
      return null
    }
  }
}

/**
 * Explains a store below the admin key's feed head mark, and how to fix it.
 * `signing` is for the error of a command that tried to sign, and `status`
 * for a status line, which names no command to run again.
 */
export function adminBehindMessage (author: string, storedSeq: number, markSeq: number, markFile: string,
  when: 'signing' | 'status' = 'signing'): string {
  const missing = markSeq === storedSeq + 1 ? `seq ${markSeq}` : `seq ${storedSeq + 1} to ${markSeq}`
  const stored = storedSeq === 0 ? 'none of them' : `only up to seq ${storedSeq}`
  const outcome = when === 'signing'
    ? 'so nothing was signed. Bring the records back, then run this command again: '
    : 'so this node signs nothing with this key until the records are back. Bring them back: '
  return `the feed of admin key ${author} is missing ${missing}: the feed head mark ${markFile} shows that the key ` +
    `signed them, but the record store of this node has ${stored}, as after a lost or restored data folder. ` +
    `Signing now would fork the feed, and every node would then reject this key, ${outcome}` +
    'run `sower node` with this config where it reaches a ' +
    'member that has them, which syncs them on connect, or run `sower bundle export --out FILE` on such a member ' +
    'and `sower bundle import FILE` here. If no copy exists anywhere, replace this admin key in a new root version ' +
    'with `sower root rotate` (docs/OPERATIONS.md, "Rotating a key").'
}

import type { Logger } from '../logger.ts'
import { decodeRecord, signRecord } from '../records/index.ts'
import type { BodyTypes, RecordType, SignedRecord } from '../records/index.ts'
import type { SigningKey } from '../keys/index.ts'
import { StoreAppendError } from './errors.ts'
import { EMPTY_FEED, readFeedEntry } from './feed.ts'
import { Staging } from './staging.ts'
import type { Tables } from './tables.ts'
import type { AppendBody, PutResult } from './types.ts'
import type { Writer } from './writer.ts'

/**
 * Checks that run inside the append queue of one key, set with
 * `RecordStore.guardAppends`. Because they run in the queue, appends that
 * wait in `beforeAppend` keep their order.
 */
export interface AppendGuard {
  /** Resolves when the key's next record may be signed; a rejection fails the append before anything is signed. */
  beforeAppend: () => Promise<void>
  /** Runs once the record is durable and before `append` resolves; an error is logged and the append still succeeds. */
  afterAppend: (record: SignedRecord) => Promise<void>
}

/**
 * Appends records to local feeds. Appends by one key run one at a time, so
 * each one reads the seq and id that the previous one stored, and
 * concurrent calls never fork the feed.
 */
export class FeedAppender {
  readonly #tables: Tables
  readonly #writer: Writer
  readonly #log: Logger
  readonly #queues = new Map<string, Promise<void>>()
  readonly #guards = new Map<string, AppendGuard>()

  constructor (tables: Tables, writer: Writer, log: Logger) {
    this.#tables = tables
    this.#writer = writer
    this.#log = log
  }

  async append<T extends RecordType> (type: T, body: AppendBody<T>, key: SigningKey): Promise<SignedRecord<T>> {
    if (type === 'root') {
      throw new StoreAppendError('a root is signed by a threshold of admins; sign it with signRecord and store it with put')
    }
    return await this.#inQueue(key.id, async () => await this.#appendGuarded(type, body, key))
  }

  /** Sets the guard of `author`'s appends, or removes it with `undefined`. */
  guard (author: string, guard: AppendGuard | undefined): void {
    if (guard == null) {
      this.#guards.delete(author)
    } else {
      this.#guards.set(author, guard)
    }
  }

  /** Resolves once every append started so far has finished. */
  async idle (): Promise<void> {
    await Promise.all(this.#queues.values())
  }

  async #appendGuarded<T extends RecordType> (type: T, body: AppendBody<T>, key: SigningKey): Promise<SignedRecord<T>> {
    const guard = this.#guards.get(key.id)
    await guard?.beforeAppend()
    const record = await this.#appendNow(type, body, key)
    try {
      await guard?.afterAppend(record)
    } catch (err) {
      this.#log.error({ err, record: record.id }, 'the append guard failed after a record was stored')
    }
    return record
  }

  async #appendNow<T extends RecordType> (type: T, body: AppendBody<T>, key: SigningKey): Promise<SignedRecord<T>> {
    const feed = this.#tables.feeds.memory?.get(key.id) ?? EMPTY_FEED
    const seq = feed.last + 1
    let prev: string | null = null
    if (feed.last > 0) {
      const entry = await readFeedEntry(new Staging(this.#log), this.#tables, key.id, feed.last)
      if (entry == null) {
        throw new StoreAppendError(`the feed of ${key.id} has no record at its last seq ${feed.last}`)
      }
      prev = entry.id
    }

    const record = signRecord(type, { ...body, author: key.id, seq, prev } as unknown as BodyTypes[T], [key])
    const decoded = decodeRecord(record.bytes)
    if (!decoded.ok) {
      throw new StoreAppendError(`cannot append an invalid ${type}: ${decoded.error.message}`, { cause: decoded.error })
    }

    const result = await this.#writer.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    if (result.status !== 'stored') {
      throw new StoreAppendError(`cannot append ${record.id} to the feed of ${key.id}: ${describePutResult(result)}`)
    }
    return record
  }

  async #inQueue<T> (author: string, job: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(author) ?? Promise.resolve()
    const result = previous.then(job)
    const tail = result.then(() => undefined, () => undefined)
    this.#queues.set(author, tail)
    tail.then(() => {
      if (this.#queues.get(author) === tail) {
        this.#queues.delete(author)
      }
    }, () => {})
    return await result
  }
}

function describePutResult (result: PutResult): string {
  switch (result.status) {
    case 'refused':
      return result.reason
    case 'fork':
      return `it forks the feed at the position of ${result.existing}`
    default:
      return `the store returned ${result.status}`
  }
}

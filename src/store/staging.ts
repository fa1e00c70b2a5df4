import type { Logger } from '../logger.ts'
import type { RawValue, Table } from './tables.ts'

export type BatchOperation =
  | { type: 'put', sublevel: Table<any>['sublevel'], key: string, value: RawValue }
  | { type: 'del', sublevel: Table<any>['sublevel'], key: string }

/** Values by key per table; `undefined` marks a deleted key or a key read as missing. */
type Slots = Map<Table<any>, Map<string, unknown>>

/**
 * Pending writes of one batch, read through: a read returns the value
 * staged so far, else the value staged by the base batch, else the value in
 * the database. The root staging caches what it reads from the database,
 * which is valid because only one batch is prepared at a time.
 * A child staging holds the writes of one record, so that a record whose
 * processing fails can be dropped without touching the rest of the batch.
 * A root staging may read through a `base`: the previous batch, whose write
 * may still be in flight.
 */
export class Staging {
  readonly #parent: Staging | undefined
  readonly #base: Staging | undefined
  readonly #log: Logger
  readonly #writes: Slots = new Map()
  readonly #reads: Slots = new Map()
  #size = 0

  constructor (log: Logger, init: { parent?: Staging, base?: Staging } = {}) {
    this.#log = log
    this.#parent = init.parent
    this.#base = init.base
  }

  child (): Staging {
    return new Staging(this.#log, { parent: this })
  }

  async get<V> (table: Table<V>, key: string): Promise<V | undefined> {
    const writes = this.#writes.get(table)
    if (writes?.has(key) === true) {
      return writes.get(key) as V | undefined
    }
    if (this.#parent != null) {
      return await this.#parent.get(table, key)
    }
    return await this.#read(table, key)
  }

  put<V> (table: Table<V>, key: string, value: V): void {
    this.#set(table, key, value)
  }

  del (table: Table<any>, key: string): void {
    this.#set(table, key, undefined)
  }

  /**
   * Reads keys of a table ahead, so that later `get`s are served from
   * memory. Reads are synchronous, because a read on libuv's thread pool
   * makes the process wait for a wake-up, which is slow on a busy host.
   * NOTE: a lookup that misses LevelDB's caches blocks the event loop for
   * the disk read.
   */
  prefetch (table: Table<any>, keys: Iterable<string>): void {
    if (this.#parent != null) {
      this.#parent.prefetch(table, keys)
      return
    }
    if (table.memory != null) {
      return
    }
    const reads = slotsOf(this.#reads, table)
    const based = this.#baseWrites(table)
    for (const key of keys) {
      if (!reads.has(key) && based?.has(key) !== true) {
        reads.set(key, this.#decode(table, key, table.sublevel.getSync(key)))
      }
    }
  }

  /** Moves the writes of a child into its parent. */
  commit (): void {
    if (this.#parent == null) {
      throw new Error('only a child staging can be committed into its parent')
    }
    for (const [table, writes] of this.#writes) {
      for (const [key, value] of writes) {
        this.#parent.#set(table, key, value)
      }
    }
    this.#writes.clear()
    this.#size = 0
  }

  /** Number of distinct keys written. */
  get size (): number {
    return this.#size
  }

  operations (): BatchOperation[] {
    const operations: BatchOperation[] = []
    for (const [table, writes] of this.#writes) {
      for (const [key, value] of writes) {
        operations.push(value === undefined
          ? { type: 'del', sublevel: table.sublevel, key }
          : { type: 'put', sublevel: table.sublevel, key, value: table.encode(value) })
      }
    }
    return operations
  }

  /** Applies the writes to the in-memory tables; call once the batch is durable. */
  applyToMemory (): void {
    for (const [table, writes] of this.#writes) {
      if (table.memory == null) {
        continue
      }
      for (const [key, value] of writes) {
        if (value === undefined) {
          table.memory.delete(key)
        } else {
          table.memory.set(key, value)
        }
      }
    }
  }

  /** Writes to one table, for caches kept beside the in-memory tables. */
  * writesTo<V> (table: Table<V>): Iterable<{ key: string, value: V | undefined }> {
    for (const [key, value] of this.#writes.get(table) ?? []) {
      yield { key, value: value as V | undefined }
    }
  }

  #baseWrites (table: Table<any>): Map<string, unknown> | undefined {
    return this.#base == null ? undefined : this.#base.#writes.get(table)
  }

  #set (table: Table<any>, key: string, value: unknown): void {
    const writes = slotsOf(this.#writes, table)
    if (!writes.has(key)) {
      this.#size += 1
    }
    writes.set(key, value)
  }

  async #read<V> (table: Table<V>, key: string): Promise<V | undefined> {
    const based = this.#baseWrites(table)
    if (based?.has(key) === true) {
      return based.get(key) as V | undefined
    }
    if (table.memory != null) {
      return table.memory.get(key)
    }
    const reads = slotsOf(this.#reads, table)
    if (reads.has(key)) {
      return reads.get(key) as V | undefined
    }
    const value = this.#decode(table, key, table.sublevel.getSync(key))
    reads.set(key, value)
    return value
  }

  #decode<V> (table: Table<V>, key: string, raw: RawValue | undefined): V | undefined {
    return raw === undefined ? undefined : decodeOrSkip(table, key, raw, this.#log)
  }
}

function slotsOf (slots: Slots, table: Table<any>): Map<string, unknown> {
  let forTable = slots.get(table)
  if (forTable == null) {
    forTable = new Map()
    slots.set(table, forTable)
  }
  return forTable
}

/** Decodes a stored value; a corrupt one is logged and read as missing, so it cannot stop the node. */
export function decodeOrSkip<V> (table: Table<V>, key: string, raw: RawValue, log: Logger): V | undefined {
  try {
    return table.decode(raw)
  } catch (err) {
    log.warn({ table: table.name, key, err }, 'skipping a corrupt value in the record store')
    return undefined
  }
}

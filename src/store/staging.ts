import type { Logger } from '../logger.ts'
import type { RawValue, Table } from './tables.ts'

interface Write {
  table: Table<any>
  key: string
  /** `undefined` deletes the key. */
  value: unknown
}

export type BatchOperation =
  | { type: 'put', sublevel: Table<any>['sublevel'], key: string, value: RawValue }
  | { type: 'del', sublevel: Table<any>['sublevel'], key: string }

/**
 * Pending writes of one batch, read through: a read sees the writes staged
 * so far, then the database. The root staging caches what it reads from the
 * database, which is valid because only one batch is prepared at a time.
 * A child staging holds the writes of one record, so that a record whose
 * processing fails can be dropped without touching the rest of the batch.
 */
export class Staging {
  readonly #parent: Staging | undefined
  readonly #log: Logger
  readonly #writes = new Map<string, Write>()
  readonly #reads = new Map<string, unknown>()

  constructor (log: Logger, parent?: Staging) {
    this.#log = log
    this.#parent = parent
  }

  child (): Staging {
    return new Staging(this.#log, this)
  }

  async get<V> (table: Table<V>, key: string): Promise<V | undefined> {
    const write = this.#writes.get(slotOf(table, key))
    if (write != null) {
      return write.value as V | undefined
    }
    if (this.#parent != null) {
      return await this.#parent.get(table, key)
    }
    return await this.#read(table, key)
  }

  put<V> (table: Table<V>, key: string, value: V): void {
    this.#writes.set(slotOf(table, key), { table, key, value })
  }

  del (table: Table<any>, key: string): void {
    this.#writes.set(slotOf(table, key), { table, key, value: undefined })
  }

  /** Reads many keys of a table in one call, so that later `get`s are served from memory. */
  async prefetch (table: Table<any>, keys: Iterable<string>): Promise<void> {
    if (this.#parent != null) {
      await this.#parent.prefetch(table, keys)
      return
    }
    if (table.memory != null) {
      return
    }
    const wanted = [...new Set(keys)].filter(key => !this.#reads.has(slotOf(table, key)))
    if (wanted.length === 0) {
      return
    }
    const raws = await table.sublevel.getMany(wanted)
    wanted.forEach((key, index) => {
      this.#reads.set(slotOf(table, key), this.#decode(table, key, raws[index]))
    })
  }

  /** Moves the writes of a child into its parent. */
  commit (): void {
    if (this.#parent == null) {
      throw new Error('only a child staging can be committed into its parent')
    }
    for (const [slot, write] of this.#writes) {
      this.#parent.#writes.set(slot, write)
    }
    this.#writes.clear()
  }

  get size (): number {
    return this.#writes.size
  }

  operations (): BatchOperation[] {
    return [...this.#writes.values()].map(({ table, key, value }) => value === undefined
      ? { type: 'del', sublevel: table.sublevel, key }
      : { type: 'put', sublevel: table.sublevel, key, value: table.encode(value) })
  }

  /** Applies the writes to the in-memory tables; call once the batch is durable. */
  applyToMemory (): void {
    for (const { table, key, value } of this.#writes.values()) {
      if (table.memory == null) {
        continue
      }
      if (value === undefined) {
        table.memory.delete(key)
      } else {
        table.memory.set(key, value)
      }
    }
  }

  /** Writes to one table, for caches kept beside the in-memory tables. */
  * writesTo<V> (table: Table<V>): Iterable<{ key: string, value: V | undefined }> {
    for (const write of this.#writes.values()) {
      if (write.table === table) {
        yield { key: write.key, value: write.value as V | undefined }
      }
    }
  }

  async #read<V> (table: Table<V>, key: string): Promise<V | undefined> {
    if (table.memory != null) {
      return table.memory.get(key)
    }
    const slot = slotOf(table, key)
    if (this.#reads.has(slot)) {
      return this.#reads.get(slot) as V | undefined
    }
    const value = this.#decode(table, key, await table.sublevel.get(key))
    this.#reads.set(slot, value)
    return value
  }

  #decode<V> (table: Table<V>, key: string, raw: RawValue | undefined): V | undefined {
    return raw === undefined ? undefined : decodeOrSkip(table, key, raw, this.#log)
  }
}

function slotOf (table: Table<any>, key: string): string {
  return `${table.name}\u0000${key}`
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

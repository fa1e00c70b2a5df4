import type { Logger } from '../logger.ts'
import { decodeRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { lastPart, prefixRange } from './key-layout.ts'
import { decodeOrSkip } from './staging.ts'
import type { Table } from './tables.ts'
import type { ListOptions } from './types.ts'

/** Keys read per LevelDB call when a query walks an index. */
export const READ_PAGE_RECORDS = 256

/**
 * Reads records and values for queries. Every record is decoded again from
 * its stored bytes, and a value that does not decode is logged and left out,
 * so corrupt data cannot stop the node.
 */
export class RecordReader {
  readonly #records: Table<Uint8Array>
  readonly #log: Logger

  constructor (records: Table<Uint8Array>, log: Logger) {
    this.#records = records
    this.#log = log
  }

  /** Walks an index whose keys end with record ids, reading the records in pages. */
  async * walkIndex (table: Table<string>, range: object, options: ListOptions): AsyncGenerator<SignedRecord> {
    const keys = table.sublevel.keys({ ...range, reverse: options.reverse ?? false, limit: options.limit ?? -1 })
    try {
      while (true) {
        const page = await keys.nextv(READ_PAGE_RECORDS)
        if (page.length === 0) {
          return
        }
        yield * await this.readRecords(page.map(lastPart))
      }
    } finally {
      await keys.close()
    }
  }

  /** Reads every record listed in an index under `prefix`. */
  async collect (table: Table<string>, prefix: string): Promise<SignedRecord[]> {
    const records: SignedRecord[] = []
    for await (const record of this.walkIndex(table, prefixRange(prefix), {})) {
      records.push(record)
    }
    return records
  }

  /** Reads and decodes records by id; missing and corrupt ones are left out. */
  async readRecords (ids: string[]): Promise<SignedRecord[]> {
    if (ids.length === 0) {
      return []
    }
    const raws = await this.#records.sublevel.getMany(ids)
    const records: SignedRecord[] = []
    ids.forEach((id, index) => {
      const raw = raws[index]
      const record = raw == null ? undefined : this.#decodeStored(id, raw as Uint8Array)
      if (record != null) {
        records.push(record)
      }
    })
    return records
  }

  #decodeStored (id: string, bytes: Uint8Array): SignedRecord | undefined {
    const decoded = decodeRecord(bytes)
    if (!decoded.ok) {
      this.#log.warn({ record: id, err: decoded.error }, 'skipping a stored record that does not decode')
      return undefined
    }
    if (decoded.record.id !== id) {
      this.#log.warn({ record: id, found: decoded.record.id }, 'skipping a stored record whose bytes do not match its id')
      return undefined
    }
    return decoded.record
  }

  async readValue<V> (table: Table<V>, key: string): Promise<V | undefined> {
    const raw = await table.sublevel.get(key)
    return raw == null ? undefined : decodeOrSkip(table, key, raw, this.#log)
  }

  /** Reads values by key; missing and corrupt ones are left out. */
  async readValues<V> (table: Table<V>, keys: string[]): Promise<V[]> {
    if (keys.length === 0) {
      return []
    }
    const raws = await table.sublevel.getMany(keys)
    const values: V[] = []
    keys.forEach((key, index) => {
      const raw = raws[index]
      const value = raw == null ? undefined : decodeOrSkip(table, key, raw, this.#log)
      if (value != null) {
        values.push(value)
      }
    })
    return values
  }
}

import { Level } from 'level'
import type { Logger } from '../logger.ts'
import { StoreLockedError, StoreOpenError, StoreVersionError } from './errors.ts'
import { decodeOrSkip } from './staging.ts'
import type { Database, Table, Tables } from './tables.ts'

/** Bumped whenever the key layout or a stored value changes shape. */
export const STORE_SCHEMA_VERSION = '1'
const SCHEMA_VERSION_KEY = 'schema-version'

export async function openDatabase (path: string): Promise<Database> {
  const db = new Level<string, string>(path)
  try {
    await db.open()
  } catch (err: any) {
    if (err?.cause?.code === 'LEVEL_LOCKED') {
      throw new StoreLockedError(path, { cause: err })
    }
    throw new StoreOpenError(path, { cause: err?.cause ?? err })
  }
  return db
}

/** Writes the schema version into a new database; rejects an existing one with another or none. */
export async function checkSchemaVersion (db: Database, tables: Tables, path: string): Promise<void> {
  const found = await tables.system.sublevel.get(SCHEMA_VERSION_KEY) as string | undefined
  if (found === STORE_SCHEMA_VERSION) {
    return
  }
  if (found == null) {
    const [anyKey] = await db.keys({ limit: 1 }).all()
    if (anyKey == null) {
      await db.batch([{ type: 'put', sublevel: tables.system.sublevel, key: SCHEMA_VERSION_KEY, value: STORE_SCHEMA_VERSION }] as any,
        { sync: true })
      return
    }
  }
  throw new StoreVersionError(path, found, STORE_SCHEMA_VERSION)
}

/** Loads a table that is kept in memory; other tables are left alone. */
export async function loadMemory<V> (table: Table<V>, log: Logger): Promise<void> {
  if (table.memory == null) {
    return
  }
  for await (const [key, raw] of table.sublevel.iterator()) {
    const value = decodeOrSkip(table, key, raw, log)
    if (value != null) {
      table.memory.set(key, value)
    }
  }
}

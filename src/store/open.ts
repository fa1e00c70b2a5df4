import { Level } from 'level'
import type { Logger } from '../logger.ts'
import { decodeRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { StoreLockedError, StoreOpenError, StoreVersionError } from './errors.ts'
import { alertKey, lastPart, prefixRange } from './key-layout.ts'
import { decodeOrSkip } from './staging.ts'
import type { Database, Table, Tables } from './tables.ts'

/** Bumped whenever the key layout or a stored value changes shape. */
export const STORE_SCHEMA_VERSION = '1'
const SCHEMA_VERSION_KEY = 'schema-version'
/** Set once the alert index contains every stored alert; stores of schema 1 may predate the index. */
const ALERT_INDEX_KEY = 'alert-index'

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

/**
 * Fills the alert index from the stored alerts, once per store: a store
 * written before the index existed has alerts but no entries. The earliest
 * alert of an author and subject gets the entry, and a marker in `system`
 * is written in the same batch. Call it after `loadMemory`.
 */
export async function indexStoredAlerts (db: Database, tables: Tables, log: Logger): Promise<void> {
  if (await tables.system.sublevel.get(ALERT_INDEX_KEY) != null) {
    return
  }
  const entries = new Map<string, string>()
  for await (const key of tables.byType.sublevel.keys(prefixRange('alert'))) {
    const id = lastPart(key)
    const raw = await tables.records.sublevel.get(id)
    const decoded = raw == null ? undefined : decodeRecord(raw as Uint8Array)
    if (decoded?.ok !== true) {
      log.warn({ record: id }, 'alert index skips an alert that is missing or does not decode')
      continue
    }
    const alert = decoded.record as SignedRecord<'alert'>
    const indexKey = alertKey(alert.body.subject, alert.author)
    if (!entries.has(indexKey) && tables.alertsBySubject.memory?.has(indexKey) !== true) {
      entries.set(indexKey, id)
    }
  }
  const operations = [...entries].map(([key, id]) => ({ type: 'put', sublevel: tables.alertsBySubject.sublevel, key, value: id }))
  operations.push({ type: 'put', sublevel: tables.system.sublevel, key: ALERT_INDEX_KEY, value: '1' })
  await db.batch(operations as any, { sync: true })
  for (const [key, id] of entries) {
    tables.alertsBySubject.memory?.set(key, id)
  }
  if (entries.size > 0) {
    log.info({ alerts: entries.size }, 'alert index filled from stored alerts')
  }
}

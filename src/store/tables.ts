import type { AbstractSublevel } from 'abstract-level'
import type { Level } from 'level'
import type { FeedState, Refusal } from './feed.ts'
import type { DeploymentState } from './deployment-summary.ts'
import type { GardenState, IntentGardenState, IntentState } from './summaries.ts'
import type { StoredMeta } from './types.ts'

export type RawValue = string | Uint8Array
export type Database = Level<string, string>
export type Sublevel = AbstractSublevel<Database, string | Buffer | Uint8Array, string, RawValue>
/** A sublevel of a node's own state with JSON values, from `RecordStore.sublevel`. */
export type LocalSublevel<V> = AbstractSublevel<Database, string | Buffer | Uint8Array, string, V>

/** A sublevel with the codec of its values. */
export interface Table<V> {
  readonly name: string
  readonly sublevel: Sublevel
  encode: (value: V) => RawValue
  /** Throws for a value that is not valid; callers log and skip it. */
  decode: (raw: RawValue) => V
  /**
   * A copy of the whole table in memory, for tables read on every write or
   * page view. It is loaded at open and updated after each durable batch.
   */
  readonly memory?: Map<string, V>
}

export interface Tables {
  /** Schema version and other store-wide settings. */
  system: Table<string>
  /** Record id -> canonical envelope bytes. */
  records: Table<Uint8Array>
  meta: Table<StoredMeta>
  /** `author!seq` -> `id prev` of the first record stored at that position. */
  feed: Table<string>
  /** `author!seq!id` -> '' for both records of every detected fork. */
  forks: Table<string>
  /** Author -> floor, contiguous head and highest seq. */
  feeds: Table<FeedState>
  refused: Table<Refusal>
  /** `type!issuedAt!seq!id` -> ''. */
  byType: Table<string>
  /** `peer!issuedAt!seq!id` -> '' for certificates, revocations, reports and events of a garden. */
  byGarden: Table<string>
  /** `seed!issuedAt!seq!id` -> '' for intents and events. */
  bySeed: Table<string>
  /** `intent!issuedAt!seq!id` -> '' for events. */
  byIntent: Table<string>
  /** `deployment!issuedAt!seq!id` -> '' for events. */
  byDeployment: Table<string>
  gardens: Table<GardenState>
  deployments: Table<DeploymentState>
  /** `garden!startedAt!deployment` -> ''. */
  deploymentsByGarden: Table<string>
  /** `intent!startedAt!deployment` -> ''. */
  deploymentsByIntent: Table<string>
  /** `startedAt!deployment` -> ''. */
  deploymentsByTime: Table<string>
  intents: Table<IntentState>
  /** `intent!garden` -> per-seed results of that garden. */
  intentGardens: Table<IntentGardenState>
  /**
   * `subject!author` -> id of the first alert stored by that author about
   * that subject. Kept in memory and never compacted, so a receiver ignores
   * every further alert of the pair.
   */
  alertsBySubject: Table<string>
}

function textTable (db: Database, name: string, inMemory = false): Table<string> {
  const table: Table<string> = {
    name,
    sublevel: db.sublevel<string, RawValue>(name, { valueEncoding: 'utf8' }),
    encode: value => value,
    decode: raw => raw as string
  }
  return inMemory ? { ...table, memory: new Map() } : table
}

function jsonTable<V> (db: Database, name: string, inMemory = false): Table<V> {
  const table: Table<V> = {
    name,
    sublevel: db.sublevel<string, RawValue>(name, { valueEncoding: 'utf8' }),
    encode: value => JSON.stringify(value),
    decode: raw => JSON.parse(raw as string) as V
  }
  return inMemory ? { ...table, memory: new Map() } : table
}

function bytesTable (db: Database, name: string): Table<Uint8Array> {
  return {
    name,
    sublevel: db.sublevel<string, RawValue>(name, { valueEncoding: 'view' }),
    encode: value => value,
    decode: raw => raw as Uint8Array
  }
}

/**
 * Creates the tables of an open database and waits until each sublevel is
 * open: the store reads them with `getSync`, which a sublevel that is still
 * opening refuses.
 */
export async function openTables (db: Database): Promise<Tables> {
  const tables: Tables = {
    system: textTable(db, 'system'),
    records: bytesTable(db, 'records'),
    meta: jsonTable(db, 'meta'),
    feed: textTable(db, 'feed'),
    forks: textTable(db, 'forks'),
    feeds: jsonTable(db, 'feeds', true),
    refused: jsonTable(db, 'refused', true),
    byType: textTable(db, 'by-type'),
    byGarden: textTable(db, 'by-garden'),
    bySeed: textTable(db, 'by-seed'),
    byIntent: textTable(db, 'by-intent'),
    byDeployment: textTable(db, 'by-deployment'),
    gardens: jsonTable(db, 'gardens', true),
    deployments: jsonTable(db, 'deployments'),
    deploymentsByGarden: textTable(db, 'deployments-by-garden'),
    deploymentsByIntent: textTable(db, 'deployments-by-intent'),
    deploymentsByTime: textTable(db, 'deployments-by-time'),
    intents: jsonTable(db, 'intents'),
    intentGardens: jsonTable(db, 'intent-gardens'),
    alertsBySubject: textTable(db, 'alerts-by-subject', true)
  }
  await Promise.all(Object.values(tables).map(async table => { await table.sublevel.open() }))
  return tables
}

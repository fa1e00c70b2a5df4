import type { SignedRecord } from '../records/index.ts'
import { alertKey, joinKey, stampOf } from './key-layout.ts'
import type { Staging } from './staging.ts'
import type { Table, Tables } from './tables.ts'

export interface IndexEntry {
  table: Table<string>
  key: string
}

/** The index keys of a record; each ends with its stamp, so a range reads in time order. */
export function indexEntries (tables: Tables, record: SignedRecord): IndexEntry[] {
  const stamp = stampOf(record)
  const entries: IndexEntry[] = [{ table: tables.byType, key: joinKey(record.type, stamp) }]
  const add = (table: Table<string>, prefix: string): void => {
    entries.push({ table, key: joinKey(prefix, stamp) })
  }
  const garden = gardenOf(record)
  if (garden != null) {
    add(tables.byGarden, garden)
  }
  for (const seed of seedsOf(record)) {
    add(tables.bySeed, seed)
  }
  if (isEvent(record)) {
    add(tables.byIntent, record.body.intent)
    add(tables.byDeployment, record.body.deployment)
  }
  return entries
}

function isEvent (record: SignedRecord): record is SignedRecord<'event'> {
  return record.type === 'event'
}

/** The garden a record is about: the peer of a certificate or revocation, the author of a report or event. */
function gardenOf (record: SignedRecord): string | undefined {
  switch (record.type) {
    case 'certificate':
    case 'revocation':
      return (record as SignedRecord<'certificate' | 'revocation'>).body.peer
    case 'report':
    case 'event':
      return record.author
    default:
      return undefined
  }
}

function seedsOf (record: SignedRecord): string[] {
  if (record.type === 'event') {
    return [(record as SignedRecord<'event'>).body.seed]
  }
  if (record.type !== 'intent') {
    return []
  }
  const body = (record as SignedRecord<'intent'>).body
  return body.action === 'deploy' ? body.releases.map(release => release.seed) : body.seeds ?? []
}

/**
 * Stages the alert index entry of an alert unless its author has one about
 * the same subject already. That entry stays, so the index names the first
 * alert of each author and subject.
 */
export async function stageAlertIndex (staging: Staging, tables: Tables, record: SignedRecord): Promise<void> {
  if (record.type !== 'alert') {
    return
  }
  const key = alertKey((record as SignedRecord<'alert'>).body.subject, record.author)
  if (await staging.get(tables.alertsBySubject, key) == null) {
    staging.put(tables.alertsBySubject, key, record.id)
  }
}

import { describeFork } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { EMPTY_FEED, advanceFeed, findConflict } from './feed.ts'
import type { Conflict } from './feed.ts'
import { indexEntries, stageAlertIndex } from './indexes.ts'
import { encodeFeedEntry, feedKey, joinKey, seqKey } from './key-layout.ts'
import type { Staging } from './staging.ts'
import type { Tables } from './tables.ts'
import type { ForkEvidence, PutResult, ReportedFork, StoredMeta } from './types.ts'
import { applyToViews } from './views.ts'

export interface StageOutcome {
  result: PutResult
  /** Set when the record revealed a fork. */
  evidence?: ForkEvidence
}

/**
 * Stages everything that storing one record changes: the record, its meta,
 * feed entry, indexes (the alert index too) and views, or the evidence of a fork. Checks run in
 * this order: already stored, author refused, below the floor, fork.
 */
export async function stageRecord (staging: Staging, tables: Tables, record: SignedRecord, meta: StoredMeta): Promise<StageOutcome> {
  if (await staging.get(tables.records, record.id) != null) {
    return { result: { status: 'duplicate' } }
  }
  const refusal = await staging.get(tables.refused, record.author)
  if (refusal != null) {
    return { result: { status: 'refused', reason: describeRefusal(refusal) } }
  }
  const feed = await staging.get(tables.feeds, record.author) ?? EMPTY_FEED
  if (record.seq < feed.floor) {
    return { result: { status: 'duplicate' } }
  }
  const conflict = await findConflict(staging, tables, record, feed)
  if (conflict != null) {
    return stageFork(staging, tables, record, meta, conflict)
  }

  staging.put(tables.records, record.id, record.bytes)
  staging.put(tables.meta, record.id, meta)
  staging.put(tables.feed, feedKey(record.author, record.seq), encodeFeedEntry(record))
  for (const { table, key } of indexEntries(tables, record)) {
    staging.put(table, key, '')
  }
  await stageAlertIndex(staging, tables, record)
  staging.put(tables.feeds, record.author, await advanceFeed(staging, tables, record.author, feed, record.seq))
  await applyToViews(staging, tables, record, meta)
  return { result: { status: 'stored' } }
}

export function describeRefusal (refusal: ForkEvidence): string {
  return `author ${refusal.author} is refused since a fork was detected (${refusal.reason}: ` +
    `records ${refusal.records[0]} and ${refusal.records[1]})`
}

/** Keeps both records readable by id, lists them as a fork and refuses the author. */
function stageFork (staging: Staging, tables: Tables, record: SignedRecord, meta: StoredMeta, conflict: Conflict): StageOutcome {
  staging.put(tables.records, record.id, record.bytes)
  staging.put(tables.meta, record.id, meta)
  staging.put(tables.forks, joinKey(record.author, seqKey(conflict.existingSeq), conflict.existing), '')
  staging.put(tables.forks, joinKey(record.author, seqKey(record.seq), record.id), '')
  const evidence: ForkEvidence = {
    author: record.author,
    seq: record.seq,
    records: [conflict.existing, record.id],
    reason: conflict.reason,
    detectedAt: new Date().toISOString()
  }
  staging.put(tables.refused, record.author, evidence)
  return { result: { status: 'fork', existing: conflict.existing }, evidence }
}

/**
 * Stages a fork that an alert proved, as `stageFork` does for a detected
 * one: both records kept by id and listed in `forks`, and the author
 * refused. Neither record enters the feed, the indexes or the views,
 * because no one judged its authority, so a record that is stored only as
 * evidence never changes a summary or the membership. Positions below the
 * author's floor count too. An author who is refused already keeps the
 * evidence of the fork that refused it.
 */
export async function stageReportedFork (staging: Staging, tables: Tables, fork: ReportedFork, meta: StoredMeta): Promise<StageOutcome> {
  const [first, second] = fork.records
  const reason = describeFork(fork.records)
  if (reason == null) {
    throw new TypeError(`invalid fork evidence: records ${first.id} and ${second.id} can belong to one history`)
  }
  const refusal = await staging.get(tables.refused, first.author)
  if (refusal != null) {
    return { result: { status: 'refused', reason: describeRefusal(refusal) } }
  }
  for (const record of fork.records) {
    if (await staging.get(tables.records, record.id) == null) {
      staging.put(tables.records, record.id, record.bytes)
      staging.put(tables.meta, record.id, meta)
    }
    staging.put(tables.forks, joinKey(record.author, seqKey(record.seq), record.id), '')
  }
  const evidence: ForkEvidence = {
    author: first.author,
    seq: second.seq,
    records: [first.id, second.id],
    reason,
    detectedAt: new Date().toISOString(),
    alert: fork.alert,
    reportedBy: fork.reportedBy
  }
  staging.put(tables.refused, first.author, evidence)
  return { result: { status: 'fork', existing: first.id }, evidence }
}

/** Reads ahead what `stageRecord` will read for a group of records. */
export function prefetchGroup (staging: Staging, tables: Tables, records: SignedRecord[]): void {
  const feedKeys: string[] = []
  const deployments: string[] = []
  const intents: string[] = []
  const intentGardens: string[] = []
  for (const record of records) {
    const feed = tables.feeds.memory?.get(record.author) ?? EMPTY_FEED
    feedKeys.push(feedKey(record.author, record.seq))
    if (record.seq - 1 >= feed.floor) {
      feedKeys.push(feedKey(record.author, record.seq - 1))
    }
    if (record.seq + 1 <= feed.last) {
      feedKeys.push(feedKey(record.author, record.seq + 1))
    }
    if (record.type === 'event') {
      const { body } = record as SignedRecord<'event'>
      deployments.push(body.deployment)
      intents.push(body.intent)
      intentGardens.push(joinKey(body.intent, record.author))
    }
  }
  staging.prefetch(tables.records, records.map(record => record.id))
  staging.prefetch(tables.feed, feedKeys)
  staging.prefetch(tables.deployments, deployments)
  staging.prefetch(tables.intents, intents)
  staging.prefetch(tables.intentGardens, intentGardens)
}

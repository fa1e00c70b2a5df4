import type { Logger } from '../logger.ts'
import { decodeRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { isOpenDeployment } from './deployment-summary.ts'
import { EMPTY_FEED } from './feed.ts'
import type { FeedState } from './feed.ts'
import { indexEntries } from './indexes.ts'
import { decodeFeedEntry, feedKey, issuedAtOf, lastPart, prefixRange } from './key-layout.ts'
import type { Staging } from './staging.ts'
import type { Tables } from './tables.ts'
import type { CompactionLimits } from './types.ts'

/** Records dropped per batch, so that puts are not held up by a long compaction. */
export const COMPACTION_BATCH_RECORDS = 1000

export interface CompactionStep {
  dropped: number
  /** False when the batch limit stopped the step before the feed's new floor was found. */
  done: boolean
}

/**
 * Record types that compaction may drop. Roots, certificates, revocations
 * and intents are small and needed forever. An alert may go once it is past
 * the age limit: its fork stays in the store's `forks` and `refused` tables,
 * which compaction never touches.
 */
const DROPPABLE_TYPES = new Set(['report', 'event', 'alert'])

/**
 * Stages the next compaction step of one feed. Compaction only drops a
 * prefix of a feed, from its floor up to the first record that must stay,
 * so the floor alone tells sync which positions are gone. The scan stops at
 * the first record that must stay:
 * - a record within the limits, or an alert within the age limit;
 * - a type other than report, event or alert;
 * - its garden's latest report;
 * - an event of an open deployment (no result and not ended by its policy);
 * - the feed's newest record, because the next record links to it.
 * It also stops at the first missing position, which sync still has to fetch.
 */
export async function stageCompaction (
  staging: Staging, tables: Tables, author: string, limits: CompactionLimits, nowMs: number, log: Logger
): Promise<CompactionStep> {
  const feed = await staging.get(tables.feeds, author) ?? EMPTY_FEED
  const entries = await tables.feed.sublevel.iterator({
    gte: feedKey(author, feed.floor),
    lt: prefixRange(author).lt,
    limit: COMPACTION_BATCH_RECORDS
  }).all()
  const ids = entries.map(([, value]) => decodeFeedEntry(value as string).id)
  const raws = await tables.records.sublevel.getMany(ids)

  let floor = feed.floor
  for (const [index, [key]] of entries.entries()) {
    const seq = Number(lastPart(key))
    const raw = raws[index]
    if (seq !== floor || seq >= feed.last || raw == null) {
      return finish(staging, tables, author, feed, floor, true)
    }
    const decoded = decodeRecord(raw as Uint8Array)
    if (!decoded.ok) {
      log.warn({ author, seq, record: ids[index], err: decoded.error }, 'compaction stopped at a corrupt record')
      return finish(staging, tables, author, feed, floor, true)
    }
    if (!isExpired(decoded.record, feed, limits, nowMs) || await mustKeep(staging, tables, decoded.record)) {
      return finish(staging, tables, author, feed, floor, true)
    }
    dropRecord(staging, tables, decoded.record)
    floor = seq + 1
  }
  return finish(staging, tables, author, feed, floor, entries.length < COMPACTION_BATCH_RECORDS)
}

function finish (
  staging: Staging, tables: Tables, author: string, feed: FeedState, floor: number, done: boolean
): CompactionStep {
  if (floor !== feed.floor) {
    staging.put(tables.feeds, author, { ...feed, floor, head: Math.max(feed.head, floor - 1) })
  }
  return { dropped: floor - feed.floor, done }
}

/**
 * Decides whether a record is past the limits. An alert counts by age
 * alone: the count limit could drop it within days on a busy garden, and
 * nodes that were offline meanwhile would never receive it by sync.
 */
function isExpired (record: SignedRecord, feed: FeedState, limits: CompactionLimits, nowMs: number): boolean {
  const tooOld = limits.maxAgeMs != null && Date.parse(issuedAtOf(record)) < nowMs - limits.maxAgeMs
  if (record.type === 'alert') {
    return tooOld
  }
  const tooMany = limits.maxRecordsPerAuthor != null && record.seq <= feed.last - limits.maxRecordsPerAuthor
  return tooOld || tooMany
}

async function mustKeep (staging: Staging, tables: Tables, record: SignedRecord): Promise<boolean> {
  if (!DROPPABLE_TYPES.has(record.type)) {
    return true
  }
  if (record.type === 'alert') {
    return false
  }
  if (record.type === 'report') {
    const garden = await staging.get(tables.gardens, record.author)
    return garden?.report === record.id
  }
  const deployment = await staging.get(tables.deployments, (record as SignedRecord<'event'>).body.deployment)
  return deployment == null || isOpenDeployment(deployment)
}

function dropRecord (staging: Staging, tables: Tables, record: SignedRecord): void {
  staging.del(tables.records, record.id)
  staging.del(tables.meta, record.id)
  staging.del(tables.feed, feedKey(record.author, record.seq))
  for (const { table, key } of indexEntries(tables, record)) {
    staging.del(table, key)
  }
}

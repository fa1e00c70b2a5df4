import type { SignedRecord } from '../records/index.ts'
import { decodeFeedEntry, feedKey } from './key-layout.ts'
import type { FeedEntry } from './key-layout.ts'
import type { Staging } from './staging.ts'
import type { Tables } from './tables.ts'
import type { ForkEvidence } from './types.ts'

/** Where an author's feed stands on this node. */
export interface FeedState {
  /** Lowest seq still kept; every seq below it was compacted away. */
  floor: number
  /** Highest seq such that floor..head are all stored; `floor - 1` when the floor itself is missing. */
  head: number
  /** Highest seq ever stored. */
  last: number
}

export type Refusal = ForkEvidence

export const EMPTY_FEED: FeedState = { floor: 1, head: 0, last: 0 }

export async function readFeedEntry (staging: Staging, tables: Tables, author: string, seq: number): Promise<FeedEntry | undefined> {
  const value = await staging.get(tables.feed, feedKey(author, seq))
  return value == null ? undefined : decodeFeedEntry(value)
}

export interface Conflict {
  existing: string
  existingSeq: number
  reason: string
}

/**
 * Finds a record that cannot belong to one history with `record`: another
 * record at its position, a stored predecessor that its `prev` does not
 * name, or a stored successor whose `prev` does not name it. Positions
 * below the floor were compacted away and cannot be checked.
 */
export async function findConflict (
  staging: Staging, tables: Tables, record: SignedRecord, feed: FeedState
): Promise<Conflict | undefined> {
  const { author, seq } = record
  const same = await readFeedEntry(staging, tables, author, seq)
  if (same != null && same.id !== record.id) {
    return { existing: same.id, existingSeq: seq, reason: `two records at seq ${seq}` }
  }
  if (seq - 1 >= feed.floor) {
    const before = await readFeedEntry(staging, tables, author, seq - 1)
    if (before != null && before.id !== record.prev) {
      return { existing: before.id, existingSeq: seq - 1, reason: `record at seq ${seq} does not link to the stored record at seq ${seq - 1}` }
    }
  }
  if (seq + 1 <= feed.last) {
    const after = await readFeedEntry(staging, tables, author, seq + 1)
    if (after != null && after.prev !== record.id) {
      return { existing: after.id, existingSeq: seq + 1, reason: `stored record at seq ${seq + 1} does not link to the record at seq ${seq}` }
    }
  }
  return undefined
}

/** The feed state after storing `seq`: the head moves over every stored seq that follows it. */
export async function advanceFeed (staging: Staging, tables: Tables, author: string, feed: FeedState, seq: number): Promise<FeedState> {
  let head = feed.head
  if (seq === head + 1) {
    head = seq
    while (head < feed.last && await readFeedEntry(staging, tables, author, head + 1) != null) {
      head += 1
    }
  }
  return { floor: feed.floor, head, last: Math.max(feed.last, seq) }
}

import type { SignedRecord } from '../records/index.ts'

/**
 * Key layout. Keys are UTF-8 strings whose parts are joined by `!`, which
 * sorts below every character that peer ids, record ids, seed names, record
 * types and ISO times contain. Sequence numbers are zero-padded to 16 digits
 * (Number.MAX_SAFE_INTEGER has 16), so byte order is numeric order.
 */
export const SEPARATOR = '!'
/** The character right after `SEPARATOR`: `prefix + '"'` is the end of a prefix range. */
const SEPARATOR_NEXT = '"'
const SEQ_DIGITS = 16

export function seqKey (seq: number): string {
  return String(seq).padStart(SEQ_DIGITS, '0')
}

export function joinKey (...parts: string[]): string {
  return parts.join(SEPARATOR)
}

/** The last part of a key, which is a record or deployment id in every index. */
export function lastPart (key: string): string {
  return key.slice(key.lastIndexOf(SEPARATOR) + 1)
}

/** Bounds of every key that starts with `prefix!`. */
export function prefixRange (...prefix: string[]): { gt: string, lt: string } {
  const joined = joinKey(...prefix)
  return { gt: joined + SEPARATOR, lt: joined + SEPARATOR_NEXT }
}

export function feedKey (author: string, seq: number): string {
  return joinKey(author, seqKey(seq))
}

/** Builds the key of the alert index, with the subject first so that one range lists every alert about it. */
export function alertKey (subject: string, author: string): string {
  return joinKey(subject, author)
}

/** The issue time of any record; every body type has one. */
export function issuedAtOf (record: SignedRecord): string {
  return (record.body as { issuedAt: string }).issuedAt
}

/**
 * A total order of records: issue time, then feed position, then id. Two
 * records of one author issued in the same millisecond keep feed order.
 */
export function stampOf (record: SignedRecord): string {
  return joinKey(issuedAtOf(record), seqKey(record.seq), record.id)
}

/** Decides whether `stamp` is newer than `than`, which is absent before a first record. */
export function isNewer (stamp: string, than: string | undefined): boolean {
  return than == null || stamp > than
}

/** The feed index value: the record id and its `prev` link, for checks of the successor. */
export interface FeedEntry {
  id: string
  prev: string | null
}

const NO_PREV = '-'

export function encodeFeedEntry (entry: FeedEntry): string {
  return `${entry.id} ${entry.prev ?? NO_PREV}`
}

export function decodeFeedEntry (value: string): FeedEntry {
  const [id, prev] = value.split(' ')
  return { id, prev: prev == null || prev === NO_PREV ? null : prev }
}

import type { Connection, Stream } from '@libp2p/interface'
import { z } from 'zod'
import type { Logger } from '../logger.ts'
import { ALERT_MAX_BYTES, peerIdSchema } from '../records/index.ts'
import type { RecordStore, StoredBytes } from '../store/index.ts'
import { FrameStream, ProtocolError, encodeJson } from './frames.ts'
import type { IngestBatch, IngestResult } from './ingest.ts'
import { SYNC_MAX_ROUNDS, SYNC_REQUEST_MAX_AUTHORS, SYNC_REQUEST_MAX_BYTES } from './options.ts'
import { SyncSessionBusyError } from './errors.ts'
import type { SyncBudget } from './sync-budget.ts'
import type { TrustState } from './trust-state.ts'

/**
 * Sync is a pull: the caller sends, per author, the seq after which it
 * wants records (its contiguous head at first, then the last seq received),
 * and the other side replies with one bounded batch and whether more
 * remains. Because the first cursors are the caller's store heads, an
 * interrupted session resumes where the durable records end, and a gap in a
 * feed is fetched again instead of skipped.
 *
 * A request may name only so many authors, so the caller splits the author
 * space into ranges `[from, to)` in string order, each holding few enough of
 * its cursors, and walks them one after the other in the same session. An
 * author the caller does not name inside the range is wanted from its start.
 */
const authorSchema = z.union([z.literal('root'), peerIdSchema])

const cursorsSchema = z.record(authorSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))

const requestSchema = z.strictObject({
  after: cursorsSchema,
  from: authorSchema.optional(),
  to: authorSchema.optional()
}).refine(request => Object.keys(request.after).length <= SYNC_REQUEST_MAX_AUTHORS, `at most ${SYNC_REQUEST_MAX_AUTHORS} authors`)

/**
 * A batch is a JSON header frame, then (when `count` > 0) one frame with
 * the records, each preceded by its length as a 4-byte big-endian integer.
 * `next` contains the last seq sent per author, so the caller can request the
 * next batch before it has judged this one. `floors` contains, for authors in
 * the batch whose early records were compacted away, the lowest seq kept.
 */
const batchHeaderSchema = z.strictObject({
  count: z.number().int().min(0),
  more: z.boolean(),
  next: cursorsSchema,
  floors: cursorsSchema
})

export interface SyncComponents {
  store: RecordStore
  trust: TrustState
  ingestBatch: IngestBatch
  logger: Logger
}

export interface ServeSyncComponents extends SyncComponents {
  budget: SyncBudget
}

export interface SyncInit {
  batchMaxRecords: number
  batchMaxBytes: number
  readTimeoutMs: number
  requestMaxAuthors: number
  signal: AbortSignal
}

/** Authors from `from` (inclusive) to `to` (exclusive) in string order; absent bounds are open. */
export interface AuthorRange {
  from?: string
  to?: string
}

export interface SyncSummary {
  /** Records received in the session. */
  received: number
  /** Records accepted and stored. */
  stored: number
  rounds: number
}

/** Authors whose feeds the caller has settled past records it cannot store (stale roots). */
export type SettledCursors = Map<string, number>

/**
 * Authors of the root chain alone. Peer ids in their string forms start
 * with a digit, `Q` or `b`, all before `root` in string order, so only the
 * author `root` falls in this open range.
 */
export const ROOT_AUTHOR_RANGE: Readonly<AuthorRange> = { from: 'root' }

/**
 * Pulls what `connection`'s peer has and we lack, in batches, through the
 * ingest pipeline. The request for the next batch goes out before this
 * batch is ingested, so the peer reads its store while we verify. A batch
 * is decoded and its signatures verified while the previous one is stored.
 * `range` limits the pull to the authors in it, by default all.
 */
export async function pullFrom (components: SyncComponents, init: SyncInit, connection: Connection,
  protocol: string, settled: SettledCursors, range: Readonly<AuthorRange> = {}): Promise<SyncSummary> {
  const stream = await connection.newStream(protocol, { signal: init.signal })
  const peer = connection.remotePeer.toString()
  const summary: SyncSummary = { received: 0, stored: 0, rounds: 0 }
  // The ingest of the previous batch, with its outcomes counted and its cursors advanced.
  let previous: Promise<void> = Promise.resolve()
  try {
    const frames = responseFrames(stream, init)
    const after = await startCursors(components.store, settled)
    const contiguous = new Map(after)
    const ranges: AuthorRange[] = [{ ...range }]
    await frames.writeJson(nextRequest(ranges, after, init))
    let more = true
    while (more) {
      summary.rounds++
      const batch = await readBatch(frames, init)
      if (!batch.more || batch.records.length === 0) {
        ranges.shift()
      }
      more = ranges.length > 0 && summary.rounds < SYNC_MAX_ROUNDS
      if (more) {
        for (const [author, seq] of Object.entries(batch.next)) {
          after.set(author, Math.max(after.get(author) ?? 0, seq))
        }
        await frames.writeJson(nextRequest(ranges, after, init))
      }
      // This batch is decoded and its signatures verified while the previous one is stored.
      const outcomes = components.ingestBatch(batch.records, { via: 'sync', from: peer }, { after: previous })
      // At most two batches are in the pipeline, so a fast peer cannot fill our memory.
      await previous
      previous = outcomes.then(outcomes => {
        settleBelowFloors(batch.floors, outcomes, contiguous)
        for (const outcome of outcomes) {
          countOutcome(summary, outcome, components.logger, peer)
          advanceCursors(outcome, after, contiguous)
        }
      })
    }
    await previous
    await stream.close({ signal: init.signal })
    for (const [author, seq] of contiguous) {
      settled.set(author, seq)
    }
    return summary
  } catch (err) {
    stream.abort(err as Error)
    // Nothing of this session may touch the store after it ends.
    await previous.catch(() => {})
    throw err
  }
}

/**
 * Builds the request for the first range in `ranges`. When its cursors
 * exceed the author or byte limit, the range ends before the first author
 * that does not fit and the rest becomes the next range.
 */
function nextRequest (ranges: AuthorRange[], after: Map<string, number>, init: SyncInit): { after: Record<string, number>, from?: string, to?: string } {
  const range = ranges[0]
  const authors = [...after.keys()].filter(author => inRange(author, range)).sort(compareAuthors)
  // Besides the cursors, the frame contains the range bounds, the other keys and the braces.
  const longest = authors.reduce((max, author) => author.length > max.length ? author : max, range.to ?? '')
  let bytes = encodeJson({ after: {}, from: range.from, to: longest }).byteLength + 1
  const cursors: Record<string, number> = {}
  for (const [index, author] of authors.entries()) {
    const entryBytes = encodeJson({ [author]: after.get(author) }).byteLength - 1
    if (index >= init.requestMaxAuthors || bytes + entryBytes > SYNC_REQUEST_MAX_BYTES) {
      ranges.splice(1, 0, { from: author, to: range.to })
      range.to = author
      break
    }
    cursors[author] = after.get(author) ?? 0
    bytes += entryBytes
  }
  return { after: cursors, from: range.from, to: range.to }
}

function compareAuthors (a: string, b: string): number {
  if (a === b) {
    return 0
  }
  return a < b ? -1 : 1
}

function inRange (author: string, range: AuthorRange): boolean {
  return (range.from == null || author >= range.from) && (range.to == null || author < range.to)
}

/**
 * Settles an author's feed below the peer's floor, because the records
 * below it were compacted away there and waiting for them would stall the
 * feed. A floor counts only when the batch carried the author's record at
 * that seq and it settled here, so a peer cannot make this node skip
 * records that the peer never had.
 */
function settleBelowFloors (floors: Record<string, number>, outcomes: IngestResult[], contiguous: Map<string, number>): void {
  for (const { record, code } of outcomes) {
    if (record != null && floors[record.author] === record.seq && SETTLED_CODES.has(code)) {
      contiguous.set(record.author, Math.max(contiguous.get(record.author) ?? 0, record.seq - 1))
    }
  }
}

async function readBatch (frames: FrameStream, init: SyncInit): Promise<{ records: Uint8Array[], more: boolean, next: Record<string, number>, floors: Record<string, number> }> {
  frames.resetBudget()
  const header = await frames.readJson(batchHeaderSchema)
  if (header.count > init.batchMaxRecords) {
    throw new ProtocolError(`batch of ${header.count} records exceeds ${init.batchMaxRecords}`, 'ERR_TOO_LARGE')
  }
  const records = header.count === 0 ? [] : unpackRecords(await frames.read(), header.count)
  return { records, more: header.more, next: header.next, floors: header.floors }
}

/** Splits a batch frame into its `count` length-prefixed records. */
export function unpackRecords (frame: Uint8Array, count: number): Uint8Array[] {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength)
  const records: Uint8Array[] = []
  let offset = 0
  for (let i = 0; i < count; i++) {
    if (offset + 4 > frame.byteLength) {
      throw new ProtocolError(`batch frame ends after ${i} of ${count} records`)
    }
    const length = view.getUint32(offset)
    offset += 4
    // An alert is the largest record type; decoding checks the limit of each type.
    if (length > ALERT_MAX_BYTES || offset + length > frame.byteLength) {
      throw new ProtocolError(`record ${i} of the batch claims ${length} bytes, more than the frame or the record limit`)
    }
    records.push(frame.subarray(offset, offset + length))
    offset += length
  }
  if (offset !== frame.byteLength) {
    throw new ProtocolError(`batch frame has ${frame.byteLength - offset} bytes after its ${count} records`)
  }
  return records
}

export function packRecords (records: StoredBytes[]): Uint8Array {
  const size = records.reduce((total, record) => total + 4 + record.bytes.byteLength, 0)
  const frame = new Uint8Array(size)
  const view = new DataView(frame.buffer)
  let offset = 0
  for (const record of records) {
    view.setUint32(offset, record.bytes.byteLength)
    frame.set(record.bytes, offset + 4)
    offset += 4 + record.bytes.byteLength
  }
  return frame
}

async function startCursors (store: RecordStore, settled: SettledCursors): Promise<Map<string, number>> {
  const after = new Map<string, number>()
  for (const [author, head] of await store.heads()) {
    after.set(author, Math.max(head, settled.get(author) ?? 0))
  }
  return after
}

function countOutcome (summary: SyncSummary, outcome: IngestResult, logger: Logger, peer: string): void {
  summary.received++
  if (outcome.action === 'accept') {
    summary.stored++
  } else if (outcome.action === 'reject') {
    logger.warn({ peer, code: outcome.code, record: outcome.record?.id }, 'sync carried an invalid record')
  }
}

/** Codes after which a record counts as settled: stored already, or never storable here. */
const SETTLED_CODES = new Set(['OK', 'OK_EXPIRED', 'OK_HISTORY', 'ERR_KNOWN', 'ERR_ROOT_STALE'])

function advanceCursors (outcome: IngestResult, after: Map<string, number>, contiguous: Map<string, number>): void {
  const record = outcome.record
  if (record == null) {
    return
  }
  after.set(record.author, Math.max(after.get(record.author) ?? 0, record.seq))
  const settledSeq = contiguous.get(record.author) ?? 0
  if (record.seq === settledSeq + 1 && SETTLED_CODES.has(outcome.code)) {
    contiguous.set(record.author, record.seq)
  }
}

/**
 * Serves one sync session: replies to each request with a bounded batch
 * until nothing remains. A second session with the same peer while this
 * one runs is reset. Once the peer's byte budget is spent, every further
 * request gets an empty batch with `more: true`. The caller takes that as
 * the end of its range, so the session ends early, and the caller's next
 * session resumes from its store heads.
 */
export async function serveSync (components: ServeSyncComponents, init: SyncInit, stream: Stream, connection: Connection): Promise<void> {
  const peer = connection.remotePeer.toString()
  const budget = components.budget
  if (!budget.beginSession(peer)) {
    components.logger.debug({ peer }, 'second concurrent sync session from peer reset')
    stream.abort(new SyncSessionBusyError(`a sync session with peer ${peer} is already running`))
    return
  }
  const frames = new FrameStream(stream, {
    maxFrameBytes: SYNC_REQUEST_MAX_BYTES,
    maxTotalBytes: SYNC_REQUEST_MAX_BYTES * 4,
    readTimeoutMs: init.readTimeoutMs,
    signal: init.signal
  })
  try {
    await serveRounds(components, init, frames, peer)
    await stream.close({ signal: init.signal })
  } catch (err) {
    components.logger.debug({ err, peer }, 'sync session with peer failed')
    stream.abort(err as Error)
  } finally {
    budget.endSession(peer)
  }
}

async function serveRounds (components: ServeSyncComponents, init: SyncInit, frames: FrameStream, peer: string): Promise<void> {
  let exhausted = false
  for (let round = 0; round < SYNC_MAX_ROUNDS; round++) {
    frames.resetBudget()
    const request = await frames.readJson(requestSchema)
    const authors = Object.keys(request.after).length
    if (authors > init.requestMaxAuthors) {
      throw new ProtocolError(`request names ${authors} authors, more than ${init.requestMaxAuthors}`, 'ERR_TOO_LARGE')
    }
    if (!exhausted && !components.budget.hasTokens(peer)) {
      exhausted = true
      components.logger.debug({ peer, round, tokens: Math.round(components.budget.tokens(peer)) },
        'sync budget of peer spent, so the session ends early')
    }
    if (exhausted) {
      await frames.writeJson({ count: 0, more: true, next: {}, floors: {} })
    } else {
      const batch = await selectBatch(components, init, new Map(Object.entries(request.after)), request, peer)
      const sentBytes = await writeBatch(components.store, frames, batch)
      components.budget.charge(peer, sentBytes)
      if (batch.more) {
        continue
      }
    }
    // The last range is the one open at its end.
    if (request.to == null) {
      break
    }
  }
}

/** Sends `batch` as a header frame and a records frame, and returns the bytes written. */
async function writeBatch (store: RecordStore, frames: FrameStream, batch: { records: StoredBytes[], more: boolean }): Promise<number> {
  const next: Record<string, number> = {}
  const floors: Record<string, number> = {}
  for (const record of batch.records) {
    next[record.author] = Math.max(next[record.author] ?? 0, record.seq)
  }
  for (const author of Object.keys(next)) {
    const floor = await store.floor(author)
    if (floor > 1) {
      floors[author] = floor
    }
  }
  const header = encodeJson({ count: batch.records.length, more: batch.more, next, floors })
  const written = batch.records.length === 0 ? [header] : [header, packRecords(batch.records)]
  await frames.writeMany(written)
  return written.reduce((total, frame) => total + frame.byteLength, 0)
}

/**
 * Picks records the caller lacks: the root chain first, then admin feeds,
 * so that authority is known before what depends on it, then the caller's
 * own feed, then everyone else. A caller that lost its store gets its own
 * feed back early, before it signs its next record.
 */
async function selectBatch (components: SyncComponents, init: SyncInit, after: Map<string, number>, range: AuthorRange,
  caller: string): Promise<{ records: StoredBytes[], more: boolean }> {
  // Not the heads: records past a gap in our feed may be exactly what the caller lacks.
  const lastSeqs = await components.store.lastSeqs()
  const records: StoredBytes[] = []
  let bytes = 0
  for (const author of orderAuthors([...lastSeqs.keys()].filter(author => inRange(author, range)), components.trust, caller)) {
    const from = (after.get(author) ?? 0) + 1
    if ((lastSeqs.get(author) ?? 0) < from) {
      continue
    }
    // The store stops reading once the records reach the bytes left in the batch.
    const read = await components.store.rangeBytes(author, from, init.batchMaxRecords - records.length,
      init.batchMaxBytes - bytes)
    for (const record of read) {
      if (records.length > 0 && bytes + record.bytes.byteLength > init.batchMaxBytes) {
        return { records, more: true }
      }
      records.push(record)
      bytes += record.bytes.byteLength
    }
    if (records.length >= init.batchMaxRecords || bytes >= init.batchMaxBytes) {
      return { records, more: true }
    }
  }
  return { records, more: false }
}

function orderAuthors (authors: string[], trust: TrustState, caller: string): string[] {
  const admins = new Set(trust.root.body.admins.map(admin => admin.key))
  const rank = (author: string): number => {
    if (author === 'root') {
      return 0
    }
    if (admins.has(author)) {
      return 1
    }
    return author === caller ? 2 : 3
  }
  return authors.sort((a, b) => rank(a) - rank(b))
}

function responseFrames (stream: Stream, init: SyncInit): FrameStream {
  // One batch may end with a record that crosses the byte limit.
  const batchMaxBytes = init.batchMaxBytes + ALERT_MAX_BYTES + 4 * init.batchMaxRecords
  return new FrameStream(stream, {
    maxFrameBytes: batchMaxBytes,
    maxTotalBytes: batchMaxBytes + SYNC_REQUEST_MAX_BYTES,
    readTimeoutMs: init.readTimeoutMs,
    signal: init.signal
  })
}

import type { Connection, Stream } from '@libp2p/interface'
import { z } from 'zod'
import type { Logger } from '../logger.ts'
import { RECORD_MAX_BYTES, peerIdSchema } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { FrameStream, encodeJson } from './frames.ts'
import type { Ingest, IngestResult } from './ingest.ts'
import { SYNC_MAX_ROUNDS, SYNC_REQUEST_MAX_AUTHORS, SYNC_REQUEST_MAX_BYTES } from './options.ts'
import type { TrustState } from './trust-state.ts'

/**
 * Sync is a pull: the caller sends, per author, the seq after which it
 * wants records (its contiguous head at first, then the last seq received),
 * and the other side answers with one bounded batch and whether more
 * remains. Because the first cursors are the caller's store heads, an
 * interrupted session resumes where the durable records end, and a gap in a
 * feed is fetched again instead of skipped.
 */
const authorSchema = z.union([z.literal('root'), peerIdSchema])

const requestSchema = z.strictObject({
  after: z.record(authorSchema, z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
}).refine(request => Object.keys(request.after).length <= SYNC_REQUEST_MAX_AUTHORS, `at most ${SYNC_REQUEST_MAX_AUTHORS} authors`)

const batchHeaderSchema = z.strictObject({
  count: z.number().int().min(0),
  more: z.boolean()
})

export interface SyncComponents {
  store: RecordStore
  trust: TrustState
  ingest: Ingest
  logger: Logger
}

export interface SyncInit {
  batchMaxRecords: number
  batchMaxBytes: number
  readTimeoutMs: number
  signal: AbortSignal
}

export interface SyncSummary {
  /** Records received in the session. */
  received: number
  /** Records accepted and stored. */
  stored: number
  rounds: number
}

/** Authors whose feeds the caller has settled past records it cannot store (expired, stale roots). */
export type SettledCursors = Map<string, number>

/** Pulls what `connection`'s peer has and we lack, in batches, through the ingest pipeline. */
export async function pullFrom (components: SyncComponents, init: SyncInit, connection: Connection,
  protocol: string, settled: SettledCursors): Promise<SyncSummary> {
  const stream = await connection.newStream(protocol, { signal: init.signal })
  const peer = connection.remotePeer.toString()
  const summary: SyncSummary = { received: 0, stored: 0, rounds: 0 }
  try {
    const frames = responseFrames(stream, init)
    const after = await startCursors(components.store, settled)
    const contiguous = new Map(after)
    let more = true
    while (more && summary.rounds < SYNC_MAX_ROUNDS) {
      summary.rounds++
      await frames.writeJson({ after: Object.fromEntries(after) })
      frames.resetBudget()
      const header = await frames.readJson(batchHeaderSchema)
      if (header.count > init.batchMaxRecords) {
        throw new Error(`batch of ${header.count} records exceeds ${init.batchMaxRecords}`)
      }
      more = header.more && header.count > 0
      for (const bytes of await frames.readRecords(header.count)) {
        const outcome = await components.ingest(bytes, { via: 'sync', from: peer })
        countOutcome(summary, outcome, components.logger, peer)
        advanceCursors(outcome, after, contiguous)
      }
    }
    await stream.close({ signal: init.signal })
    for (const [author, seq] of contiguous) {
      settled.set(author, seq)
    }
    return summary
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
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
const SETTLED_CODES = new Set(['OK', 'ERR_KNOWN', 'ERR_EXPIRED', 'ERR_ROOT_STALE'])

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

/** Serves one sync session: answers each request with a bounded batch until nothing remains. */
export async function serveSync (components: SyncComponents, init: SyncInit, stream: Stream, connection: Connection): Promise<void> {
  const peer = connection.remotePeer.toString()
  const frames = new FrameStream(stream, {
    maxFrameBytes: SYNC_REQUEST_MAX_BYTES,
    maxTotalBytes: SYNC_REQUEST_MAX_BYTES * 4,
    readTimeoutMs: init.readTimeoutMs,
    signal: init.signal
  })
  try {
    for (let round = 0; round < SYNC_MAX_ROUNDS; round++) {
      frames.resetBudget()
      const request = await frames.readJson(requestSchema)
      const batch = await selectBatch(components, init, new Map(Object.entries(request.after)))
      await frames.writeMany([encodeJson({ count: batch.records.length, more: batch.more }), ...batch.records.map(record => record.bytes)])
      if (!batch.more) {
        break
      }
    }
    await stream.close({ signal: init.signal })
  } catch (err) {
    components.logger.debug({ err, peer }, 'sync session with peer failed')
    stream.abort(err as Error)
  }
}

/**
 * Picks records the caller lacks: the root chain first, then admin feeds,
 * then everyone else, so that authority is known before what depends on it.
 */
async function selectBatch (components: SyncComponents, init: SyncInit, after: Map<string, number>): Promise<{ records: SignedRecord[], more: boolean }> {
  const heads = await components.store.heads()
  const records: SignedRecord[] = []
  let bytes = 0
  for (const author of orderAuthors([...heads.keys()], components.trust)) {
    const from = (after.get(author) ?? 0) + 1
    if ((heads.get(author) ?? 0) < from) {
      continue
    }
    for (const record of await components.store.range(author, from, init.batchMaxRecords - records.length)) {
      if (records.length > 0 && bytes + record.bytes.byteLength > init.batchMaxBytes) {
        return { records, more: true }
      }
      records.push(record)
      bytes += record.bytes.byteLength
    }
    if (records.length >= init.batchMaxRecords) {
      return { records, more: true }
    }
  }
  return { records, more: false }
}

function orderAuthors (authors: string[], trust: TrustState): string[] {
  const admins = new Set(trust.root.body.admins.map(admin => admin.key))
  const rank = (author: string): number => author === 'root' ? 0 : admins.has(author) ? 1 : 2
  return authors.sort((a, b) => rank(a) - rank(b))
}

function responseFrames (stream: Stream, init: SyncInit): FrameStream {
  return new FrameStream(stream, {
    maxFrameBytes: RECORD_MAX_BYTES,
    // One batch may end with a record that crosses the byte limit.
    maxTotalBytes: init.batchMaxBytes + RECORD_MAX_BYTES + 4096,
    readTimeoutMs: init.readTimeoutMs,
    signal: init.signal
  })
}

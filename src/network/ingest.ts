import type { Logger } from '../logger.ts'
import { ALERT_MAX_BYTES } from '../records/index.ts'
import type { ForkPair, RecordType, SignedRecord, VerifyResult } from '../records/index.ts'
import type { PutResult, ReceivedVia, RecordStore, StoredMeta } from '../store/index.ts'
import {
  checkAuthority, checkBytes, checkContent, checkEvidence, checkEvidenceSignatures, checkSubject, isExpired, result
} from './ingest-rules.ts'
import { verifyRecords } from './record-signatures.ts'
import { SignaturePool } from './signature-pool.ts'
import type { TrustState } from './trust-state.ts'

export { judgeRecord } from './ingest-rules.ts'
export type { JudgeOptions } from './ingest-rules.ts'

/**
 * The outcome of a received record: `accept` (new and valid, so stored and
 * forwarded), `ignore` (known, stale, not yet judgeable, or our own
 * failure, so dropped while the sender keeps its score) or `reject`
 * (invalid, so the sender's score drops). An expired intent that arrived by
 * sync or bundle import is accepted with the code `OK_EXPIRED`: it is
 * stored as history but not acted on. So is a further alert by an author
 * about a subject it has an alert about already, with the code `OK_HISTORY`.
 */
export type IngestAction = 'accept' | 'ignore' | 'reject'

export interface IngestMeta {
  via: ReceivedVia
  /** Peer id of the sender, absent for local records. */
  from?: string
  /** Gossip topic kind the bytes arrived on; a record on the wrong topic is rejected. */
  topic?: 'control' | 'report' | 'event'
}

export interface IngestResult {
  action: IngestAction
  code: string
  reason: string
  record?: SignedRecord
}

export interface IngestComponents {
  store: RecordStore
  trust: TrustState
  logger: Logger
  /** Verifies the signatures of a batch in parallel. @default verification on the calling thread */
  signatures?: SignaturePool
}

export interface IngestInit {
  /** Bytes of a record of any type; each type has its own limit below it too. @default ALERT_MAX_BYTES (2 MiB + 1000) */
  maxRecordBytes?: number
  /** @default Date.now */
  nowMs?: () => number
  /**
   * Called when the store detects a fork, with the record that completed it
   * and the id it collides with. The pipeline does not wait for it, so work
   * that can wait, such as appending an alert, belongs in the background.
   * An error it throws is logged. A fork learned from an alert's evidence
   * does not call it.
   */
  onFork?: (record: SignedRecord, existing: string) => void
  /**
   * Called after a record was stored and the trust state updated. `expired`
   * is true for an expired intent stored as history, which must not be applied.
   */
  onAccept?: (record: SignedRecord, meta: IngestMeta, expired: boolean) => void
}

export type Ingest = (bytes: Uint8Array, meta: IngestMeta) => Promise<IngestResult>

/** Ingests records received together, such as one sync batch, and returns their outcomes in order. */
export type IngestBatch = (batch: Uint8Array[], meta: IngestMeta, options?: IngestBatchOptions) => Promise<IngestResult[]>

export interface IngestBatchOptions {
  /**
   * Settles before the rules that depend on what is stored judge the batch,
   * such as the ingest of the previous batch of a sync session. Decoding and
   * the checks of fleet, freshness and signatures run meanwhile.
   */
  after?: Promise<unknown>
}

const ACCEPTED = 'OK'
const ACCEPTED_EXPIRED = 'OK_EXPIRED'
const ACCEPTED_HISTORY = 'OK_HISTORY'

/**
 * Paths by which a node fetches history on purpose. An expired intent or a
 * further alert about one subject that arrives by one of them is stored,
 * so that its author's feed has no hole that sync would try to fill in
 * every session.
 */
const HISTORY_PATHS = new Set<ReceivedVia>(['sync', 'bundle'])

/** Record types that decide the authority of others: they are judged and stored before the rest of a batch. */
const TRUST_TYPES = new Set<RecordType>(['root', 'certificate', 'revocation'])

/**
 * Creates the one pipeline that every received record goes through
 * (gossip, sync, hello, bundle import). Checks run cheapest first and each
 * rule states its outcome. An exception inside the pipeline is our own bug:
 * it is logged and maps to `ignore`, so it never lowers a peer's score.
 */
export function createIngest (components: IngestComponents, init: IngestInit = {}): Ingest {
  const ingestBatch = createBatchIngest(components, init)
  return async (bytes, meta) => {
    const [outcome] = await ingestBatch([bytes], meta)
    return outcome
  }
}

/**
 * Creates the pipeline of `createIngest` for many records at once. Every
 * record gets the outcome it would get alone, but the work of a rule is
 * shared by the batch: one store read for "already stored", signatures
 * verified in parallel, and one durable write for the records that pass.
 * Roots, certificates and revocations are judged and stored first, one by
 * one in batch order, because they decide the authority of the rest.
 */
export function createBatchIngest (components: IngestComponents, init: IngestInit = {}): IngestBatch {
  const context: Context = {
    ...components,
    signatures: components.signatures ?? new SignaturePool({ workers: 0, logger: components.logger }),
    maxRecordBytes: init.maxRecordBytes ?? ALERT_MAX_BYTES,
    nowMs: init.nowMs ?? Date.now,
    onFork: init.onFork,
    onAccept: init.onAccept,
    alertsInFlight: new Set()
  }
  return async (batch, meta, options = {}) => await runBatch(context, batch, meta, options)
}

type Context = Required<IngestComponents> & Required<Pick<IngestInit, 'maxRecordBytes' | 'nowMs'>> & Pick<IngestInit, 'onFork' | 'onAccept'> & {
  /** `subject author` of every alert between its judgement and its store, so that concurrent batches store one alert per pair. */
  alertsInFlight: Set<string>
}

/**
 * A decoded record that is not stored yet, with its place in the batch and
 * the results of the rules that do not depend on what the store contains.
 */
interface Candidate {
  index: number
  record: SignedRecord
  /** Outcome of the rules on fleet, deployment and freshness; null when they pass. */
  content: IngestResult | null
  /** Set when `content` is null. */
  signature?: VerifyResult
  /** The two records of an alert's evidence, once they passed the rules that need no signature. */
  evidence?: ForkPair
  /** Outcome of the signature check of `evidence`; null when both verify. */
  evidenceSignature?: IngestResult | null
  /** An expired intent that is stored as history. */
  expired: boolean
  /** A further alert by its author about one subject, stored as history without learning its evidence. */
  history?: boolean
}

/** Outcomes by place in the batch; a place stays empty while its record is in the pipeline. */
type Outcomes = Array<IngestResult | undefined>

async function runBatch (context: Context, batch: Uint8Array[], meta: IngestMeta, options: IngestBatchOptions): Promise<IngestResult[]> {
  const outcomes: Outcomes = new Array(batch.length).fill(undefined)
  try {
    let candidates = dropKnown(context, decodeAll(context, batch, meta, outcomes), outcomes)
    judgeContent(context, candidates, meta)
    await checkSignatures(context, candidates)
    if (options.after != null) {
      await options.after.catch(() => {})
      // The earlier batch may have stored some of these records meanwhile.
      candidates = dropKnown(context, candidates, outcomes)
    }
    for (const group of trustFirst(candidates)) {
      await judgeAndStore(context, group, meta, outcomes)
    }
  } catch (err) {
    const failure = internalFailure(context, err, meta)
    return outcomes.map(outcome => outcome ?? failure)
  }
  return outcomes as IngestResult[]
}

function decodeAll (context: Context, batch: Uint8Array[], meta: IngestMeta, outcomes: Outcomes): Candidate[] {
  const candidates: Candidate[] = []
  for (const [index, bytes] of batch.entries()) {
    const checked = checkBytes(bytes, meta, context.maxRecordBytes)
    if ('action' in checked) {
      outcomes[index] = checked
    } else {
      candidates.push({ index, record: checked, content: null, expired: false })
    }
  }
  return candidates
}

function dropKnown (context: Context, candidates: Candidate[], outcomes: Outcomes): Candidate[] {
  const known = context.store.hasMany(candidates.map(({ record }) => record.id))
  return candidates.filter(({ index, record }, position) => {
    // [IGNORE] already stored
    if (known[position]) {
      outcomes[index] = result('ignore', 'ERR_KNOWN', `${record.id} is already stored`, record)
    }
    return !known[position]
  })
}

/** Runs the rules on fleet, deployment and freshness, which depend on nothing stored. */
function judgeContent (context: Context, candidates: Candidate[], meta: IngestMeta): void {
  const nowMs = context.nowMs()
  const keepExpired = HISTORY_PATHS.has(meta.via)
  for (const candidate of candidates) {
    try {
      candidate.content = checkContent(context.trust, candidate.record, nowMs, { keepExpired })
      candidate.expired = keepExpired && candidate.content == null && isExpired(candidate.record, nowMs)
      if (candidate.content == null && candidate.record.type === 'alert') {
        judgeEvidence(candidate)
      }
    } catch (err) {
      candidate.content = internalFailure(context, err, meta, candidate.record)
    }
  }
}

function judgeEvidence (candidate: Candidate): void {
  const evidence = checkEvidence(candidate.record as SignedRecord<'alert'>)
  if ('action' in evidence) {
    candidate.content = evidence
  } else {
    candidate.evidence = evidence
  }
}

/** Verifies the signatures of every candidate whose content passed, and of alert evidence, in parallel. */
async function checkSignatures (context: Context, candidates: Candidate[]): Promise<void> {
  const judgeable = candidates.filter(candidate => candidate.content == null)
  const records = judgeable.flatMap(({ record, evidence }) => [record, ...evidence ?? []])
  const verified = await verifyRecords(records, context.signatures)
  let position = 0
  for (const candidate of judgeable) {
    candidate.signature = verified[position++]
    if (candidate.evidence != null) {
      const count = candidate.evidence.length
      candidate.evidenceSignature = checkEvidenceSignatures(candidate.record, verified.slice(position, position + count))
      position += count
    }
  }
}

/** Splits candidates into groups that are judged and stored one after the other: each trust record alone, then the rest. */
function trustFirst (candidates: Candidate[]): Candidate[][] {
  const groups = candidates.filter(({ record }) => TRUST_TYPES.has(record.type)).map(candidate => [candidate])
  groups.push(candidates.filter(({ record }) => !TRUST_TYPES.has(record.type)))
  return groups.filter(group => group.length > 0)
}

/**
 * Judges a group by the rules that depend on what is stored, in the order
 * of the pipeline, then stores those that pass. Their puts are issued
 * together, so the store writes them in one durable batch, but each
 * settles on its own, so a record that the store cannot stage fails alone.
 */
async function judgeAndStore (context: Context, group: Candidate[], meta: IngestMeta, outcomes: Outcomes): Promise<void> {
  const claimed: string[] = []
  const passed = group.filter(candidate => {
    try {
      outcomes[candidate.index] = judgeInOrder(context, candidate) ?? checkAlertBound(context, candidate, meta, claimed) ?? undefined
    } catch (err) {
      outcomes[candidate.index] = internalFailure(context, err, meta, candidate.record)
    }
    return outcomes[candidate.index] == null
  })
  try {
    await storePassed(context, passed, meta, outcomes)
  } finally {
    for (const key of claimed) {
      context.alertsInFlight.delete(key)
    }
  }
}

/**
 * [IGNORE] an alert whose author has an alert about the same subject
 * stored or in flight, over gossip or a local publish: an honest
 * node signs one alert per subject, so a further one is no news. By sync
 * or bundle import it is stored as history instead, like an expired
 * intent, because it has a place in its author's feed, but its evidence is
 * not learned. Adds the key of an alert that passes to `claimed`.
 */
function checkAlertBound (context: Context, candidate: Candidate, meta: IngestMeta, claimed: string[]): IngestResult | null {
  const { record } = candidate
  if (record.type !== 'alert') {
    return null
  }
  const subject = (record as SignedRecord<'alert'>).body.subject
  const key = `${subject} ${record.author}`
  if (!context.store.hasAlertAbout(record.author, subject) && !context.alertsInFlight.has(key)) {
    context.alertsInFlight.add(key)
    claimed.push(key)
    return null
  }
  if (HISTORY_PATHS.has(meta.via)) {
    candidate.history = true
    return null
  }
  return result('ignore', 'ERR_ALERT_KNOWN', `alert ${record.id} not stored: ${record.author} has an alert about ${subject} already`, record)
}

/** Stores the candidates that passed every rule and settles their outcomes. */
async function storePassed (context: Context, passed: Candidate[], meta: IngestMeta, outcomes: Outcomes): Promise<void> {
  const stored: StoredMeta = {
    via: meta.via,
    receivedAt: new Date(context.nowMs()).toISOString(),
    ...(meta.from != null ? { from: meta.from } : {})
  }
  const puts = await Promise.allSettled(passed.map(async candidate => await storeCandidate(context, candidate, stored)))
  for (const [position, candidate] of passed.entries()) {
    const { index, record } = candidate
    const put = puts[position]
    try {
      if (put.status === 'rejected') {
        throw put.reason
      }
      outcomes[index] = settle(context, candidate, meta, put.value)
    } catch (err) {
      outcomes[index] = internalFailure(context, err, meta, record)
    }
  }
}

/** Returns the outcome of the first rule after "already stored" that decides, or null when the record may be stored. */
function judgeInOrder (context: Context, { record, content, signature, evidenceSignature }: Candidate): IngestResult | null {
  // [IGNORE] author refused after a fork: its records are evidence, not news
  if (context.store.isRefused(record.author)) {
    return result('ignore', 'ERR_AUTHOR_REFUSED', `author ${record.author} is refused after a fork`, record)
  }

  // [REJECT] / [IGNORE] wrong fleet, event outside its deployment, issued in the future, expired
  if (content != null) {
    return content
  }

  // [REJECT] a signature that does not verify, or not signed by its author alone
  if (signature?.ok !== true) {
    return result('reject', 'ERR_SIGNATURE', signature?.reason ?? 'signatures not checked', record)
  }

  // [REJECT] alert evidence not signed by the subject alone
  if (evidenceSignature != null) {
    return evidenceSignature
  }

  // [REJECT] / [IGNORE] signer without the authority for this record
  // [IGNORE] alert about a key that the trust state does not know
  return checkAuthority(context.trust, record) ?? checkSubject(context.trust, record)
}

/**
 * Stores a record that passed every rule. The fork that an alert proves is
 * stored first, so that the subject is refused before the alert is known:
 * an alert stored without its fork would never be judged again.
 */
async function storeCandidate (context: Context, { record, evidence, history }: Candidate, stored: StoredMeta): Promise<PutResult> {
  if (evidence != null && history !== true) {
    const learned = await context.store.putReportedFork({ records: evidence, alert: record.id, reportedBy: record.author }, stored)
    if (learned.status === 'fork') {
      const fork = { author: evidence[0].author, records: evidence.map(({ id }) => id), alert: record.id, reportedBy: record.author }
      context.logger.warn(fork, 'fork learned from an alert; the author is refused from now on')
    }
  }
  return await context.store.put(record, stored)
}

function settle (context: Context, { record, expired, history }: Candidate, meta: IngestMeta, stored: PutResult): IngestResult {
  switch (stored.status) {
    case 'stored':
      context.trust.apply(record)
      context.onAccept?.(record, meta, expired)
      if (expired) {
        return result('accept', ACCEPTED_EXPIRED, `${record.id} stored as history and not applied, because it has expired`, record)
      }
      return history === true
        ? result('accept', ACCEPTED_HISTORY, `${record.id} stored as history, because its author has an alert about the same subject`, record)
        : result('accept', ACCEPTED, `${record.id} stored`, record)
    case 'duplicate':
      return result('ignore', 'ERR_KNOWN', `${record.id} is already stored`, record)
    case 'refused':
      return result('ignore', 'ERR_AUTHOR_REFUSED', stored.reason, record)
    case 'fork':
      context.logger.warn({ author: record.author, seq: record.seq, record: record.id, existing: stored.existing }, 'fork detected')
      reportFork(context, record, stored.existing)
      return result('ignore', 'ERR_FORK', `${record.id} forks the feed of ${record.author} at seq ${record.seq} with ${stored.existing}`, record)
  }
}

function reportFork (context: Context, record: SignedRecord, existing: string): void {
  try {
    context.onFork?.(record, existing)
  } catch (err) {
    context.logger.error({ err, record: record.id, existing }, 'the fork handler failed')
  }
}

function internalFailure (context: Context, err: unknown, meta: IngestMeta, record?: SignedRecord): IngestResult {
  context.logger.error({ err, from: meta.from, via: meta.via, record: record?.id }, 'record ingest failed')
  return result('ignore', 'ERR_INTERNAL', `ingest failed: ${(err as Error).message}`)
}

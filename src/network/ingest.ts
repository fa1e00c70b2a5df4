import type { Logger } from '../logger.ts'
import { RECORD_MAX_BYTES, decodeRecord, deploymentId, verifyRecord } from '../records/index.ts'
import type { ReceivedVia, RecordStore } from '../store/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { checkFreshness, maySign, verifyRootStep } from '../trust/index.ts'
import type { RootRecord } from '../trust/index.ts'
import { TOPIC_OF_TYPE } from './options.ts'
import type { TrustState } from './trust-state.ts'

/**
 * The outcome of a received record: `accept` (new and valid, so stored and
 * forwarded), `ignore` (known, stale, not yet judgeable, or our own
 * failure, so dropped while the sender keeps its score) or `reject`
 * (invalid, so the sender's score drops). An expired intent that arrived by
 * sync or bundle import is accepted with the code `OK_EXPIRED`: it is
 * stored as history but not acted on.
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
}

export interface IngestInit {
  /** @default RECORD_MAX_BYTES (1 MiB) */
  maxRecordBytes?: number
  /** @default Date.now */
  nowMs?: () => number
  /** Called when the store reports a fork, with the record that completed it and the id it collides with. */
  onFork?: (record: SignedRecord, existing: string) => Promise<void>
  /**
   * Called after a record was stored and the trust state updated. `expired`
   * is true for an expired intent stored as history, which nobody may act on.
   */
  onAccept?: (record: SignedRecord, meta: IngestMeta, expired: boolean) => void
}

export type Ingest = (bytes: Uint8Array, meta: IngestMeta) => Promise<IngestResult>

const ACCEPTED = 'OK'
const ACCEPTED_EXPIRED = 'OK_EXPIRED'

/**
 * Paths by which a node fetches history on purpose. An expired intent that
 * arrives by one of them is stored, so that its author's feed has no hole
 * that sync would try to fill in every session.
 */
const HISTORY_PATHS = new Set<ReceivedVia>(['sync', 'bundle'])

function result (action: IngestAction, code: string, reason: string, record?: SignedRecord): IngestResult {
  return { action, code, reason, record }
}

/**
 * Creates the one pipeline that every received record goes through
 * (gossip, sync, hello, bundle import). Checks run cheapest first and each
 * rule states its outcome. An exception inside the pipeline is our own bug:
 * it is logged and maps to `ignore`, so it never lowers a peer's score.
 */
export function createIngest (components: IngestComponents, init: IngestInit = {}): Ingest {
  const context = {
    ...components,
    maxRecordBytes: init.maxRecordBytes ?? RECORD_MAX_BYTES,
    nowMs: init.nowMs ?? Date.now,
    onFork: init.onFork,
    onAccept: init.onAccept
  }
  return async (bytes, meta) => {
    try {
      return await runRules(context, bytes, meta)
    } catch (err) {
      context.logger.error({ err, from: meta.from, via: meta.via }, 'record ingest failed')
      return result('ignore', 'ERR_INTERNAL', `ingest failed: ${(err as Error).message}`)
    }
  }
}

type Context = IngestComponents & Required<Pick<IngestInit, 'maxRecordBytes' | 'nowMs'>> & Pick<IngestInit, 'onFork' | 'onAccept'>

async function runRules (context: Context, bytes: Uint8Array, meta: IngestMeta): Promise<IngestResult> {
  const { store, trust } = context

  // [REJECT] larger than a record may be
  if (bytes.byteLength > context.maxRecordBytes) {
    return result('reject', 'ERR_RECORD_TOO_LARGE', `record of ${bytes.byteLength} bytes exceeds ${context.maxRecordBytes} bytes`)
  }

  // [REJECT] not UTF-8 JSON, or not the envelope and body schema of its type
  const decoded = decodeRecord(bytes, context.maxRecordBytes)
  if (!decoded.ok) {
    return result('reject', decoded.error.code, decoded.error.message)
  }
  const record = decoded.record

  // [REJECT] not the canonical envelope: gossip ids and stored bytes rely on one form per record
  if (!sameBytes(bytes, record.bytes)) {
    return result('reject', 'ERR_NOT_CANONICAL', `${record.type} ${record.id} is not in its canonical JCS form`, record)
  }

  // [REJECT] arrived on the topic of another record type
  if (meta.topic != null && TOPIC_OF_TYPE[record.type] !== meta.topic) {
    return result('reject', 'ERR_WRONG_TOPIC', `a ${record.type} does not belong on the ${meta.topic} topic`, record)
  }

  // [IGNORE] already stored
  if (await store.has(record.id)) {
    return result('ignore', 'ERR_KNOWN', `${record.id} is already stored`, record)
  }

  // [IGNORE] author refused after a fork: its records are evidence, not news
  if (store.isRefused(record.author)) {
    return result('ignore', 'ERR_AUTHOR_REFUSED', `author ${record.author} is refused after a fork`, record)
  }
  const nowMs = context.nowMs()
  const keepExpired = HISTORY_PATHS.has(meta.via)
  const judged = judgeRecord(trust, record, nowMs, { keepExpired })
  if (judged != null) {
    return judged
  }
  return await storeRecord(context, record, meta, keepExpired && isExpired(record, nowMs))
}

export interface JudgeOptions {
  /** Judges an expired intent like a fresh one, for history fetched by sync or bundle import. @default false */
  keepExpired?: boolean
}

/**
 * Judges a decoded record against our trust state: fleet, deployment of
 * an event, freshness, signature and authority, in that order. Returns
 * null when it may be stored. Publishing runs it on our own records too,
 * so that we never gossip what our peers would reject.
 */
export function judgeRecord (trust: TrustState, record: SignedRecord, nowMs: number,
  options: JudgeOptions = {}): IngestResult | null {
  // [REJECT] belongs to another fleet
  if (fleetOf(record) !== trust.fleet) {
    return result('reject', 'ERR_WRONG_FLEET', `${record.type} ${record.id} belongs to fleet ${fleetOf(record)}, not ${trust.fleet}`, record)
  }

  // [REJECT] an event outside the deployment that its author, intent and seed name, such as
  // an event written into another garden's deployment
  if (record.type === 'event' && !inOwnDeployment(record as SignedRecord<'event'>)) {
    return result('reject', 'ERR_DEPLOYMENT_ID', `event ${record.id} names deployment ${(record as SignedRecord<'event'>).body.deployment}, not the one of its author, intent and seed`, record)
  }

  // [IGNORE] issued in the future beyond the skew, on every path: it may become valid later
  // [IGNORE] expired, over gossip or a local publish: honest relays replay old records, which are no news
  const fresh = checkFreshness(record, nowMs)
  if (!fresh.ok && !(fresh.code === 'ERR_EXPIRED' && options.keepExpired === true)) {
    return result('ignore', fresh.code, fresh.reason, record)
  }

  // [REJECT] a signature that does not verify, or not signed by its author alone
  const verified = verifyRecord(record)
  if (!verified.ok) {
    return result('reject', 'ERR_SIGNATURE', verified.reason, record)
  }

  // [REJECT] / [IGNORE] signer without the authority for this record
  return checkAuthority(trust, record)
}

function inOwnDeployment (event: SignedRecord<'event'>): boolean {
  const { deployment, intent, seed, author } = event.body
  return deployment === deploymentId(intent, seed, author)
}

function isExpired (record: SignedRecord, nowMs: number): boolean {
  const fresh = checkFreshness(record, nowMs)
  return !fresh.ok && fresh.code === 'ERR_EXPIRED'
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
}

function fleetOf (record: SignedRecord): string {
  return (record.body as { fleet: string }).fleet
}

/** Returns null when the signer may author the record, else the outcome. */
function checkAuthority (trust: TrustState, record: SignedRecord): IngestResult | null {
  if (record.type === 'root') {
    return checkRoot(trust.root, record as RootRecord)
  }
  if (record.type === 'certificate' || record.type === 'revocation' || record.type === 'intent') {
    const decision = maySign(trust.root.body, record.author, record)
    if (decision.ok) {
      return null
    }

    // [IGNORE] signer is no admin of the current root. The root version that adds it may still be
    // on its way, or the record is history by an admin that a later version removed.
    if (decision.code === 'ERR_UNKNOWN_SIGNER') {
      return result('ignore', decision.code, decision.reason, record)
    }

    // [REJECT] an admin of the current root without the scope or outside its limits
    return result('reject', decision.code, decision.reason, record)
  }
  const status = trust.status(record.author)
  if (status.member) {
    return null
  }

  // [IGNORE] author without any certificate yet: its certificate may still be on its way
  if (status.code === 'ERR_NO_CERTIFICATE') {
    return result('ignore', status.code, status.reason, record)
  }

  // [REJECT] author revoked or its certificate expired
  return result('reject', status.code, status.reason, record)
}

function checkRoot (current: RootRecord, next: RootRecord): IngestResult | null {
  // [IGNORE] an older version than ours: nothing to learn from it
  if (next.body.version <= current.body.version) {
    return result('ignore', 'ERR_ROOT_STALE', `root version ${next.body.version} is not newer than ${current.body.version}`, next)
  }

  // [IGNORE] skips a version: the missing one arrives by sync first
  if (next.body.version > current.body.version + 1) {
    return result('ignore', 'ERR_ROOT_GAP', `root version ${next.body.version} cannot be judged before version ${current.body.version + 1}`, next)
  }
  try {
    verifyRootStep(current, next)
    return null
  } catch (err) {
    // [REJECT] not signed by the thresholds of the current and its own root keys, or not linked
    return result('reject', (err as { code: string }).code, (err as Error).message, next)
  }
}

async function storeRecord (context: Context, record: SignedRecord, meta: IngestMeta, expired: boolean): Promise<IngestResult> {
  const stored = await context.store.put(record, {
    via: meta.via,
    receivedAt: new Date(context.nowMs()).toISOString(),
    ...(meta.from != null ? { from: meta.from } : {})
  })
  switch (stored.status) {
    case 'stored':
      context.trust.apply(record)
      context.onAccept?.(record, meta, expired)
      return expired
        ? result('accept', ACCEPTED_EXPIRED, `${record.id} stored as history: it has expired, so nobody acts on it`, record)
        : result('accept', ACCEPTED, `${record.id} stored`, record)
    case 'duplicate':
      return result('ignore', 'ERR_KNOWN', `${record.id} is already stored`, record)
    case 'refused':
      return result('ignore', 'ERR_AUTHOR_REFUSED', stored.reason, record)
    case 'fork':
      context.logger.warn({ author: record.author, seq: record.seq, record: record.id, existing: stored.existing }, 'fork detected')
      await context.onFork?.(record, stored.existing)
      return result('ignore', 'ERR_FORK', `${record.id} forks the feed of ${record.author} at seq ${record.seq} with ${stored.existing}`, record)
  }
}

import { checkForkEvidence, decodeRecord, deploymentId, verifyRecord } from '../records/index.ts'
import type { ForkPair, SignedRecord, VerifyResult } from '../records/index.ts'
import { checkFreshness, maySign, verifyRootStep } from '../trust/index.ts'
import type { RootRecord } from '../trust/index.ts'
import type { IngestAction, IngestMeta, IngestResult } from './ingest.ts'
import { TOPIC_OF_TYPE } from './options.ts'
import type { TrustState } from './trust-state.ts'

/**
 * The rules of the ingest pipeline, each marked with its outcome:
 * `[REJECT]` for an invalid record, `[IGNORE]` for one that is known,
 * stale or not yet judgeable.
 */

export function result (action: IngestAction, code: string, reason: string, record?: SignedRecord): IngestResult {
  return { action, code, reason, record }
}

/** Decodes bytes into a record by the rules that need nothing but the bytes, or returns the outcome. */
export function checkBytes (bytes: Uint8Array, meta: IngestMeta, maxRecordBytes: number): SignedRecord | IngestResult {
  // [REJECT] larger than a record may be
  if (bytes.byteLength > maxRecordBytes) {
    return result('reject', 'ERR_RECORD_TOO_LARGE', `record of ${bytes.byteLength} bytes exceeds ${maxRecordBytes} bytes`)
  }

  // [REJECT] not UTF-8 JSON, or not the envelope and body schema of its type
  const decoded = decodeRecord(bytes, maxRecordBytes)
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
  return record
}

export interface JudgeOptions {
  /** Judges an expired intent like a fresh one, for history fetched by sync or bundle import. @default false */
  keepExpired?: boolean
}

/**
 * Judges a decoded record against our trust state: fleet, deployment of
 * an event, freshness, the evidence of an alert, signatures and authority,
 * in that order. Returns null when it may be stored. Publishing runs it on
 * our own records too, so that we never gossip what our peers would reject.
 */
export function judgeRecord (trust: TrustState, record: SignedRecord, nowMs: number,
  options: JudgeOptions = {}): IngestResult | null {
  const content = checkContent(trust, record, nowMs, options)
  if (content != null) {
    return content
  }

  const evidence = record.type === 'alert' ? checkEvidence(record as SignedRecord<'alert'>) : undefined
  if (evidence != null && 'action' in evidence) {
    return evidence
  }

  // [REJECT] a signature that does not verify, or not signed by its author alone
  const verified = verifyRecord(record)
  if (!verified.ok) {
    return result('reject', 'ERR_SIGNATURE', verified.reason, record)
  }
  const evidenceSigned = evidence == null ? null : checkEvidenceSignatures(record, evidence.map(verifyRecord))
  return evidenceSigned ?? checkAuthority(trust, record) ?? checkSubject(trust, record)
}

/**
 * [REJECT] an alert whose evidence is not two records of its subject that
 * fork one feed. That is a record that does not decode or exceeds the
 * record limit, another author or fleet, or a position other than
 * `subjectSeq` (and the seq after it for a broken link). It is also one
 * record twice, or ids that `records` does not name. Returns the two
 * records when every rule passes.
 */
export function checkEvidence (alert: SignedRecord<'alert'>): ForkPair | IngestResult {
  const checked = checkForkEvidence(alert.body)
  return checked.ok ? checked.records : result('reject', checked.code, `alert ${alert.id}: ${checked.reason}`, alert)
}

/**
 * [IGNORE] an alert about a key that is neither an admin of the current
 * root nor a peer with a certificate, valid or not. Its certificate may
 * still be on its way, and sync offers the alert again later. Without this
 * rule a member could fill every store with refusals of keys it made up.
 */
export function checkSubject (trust: TrustState, record: SignedRecord): IngestResult | null {
  if (record.type !== 'alert') {
    return null
  }
  const subject = (record as SignedRecord<'alert'>).body.subject
  const status = trust.status(subject)
  const known = status.member || status.code !== 'ERR_NO_CERTIFICATE' || trust.root.body.admins.some(admin => admin.key === subject)
  return known ? null : result('ignore', 'ERR_UNKNOWN_SUBJECT', `alert ${record.id} is about ${subject}, which is no admin and has no certificate`, record)
}

/** [REJECT] an alert whose evidence records are not both signed by its subject alone. */
export function checkEvidenceSignatures (alert: SignedRecord, verified: VerifyResult[]): IngestResult | null {
  const failed = verified.find(outcome => !outcome.ok)
  if (failed != null && !failed.ok) {
    return result('reject', 'ERR_EVIDENCE_SIGNATURE', `alert ${alert.id}: an evidence record is not signed by the subject: ${failed.reason}`, alert)
  }
  return null
}

/** Judges what needs neither signatures nor authority: fleet, deployment of an event and freshness. */
export function checkContent (trust: TrustState, record: SignedRecord, nowMs: number, options: JudgeOptions): IngestResult | null {
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
  return null
}

function inOwnDeployment (event: SignedRecord<'event'>): boolean {
  const { deployment, intent, seed, author } = event.body
  return deployment === deploymentId(intent, seed, author)
}

export function isExpired (record: SignedRecord, nowMs: number): boolean {
  const fresh = checkFreshness(record, nowMs)
  return !fresh.ok && fresh.code === 'ERR_EXPIRED'
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
}

function fleetOf (record: SignedRecord): string {
  return (record.body as { fleet: string }).fleet
}

/**
 * [REJECT] / [IGNORE] signer without the authority for this record.
 * Returns null when the signer may author the record, else the outcome.
 */
export function checkAuthority (trust: TrustState, record: SignedRecord): IngestResult | null {
  if (record.type === 'root') {
    return checkRoot(trust.root, record as RootRecord)
  }

  // [IGNORE] anything but a root while our current root has expired, because an expired root
  // grants no authority. The record is judged again when it arrives after a newer root.
  if (trust.rootExpired) {
    const { version, expiresAt } = trust.root.body
    return result('ignore', 'ERR_ROOT_EXPIRED', `${record.type} ${record.id} not accepted, because root version ${version} ` +
      `expired at ${expiresAt}; only newer root versions are accepted until one is valid`, record)
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
  // [IGNORE] author revoked or its certificate expired: honest peers relay records that it
  // signed before, so the sender keeps its score
  if (status.code === 'ERR_NO_CERTIFICATE' || status.code === 'ERR_REVOKED' || status.code === 'ERR_CERTIFICATE_EXPIRED') {
    return result('ignore', status.code, status.reason, record)
  }

  // [REJECT] author's certificate not valid yet
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

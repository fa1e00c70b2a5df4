import { parseRecord } from './envelope.ts'
import type { Envelope, SignedRecord } from './envelope.ts'
import { RECORD_MAX_BYTES } from './schemas.ts'
import type { AlertBody } from './schemas.ts'

/**
 * Two records of one author that cannot belong to one history: two records
 * at one seq, or a record at seq N and one at seq N + 1 whose `prev` does
 * not name it. The one at the lower seq comes first.
 */
export type ForkPair = [SignedRecord, SignedRecord]

/** The fields of an alert body that name and carry a fork. */
export type ForkFields = Pick<AlertBody, 'subject' | 'subjectSeq' | 'records' | 'evidence'>

export type EvidenceResult =
  | { ok: true, records: ForkPair }
  | { ok: false, code: string, reason: string }

/** Returns the envelope of a record as an alert embeds it; its JCS form is the record's bytes. */
export function toEvidence (record: SignedRecord): Envelope {
  return { type: record.type, body: record.body, signatures: record.signatures }
}

/**
 * Builds the alert fields for two conflicting records, ordered by seq.
 * Returns null when they are no fork, or when one of them is larger than
 * `RECORD_MAX_BYTES` (an alert as evidence can be), because peers reject
 * such evidence.
 */
export function forkFields (a: SignedRecord, b: SignedRecord): ForkFields | null {
  const pair: ForkPair = b.seq < a.seq ? [b, a] : [a, b]
  if (describeFork(pair) == null || pair.some(record => record.bytes.byteLength > RECORD_MAX_BYTES)) {
    return null
  }
  const [first, second] = pair
  return {
    subject: first.author,
    subjectSeq: first.seq,
    records: [first.id, second.id],
    evidence: [toEvidence(first), toEvidence(second)]
  }
}

/**
 * Says why two records of one author, the lower seq first, fork its feed,
 * in the words of the store's fork detection, or returns null when they can
 * belong to one history.
 */
export function describeFork ([first, second]: ForkPair): string | null {
  if (first.author !== second.author || first.id === second.id) {
    return null
  }
  if (first.seq === second.seq) {
    return `two records at seq ${first.seq}`
  }
  if (second.seq === first.seq + 1 && second.prev !== first.id) {
    return `record at seq ${second.seq} does not link to the record at seq ${first.seq}`
  }
  return null
}

/**
 * Checks the evidence of an alert by every rule that needs no signature,
 * cheapest first. Each record decodes and fits `RECORD_MAX_BYTES`. Its
 * author is the subject and its fleet the alert's. The first is at
 * `subjectSeq`, the ids differ, the second record forks the feed with the
 * first, and `records` names both ids in order. The caller then verifies
 * both signatures with the subject's key (`verifyRecord`).
 */
export function checkForkEvidence (alert: AlertBody): EvidenceResult {
  const records: SignedRecord[] = []
  for (const [index, envelope] of alert.evidence.entries()) {
    const decoded = parseRecord(envelope)
    if (!decoded.ok) {
      return fail('ERR_EVIDENCE_SCHEMA', `evidence record ${index + 1} does not decode: ${decoded.error.message}`)
    }
    if (decoded.record.bytes.byteLength > RECORD_MAX_BYTES) {
      return fail('ERR_EVIDENCE_TOO_LARGE', `evidence record ${decoded.record.id} has ${decoded.record.bytes.byteLength} bytes, more than ${RECORD_MAX_BYTES}`)
    }
    records.push(decoded.record)
  }
  const pair = records as ForkPair
  return checkAuthors(alert, pair) ?? checkPositions(alert, pair) ?? checkIds(alert, pair) ?? { ok: true, records: pair }
}

function checkAuthors (alert: AlertBody, pair: ForkPair): EvidenceResult | null {
  for (const record of pair) {
    if (record.author !== alert.subject) {
      return fail('ERR_EVIDENCE_AUTHOR', `evidence record ${record.id} is by ${record.author}, not by the subject ${alert.subject}`)
    }
    const fleet = (record.body as { fleet: string }).fleet
    if (fleet !== alert.fleet) {
      return fail('ERR_EVIDENCE_FLEET', `evidence record ${record.id} belongs to fleet ${fleet}, not ${alert.fleet}`)
    }
  }
  return null
}

function checkPositions (alert: AlertBody, [first, second]: ForkPair): EvidenceResult | null {
  if (first.seq !== alert.subjectSeq) {
    return fail('ERR_EVIDENCE_SEQ', `evidence record ${first.id} is at seq ${first.seq}, not at the subject seq ${alert.subjectSeq}`)
  }
  if (second.seq !== first.seq && second.seq !== first.seq + 1) {
    return fail('ERR_EVIDENCE_SEQ', `evidence record ${second.id} is at seq ${second.seq}, not at seq ${first.seq} or ${first.seq + 1}`)
  }
  if (first.id === second.id) {
    return fail('ERR_EVIDENCE_SAME', `both evidence records are ${first.id}`)
  }
  if (describeFork([first, second]) == null) {
    return fail('ERR_EVIDENCE_SEQ', `evidence record ${second.id} at seq ${second.seq} links to ${first.id}, so the two records are no fork`)
  }
  return null
}

function checkIds (alert: AlertBody, pair: ForkPair): EvidenceResult | null {
  if (alert.records[0] !== pair[0].id || alert.records[1] !== pair[1].id) {
    return fail('ERR_EVIDENCE_IDS', `records names ${alert.records.join(' and ')}, but the evidence is ${pair[0].id} and ${pair[1].id}`)
  }
  return null
}

function fail (code: string, reason: string): EvidenceResult {
  return { ok: false, code, reason }
}

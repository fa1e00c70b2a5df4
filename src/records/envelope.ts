import { z } from 'zod'
import { SowerError } from '../errors.ts'
import { verifySignature } from '../keys/index.ts'
import type { SigningKey } from '../keys/index.ts'
import { base32, canonicalJson, fromBase64Url, sha256, signingBytes, toBase64Url } from './canonical.ts'
import { ALERT_MAX_BYTES, BODY_SCHEMAS, ID_PREFIXES, RECORD_MAX_BYTES, envelopeSchema } from './schemas.ts'
import type { BodyTypes, RecordType } from './schemas.ts'

export interface Signature {
  key: string
  sig: string
}

/** The wire form of every record. */
export interface Envelope<T extends RecordType = RecordType> {
  type: T
  body: BodyTypes[T]
  signatures: Signature[]
}

/**
 * A decoded record whose shape is valid. Its signatures are not yet checked:
 * call `verifyRecord` (cheap checks such as "already known" come first).
 */
export interface SignedRecord<T extends RecordType = RecordType> extends Envelope<T> {
  /**
   * Content id: type prefix and base32 sha256 of the canonical envelope.
   * A root's id hashes its signing bytes instead, because a root collects
   * signatures from several admins: every copy of one version, whatever
   * its signatures, must be the same record that the next version links to.
   */
  id: string
  /** Canonical envelope bytes, as stored and sent. */
  bytes: Uint8Array
  /** Position in the author's feed; the root chain is the feed `root` by version. */
  author: string
  seq: number
  prev: string | null
}

const ROOT_FEED = 'root'

/** A failure to decode bytes into a record. Its `code` names the check that failed. */
export class RecordDecodeError extends SowerError {}

export type DecodeResult<T extends RecordType = RecordType> =
  { ok: true, record: SignedRecord<T> } | { ok: false, error: RecordDecodeError }

const decoder = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

/** Signs a body as `key` and returns the record. */
export function signRecord<T extends RecordType> (type: T, body: BodyTypes[T], keys: SigningKey[]): SignedRecord<T> {
  const message = signingBytes(type, body)
  const signatures = keys.map(key => ({ key: key.id, sig: toBase64Url(key.sign(message)) }))
  return toSignedRecord({ type, body, signatures })
}

/** Adds signatures of more keys to a record, e.g. a root that needs a threshold of admins. */
export function addSignatures<T extends RecordType> (record: Envelope<T>, keys: SigningKey[]): SignedRecord<T> {
  const message = signingBytes(record.type, record.body)
  const signatures = [...record.signatures]
  for (const key of keys) {
    if (!signatures.some(signature => signature.key === key.id)) {
      signatures.push({ key: key.id, sig: toBase64Url(key.sign(message)) })
    }
  }
  return toSignedRecord({ type: record.type, body: record.body, signatures })
}

/** Builds the canonical envelope: JCS with signatures sorted by key, so any relay produces the same bytes. */
function toSignedRecord<T extends RecordType> (envelope: Envelope<T>): SignedRecord<T> {
  // Key ids are ASCII, so code unit order is byte order.
  const signatures = [...envelope.signatures].sort(compareSignatureKeys)
  const canonical = { type: envelope.type, body: envelope.body, signatures }
  const bytes = encoder.encode(canonicalJson(canonical))
  return {
    ...canonical,
    id: `${ID_PREFIXES[envelope.type]}_${base32(sha256(envelope.type === 'root' ? signingBytes(envelope.type, envelope.body) : bytes))}`,
    bytes,
    ...feedPosition(envelope.type, envelope.body)
  }
}

function compareSignatureKeys (a: Signature, b: Signature): number {
  if (a.key === b.key) {
    return 0
  }
  return a.key < b.key ? -1 : 1
}

function feedPosition (type: RecordType, body: any): { author: string, seq: number, prev: string | null } {
  if (type === 'root') {
    return { author: ROOT_FEED, seq: body.version, prev: body.prev }
  }
  return { author: body.author, seq: body.seq, prev: body.prev }
}

/** The end of the canonical envelope of an alert, whose members sort `body`, `signatures`, `type`. */
const ALERT_ENVELOPE_END = encoder.encode(',"type":"alert"}')

/** Returns the size limit of a record type: `ALERT_MAX_BYTES` for alerts, `RECORD_MAX_BYTES` for the rest. */
export function recordMaxBytes (type: RecordType): number {
  return type === 'alert' ? ALERT_MAX_BYTES : RECORD_MAX_BYTES
}

/**
 * Decodes untrusted bytes into a record: size first, then UTF-8, JSON, the
 * envelope and the body schema of its type. `maxBytes` caps the bytes of
 * any type. Bytes over `RECORD_MAX_BYTES` are parsed only when they end
 * like a canonical alert, and a decoded record over the limit of its type
 * is rejected. Never throws.
 */
export function decodeRecord (bytes: Uint8Array, maxBytes = ALERT_MAX_BYTES): DecodeResult {
  if (bytes.byteLength > maxBytes) {
    return tooLarge(bytes.byteLength, maxBytes)
  }
  if (bytes.byteLength > RECORD_MAX_BYTES && !endsWith(bytes, ALERT_ENVELOPE_END)) {
    return tooLarge(bytes.byteLength, RECORD_MAX_BYTES)
  }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    return fail('ERR_RECORD_JSON', `record is not UTF-8 JSON: ${(err as Error).message}`)
  }
  const decoded = parseRecord(json)
  if (decoded.ok && bytes.byteLength > recordMaxBytes(decoded.record.type)) {
    return tooLarge(bytes.byteLength, recordMaxBytes(decoded.record.type))
  }
  return decoded
}

function tooLarge (bytes: number, maxBytes: number): { ok: false, error: RecordDecodeError } {
  return fail('ERR_RECORD_TOO_LARGE', `record of ${bytes} bytes exceeds the limit of ${maxBytes} bytes`)
}

function endsWith (bytes: Uint8Array, end: Uint8Array): boolean {
  const start = bytes.byteLength - end.byteLength
  return start >= 0 && end.every((byte, index) => bytes[start + index] === byte)
}

/** Validates an already parsed JSON value as a record. Never throws. */
export function parseRecord (json: unknown): DecodeResult {
  const envelope = envelopeSchema.safeParse(json)
  if (!envelope.success) {
    return fail('ERR_RECORD_SCHEMA', `invalid envelope: ${describeIssues(envelope.error)}`)
  }
  const { type, signatures } = envelope.data
  const body = BODY_SCHEMAS[type].safeParse(envelope.data.body)
  if (!body.success) {
    return fail('ERR_RECORD_SCHEMA', `invalid ${type} body: ${describeIssues(body.error)}`)
  }
  const { seq, prev } = feedPosition(type, body.data)
  if ((seq === 1) !== (prev === null)) {
    return fail('ERR_RECORD_SCHEMA', `invalid ${type} body: prev must be null exactly at seq 1, got seq ${seq}`)
  }
  try {
    return { ok: true, record: toSignedRecord({ type, body: body.data as any, signatures }) }
  } catch (err) {
    return fail('ERR_RECORD_SCHEMA', `record cannot be encoded canonically: ${(err as Error).message}`)
  }
}

function fail (code: string, message: string): { ok: false, error: RecordDecodeError } {
  return { ok: false, error: new RecordDecodeError(message, code) }
}

/** Formats zod issues as `path: message` pairs, every issue listed. */
export function describeIssues (error: z.ZodError, max = 5): string {
  const issues = error.issues.slice(0, max).map(issue => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top)'
    return `${path}: ${issue.message}`
  })
  const more = error.issues.length > max ? `; and ${error.issues.length - max} more` : ''
  return issues.join('; ') + more
}

export type VerifyResult = { ok: true, signers: Set<string> } | { ok: false, reason: string }

/**
 * Checks every signature of a record. One bad signature rejects the whole
 * record. Several signatures by one key count as one signer. Records other
 * than roots must carry exactly one signature, by their author.
 */
export function verifyRecord (record: Envelope): VerifyResult {
  const message = signingBytes(record.type, record.body)
  const signers = new Set<string>()
  for (const { key, sig } of record.signatures) {
    let signature: Uint8Array
    try {
      signature = fromBase64Url(sig)
    } catch {
      return { ok: false, reason: `signature by ${key} is not base64url` }
    }
    if (!verifySignature(key, message, signature)) {
      return { ok: false, reason: `signature by ${key} does not verify` }
    }
    signers.add(key)
  }
  if (record.type !== 'root') {
    const author = (record.body as { author: string }).author
    if (record.signatures.length !== 1 || !signers.has(author)) {
      return { ok: false, reason: `a ${record.type} must be signed by its author ${author} alone` }
    }
  }
  return { ok: true, signers }
}

/** Mints a deployment id: one garden working on one seed of one intent. */
export function deploymentId (intentId: string, seed: string, garden: string): string {
  return `dep_${base32(sha256(`${intentId}\n${seed}\n${garden}`))}`
}

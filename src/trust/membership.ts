import type { CertificateBody, RevocationBody, SignedRecord } from '../records/index.ts'
import type { RootBody } from '../records/index.ts'
import { CLOCK_SKEW_MAX_MS, maySign } from './authority.ts'

export type MemberStatus =
  | { member: true, certificate: SignedRecord<'certificate'> }
  | { member: false, code: MemberDenial, reason: string }

/**
 * Reason code of a non-member. `ERR_ROOT_EXPIRED` comes from the trust state
 * of a node whose newest root has expired, which treats no peer as a member.
 */
export type MemberDenial = 'ERR_NO_CERTIFICATE' | 'ERR_CERTIFICATE_EXPIRED' | 'ERR_CERTIFICATE_NOT_YET_VALID' | 'ERR_REVOKED' |
  'ERR_ROOT_EXPIRED'

/**
 * The certificates and revocations a node knows, judged against the
 * current root. A revocation voids every certificate of its peer issued at
 * or before the revocation; a later enrollment admits the peer again.
 * Certificates whose signer lost its `enroll` scope in a newer root stop
 * counting, which is how removing an admin key undoes its enrollments.
 */
export class Membership {
  #root: RootBody
  readonly #certificates = new Map<string, SignedRecord<'certificate'>[]>()
  readonly #revokedUntilMs = new Map<string, number>()

  constructor (root: RootBody) {
    this.#root = root
  }

  setRoot (root: RootBody): void {
    this.#root = root
  }

  get root (): RootBody {
    return this.#root
  }

  /** Adds a certificate whose signature was already verified. */
  addCertificate (record: SignedRecord<'certificate'>): void {
    const list = this.#certificates.get(record.body.peer) ?? []
    if (!list.some(known => known.id === record.id)) {
      list.push(record)
      list.sort((a, b) => Date.parse(b.body.issuedAt) - Date.parse(a.body.issuedAt))
    }
    this.#certificates.set(record.body.peer, list)
  }

  /** Adds a revocation whose signature and authority were already verified. */
  addRevocation (record: SignedRecord<'revocation'>): void {
    const body: RevocationBody = record.body
    const untilMs = Date.parse(body.issuedAt)
    this.#revokedUntilMs.set(body.peer, Math.max(untilMs, this.#revokedUntilMs.get(body.peer) ?? 0))
  }

  /** Decides whether `peer` is a member at `nowMs`, with the certificate that makes it one. */
  status (peer: string, nowMs: number): MemberStatus {
    const certificates = (this.#certificates.get(peer) ?? []).filter(cert => maySign(this.#root, cert.body.author, cert).ok)
    if (certificates.length === 0) {
      return { member: false, code: 'ERR_NO_CERTIFICATE', reason: `peer ${peer} has no certificate from an enroll key of root version ${this.#root.version}` }
    }
    const revokedUntilMs = this.#revokedUntilMs.get(peer) ?? -1
    const unrevoked = certificates.filter(cert => Date.parse(cert.body.issuedAt) > revokedUntilMs)
    if (unrevoked.length === 0) {
      return { member: false, code: 'ERR_REVOKED', reason: `peer ${peer} was revoked` }
    }
    const current = unrevoked.find(cert => isCurrent(cert.body, nowMs))
    if (current == null) {
      const issued = unrevoked.filter(cert => Date.parse(cert.body.issuedAt) <= nowMs + CLOCK_SKEW_MAX_MS)
      if (issued.length === 0) {
        return { member: false, code: 'ERR_CERTIFICATE_NOT_YET_VALID', reason: `the certificate of peer ${peer} is issued at ${unrevoked[0].body.issuedAt}, in the future; check the clocks` }
      }
      return { member: false, code: 'ERR_CERTIFICATE_EXPIRED', reason: `the certificate of peer ${peer} expired at ${issued[0].body.expiresAt}` }
    }
    return { member: true, certificate: current }
  }

  /** Every peer with at least one certificate, member or not. */
  peers (): string[] {
    return [...this.#certificates.keys()]
  }
}

function isCurrent (cert: CertificateBody, nowMs: number): boolean {
  return Date.parse(cert.issuedAt) <= nowMs + CLOCK_SKEW_MAX_MS && Date.parse(cert.expiresAt) > nowMs
}

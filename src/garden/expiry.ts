import type { TrustState } from '../network/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { rootExpiredMessage } from '../trust/index.ts'

/** How long before the root or a node's certificate expires the node warns about it. */
export const EXPIRY_WARNING_MS = 30 * 24 * 60 * 60 * 1000
/** Time between two expiry checks of a running node. */
export const EXPIRY_CHECK_INTERVAL_MS = 24 * 60 * 60 * 1000

/** Expiry times of the current root and of this node's own certificate, in UTC ISO 8601. */
export interface Expiries {
  rootVersion: number
  rootExpiresAt: string
  /** The latest expiry among this node's certificates; null when it has none. */
  certificateExpiresAt: string | null
  /** The fields of that certificate that an `enroll` renewing it repeats. */
  certificate: { name: string, tags: string[], roles: string[] } | null
}

export interface ExpiryWarning {
  item: 'root' | 'certificate'
  expiresAt: string
  message: string
}

/** Reads the expiry times of the current root and of the certificate of `peer`. */
export function readExpiries (trust: TrustState, peer: string): Expiries {
  const latest = latestCertificate(trust.certificatesOf(peer))
  return {
    rootVersion: trust.root.body.version,
    rootExpiresAt: trust.root.body.expiresAt,
    certificateExpiresAt: latest?.body.expiresAt ?? null,
    certificate: latest == null ? null : { name: latest.body.name, tags: latest.body.tags, roles: latest.body.roles }
  }
}

/** Returns a warning for the root and for the certificate of `peer` when they expire within `EXPIRY_WARNING_MS`. */
export function expiryWarnings (expiries: Expiries, peer: string, nowMs: number): ExpiryWarning[] {
  const warnings: ExpiryWarning[] = []
  if (Date.parse(expiries.rootExpiresAt) <= nowMs) {
    warnings.push({
      item: 'root',
      expiresAt: expiries.rootExpiresAt,
      message: rootExpiredMessage({ version: expiries.rootVersion, expiresAt: expiries.rootExpiresAt })
    })
  } else if (expiresSoon(expiries.rootExpiresAt, nowMs)) {
    warnings.push({
      item: 'root',
      expiresAt: expiries.rootExpiresAt,
      message: `root version ${expiries.rootVersion} expires at ${expiries.rootExpiresAt}, ` +
        'and then the fleet stops trusting it: sign the next version with ' +
        '`sower root rotate --from ROOT_FILE --out NEW_ROOT_FILE --key KEY_FILE` and publish it with `sower root publish NEW_ROOT_FILE`'
    })
  }
  const { certificateExpiresAt, certificate } = expiries
  if (certificateExpiresAt != null && certificate != null && expiresSoon(certificateExpiresAt, nowMs)) {
    warnings.push({
      item: 'certificate',
      expiresAt: certificateExpiresAt,
      message: `the certificate of this node ${expireVerb(certificateExpiresAt, nowMs)} at ${certificateExpiresAt}, ` +
        `and then members close its connections: renew it by enrolling it again on an admin node with \`${enrollCommand(peer, certificate)}\``
    })
  }
  return warnings
}

function latestCertificate (certificates: Array<SignedRecord<'certificate'>>): SignedRecord<'certificate'> | undefined {
  return certificates.reduce<SignedRecord<'certificate'> | undefined>((latest, certificate) =>
    latest == null || Date.parse(certificate.body.expiresAt) > Date.parse(latest.body.expiresAt) ? certificate : latest, undefined)
}

function expiresSoon (expiresAt: string, nowMs: number): boolean {
  return Date.parse(expiresAt) - nowMs <= EXPIRY_WARNING_MS
}

function expireVerb (expiresAt: string, nowMs: number): string {
  return Date.parse(expiresAt) <= nowMs ? 'expired' : 'expires'
}

function enrollCommand (peer: string, certificate: NonNullable<Expiries['certificate']>): string {
  const tags = certificate.tags.map(tag => ` --tag ${tag}`).join('')
  const roles = certificate.roles.filter(role => role !== 'garden' || certificate.roles.length > 1).map(role => ` --role ${role}`).join('')
  return `sower enroll ${peer} --name ${certificate.name}${tags}${roles} --expires 1y`
}

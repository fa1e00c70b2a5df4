import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { signRecord } from '../../../src/records/index.ts'
import type { CertificateBody, RootBody, SignedRecord } from '../../../src/records/index.ts'
import { CLOCK_SKEW_MAX_MS, Membership } from '../../../src/trust/index.ts'
import { DAY_MS, iso } from '../../utils/fleet.ts'

const nowMs = Date.parse('2026-06-01T12:00:00.000Z')

function rootWith (admins: Array<{ key: SigningKey, scopes: RootBody['admins'][number]['scopes'] }>, version = 1): RootBody {
  return {
    fleet: 'test-fleet',
    version,
    prev: version === 1 ? null : 'root_' + 'a'.repeat(52),
    issuedAt: iso(nowMs - DAY_MS),
    expiresAt: iso(nowMs + 365 * DAY_MS),
    threshold: 1,
    admins: admins.map(({ key, scopes }, index) => ({ name: `admin-${index + 1}`, key: key.id, scopes }))
  }
}

function certificate (admin: SigningKey, peer: SigningKey, init: Partial<CertificateBody> = {}): SignedRecord<'certificate'> {
  return signRecord('certificate', {
    fleet: 'test-fleet',
    author: admin.id,
    seq: 1,
    prev: null,
    issuedAt: iso(nowMs - DAY_MS),
    peer: peer.id,
    name: 'garden-1',
    roles: ['garden'],
    tags: [],
    expiresAt: iso(nowMs + 30 * DAY_MS),
    ...init
  }, [admin])
}

function revocation (admin: SigningKey, peer: SigningKey, issuedAtMs: number): SignedRecord<'revocation'> {
  return signRecord('revocation', {
    fleet: 'test-fleet',
    author: admin.id,
    seq: 2,
    prev: null,
    issuedAt: iso(issuedAtMs),
    peer: peer.id,
    reason: 'lost laptop'
  }, [admin])
}

describe('membership', () => {
  let alice: SigningKey
  let bob: SigningKey
  let garden: SigningKey
  let membership: Membership

  beforeEach(() => {
    alice = generateKey()
    bob = generateKey()
    garden = generateKey()
    membership = new Membership(rootWith([
      { key: alice, scopes: [{ name: 'root' }, { name: 'enroll' }] },
      { key: bob, scopes: [{ name: 'enroll' }] }
    ]))
  })

  function code (peer = garden, atMs = nowMs): string | undefined {
    const status = membership.status(peer.id, atMs)
    return status.member ? undefined : status.code
  }

  it('admits an enrolled garden', () => {
    const cert = certificate(alice, garden)
    membership.addCertificate(cert)
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member, true)
    assert.equal(status.member ? status.certificate.id : '', cert.id)
  })

  it('rejects a garden without certificate', () => {
    assert.equal(code(), 'ERR_NO_CERTIFICATE')
  })

  it('rejects an expired certificate', () => {
    membership.addCertificate(certificate(alice, garden, { expiresAt: iso(nowMs) }))
    assert.equal(code(), 'ERR_CERTIFICATE_EXPIRED')
  })

  it('expires at the exact time', () => {
    membership.addCertificate(certificate(alice, garden, { expiresAt: iso(nowMs + 1) }))
    assert.equal(code(garden, nowMs), undefined)
    assert.equal(code(garden, nowMs + 1), 'ERR_CERTIFICATE_EXPIRED')
  })

  it('rejects a certificate issued in the future', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs + CLOCK_SKEW_MAX_MS + 1) }))
    assert.equal(code(), 'ERR_CERTIFICATE_NOT_YET_VALID')
  })

  it('accepts an issue time within skew', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs + CLOCK_SKEW_MAX_MS) }))
    assert.equal(code(), undefined)
  })

  it('rejects an issue time beyond skew', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs + CLOCK_SKEW_MAX_MS + 1) }))
    assert.equal(membership.status(garden.id, nowMs).member, false)
  })

  it('uses a current certificate beside an expired one', () => {
    const current = certificate(alice, garden, { issuedAt: iso(nowMs - 2 * DAY_MS) })
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs - DAY_MS), expiresAt: iso(nowMs - 1) }))
    membership.addCertificate(current)
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member ? status.certificate.id : '', current.id)
  })

  it('prefers the newest certificate', () => {
    const older = certificate(alice, garden, { issuedAt: iso(nowMs - 2 * DAY_MS), name: 'old-name' })
    const newer = certificate(alice, garden, { issuedAt: iso(nowMs - DAY_MS), name: 'new-name' })
    membership.addCertificate(newer)
    membership.addCertificate(older)
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member ? status.certificate.body.name : '', 'new-name')
  })

  it('stores a certificate once', () => {
    const cert = certificate(alice, garden)
    membership.addCertificate(cert)
    membership.addCertificate(cert)
    assert.deepEqual(membership.peers(), [garden.id])
  })

  it('rejects a revoked garden', () => {
    membership.addCertificate(certificate(alice, garden))
    membership.addRevocation(revocation(alice, garden, nowMs - 60_000))
    assert.equal(code(), 'ERR_REVOKED')
  })

  it('revokes a certificate issued at the same time', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs - 60_000) }))
    membership.addRevocation(revocation(alice, garden, nowMs - 60_000))
    assert.equal(code(), 'ERR_REVOKED')
  })

  it('revokes before the certificate arrives', () => {
    membership.addRevocation(revocation(alice, garden, nowMs - 60_000))
    membership.addCertificate(certificate(alice, garden))
    assert.equal(code(), 'ERR_REVOKED')
  })

  it('re-enrolls after a revocation', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs - DAY_MS) }))
    membership.addRevocation(revocation(alice, garden, nowMs - 60_000))
    const again = certificate(alice, garden, { seq: 3, issuedAt: iso(nowMs - 30_000) })
    membership.addCertificate(again)
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member ? status.certificate.id : '', again.id)
  })

  it('keeps the latest revocation', () => {
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs - 30_000) }))
    membership.addRevocation(revocation(alice, garden, nowMs - 10_000))
    membership.addRevocation(revocation(alice, garden, nowMs - DAY_MS))
    assert.equal(code(), 'ERR_REVOKED')
  })

  it('revokes only its peer', () => {
    const other = generateKey()
    membership.addCertificate(certificate(alice, garden))
    membership.addCertificate(certificate(alice, other, { name: 'garden-2' }))
    membership.addRevocation(revocation(alice, garden, nowMs))
    assert.equal(code(other), undefined)
  })

  it('ignores a certificate by a non-admin', () => {
    membership.addCertificate(certificate(generateKey(), garden))
    assert.equal(code(), 'ERR_NO_CERTIFICATE')
  })

  it('drops certificates of a removed admin', () => {
    membership.addCertificate(certificate(bob, garden))
    membership.setRoot(rootWith([{ key: alice, scopes: [{ name: 'root' }, { name: 'enroll' }] }], 2))
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member ? '' : status.code, 'ERR_NO_CERTIFICATE')
    assert.match(status.member ? '' : status.reason, /root version 2/)
  })

  it('drops certificates when enroll scope is removed', () => {
    membership.addCertificate(certificate(bob, garden))
    membership.setRoot(rootWith([
      { key: alice, scopes: [{ name: 'root' }, { name: 'enroll' }] },
      { key: bob, scopes: [{ name: 'deploy' }] }
    ], 2))
    assert.equal(code(), 'ERR_NO_CERTIFICATE')
  })

  it('keeps certificates of the remaining admin', () => {
    membership.addCertificate(certificate(bob, garden))
    membership.addCertificate(certificate(alice, garden, { issuedAt: iso(nowMs - 2 * DAY_MS) }))
    membership.setRoot(rootWith([{ key: alice, scopes: [{ name: 'root' }, { name: 'enroll' }] }], 2))
    const status = membership.status(garden.id, nowMs)
    assert.equal(status.member ? status.certificate.body.author : '', alice.id)
  })

  it('ignores certificates outside a tag limit', () => {
    membership.setRoot(rootWith([{ key: bob, scopes: [{ name: 'enroll', tags: ['eu'] }] }], 2))
    membership.addCertificate(certificate(bob, garden, { tags: ['us'] }))
    assert.equal(code(), 'ERR_NO_CERTIFICATE')
  })

  it('exposes its root', () => {
    const root = rootWith([{ key: alice, scopes: [{ name: 'root' }] }], 3)
    membership.setRoot(root)
    assert.equal(membership.root, root)
  })
})

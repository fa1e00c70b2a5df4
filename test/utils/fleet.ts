import { generateKey } from '../../src/keys/index.ts'
import { signRecord } from '../../src/records/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import type { CertificateBody, RootBody, SignedRecord } from '../../src/records/index.ts'

export const DAY_MS = 24 * 60 * 60 * 1000

export interface TestMember {
  key: SigningKey
  name: string
  certificate: SignedRecord<'certificate'>
}

export interface TestFleet {
  fleet: string
  admin: SigningKey
  root: SignedRecord<'root'>
  members: TestMember[]
  /** Certificates signed so far by the admin's feed, to keep its seq and prev links right. */
  adminFeed: { seq: number, prev: string | null }
  enroll: (name: string, init?: Partial<CertificateBody> & { key?: SigningKey }) => TestMember
}

export function iso (ms: number): string {
  return new Date(ms).toISOString()
}

/**
 * Creates a fleet with one admin key holding every scope, a version-1 root
 * and `members` enrolled gardens. Records are signed in memory; nothing is
 * stored.
 */
export function createTestFleet (options: { fleet?: string, members?: number, nowMs?: number } = {}): TestFleet {
  const fleet = options.fleet ?? 'test-fleet'
  const nowMs = options.nowMs ?? Date.now()
  const admin = generateKey()
  const rootBody: RootBody = {
    fleet,
    version: 1,
    prev: null,
    issuedAt: iso(nowMs - DAY_MS),
    expiresAt: iso(nowMs + 365 * DAY_MS),
    threshold: 1,
    admins: [{ name: 'admin', key: admin.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }]
  }
  const root = signRecord('root', rootBody, [admin])
  const adminFeed = { seq: 0, prev: null as string | null }
  const result: TestFleet = {
    fleet,
    admin,
    root,
    members: [],
    adminFeed,
    enroll (name, init = {}) {
      const key = init.key ?? generateKey()
      const { key: _ignored, ...overrides } = init
      const body: CertificateBody = {
        fleet,
        author: admin.id,
        seq: adminFeed.seq + 1,
        prev: adminFeed.prev,
        issuedAt: iso(nowMs - 60_000),
        peer: key.id,
        name,
        roles: ['garden'],
        tags: [],
        expiresAt: iso(nowMs + 30 * DAY_MS),
        ...overrides
      }
      const certificate = signRecord('certificate', body, [admin])
      adminFeed.seq = body.seq
      adminFeed.prev = certificate.id
      const member = { key, name, certificate }
      result.members.push(member)
      return member
    }
  }
  for (let i = 0; i < (options.members ?? 0); i++) {
    result.enroll(`garden-${i + 1}`)
  }
  return result
}

import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { SignaturePool, TrustState, createBatchIngest, createIngest } from '../../../src/network/index.ts'
import type { Ingest, IngestBatch, IngestInit, IngestMeta } from '../../../src/network/index.ts'
import { deploymentId, signRecord } from '../../../src/records/index.ts'
import type { DeployIntentBody, RootBody, SignedRecord } from '../../../src/records/index.ts'
import { createTestFleet, iso, DAY_MS } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { signIntent, signRevocation } from './helpers.ts'
import { openTestStore } from './store.ts'

const encoder = new TextEncoder()
const GOSSIP: IngestMeta = { via: 'gossip', from: '12D3KooWSowerTestPeer' }
const SYNC: IngestMeta = { via: 'sync', from: '12D3KooWSowerTestPeer' }
const BUNDLE: IngestMeta = { via: 'bundle' }
const LOCAL: IngestMeta = { via: 'local' }

function expiredIntent (s: Setup): SignedRecord<'intent'> {
  return signIntent(s.fleet, { issuedAt: iso(Date.now() - 2 * DAY_MS), expiresAt: iso(Date.now() - DAY_MS) })
}

function futureIntent (s: Setup): SignedRecord<'intent'> {
  return signIntent(s.fleet, { issuedAt: iso(Date.now() + DAY_MS), expiresAt: iso(Date.now() + 2 * DAY_MS) })
}

interface Setup {
  fleet: TestFleet
  store: any
  trust: TrustState
  ingest: Ingest
  ingestBatch: IngestBatch
  forks: string[]
  close: () => Promise<void>
}

async function setup (fleet = createTestFleet({ members: 2 })): Promise<Setup> {
  const opened = await openTestStore()
  const store = opened.store
  for (const member of fleet.members) {
    await store.put(member.certificate, { via: 'local', receivedAt: new Date().toISOString() })
  }
  const trust = new TrustState({ store, logger: silentLogger() }, { root: fleet.root })
  await trust.load()
  const forks: string[] = []
  const init: IngestInit = { onFork: async (record) => { forks.push(record.id) } }
  const ingest = createIngest({ store, trust, logger: silentLogger() }, init)
  // Batches of any size go to the worker, so that tests cover it.
  const signatures = new SignaturePool({ workers: 1, chunkChecks: 4, minParallelChecks: 1, logger: silentLogger() })
  signatures.start()
  const ingestBatch = createBatchIngest({ store, trust, logger: silentLogger(), signatures }, init)
  const close = async (): Promise<void> => {
    await signatures.stop()
    await opened.close()
  }
  return { fleet, store, trust, ingest, ingestBatch, forks, close }
}

function reportBy (fleet: TestFleet, memberIndex: number, seq: number, prev: string | null, issuedAtMs = Date.now()): SignedRecord<'report'> {
  const member = fleet.members[memberIndex]
  return signRecord('report', {
    fleet: fleet.fleet,
    author: member.key.id,
    seq,
    prev,
    issuedAt: iso(issuedAtMs),
    agentVersion: '0.1.0',
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [member.key])
}

/** Signs the first event of a member's feed, in the deployment of `intent` and `seed` on `garden`. */
function eventBy (s: Setup, memberIndex: number, deployment: { intent: string, seed: string, garden: string }): SignedRecord<'event'> {
  const member = s.fleet.members[memberIndex]
  return signRecord('event', {
    fleet: s.fleet.fleet,
    author: member.key.id,
    seq: 1,
    prev: null,
    issuedAt: iso(Date.now()),
    deployment: deploymentId(deployment.intent, deployment.seed, deployment.garden),
    intent: deployment.intent,
    seed: 'hello',
    kind: 'received'
  }, [member.key])
}

/** Stores and applies the next root version with `admins` beside the fleet's own admin. */
async function nextRoot (s: Setup, admins: RootBody['admins']): Promise<void> {
  const current = s.trust.root
  const body: RootBody = {
    ...current.body,
    version: current.body.version + 1,
    prev: current.id,
    admins: [s.fleet.root.body.admins[0], ...admins]
  }
  const outcome = await s.ingest(signRecord('root', body, [s.fleet.admin]).bytes, GOSSIP)
  assert.equal(outcome.code, 'OK', outcome.reason)
}

/** Adds an admin key with `scopes` to the root and returns it. */
async function addAdmin (s: Setup, name: string, scopes: RootBody['admins'][number]['scopes']): Promise<SigningKey> {
  const key = generateKey()
  await nextRoot(s, [{ name, key: key.id, scopes }])
  return key
}

/** Signs the first intent of `key`'s own feed. */
function intentBy (s: Setup, key: SigningKey, overrides: Partial<DeployIntentBody> = {}): SignedRecord<'intent'> {
  const body = { ...signIntent(s.fleet).body, author: key.id, seq: 1, prev: null, ...overrides } as DeployIntentBody
  return signRecord('intent', body, [key])
}

/** Signs the first certificate of `key`'s own feed for a new garden. */
function certificateBy (s: Setup, key: SigningKey, tags: string[] = []): SignedRecord<'certificate'> {
  const body = { ...s.fleet.members[1].certificate.body, author: key.id, seq: 1, prev: null, peer: generateKey().id, tags }
  return signRecord('certificate', body, [key])
}

/** Signs the first revocation of `key`'s own feed. */
function revocationBy (s: Setup, key: SigningKey): SignedRecord<'revocation'> {
  return signRecord('revocation', {
    fleet: s.fleet.fleet,
    author: key.id,
    seq: 1,
    prev: null,
    issuedAt: iso(Date.now()),
    peer: s.fleet.members[0].key.id,
    reason: 'retired'
  }, [key])
}

/** Returns the bytes of a record with one body field changed after signing. */
function tampered (record: SignedRecord, field: string, value: unknown): Uint8Array {
  const json = JSON.parse(new TextDecoder().decode(record.bytes))
  json.body[field] = value
  return encoder.encode(JSON.stringify(json))
}

describe('ingest', () => {
  let s: Setup
  beforeEach(async () => { s = await setup() })
  afterEach(async () => { await s.close() })

  const cases: Array<{ name: string, action: 'accept' | 'ignore' | 'reject', code: string, bytes: (s: Setup) => Uint8Array | Promise<Uint8Array>, meta?: IngestMeta }> = [
    { name: 'accepts a valid intent', action: 'accept', code: 'OK', bytes: s => signIntent(s.fleet).bytes },
    { name: 'accepts a member report', action: 'accept', code: 'OK', bytes: s => reportBy(s.fleet, 0, 1, null).bytes },
    { name: 'rejects oversized bytes', action: 'reject', code: 'ERR_RECORD_TOO_LARGE', bytes: () => new Uint8Array(1024 * 1024 + 1) },
    { name: 'rejects malformed JSON', action: 'reject', code: 'ERR_RECORD_JSON', bytes: () => encoder.encode('{"type":') },
    { name: 'rejects invalid UTF-8', action: 'reject', code: 'ERR_RECORD_JSON', bytes: () => Uint8Array.from([0xff, 0xfe, 0x7b]) },
    { name: 'rejects a wrong schema', action: 'reject', code: 'ERR_RECORD_SCHEMA', bytes: () => encoder.encode('{"type":"intent","body":{},"signatures":[]}') },
    {
      name: 'rejects a non-canonical form',
      action: 'reject',
      code: 'ERR_NOT_CANONICAL',
      bytes: s => encoder.encode(JSON.stringify(JSON.parse(new TextDecoder().decode(signIntent(s.fleet).bytes)), null, 1))
    },
    { name: 'rejects a forged signature', action: 'reject', code: 'ERR_SIGNATURE', bytes: s => tampered(signIntent(s.fleet), 'targets', ['tag:evil']) },
    {
      name: 'rejects a report signed by another key',
      action: 'reject',
      code: 'ERR_SIGNATURE',
      bytes: s => {
        const report = reportBy(s.fleet, 0, 1, null)
        return signRecord('report', report.body, [s.fleet.members[1].key]).bytes
      }
    },
    {
      name: 'accepts an event of its own deployment',
      action: 'accept',
      code: 'OK',
      bytes: s => eventBy(s, 0, { intent: signIntent(s.fleet).id, seed: 'hello', garden: s.fleet.members[0].key.id }).bytes
    },
    {
      name: 'rejects an event of another garden',
      action: 'reject',
      code: 'ERR_DEPLOYMENT_ID',
      bytes: s => eventBy(s, 0, { intent: signIntent(s.fleet).id, seed: 'hello', garden: s.fleet.members[1].key.id }).bytes
    },
    {
      name: 'rejects an event of another seed',
      action: 'reject',
      code: 'ERR_DEPLOYMENT_ID',
      bytes: s => eventBy(s, 0, { intent: signIntent(s.fleet).id, seed: 'web', garden: s.fleet.members[0].key.id }).bytes
    },
    {
      name: 'rejects an event of another intent',
      action: 'reject',
      code: 'ERR_DEPLOYMENT_ID',
      bytes: s => {
        const [intent, other] = [signIntent(s.fleet), signIntent(s.fleet)]
        const event = eventBy(s, 0, { intent: other.id, seed: 'hello', garden: s.fleet.members[0].key.id })
        return signRecord('event', { ...event.body, intent: intent.id }, [s.fleet.members[0].key]).bytes
      }
    },
    {
      name: 'rejects an event of another garden from sync',
      action: 'reject',
      code: 'ERR_DEPLOYMENT_ID',
      bytes: s => eventBy(s, 0, { intent: signIntent(s.fleet).id, seed: 'hello', garden: s.fleet.members[1].key.id }).bytes,
      meta: SYNC
    },
    { name: 'rejects another fleet', action: 'reject', code: 'ERR_WRONG_FLEET', bytes: s => signIntent(s.fleet, { fleet: 'other-fleet' }).bytes },
    { name: 'rejects the wrong topic', action: 'reject', code: 'ERR_WRONG_TOPIC', bytes: s => signIntent(s.fleet).bytes, meta: { ...GOSSIP, topic: 'report' } },
    { name: 'ignores an intent by an unknown key', action: 'ignore', code: 'ERR_UNKNOWN_SIGNER', bytes: s => intentBy(s, generateKey()).bytes },
    { name: 'ignores a certificate by a garden key', action: 'ignore', code: 'ERR_UNKNOWN_SIGNER', bytes: s => certificateBy(s, s.fleet.members[0].key).bytes },
    { name: 'ignores a revocation by an unknown key', action: 'ignore', code: 'ERR_UNKNOWN_SIGNER', bytes: s => revocationBy(s, generateKey()).bytes },
    {
      name: 'ignores an intent by a removed admin',
      action: 'ignore',
      code: 'ERR_UNKNOWN_SIGNER',
      bytes: async s => {
        const removed = await addAdmin(s, 'removed', [{ name: 'deploy' }])
        const intent = intentBy(s, removed)
        await nextRoot(s, [])
        return intent.bytes
      }
    },
    {
      name: 'rejects an intent without deploy scope',
      action: 'reject',
      code: 'ERR_SCOPE',
      bytes: async s => intentBy(s, await addAdmin(s, 'enroller', [{ name: 'enroll' }])).bytes
    },
    {
      name: 'rejects an intent outside its seeds',
      action: 'reject',
      code: 'ERR_SCOPE_LIMIT',
      bytes: async s => intentBy(s, await addAdmin(s, 'web-deployer', [{ name: 'deploy', seeds: ['web'] }])).bytes
    },
    {
      name: 'rejects a certificate without enroll scope',
      action: 'reject',
      code: 'ERR_SCOPE',
      bytes: async s => certificateBy(s, await addAdmin(s, 'deployer', [{ name: 'deploy' }])).bytes
    },
    {
      name: 'rejects a certificate outside its tags',
      action: 'reject',
      code: 'ERR_SCOPE_LIMIT',
      bytes: async s => certificateBy(s, await addAdmin(s, 'lab-enroller', [{ name: 'enroll', tags: ['lab'] }]), ['prod']).bytes
    },
    {
      name: 'rejects a revocation without enroll scope',
      action: 'reject',
      code: 'ERR_SCOPE',
      bytes: async s => revocationBy(s, await addAdmin(s, 'deployer', [{ name: 'deploy' }])).bytes
    },
    { name: 'ignores an expired intent', action: 'ignore', code: 'ERR_EXPIRED', bytes: s => expiredIntent(s).bytes },
    { name: 'ignores a published expired intent', action: 'ignore', code: 'ERR_EXPIRED', bytes: s => expiredIntent(s).bytes, meta: LOCAL },
    { name: 'stores an expired intent from sync', action: 'accept', code: 'OK_EXPIRED', bytes: s => expiredIntent(s).bytes, meta: SYNC },
    { name: 'stores an expired intent from a bundle', action: 'accept', code: 'OK_EXPIRED', bytes: s => expiredIntent(s).bytes, meta: BUNDLE },
    {
      name: 'rejects a forged expired intent from sync',
      action: 'reject',
      code: 'ERR_SIGNATURE',
      bytes: s => tampered(expiredIntent(s), 'targets', ['tag:evil']),
      meta: SYNC
    },
    {
      name: 'ignores an expired intent by an unknown key',
      action: 'ignore',
      code: 'ERR_UNKNOWN_SIGNER',
      bytes: s => intentBy(s, generateKey(), { issuedAt: iso(Date.now() - 2 * DAY_MS), expiresAt: iso(Date.now() - DAY_MS) }).bytes,
      meta: SYNC
    },
    { name: 'ignores a record from the future', action: 'ignore', code: 'ERR_FROM_FUTURE', bytes: s => futureIntent(s).bytes },
    { name: 'ignores a published future record', action: 'ignore', code: 'ERR_FROM_FUTURE', bytes: s => futureIntent(s).bytes, meta: LOCAL },
    { name: 'ignores a future record from sync', action: 'ignore', code: 'ERR_FROM_FUTURE', bytes: s => futureIntent(s).bytes, meta: SYNC },
    { name: 'ignores a future record from a bundle', action: 'ignore', code: 'ERR_FROM_FUTURE', bytes: s => futureIntent(s).bytes, meta: BUNDLE },
    {
      name: 'ignores a report of an unknown garden',
      action: 'ignore',
      code: 'ERR_NO_CERTIFICATE',
      bytes: s => {
        const stranger = generateKey()
        return signRecord('report', { ...reportBy(s.fleet, 0, 1, null).body, author: stranger.id }, [stranger]).bytes
      }
    },
    {
      name: 'ignores a report of a revoked garden',
      action: 'ignore',
      code: 'ERR_REVOKED',
      bytes: async s => {
        const report = reportBy(s.fleet, 0, 1, null)
        assert.equal((await s.ingest(signRevocation(s.fleet, s.fleet.members[0].key.id, 'retired').bytes, GOSSIP)).action, 'accept')
        return report.bytes
      }
    },
    {
      name: 'ignores a report of an expired certificate',
      action: 'ignore',
      code: 'ERR_CERTIFICATE_EXPIRED',
      bytes: async s => {
        const garden = generateKey()
        const joined = s.fleet.enroll('garden-expired', { key: garden, issuedAt: iso(Date.now() - 2 * DAY_MS), expiresAt: iso(Date.now() - DAY_MS) })
        await s.store.put(joined.certificate, { via: 'local', receivedAt: new Date().toISOString() })
        s.trust.apply(joined.certificate)
        return signRecord('report', { ...reportBy(s.fleet, 0, 1, null).body, author: garden.id }, [garden]).bytes
      }
    },
    { name: 'ignores a stale root', action: 'ignore', code: 'ERR_ROOT_STALE', bytes: s => signRecord('root', { ...s.fleet.root.body, expiresAt: iso(Date.now() + 2 * DAY_MS) }, [s.fleet.admin]).bytes },
    {
      name: 'ignores a root that skips a version',
      action: 'ignore',
      code: 'ERR_ROOT_GAP',
      bytes: s => signRecord('root', { ...s.fleet.root.body, version: 3, prev: s.fleet.root.id }, [s.fleet.admin]).bytes
    },
    {
      name: 'rejects a root not signed by the old keys',
      action: 'reject',
      code: 'ERR_ROOT_THRESHOLD',
      bytes: s => {
        const usurper = generateKey()
        const body = { ...s.fleet.root.body, version: 2, prev: s.fleet.root.id, admins: [{ name: 'usurper', key: usurper.id, scopes: [{ name: 'root' as const }] }] }
        return signRecord('root', body, [usurper]).bytes
      }
    }
  ]

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const bytes = await testCase.bytes(s)
      const outcome = await s.ingest(bytes, testCase.meta ?? GOSSIP)
      assert.equal(outcome.code, testCase.code, outcome.reason)
      assert.equal(outcome.action, testCase.action)
      const stored = outcome.record != null && await s.store.has(outcome.record.id)
      assert.equal(stored, testCase.action === 'accept')
    })
  }

  it('ignores a replayed record', async () => {
    const intent = signIntent(s.fleet)
    await s.ingest(intent.bytes, GOSSIP)
    const outcome = await s.ingest(intent.bytes, GOSSIP)
    assert.equal(outcome.action, 'ignore')
    assert.equal(outcome.code, 'ERR_KNOWN')
  })

  it('accepts the next root version', async () => {
    const body = { ...s.fleet.root.body, version: 2, prev: s.fleet.root.id }
    const outcome = await s.ingest(signRecord('root', body, [s.fleet.admin]).bytes, GOSSIP)
    assert.equal(outcome.action, 'accept')
    assert.equal(s.trust.root.body.version, 2)
  })

  it('admits a peer with a new certificate', async () => {
    const garden = generateKey()
    const joined = s.fleet.enroll('garden-new', { key: garden })
    await s.ingest(joined.certificate.bytes, GOSSIP)
    assert.equal(s.trust.isMember(garden.id), true)
  })

  it('revokes a member', async () => {
    const peer = s.fleet.members[0].key.id
    const revocation = signRecord('revocation', {
      fleet: s.fleet.fleet,
      author: s.fleet.admin.id,
      seq: s.fleet.adminFeed.seq + 1,
      prev: s.fleet.adminFeed.prev,
      issuedAt: iso(Date.now()),
      peer,
      reason: 'laptop stolen'
    }, [s.fleet.admin])
    const outcome = await s.ingest(revocation.bytes, GOSSIP)
    assert.equal(outcome.action, 'accept')
    assert.equal(s.trust.status(peer).member, false)
  })

  it('ignores a fork and reports it', async () => {
    const first = reportBy(s.fleet, 0, 1, null)
    const second = reportBy(s.fleet, 0, 1, null, Date.now() - 1000)
    await s.ingest(first.bytes, GOSSIP)
    const outcome = await s.ingest(second.bytes, GOSSIP)
    assert.equal(outcome.action, 'ignore')
    assert.equal(outcome.code, 'ERR_FORK')
    assert.deepEqual(s.forks, [second.id])
  })

  it('ignores a refused author', async () => {
    const first = reportBy(s.fleet, 0, 1, null)
    await s.ingest(first.bytes, GOSSIP)
    await s.ingest(reportBy(s.fleet, 0, 1, null, Date.now() - 1000).bytes, GOSSIP)
    const outcome = await s.ingest(reportBy(s.fleet, 0, 2, first.id).bytes, GOSSIP)
    assert.equal(outcome.action, 'ignore')
    assert.equal(outcome.code, 'ERR_AUTHOR_REFUSED')
  })

  it('maps its own failure to ignore', async () => {
    s.store.hasMany = () => { throw new Error('disk on fire') }
    const outcome = await s.ingest(signIntent(s.fleet).bytes, GOSSIP)
    assert.equal(outcome.action, 'ignore')
    assert.equal(outcome.code, 'ERR_INTERNAL')
  })

  it('judges a batch as one by one', async () => {
    const fleet = s.fleet
    const alone = await setup(fleet)
    const joined = fleet.enroll('garden-new')
    const newcomer = signRecord('report', { ...reportBy(fleet, 0, 1, null).body, author: joined.key.id }, [joined.key])
    const first = reportBy(fleet, 0, 1, null)
    const fork = [reportBy(fleet, 1, 1, null), reportBy(fleet, 1, 1, null, Date.now() - 1000)]
    const stranger = generateKey()
    const batch = [
      signIntent(fleet).bytes,
      encoder.encode('{"type":'),
      tampered(signIntent(fleet), 'targets', ['tag:evil']),
      newcomer.bytes,
      first.bytes,
      first.bytes,
      signRecord('report', { ...first.body, author: stranger.id }, [stranger]).bytes,
      joined.certificate.bytes,
      expiredIntent(s).bytes,
      eventBy(s, 1, { intent: signIntent(fleet).id, seed: 'hello', garden: fleet.members[0].key.id }).bytes,
      fork[0].bytes,
      fork[1].bytes,
      reportBy(fleet, 1, 2, fork[0].id).bytes,
      intentBy(s, stranger).bytes,
      signIntent(fleet, { fleet: 'other-fleet' }).bytes,
      futureIntent(s).bytes,
      signRevocation(fleet, joined.key.id, 'retired').bytes,
      reportBy(fleet, 0, 2, first.id).bytes
    ]
    try {
      // Trust records go first, then the rest in batch order.
      const isTrust = (bytes: Uint8Array): boolean => /"type":"(certificate|revocation)"}$/.test(new TextDecoder().decode(bytes))
      const order = [...batch.keys()].sort((a, b) => Number(isTrust(batch[b])) - Number(isTrust(batch[a])))
      const expected = new Map<number, { action: string, code: string }>()
      for (const index of order) {
        const { action, code } = await alone.ingest(batch[index], SYNC)
        expected.set(index, { action, code })
      }
      const outcomes = await s.ingestBatch(batch, SYNC)
      assert.deepEqual(outcomes.map(({ action, code }) => ({ action, code })), batch.map((_, index) => expected.get(index)))
      assert.equal(new Set(outcomes.map(outcome => outcome.code)).size, 13)
      assert.deepEqual(s.forks, alone.forks)
      assert.deepEqual(await s.store.heads(), await alone.store.heads())
    } finally {
      await alone.close()
    }
  })
})

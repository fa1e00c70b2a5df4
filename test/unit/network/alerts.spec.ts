import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { SignaturePool, TrustState, createBatchIngest, createIngest, judgeRecord } from '../../../src/network/index.ts'
import type { Ingest, IngestBatch, IngestInit, IngestMeta } from '../../../src/network/index.ts'
import { signRecord, toEvidence } from '../../../src/records/index.ts'
import type { AlertBody, ForkPair, SignedRecord } from '../../../src/records/index.ts'
import type { RecordStore } from '../../../src/store/index.ts'
import { forkOf, reportAt, signAlert } from '../../utils/alerts.ts'
import { DAY_MS, createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { openTestStore } from './store.ts'

const GOSSIP: IngestMeta = { via: 'gossip', from: '12D3KooWSowerTestPeer' }
const SYNC: IngestMeta = { via: 'sync', from: '12D3KooWSowerTestPeer' }

interface Setup {
  fleet: TestFleet
  store: RecordStore
  trust: TrustState
  ingest: Ingest
  ingestBatch: IngestBatch
  /** Ids of records that completed a fork the store detected itself. */
  forks: string[]
  reporter: TestMember
  subject: TestMember
  pair: [SignedRecord<'report'>, SignedRecord<'report'>]
  close: () => Promise<void>
}

async function setup (): Promise<Setup> {
  const fleet = createTestFleet({ members: 3 })
  const opened = await openTestStore()
  const store = opened.store
  for (const member of fleet.members) {
    await store.put(member.certificate, { via: 'local', receivedAt: new Date().toISOString() })
  }
  const trust = new TrustState({ store, logger: silentLogger() }, { root: fleet.root })
  await trust.load()
  const forks: string[] = []
  const init: IngestInit = { onFork: async (record) => { forks.push(record.id) } }
  const signatures = new SignaturePool({ workers: 1, chunkChecks: 2, minParallelChecks: 1, logger: silentLogger() })
  signatures.start()
  const [reporter, subject] = fleet.members
  return {
    fleet,
    store,
    trust,
    ingest: createIngest({ store, trust, logger: silentLogger() }, init),
    ingestBatch: createBatchIngest({ store, trust, logger: silentLogger(), signatures }, init),
    forks,
    reporter,
    subject,
    pair: forkOf(fleet.fleet, subject.key),
    close: async () => {
      await signatures.stop()
      await opened.close()
    }
  }
}

/** Signs a revocation of `peer` by the fleet's admin at its next seq; `index` distinguishes two of them. */
function revokeAt (fleet: TestFleet, index: number, peer = fleet.members[1].key.id): SignedRecord<'revocation'> {
  return signRecord('revocation', {
    fleet: fleet.fleet,
    author: fleet.admin.id,
    seq: fleet.adminFeed.seq + 1,
    prev: fleet.adminFeed.prev,
    issuedAt: new Date().toISOString(),
    peer,
    reason: `retired ${index}`
  }, [fleet.admin])
}

/** Replaces the second evidence record of an alert body with `record`. */
function replaceSecond (body: AlertBody, record: SignedRecord): void {
  body.evidence[1] = toEvidence(record)
  body.records[1] = record.id
}

describe('alert ingest', () => {
  let s: Setup
  beforeEach(async () => { s = await setup() })
  afterEach(async () => { await s.close() })

  it('accepts an alert with valid evidence', async () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const outcome = await s.ingest(alert.bytes, GOSSIP)
    assert.equal(outcome.code, 'OK', outcome.reason)
    assert.equal(await s.store.has(alert.id), true)
  })

  it('refuses the subject of a valid alert', async () => {
    await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP)
    assert.equal(s.store.isRefused(s.subject.key.id), true)
    const later = await s.ingest(reportAt(s.fleet.fleet, s.subject.key, 2, s.pair[0].id).bytes, GOSSIP)
    assert.equal(later.code, 'ERR_AUTHOR_REFUSED')
  })

  it('records who reported the fork', async () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    await s.ingest(alert.bytes, GOSSIP)
    const [evidence] = await s.store.refusals()
    assert.deepEqual(evidence.records, s.pair.map(record => record.id))
    assert.equal(evidence.alert, alert.id)
    assert.equal(evidence.reportedBy, s.reporter.key.id)
  })

  it('keeps the evidence out of the feed', async () => {
    await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP)
    assert.equal((await s.store.get(s.pair[0].id))?.id, s.pair[0].id)
    assert.equal((await s.store.get(s.pair[1].id))?.id, s.pair[1].id)
    assert.equal(await s.store.getBySeq(s.subject.key.id, 1), undefined)
    assert.equal(await s.store.latestReport(s.subject.key.id), undefined)
  })

  it('raises no fork of its own', async () => {
    await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP)
    assert.deepEqual(s.forks, [])
  })

  it('accepts a second alert about a known fork', async () => {
    await s.ingest(s.pair[0].bytes, GOSSIP)
    await s.ingest(s.pair[1].bytes, GOSSIP)
    const outcome = await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP)
    assert.equal(outcome.code, 'OK', outcome.reason)
    assert.deepEqual(s.forks, [s.pair[1].id])
    const [evidence] = await s.store.refusals()
    assert.equal(evidence.reportedBy, undefined)
  })

  it('learns a fork below the floor', async () => {
    const old = reportAt(s.fleet.fleet, s.subject.key, 1, null, '1.0.0', Date.now() - 2 * DAY_MS)
    await s.ingest(old.bytes, SYNC)
    await s.ingest(reportAt(s.fleet.fleet, s.subject.key, 2, old.id).bytes, SYNC)
    await s.store.compact({ maxAgeMs: DAY_MS })
    assert.equal(await s.store.floor(s.subject.key.id), 2)
    const other = reportAt(s.fleet.fleet, s.subject.key, 1, null, '6.6.6', Date.now() - 2 * DAY_MS)

    const outcome = await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, [old, other]).bytes, GOSSIP)

    assert.equal(outcome.code, 'OK', outcome.reason)
    assert.equal(s.store.isRefused(s.subject.key.id), true)
  })

  it('ignores a self-reported fork after learning it', async () => {
    const alert = signAlert(s.fleet.fleet, s.subject.key, s.pair)
    const outcome = await s.ingest(alert.bytes, GOSSIP)
    assert.equal(outcome.code, 'ERR_AUTHOR_REFUSED')
    assert.equal(s.store.isRefused(s.subject.key.id), true)
  })

  it('ignores an alert about an unknown key', async () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, forkOf(s.fleet.fleet, generateKey()))
    const outcome = await s.ingest(alert.bytes, GOSSIP)
    assert.equal(outcome.code, 'ERR_UNKNOWN_SUBJECT', outcome.reason)
    assert.equal(outcome.action, 'ignore')
    assert.equal(await s.store.has(alert.id), false)
    assert.equal((await s.store.refusals()).length, 0)
  })

  it('accepts an alert about an admin key', async () => {
    const admin = s.fleet.admin
    const pair = [0, 1].map(index => revokeAt(s.fleet, index)) as ForkPair
    const outcome = await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, pair).bytes, GOSSIP)
    assert.equal(outcome.code, 'OK', outcome.reason)
    assert.equal(s.store.isRefused(admin.id), true)
  })

  it('accepts an alert about a revoked garden', async () => {
    const revocation = revokeAt(s.fleet, 0, s.subject.key.id)
    assert.equal((await s.ingest(revocation.bytes, GOSSIP)).code, 'OK')
    const outcome = await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP)
    assert.equal(outcome.code, 'OK', outcome.reason)
  })

  it('keeps evidence records out of the membership', async () => {
    const pair = [0, 1].map(index => revokeAt(s.fleet, index, s.reporter.key.id)) as ForkPair
    await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, pair).bytes, GOSSIP)
    const reloaded = new TrustState({ store: s.store, logger: silentLogger() }, { root: s.fleet.root })
    await reloaded.load()
    assert.equal(reloaded.isMember(s.reporter.key.id), true)
  })

  const stranger = generateKey()
  const badEvidence: Array<{ name: string, code: string, change: (s: Setup, body: AlertBody) => void }> = [
    { name: 'undecodable', code: 'ERR_EVIDENCE_SCHEMA', change: (_s, body) => { body.evidence[1].body.subscriptions = 'none' } },
    { name: 'wrong author', code: 'ERR_EVIDENCE_AUTHOR', change: (s, body) => { replaceSecond(body, reportAt(s.fleet.fleet, stranger, 1, null)) } },
    { name: 'other fleet', code: 'ERR_EVIDENCE_FLEET', change: (s, body) => { replaceSecond(body, reportAt('other-fleet', s.subject.key, 1, null)) } },
    { name: 'wrong seq', code: 'ERR_EVIDENCE_SEQ', change: (s, body) => { replaceSecond(body, reportAt(s.fleet.fleet, s.subject.key, 3, s.pair[0].id)) } },
    {
      name: 'same id twice',
      code: 'ERR_EVIDENCE_SAME',
      change: (_s, body) => {
        body.evidence[1] = body.evidence[0]
        body.records[1] = body.records[0]
      }
    },
    {
      name: 'bad signature',
      code: 'ERR_EVIDENCE_SIGNATURE',
      change: (s, body) => { replaceSecond(body, signRecord('report', s.pair[1].body, [stranger])) }
    }
  ]

  for (const testCase of badEvidence) {
    for (const [path, ingestOf] of [['one', (s: Setup) => s.ingest], ['batch', (s: Setup) => batchOfOne(s.ingestBatch)]] as const) {
      it(`rejects ${testCase.name} evidence (${path})`, async () => {
        const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair, body => { testCase.change(s, body) })
        const outcome = await ingestOf(s)(alert.bytes, GOSSIP)
        assert.equal(outcome.code, testCase.code, outcome.reason)
        assert.equal(outcome.action, 'reject')
        assert.equal(await s.store.has(alert.id), false)
        assert.equal(s.store.isRefused(s.subject.key.id), false)
      })
    }
  }

  it('judges evidence before publishing', () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair, body => {
      replaceSecond(body, signRecord('report', s.pair[1].body, [stranger]))
    })
    assert.equal(judgeRecord(s.trust, alert, Date.now())?.code, 'ERR_EVIDENCE_SIGNATURE')
  })

  it('passes a valid alert before publishing', () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    assert.equal(judgeRecord(s.trust, alert, Date.now()), null)
  })

  it('ignores a second alert by gossip', async () => {
    const first = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const second = nextAlert(s, first)
    await s.ingest(first.bytes, GOSSIP)
    const outcome = await s.ingest(second.bytes, GOSSIP)
    assert.equal(outcome.code, 'ERR_ALERT_KNOWN', outcome.reason)
    assert.equal(outcome.action, 'ignore')
    assert.equal(await s.store.has(second.id), false)
  })

  it('ignores a second alert in one batch', async () => {
    const first = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const second = nextAlert(s, first)
    const outcomes = await s.ingestBatch([first.bytes, second.bytes], GOSSIP)
    assert.deepEqual(outcomes.map(({ code }) => code), ['OK', 'ERR_ALERT_KNOWN'])
    assert.equal(await s.store.has(second.id), false)
  })

  it('ignores a second alert in concurrent batches', async () => {
    const first = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const second = nextAlert(s, first)
    const outcomes = await Promise.all([s.ingestBatch([first.bytes], GOSSIP), s.ingestBatch([second.bytes], GOSSIP)])
    assert.deepEqual(outcomes.map(([{ code }]) => code), ['OK', 'ERR_ALERT_KNOWN'])
  })

  it('keeps a second alert by sync as history', async () => {
    const first = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const second = nextAlert(s, first)
    await s.ingest(first.bytes, GOSSIP)
    const outcome = await s.ingest(second.bytes, SYNC)
    assert.equal(outcome.code, 'OK_HISTORY', outcome.reason)
    assert.equal(outcome.action, 'accept')
    assert.equal(await s.store.has(second.id), true)
    assert.equal((await s.store.heads()).get(s.reporter.key.id), 2)
  })

  it('keeps alerts of two authors', async () => {
    const other = s.fleet.members[2]
    const outcomes = [
      await s.ingest(signAlert(s.fleet.fleet, s.reporter.key, s.pair).bytes, GOSSIP),
      await s.ingest(signAlert(s.fleet.fleet, other.key, s.pair).bytes, GOSSIP)
    ]
    assert.deepEqual(outcomes.map(({ code }) => code), ['OK', 'OK'])
    assert.equal(s.store.hasAlertAbout(other.key.id, s.subject.key.id), true)
  })

  it('learns a fork from a sync batch', async () => {
    const alert = signAlert(s.fleet.fleet, s.reporter.key, s.pair)
    const [outcome] = await s.ingestBatch([alert.bytes], SYNC)
    assert.equal(outcome.code, 'OK', outcome.reason)
    assert.equal(s.store.isRefused(s.subject.key.id), true)
  })
})

/** Signs the next alert in the feed of `first`'s author, about the same fork. */
function nextAlert (s: Setup, first: SignedRecord<'alert'>): SignedRecord<'alert'> {
  return signAlert(s.fleet.fleet, s.reporter.key, s.pair, body => {
    body.seq = first.seq + 1
    body.prev = first.id
  })
}

function batchOfOne (ingestBatch: IngestBatch): Ingest {
  return async (bytes, meta) => (await ingestBatch([bytes], meta))[0]
}

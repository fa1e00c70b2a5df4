import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { deploymentId, forkFields } from '../../../src/records/index.ts'
import type { ForkFields, SignedRecord } from '../../../src/records/index.ts'
import { COMPACTION_BATCH_RECORDS } from '../../../src/store/index.ts'
import type { RecordStore } from '../../../src/store/index.ts'
import { FLEET, FeedSigner, T0_MS, at, deployBody, eventBody, metaAt, reportBody } from './records.ts'
import { TempStores } from './temp-store.ts'

const INTENT = 'int_' + 'c'.repeat(52)
const NOW_MS = T0_MS + 100_000

describe('RecordStore compaction', () => {
  const temp = new TempStores()
  let store: RecordStore
  let garden: FeedSigner
  let feed: SignedRecord[]

  function event (seed: string, kind: 'received' | 'result', offsetMs: number): SignedRecord {
    const init = { intent: INTENT, seed, garden: garden.key.id, kind, offsetMs }
    return garden.sign('event', eventBody(kind === 'result' ? { ...init, result: 'success' } : init))
  }

  /**
   * seq 1 report, 2-3 a closed deployment, 4 an open one, 5 report,
   * 6-7 a closed deployment, 8 the latest report.
   */
  beforeEach(async () => {
    store = await temp.open()
    garden = new FeedSigner(generateKey())
    feed = [
      garden.sign('report', reportBody(0)),
      event('one', 'received', 1000),
      event('one', 'result', 2000),
      event('two', 'received', 3000),
      garden.sign('report', reportBody(4000)),
      event('three', 'received', 5000),
      event('three', 'result', 6000),
      garden.sign('report', reportBody(7000))
    ]
    await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))
  })

  afterEach(async () => {
    await temp.cleanup()
  })

  it('drops a prefix up to an open deployment', async () => {
    const dropped = await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(dropped, 3)
    assert.equal(await store.floor(garden.key.id), 4)
    assert.equal(await store.has(feed[2].id), false)
    assert.equal(await store.has(feed[3].id), true)
  })

  it('keeps heads and reports no dropped seq as missing', async () => {
    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal((await store.heads()).get(garden.key.id), 8)
    assert.deepEqual(await store.missing(garden.key.id, 10, 10), [9, 10])
    assert.deepEqual((await store.range(garden.key.id, 1, 10)).map(record => record.seq), [4, 5, 6, 7, 8])
  })

  it('treats a dropped record arriving again as duplicate', async () => {
    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.deepEqual(await store.put(feed[0], metaAt(0)), { status: 'duplicate' })
    assert.equal(await store.has(feed[0].id), false)
  })

  it('removes dropped records from the indexes but not the views', async () => {
    const deployment = deploymentId(INTENT, 'one', garden.key.id)
    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.deepEqual(await store.eventsOfDeployment(deployment), [])
    assert.equal((await store.deployment(deployment))?.result, 'success')
    const reports: string[] = []
    for await (const record of store.listByType('report')) {
      reports.push(record.id)
    }
    assert.deepEqual(reports, [feed[4].id, feed[7].id])
  })

  it('moves on once the deployment has a result', async () => {
    await store.compact({ maxAgeMs: 0 }, NOW_MS)
    await store.put(event('two', 'result', 8000), metaAt(0))

    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(await store.floor(garden.key.id), 8)
    assert.equal((await store.latestReport(garden.key.id))?.id, feed[7].id)
  })

  const policyEnds: Array<[string, Record<string, boolean>]> = [
    ['a policy denial', {}],
    ['a staged-only end', { staged: true }]
  ]
  for (const [name, detail] of policyEnds) {
    it(`moves on after ${name}`, async () => {
      const denial = garden.sign('event', eventBody({ intent: INTENT, seed: 'two', garden: garden.key.id, kind: 'policy_denied', detail, offsetMs: 8000 }))
      await store.put(denial, metaAt(0))

      await store.compact({ maxAgeMs: 0 }, NOW_MS)

      assert.equal(await store.floor(garden.key.id), 8)
    })
  }

  it('keeps a denied deployment that a retry reopened', async () => {
    const two = (kind: 'policy_denied' | 'retry', offsetMs: number): SignedRecord =>
      garden.sign('event', eventBody({ intent: INTENT, seed: 'two', garden: garden.key.id, kind, offsetMs }))
    await store.putMany([two('policy_denied', 8000), two('retry', 9000)].map(record => ({ record, meta: metaAt(0) })))

    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(await store.floor(garden.key.id), 4)
  })

  it('keeps records within the age limit', async () => {
    const dropped = await store.compact({ maxAgeMs: NOW_MS - T0_MS - 1500 }, NOW_MS)

    assert.equal(dropped, 2)
    assert.equal(await store.floor(garden.key.id), 3)
  })

  it('keeps the newest records per author', async () => {
    await store.put(event('two', 'result', 8000), metaAt(0))

    const dropped = await store.compact({ maxRecordsPerAuthor: 3 }, NOW_MS)

    assert.equal(dropped, 6)
    assert.deepEqual((await store.range(garden.key.id, 1, 10)).map(record => record.seq), [7, 8, 9])
  })

  it('does nothing without limits', async () => {
    assert.equal(await store.compact({}, NOW_MS), 0)
  })

  it('never drops trust records and intents', async () => {
    const admin = new FeedSigner(generateKey())
    const records = [
      admin.sign('certificate', {
        fleet: FLEET, issuedAt: at(0), peer: garden.key.id, name: 'g', roles: ['garden'], tags: [], expiresAt: at(1000)
      }),
      admin.sign('intent', deployBody(0, ['web'])),
      admin.sign('revocation', { fleet: FLEET, issuedAt: at(0), peer: garden.key.id, reason: 'test' })
    ]
    await store.putMany(records.map(record => ({ record, meta: metaAt(0) })))

    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(await store.floor(admin.key.id), 1)
    for (const record of records) {
      assert.equal(await store.has(record.id), true)
    }
  })

  it('keeps the newest record of a feed', async () => {
    const second = new FeedSigner(generateKey())
    const events = [
      second.sign('event', eventBody({ intent: INTENT, seed: 'x', garden: second.key.id, kind: 'received', offsetMs: 0 })),
      second.sign('event', eventBody({ intent: INTENT, seed: 'x', garden: second.key.id, kind: 'result', result: 'success', offsetMs: 1000 }))
    ]
    await store.putMany(events.map(record => ({ record, meta: metaAt(0) })))

    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(await store.floor(second.key.id), 2)
    assert.equal(await store.has(events[1].id), true)
  })

  it('stops at a gap', async () => {
    const other = new FeedSigner(generateKey())
    const reports = [0, 1, 2, 3, 4].map(i => other.sign('report', reportBody(i * 1000)))
    await store.putMany([0, 1, 2, 4].map(i => ({ record: reports[i], meta: metaAt(0) })))

    await store.compact({ maxAgeMs: 0 }, NOW_MS)

    assert.equal(await store.floor(other.key.id), 4)
    assert.equal((await store.heads()).get(other.key.id), 3)
    assert.deepEqual(await store.missing(other.key.id, 5, 10), [4])
  })

  it('keeps floors across reopen and appends after them', async () => {
    const folder = await temp.folder()
    const first = await temp.open(folder)
    const key = generateKey()
    for (let i = 0; i < 5; i++) {
      await first.append('report', reportBody(i * 1000), key)
    }
    await first.compact({ maxRecordsPerAuthor: 2 }, NOW_MS)
    await first.close()

    const second = await temp.open(folder)
    const next = await second.append('report', reportBody(6000), key)

    assert.equal(await second.floor(key.id), 4)
    assert.equal(next.seq, 6)
    assert.equal(next.prev, (await second.getBySeq(key.id, 5))?.id)
  })

  it('compacts a feed longer than one batch', async () => {
    const other = new FeedSigner(generateKey())
    const count = COMPACTION_BATCH_RECORDS * 2 + 10
    const reports = Array.from({ length: count }, (_, i) => other.sign('report', reportBody(i)))
    await store.putMany(reports.map(record => ({ record, meta: metaAt(0) })))

    const dropped = await store.compact({ maxRecordsPerAuthor: 5 }, NOW_MS)

    assert.equal(dropped, count - 5 + 3, 'this feed and three records of the garden feed')
    assert.equal(await store.floor(other.key.id), count - 4)
  })

  describe('alerts', () => {
    /** Signs a garden feed: seq 1 an old report, 2 an alert issued at `alertOffsetMs`, 3-4 reports after it. */
    async function feedWithAlert (alertOffsetMs: number): Promise<{ signer: FeedSigner, alert: SignedRecord }> {
      const signer = new FeedSigner(generateKey())
      const fork = [0, 1].map(index => garden.signAt('report', reportBody(index, `${index}.0.0`), 1, null))
      const fields = forkFields(fork[0], fork[1]) as ForkFields
      const records = [
        signer.sign('report', reportBody(0)),
        signer.sign('alert', { fleet: FLEET, issuedAt: at(alertOffsetMs), kind: 'fork', ...fields }),
        signer.sign('report', reportBody(alertOffsetMs + 1)),
        signer.sign('report', reportBody(alertOffsetMs + 2))
      ]
      await store.putMany(records.map(record => ({ record, meta: metaAt(0) })))
      return { signer, alert: records[1] }
    }

    it('compacts past an old alert', async () => {
      const { signer, alert } = await feedWithAlert(0)

      await store.compact({ maxAgeMs: 1000 }, NOW_MS)

      assert.equal(await store.floor(signer.key.id), 4)
      assert.equal(await store.has(alert.id), false)
    })

    it('keeps an alert within the age limit', async () => {
      const { signer, alert } = await feedWithAlert(NOW_MS - T0_MS)

      await store.compact({ maxAgeMs: 1000 }, NOW_MS)

      assert.equal(await store.floor(signer.key.id), 2)
      assert.equal(await store.has(alert.id), true)
    })

    it('keeps an alert past the count limit', async () => {
      const { signer } = await feedWithAlert(0)

      await store.compact({ maxRecordsPerAuthor: 1 }, NOW_MS)

      assert.equal(await store.floor(signer.key.id), 2)
    })
  })
})

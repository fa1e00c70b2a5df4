import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import type { ForkEvidence, RecordStore, ReportedFork } from '../../../src/store/index.ts'
import type { ForkPair, SignedRecord } from '../../../src/records/index.ts'
import { FeedSigner, metaAt, reportBody } from './records.ts'
import { TempStores } from './temp-store.ts'

describe('RecordStore forks', () => {
  const temp = new TempStores()
  let store: RecordStore
  let feed: FeedSigner
  let records: Array<SignedRecord<'report'>>

  beforeEach(async () => {
    store = await temp.open()
    feed = new FeedSigner(generateKey())
    records = [0, 1000, 2000].map(offsetMs => feed.sign('report', reportBody(offsetMs)))
  })

  afterEach(async () => {
    await temp.cleanup()
  })

  const cases: Array<{ name: string, stored: number[], conflicting: () => SignedRecord, existing: () => string }> = [
    {
      name: 'a second record at one seq',
      stored: [0, 1],
      conflicting: () => feed.signAt('report', reportBody(1500, '9.9.9'), 2, records[0].id),
      existing: () => records[1].id
    },
    {
      name: 'a prev that skips the stored predecessor',
      stored: [0, 1],
      conflicting: () => feed.signAt('report', reportBody(2500), 3, records[0].id),
      existing: () => records[1].id
    },
    {
      name: 'a record its stored successor does not link to',
      stored: [0, 2],
      conflicting: () => feed.signAt('report', reportBody(1500, '9.9.9'), 2, records[0].id),
      existing: () => records[2].id
    }
  ]

  for (const { name, stored, conflicting, existing } of cases) {
    it(`detects ${name}`, async () => {
      for (const index of stored) {
        assert.equal((await store.put(records[index], metaAt(0))).status, 'stored')
      }
      const record = conflicting()

      const result = await store.put(record, metaAt(0))

      assert.deepEqual(result, { status: 'fork', existing: existing() })
      assert.equal(store.isRefused(feed.key.id), true)
      assert.equal((await store.get(record.id))?.id, record.id)
      assert.equal((await store.get(existing()))?.id, existing())
    })
  }

  it('keeps the first record in the feed', async () => {
    await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
    const other = feed.signAt('report', reportBody(1500, '9.9.9'), 2, records[0].id)

    await store.put(other, metaAt(0))

    assert.equal((await store.getBySeq(feed.key.id, 2))?.id, records[1].id)
    assert.equal((await store.latestReport(feed.key.id))?.id, records[1].id)
  })

  it('refuses later records of the author', async () => {
    await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
    await store.put(feed.signAt('report', reportBody(1500), 2, records[0].id), metaAt(0))

    const result = await store.put(records[2], metaAt(0))

    assert.equal(result.status, 'refused')
    assert.match((result as { reason: string }).reason, /fork/)
    assert.equal(await store.has(records[2].id), false)
  })

  it('returns duplicate for the same evidence again', async () => {
    await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
    const other = feed.signAt('report', reportBody(1500), 2, records[0].id)
    await store.put(other, metaAt(0))

    assert.deepEqual(await store.put(other, metaAt(0)), { status: 'duplicate' })
    assert.deepEqual(await store.put(records[1], metaAt(0)), { status: 'duplicate' })
  })

  it('is not a fork to store one record twice', async () => {
    await store.put(records[0], metaAt(0))

    await store.put(records[0], metaAt(0))

    assert.equal(store.isRefused(feed.key.id), false)
  })

  it('emits the evidence', async () => {
    await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
    const other = feed.signAt('report', reportBody(1500), 2, records[0].id)
    const emitted: ForkEvidence[] = []
    store.on('fork', evidence => { emitted.push(evidence) })

    await store.put(other, metaAt(0))

    assert.equal(emitted.length, 1)
    assert.deepEqual(emitted[0].records, [records[1].id, other.id])
    assert.equal(emitted[0].author, feed.key.id)
  })

  it('keeps the refusal across reopen', async () => {
    const folder = await temp.folder()
    const first = await temp.open(folder)
    await first.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
    await first.put(feed.signAt('report', reportBody(1500), 2, records[0].id), metaAt(0))
    await first.close()

    const second = await temp.open(folder)

    assert.equal(second.isRefused(feed.key.id), true)
    assert.equal((await second.put(records[2], metaAt(0))).status, 'refused')
    assert.equal((await second.refusals()).length, 1)
  })

  it('detects a fork inside one batch', async () => {
    const other = feed.signAt('report', reportBody(1500), 2, records[0].id)

    const results = await store.putMany([records[0], records[1], other, records[2]].map(record => ({ record, meta: metaAt(0) })))

    assert.deepEqual(results.map(result => result.status), ['stored', 'stored', 'fork', 'refused'])
  })

  it('fails append on a refused feed', async () => {
    const first = await store.append('report', reportBody(0), feed.key)
    await store.put(feed.signAt('report', reportBody(500), 1, null), metaAt(0))

    assert.equal(first.seq, 1)
    await assert.rejects(store.append('report', reportBody(1000), feed.key), { code: 'ERR_STORE_APPEND' })
  })

  describe('reported by an alert', () => {
    const ALERT = 'alr_' + 'a'.repeat(52)
    const REPORTER = generateKey().id

    function reported (pair: ForkPair): ReportedFork {
      return { records: pair, alert: ALERT, reportedBy: REPORTER }
    }

    it('refuses the author', async () => {
      const other = feed.signAt('report', reportBody(1500, '9.9.9'), 1, null)

      const result = await store.putReportedFork(reported([records[0], other]), metaAt(0))

      assert.deepEqual(result, { status: 'fork', existing: records[0].id })
      assert.equal(store.isRefused(feed.key.id), true)
    })

    it('keeps both records by id only', async () => {
      const other = feed.signAt('report', reportBody(1500, '9.9.9'), 1, null)

      await store.putReportedFork(reported([records[0], other]), metaAt(0))

      assert.equal((await store.get(records[0].id))?.id, records[0].id)
      assert.equal((await store.get(other.id))?.id, other.id)
      assert.equal(await store.getBySeq(feed.key.id, 1), undefined)
      assert.equal(await store.garden(feed.key.id), undefined)
    })

    it('keeps the reporter in the evidence', async () => {
      const other = feed.signAt('report', reportBody(2500), 3, records[0].id)

      await store.putReportedFork(reported([records[1], other]), metaAt(0))

      const [evidence] = await store.refusals()
      assert.deepEqual(evidence.records, [records[1].id, other.id])
      assert.equal(evidence.seq, 3)
      assert.equal(evidence.reason, 'record at seq 3 does not link to the record at seq 2')
      assert.equal(evidence.alert, ALERT)
      assert.equal(evidence.reportedBy, REPORTER)
    })

    it('keeps the stored record in the feed', async () => {
      await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
      const other = feed.signAt('report', reportBody(1500, '9.9.9'), 2, records[0].id)

      await store.putReportedFork(reported([records[1], other]), metaAt(0))

      assert.equal((await store.getBySeq(feed.key.id, 2))?.id, records[1].id)
    })

    it('returns refused for a refused author', async () => {
      await store.putMany(records.slice(0, 2).map(record => ({ record, meta: metaAt(0) })))
      await store.put(feed.signAt('report', reportBody(1500), 2, records[0].id), metaAt(0))
      const other = feed.signAt('report', reportBody(500, '9.9.9'), 1, null)

      const result = await store.putReportedFork(reported([records[0], other]), metaAt(0))

      assert.equal(result.status, 'refused')
      assert.equal(await store.has(other.id), false)
      assert.equal((await store.refusals())[0].reportedBy, undefined)
    })

    it('emits the evidence', async () => {
      const emitted: ForkEvidence[] = []
      store.on('fork', evidence => { emitted.push(evidence) })

      await store.putReportedFork(reported([records[0], feed.signAt('report', reportBody(500, '9.9.9'), 1, null)]), metaAt(0))

      assert.equal(emitted.length, 1)
      assert.equal(emitted[0].alert, ALERT)
    })

    it('rejects a pair that is no fork', async () => {
      await assert.rejects(store.putReportedFork(reported([records[0], records[1]]), metaAt(0)), TypeError)
      assert.equal(store.isRefused(feed.key.id), false)
    })
  })
})

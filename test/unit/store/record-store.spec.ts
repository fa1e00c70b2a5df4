import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { StoreAppendError, StoreClosedError } from '../../../src/store/index.ts'
import type { RecordStore } from '../../../src/store/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import { FeedSigner, at, eventBody, metaAt, reportBody } from './records.ts'
import { TempStores } from './temp-store.ts'

describe('RecordStore', () => {
  const temp = new TempStores()
  let store: RecordStore

  beforeEach(async () => {
    store = await temp.open()
  })

  afterEach(async () => {
    await temp.cleanup()
  })

  /** Signs a garden feed of `count` reports. */
  function reports (count: number): Array<SignedRecord<'report'>> {
    const feed = new FeedSigner(generateKey())
    return Array.from({ length: count }, (_, i) => feed.sign('report', reportBody(i * 1000)))
  }

  describe('put and get', () => {
    it('stores a record', async () => {
      const fleet = createTestFleet({ members: 1 })
      const { certificate } = fleet.members[0]

      const result = await store.put(certificate, metaAt(0))

      assert.deepEqual(result, { status: 'stored' })
      assert.equal(await store.has(certificate.id), true)
      assert.deepEqual((await store.get(certificate.id))?.bytes, certificate.bytes)
      assert.deepEqual(await store.getMeta(certificate.id), metaAt(0))
      assert.equal((await store.getBySeq(fleet.admin.id, 1))?.id, certificate.id)
    })

    it('answers unknown ids', async () => {
      assert.equal(await store.has('rep_' + 'a'.repeat(52)), false)
      assert.equal(await store.get('rep_' + 'a'.repeat(52)), undefined)
      assert.equal(await store.getMeta('rep_' + 'a'.repeat(52)), undefined)
      assert.equal(await store.getBySeq('nobody', 1), undefined)
    })

    it('returns duplicate for a stored id', async () => {
      const [report] = reports(1)
      await store.put(report, metaAt(0))

      assert.deepEqual(await store.put(report, metaAt(5)), { status: 'duplicate' })
      assert.deepEqual(await store.getMeta(report.id), metaAt(0))
    })

    it('stores the root feed by version', async () => {
      const fleet = createTestFleet()

      await store.put(fleet.root, metaAt(0))

      assert.equal((await store.getBySeq('root', 1))?.id, fleet.root.id)
      assert.equal((await store.heads()).get('root'), 1)
    })

    it('returns decoded copies', async () => {
      const [report] = reports(1)
      await store.put(report, metaAt(0))

      const read = await store.get(report.id)

      assert.deepEqual(read?.body, report.body)
      assert.equal(read?.author, report.author)
      assert.equal(read?.seq, 1)
    })

    it('stores a batch with putMany', async () => {
      const feed = reports(5)

      const results = await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))

      assert.deepEqual(results.map(result => result.status), ['stored', 'stored', 'stored', 'stored', 'stored'])
      assert.equal((await store.heads()).get(feed[0].author), 5)
    })
  })

  describe('heads and missing', () => {
    it('counts contiguous seqs only', async () => {
      const feed = reports(6)
      for (const index of [0, 1, 3, 5]) {
        await store.put(feed[index], metaAt(0))
      }

      assert.equal((await store.heads()).get(feed[0].author), 2)
      assert.deepEqual(await store.missing(feed[0].author, 6, 10), [3, 5])
    })

    it('moves the head over a filled gap', async () => {
      const feed = reports(4)
      for (const index of [0, 2, 3, 1]) {
        await store.put(feed[index], metaAt(0))
      }

      assert.equal((await store.heads()).get(feed[0].author), 4)
      assert.deepEqual(await store.missing(feed[0].author, 4, 10), [])
    })

    it('reports a missing first record as head 0', async () => {
      const feed = reports(3)
      await store.put(feed[2], metaAt(0))

      assert.equal((await store.heads()).get(feed[0].author), 0)
      assert.deepEqual(await store.missing(feed[0].author, 3, 10), [1, 2])
    })

    it('lists positions beyond the last stored one', async () => {
      const feed = reports(2)
      await store.put(feed[0], metaAt(0))

      assert.deepEqual(await store.missing(feed[0].author, 5, 10), [2, 3, 4, 5])
      assert.deepEqual(await store.missing(feed[0].author, 5, 2), [2, 3])
      assert.deepEqual(await store.missing('unknown', 2, 10), [1, 2])
    })

    it('bounds the answer for a huge claimed seq', async () => {
      const feed = reports(1)
      await store.put(feed[0], metaAt(0))

      assert.deepEqual(await store.missing(feed[0].author, Number.MAX_SAFE_INTEGER, 3), [2, 3, 4])
    })

    it('starts with floor 1', async () => {
      assert.equal(await store.floor('unknown'), 1)
    })
  })

  describe('range', () => {
    it('returns stored records in ascending order', async () => {
      const feed = reports(5)
      for (const index of [4, 0, 2, 1]) {
        await store.put(feed[index], metaAt(0))
      }

      const ids = (await store.range(feed[0].author, 2, 10)).map(record => record.id)

      assert.deepEqual(ids, [feed[1].id, feed[2].id, feed[4].id])
    })

    it('stops at the limit', async () => {
      const feed = reports(5)
      await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))

      const seqs = (await store.range(feed[0].author, 1, 2)).map(record => record.seq)

      assert.deepEqual(seqs, [1, 2])
    })

    it('keeps feeds of authors apart', async () => {
      const first = reports(2)
      const second = reports(2)
      await store.putMany([...first, ...second].map(record => ({ record, meta: metaAt(0) })))

      const authors = new Set((await store.range(first[0].author, 1, 10)).map(record => record.author))

      assert.deepEqual(authors, new Set([first[0].author]))
    })

    it('returns nothing for a zero limit', async () => {
      const feed = reports(1)
      await store.put(feed[0], metaAt(0))

      assert.deepEqual(await store.range(feed[0].author, 1, 0), [])
    })
  })

  describe('rangeBytes', () => {
    it('returns the canonical bytes in order', async () => {
      const feed = reports(3)
      await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))

      const read = await store.rangeBytes(feed[0].author, 1, 10)

      assert.deepEqual(read.map(record => record.seq), [1, 2, 3])
      assert.deepEqual(read.map(record => Buffer.from(record.bytes)), feed.map(record => Buffer.from(record.bytes)))
    })

    it('stops once the records reach maxBytes', async () => {
      const feed = reports(8)
      await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))
      const firstTwoBytes = feed[0].bytes.byteLength + feed[1].bytes.byteLength

      const read = await store.rangeBytes(feed[0].author, 1, 10, firstTwoBytes)

      assert.deepEqual(read.map(record => record.seq), [1, 2])
    })

    it('reads one record past a small maxBytes', async () => {
      const feed = reports(3)
      await store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))

      const read = await store.rangeBytes(feed[0].author, 1, 10, 1)

      assert.deepEqual(read.map(record => record.seq), [1])
    })
  })

  describe('append', () => {
    it('chains seq and prev', async () => {
      const key = generateKey()

      const first = await store.append('report', reportBody(0), key)
      const second = await store.append('report', reportBody(1000), key)

      assert.equal(first.seq, 1)
      assert.equal(first.prev, null)
      assert.equal(second.seq, 2)
      assert.equal(second.prev, first.id)
      assert.equal((await store.getMeta(second.id))?.via, 'local')
    })

    it('continues the feed after reopen', async () => {
      const key = generateKey()
      const folder = await temp.folder()
      const before = await temp.open(folder)
      const first = await before.append('report', reportBody(0), key)
      await before.close()

      const after = await temp.open(folder)
      const second = await after.append('report', reportBody(1000), key)

      assert.equal(second.seq, 2)
      assert.equal(second.prev, first.id)
      assert.equal((await after.heads()).get(key.id), 2)
    })

    it('does not fork under concurrent calls', async () => {
      const key = generateKey()

      const records = await Promise.all(Array.from({ length: 20 }, async (_, i) =>
        await store.append('report', reportBody(i * 1000), key)))

      const bySeq = [...records].sort((a, b) => a.seq - b.seq)
      assert.deepEqual(bySeq.map(record => record.seq), Array.from({ length: 20 }, (_, i) => i + 1))
      for (let i = 1; i < bySeq.length; i++) {
        assert.equal(bySeq[i].prev, bySeq[i - 1].id)
      }
      assert.equal(store.isRefused(key.id), false)
      assert.equal((await store.heads()).get(key.id), 20)
    })

    it('rejects an invalid body', async () => {
      const key = generateKey()
      const body = { ...reportBody(0), agentVersion: 'x'.repeat(500) }

      await assert.rejects(store.append('report', body, key), StoreAppendError)
      assert.equal((await store.heads()).get(key.id), undefined)
    })

    it('rejects a root', async () => {
      const fleet = createTestFleet()

      await assert.rejects(store.append('root', fleet.root.body as any, fleet.admin), { code: 'ERR_STORE_APPEND' })
    })
  })

  describe('record event', () => {
    it('fires once the record is readable', async () => {
      const [report] = reports(1)
      const seen = new Promise<boolean>((resolve, reject) => {
        store.on('record', (record) => {
          store.has(record.id).then(resolve, reject)
        })
      })

      await store.put(report, metaAt(0))

      assert.equal(await seen, true)
    })

    it('fires before put resolves', async () => {
      const [report] = reports(1)
      const fired: string[] = []
      store.on('record', record => { fired.push(record.id) })

      await store.put(report, metaAt(0))

      assert.deepEqual(fired, [report.id])
    })

    it('does not fire for a duplicate', async () => {
      const [report] = reports(1)
      await store.put(report, metaAt(0))
      const fired: string[] = []
      store.on('record', record => { fired.push(record.id) })

      await store.put(report, metaAt(0))

      assert.deepEqual(fired, [])
    })

    it('survives a throwing listener', async () => {
      const [report] = reports(1)
      const fired: string[] = []
      store.on('record', () => { throw new Error('listener failed') })
      store.on('record', record => { fired.push(record.id) })

      assert.deepEqual(await store.put(report, metaAt(0)), { status: 'stored' })
      assert.deepEqual(fired, [report.id])
    })

    it('calls a once listener once', async () => {
      const feed = reports(2)
      const fired: string[] = []
      store.once('record', record => { fired.push(record.id) })

      await store.put(feed[0], metaAt(0))
      await store.put(feed[1], metaAt(0))

      assert.deepEqual(fired, [feed[0].id])
    })
  })

  describe('queries', () => {
    it('lists records by type and time', async () => {
      const feed = new FeedSigner(generateKey())
      const records = [3000, 1000, 2000].map(offsetMs => feed.sign('report', reportBody(offsetMs)))
      await store.putMany(records.map(record => ({ record, meta: metaAt(0) })))

      const listed: string[] = []
      for await (const record of store.listByType('report')) {
        listed.push(record.body.issuedAt as string)
      }
      const reversed: string[] = []
      for await (const record of store.listByType('report', { reverse: true, limit: 2 })) {
        reversed.push(record.body.issuedAt as string)
      }
      const since: string[] = []
      for await (const record of store.listByType('report', { sinceIso: at(2000) })) {
        since.push(record.body.issuedAt as string)
      }

      assert.deepEqual(listed, [at(1000), at(2000), at(3000)])
      assert.deepEqual(reversed, [at(3000), at(2000)])
      assert.deepEqual(since, [at(2000), at(3000)])
    })

    it('lists events of a deployment and of an intent', async () => {
      const intent = 'int_' + 'b'.repeat(52)
      const gardens = [new FeedSigner(generateKey()), new FeedSigner(generateKey())]
      const events = gardens.flatMap(feed => ['received', 'staging'].map((kind, i) =>
        feed.sign('event', eventBody({ intent, seed: 'web', garden: feed.key.id, kind: kind as 'received', offsetMs: i * 1000 }))))
      await store.putMany(events.map(record => ({ record, meta: metaAt(0) })))

      const ofDeployment = await store.eventsOfDeployment(events[0].body.deployment)
      const ofIntent = await store.eventsOfIntent(intent)

      assert.deepEqual(ofDeployment.map(event => event.body.kind), ['received', 'staging'])
      assert.equal(ofIntent.length, 4)
    })

    it('returns the latest report of a garden', async () => {
      const feed = new FeedSigner(generateKey())
      const older = feed.sign('report', reportBody(1000, '1.0.0'))
      const newer = feed.sign('report', reportBody(2000, '1.1.0'))
      await store.put(newer, metaAt(0))
      await store.put(older, metaAt(0))

      assert.equal((await store.latestReport(feed.key.id))?.id, newer.id)
      assert.equal(await store.latestReport('unknown'), undefined)
    })
  })

  describe('close', () => {
    it('rejects calls after close', async () => {
      await store.close()

      await assert.rejects(store.get('rep_' + 'a'.repeat(52)), StoreClosedError)
      await assert.rejects(store.put(reports(1)[0], metaAt(0)), { code: 'ERR_STORE_CLOSED' })
      assert.throws(() => store.isRefused('x'), StoreClosedError)
    })

    it('is idempotent', async () => {
      await store.close()
      await store.close()
    })

    it('finishes queued puts first', async () => {
      const feed = reports(3)
      const puts = store.putMany(feed.map(record => ({ record, meta: metaAt(0) })))

      await store.close()

      assert.deepEqual((await puts).map(result => result.status), ['stored', 'stored', 'stored'])
    })
  })
})

import assert from 'node:assert/strict'
import { z } from 'zod'
import { generateKey } from '../../../src/keys/index.ts'
import { SYNC_BATCH_MAX_BYTES, SYNC_REQUEST_MAX_AUTHORS } from '../../../src/network/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import type { RecordStore } from '../../../src/store/index.ts'
import { eventOfSize } from '../../utils/alerts.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { FrameStream } from '../../../src/network/frames.ts'
import { NodeSet, report, signIntent, waitForEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'
import type { SyncEvent } from '../../../src/network/index.ts'

/**
 * Creates a fleet of 8 members in which the greatest key id belongs to a
 * member other than the first two, which run the nodes, so that member's
 * feed sorts into the caller's last author range.
 */
function fleetWithLastAuthorEnrolled (): TestFleet {
  for (let attempt = 0; attempt < 100; attempt++) {
    const fleet = createTestFleet({ members: 8 })
    const greatest = (keys: string[]): string => keys.reduce((max, key) => key > max ? key : max)
    const others = greatest(fleet.members.slice(2).map(member => member.key.id))
    if (others > greatest([fleet.admin.id, fleet.members[0].key.id, fleet.members[1].key.id])) {
      return fleet
    }
  }
  throw new Error('no fleet with the greatest key among the other members in 100 attempts')
}

async function put (node: RunningNode, record: SignedRecord): Promise<void> {
  await node.store.put(record, { via: 'local', receivedAt: new Date().toISOString() })
}

/** Adds up the bytes of the records that `store.rangeBytes` returns from now on. */
function countRangeBytes (store: RecordStore): { bytes: number } {
  const counted = { bytes: 0 }
  const rangeBytes = store.rangeBytes.bind(store)
  store.rangeBytes = async (...args) => {
    const records = await rangeBytes(...args)
    counted.bytes += records.reduce((total, record) => total + record.bytes.byteLength, 0)
    return records
  }
  return counted
}

/** Stores `count` reports of each member in `authors` in `node`'s store. */
async function putFeeds (node: RunningNode, fleet: TestFleet, authors: TestMember[], count: number): Promise<SignedRecord[]> {
  const records: SignedRecord[] = []
  for (const author of authors) {
    let prev: string | null = null
    for (let seq = 1; seq <= count; seq++) {
      const record = report(author, fleet, seq, prev)
      prev = record.id
      records.push(record)
    }
  }
  const receivedAt = new Date().toISOString()
  await node.store.putMany(records.map(record => ({ record, meta: { via: 'local' as const, receivedAt } })))
  return records
}

const looseHeaderSchema = z.object({ count: z.number(), more: z.boolean() })

/** Opens a raw sync stream from `caller` to `server` and reads the reply to a request from seq 1. */
async function openSession (caller: RunningNode, server: RunningNode): Promise<FrameStream> {
  const stream = await caller.node.dialProtocol(server.member.key.id, caller.node.protocols.sync)
  const frames = new FrameStream(stream, { maxFrameBytes: 4 * SYNC_BATCH_MAX_BYTES, readTimeoutMs: 5_000 })
  await frames.writeJson({ after: {} })
  const header = await frames.readJson(looseHeaderSchema)
  if (header.count > 0) {
    await frames.read()
  }
  return frames
}

describe('sync', function () {
  const nodes = new NodeSet()

  afterEach(async () => { await nodes.stopAll() })

  it('splits cursors over the author cap into ranges', async () => {
    const fleet = fleetWithLastAuthorEnrolled()
    const certificates = fleet.members.map(member => member.certificate)
    const syncRequestMaxAuthors = 2
    const b = await nodes.start(fleet, fleet.members[1], { certificates, syncRequestMaxAuthors })
    // The caller names every author in its store; the target sorts just before `root`, so it is in the last range.
    const others = fleet.members.slice(2).sort((x, y) => x.key.id < y.key.id ? -1 : 1)
    const target = others.pop() as TestMember
    const known = new Set([...(await b.store.heads()).keys(), target.key.id])
    for (const member of others) {
      if (known.size % syncRequestMaxAuthors === 0 && known.size > 2 * syncRequestMaxAuthors) {
        break
      }
      await put(b, report(member, fleet))
      known.add(member.key.id)
    }
    const first = report(target, fleet)
    await put(b, first)
    const a = await nodes.create(fleet, fleet.members[0], { certificates, syncRequestMaxAuthors, bootstrap: b.node.getMultiaddrs() })
    await put(a, first)
    const second = report(target, fleet, 2, first.id)
    await put(a, second)
    const authors = [...(await b.store.heads()).keys()].sort()
    assert.ok(authors.length > 2 * syncRequestMaxAuthors)
    assert.deepEqual(authors.slice(-syncRequestMaxAuthors), [target.key.id, 'root'])
    await a.node.start()
    await waitUntil(async () => await b.store.has(second.id), 15_000, 'record of the last range')
  })

  it('pulls with more authors than one request takes', async () => {
    const fleet = createTestFleet({ members: 2 })
    const certificates = fleet.members.map(member => member.certificate)
    const b = await nodes.start(fleet, fleet.members[1], { certificates })
    const receivedAt = new Date().toISOString()
    const strangers = Array.from({ length: SYNC_REQUEST_MAX_AUTHORS + 8 }, () => {
      const key = generateKey()
      return { record: report({ key, name: key.id, certificate: fleet.members[0].certificate }, fleet), meta: { via: 'local' as const, receivedAt } }
    })
    await b.store.putMany(strangers)
    const target = fleet.members[0]
    const first = report(target, fleet)
    await put(b, first)
    const a = await nodes.create(fleet, target, { certificates, bootstrap: b.node.getMultiaddrs() })
    await put(a, first)
    const second = report(target, fleet, 2, first.id)
    await put(a, second)
    assert.ok((await b.store.heads()).size > SYNC_REQUEST_MAX_AUTHORS)
    await a.node.start()
    await waitUntil(async () => await b.store.has(second.id), 20_000, 'record past the first request')
  })

  it('serves the caller\'s feed first', async () => {
    const fleet = createTestFleet({ members: 4 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, server, ...others] = fleet.members
    const b = await nodes.start(fleet, server, { certificates, syncBatchMaxRecords: 1 })
    for (const member of others) {
      await put(b, report(member, fleet))
    }
    const own = [report(caller, fleet)]
    own.push(report(caller, fleet, 2, own[0].id))
    for (const record of own) {
      await put(b, record)
    }
    const a = await nodes.create(fleet, caller, { certificates, bootstrap: b.node.getMultiaddrs() })
    const authors: string[] = []
    a.store.on('record', record => {
      if (record.type === 'report') {
        authors.push(record.author)
      }
    })
    await a.node.start()
    await waitUntil(() => authors.length === own.length + others.length, 15_000, 'every report')
    assert.deepEqual(authors.slice(0, own.length), own.map(() => caller.key.id))
  })

  it('reads large records about once', async () => {
    const fleet = createTestFleet({ members: 3 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, server, author] = fleet.members
    const b = await nodes.start(fleet, server, { certificates })
    // Four records fill a batch, so the server needs six rounds for the feed.
    const feed: Array<SignedRecord<'event'>> = []
    for (let seq = 1; seq <= 24; seq++) {
      feed.push(eventOfSize(fleet.fleet, author.key, seq, SYNC_BATCH_MAX_BYTES / 4, `large ${seq}`, feed.at(-1)?.id ?? null))
    }
    for (const record of feed) {
      await put(b, record)
    }
    const read = countRangeBytes(b.store)

    const a = await nodes.start(fleet, caller, { certificates, bootstrap: b.node.getMultiaddrs() })
    await waitUntil(async () => await a.store.has(feed[feed.length - 1].id), 20_000, 'the last large record')

    const sent = feed.reduce((total, record) => total + record.bytes.byteLength, 0)
    assert.ok(read.bytes < 2 * sent, `the server read ${read.bytes} bytes of records to send ${sent}`)
  })

  it('ignores a floor without its record', async () => {
    const fleet = createTestFleet({ members: 3 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, honest, liar] = fleet.members
    const a = await nodes.start(fleet, honest, { certificates })
    const m = await nodes.start(fleet, liar, { certificates })
    // The liar claims that the admin's feed was compacted below seq 1000, and sends no record.
    const libp2p = m.node.libp2p as any
    await libp2p.unhandle(m.node.protocols.sync)
    await libp2p.handle(m.node.protocols.sync, async (stream: any) => {
      const frames = new FrameStream(stream, { maxFrameBytes: SYNC_BATCH_MAX_BYTES, readTimeoutMs: 5_000 })
      await frames.readJson(z.object({}).passthrough())
      await frames.writeJson({ count: 0, more: false, next: {}, floors: { [fleet.admin.id]: 1000 } })
      await stream.close()
    })
    const b = await nodes.start(fleet, caller, { certificates, bootstrap: [...a.node.getMultiaddrs(), ...m.node.getMultiaddrs()] })
    await waitUntil(() => b.node.connectedMembers().length === 2, 10_000, 'connections to both members')
    assert.notEqual(await b.node.syncWith(liar.key.id), undefined)
    const intents = [signIntent(fleet), signIntent(fleet)]
    for (const intent of intents) {
      await put(a, intent)
    }

    const summary = await b.node.syncWith(honest.key.id)

    assert.equal(summary?.stored, 2)
    assert.equal(await b.store.has(intents[1].id), true)
  })

  it('ends a session past the peer budget', async () => {
    const fleet = createTestFleet({ members: 4 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, server, ...authors] = fleet.members
    // One batch of 256 reports is about 107 KB, so the first session is served one batch.
    const b = await nodes.start(fleet, server, { certificates, syncBudgetBurstBytes: 32 * 1024, syncBudgetRefillBytesPerSec: 512 * 1024 })
    const records = await putFeeds(b, fleet, authors, 300)
    const a = await nodes.create(fleet, caller, { certificates, bootstrap: b.node.getMultiaddrs() })
    const firstSync = waitForEvent<SyncEvent>(a.node, 'sync', event => event.peer === server.key.id, 15_000)
    await a.node.start()

    const first = await firstSync
    assert.ok(first.stored > 0, 'the first session stored no record')
    assert.ok(first.stored < records.length, `the first session stored all ${records.length} records`)

    let sessions = 1
    await waitUntil(async () => {
      const summary = await a.node.syncWith(server.key.id)
      assert.notEqual(summary, undefined, 'a later session failed')
      sessions++
      const stored = await Promise.all(records.map(async record => await a.store.has(record.id)))
      return stored.every(Boolean)
    }, 20_000, 'every record after refill')
    assert.ok(sessions > 2, `every record arrived in ${sessions} sessions`)
  })

  it('resets a second concurrent session', async () => {
    const fleet = createTestFleet({ members: 3 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, server, author] = fleet.members
    const b = await nodes.start(fleet, server, { certificates, syncBatchMaxRecords: 1 })
    await putFeeds(b, fleet, [author], 4)
    const a = await nodes.start(fleet, caller, { certificates, bootstrap: b.node.getMultiaddrs() })
    await waitUntil(() => a.node.connectedMembers().includes(server.key.id), 10_000, 'connection to the server')

    // The caller's own sessions after connecting may hold the slot for a moment.
    let first: FrameStream | undefined
    await waitUntil(async () => {
      first = await openSession(a, b).catch(() => undefined)
      return first != null
    }, 10_000, 'a first session')

    // The reset may reach the caller before its request is written or while it reads the reply, but not as a timeout.
    await assert.rejects(openSession(a, b), (err: Error & { code?: string }) => err.code !== 'ERR_TIMEOUT')
    await first?.writeJson({ after: { [author.key.id]: 1 } })
    const header = await first?.readJson(looseHeaderSchema)
    assert.equal(header?.count, 1)
  })

  it('serves a catch-up within the default budget', async () => {
    const fleet = createTestFleet({ members: 4 })
    const certificates = fleet.members.map(member => member.certificate)
    const [caller, server, ...authors] = fleet.members
    const b = await nodes.start(fleet, server, { certificates })
    const records = await putFeeds(b, fleet, authors, 1000)
    const a = await nodes.create(fleet, caller, { certificates, bootstrap: b.node.getMultiaddrs() })
    const firstSync = waitForEvent<SyncEvent>(a.node, 'sync', event => event.peer === server.key.id, 15_000)
    await a.node.start()

    const first = await firstSync
    assert.equal(first.stored, records.length)
  })
})

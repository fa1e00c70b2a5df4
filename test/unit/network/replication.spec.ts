import assert from 'node:assert/strict'
import { signRecord } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { HELLO_MAX_RECORDS } from '../../../src/network/index.ts'
import type { IntentEvent } from '../../../src/network/index.ts'
import { DAY_MS, createTestFleet, iso } from '../../utils/fleet.ts'
import { NodeSet, gossipReady, report, signIntent, waitForEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

/** Time after which gossipsub no longer offers a published message to peers by IHAVE. */
const GOSSIP_OFFER_MS = 3_500

async function allStore (nodes: RunningNode[], id: string, timeoutMs = 15_000): Promise<void> {
  await waitUntil(async () => (await Promise.all(nodes.map(async ({ store }) => await store.has(id)))).every(Boolean), timeoutMs, `${id} on every node`)
}

async function connected (a: RunningNode, b: RunningNode): Promise<void> {
  await waitUntil(() => a.node.connectedMembers().includes(b.member.key.id), 10_000, 'member connection')
}

describe('replication', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  it('delivers a record to all of ten nodes', async () => {
    const fleet = createTestFleet({ members: 10 })
    const first = await nodes.start(fleet, fleet.members[0])
    const rest = await Promise.all(fleet.members.slice(1).map(async member =>
      await nodes.start(fleet, member, { bootstrap: first.node.getMultiaddrs() })))
    const all = [first, ...rest]
    await Promise.all(rest.map(async node => { await connected(node, first) }))
    await gossipReady(rest[4], [first])
    const intent = signIntent(fleet)
    const arrivals = all.filter(node => node !== rest[4]).map(async node =>
      await waitForEvent<IntentEvent>(node.node, 'intent', event => event.record.id === intent.id, 15_000))
    await rest[4].node.publish(intent)
    await Promise.all(arrivals)
    await allStore(all, intent.id)
  })

  it('catches up a restarted node by sync', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await nodes.start(fleet, fleet.members[0])
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    const c = await nodes.start(fleet, fleet.members[2], { bootstrap: a.node.getMultiaddrs() })
    await connected(c, a)
    await c.node.stop()
    const intents = [signIntent(fleet), signIntent(fleet), signIntent(fleet)]
    for (const intent of intents) {
      await b.node.publish(intent)
    }
    await allStore([a, b], intents[2].id)
    // Gossipsub offers a message by IHAVE for 3 heartbeats of 1 s; after that the restarted node can get it by sync only.
    await new Promise(resolve => setTimeout(resolve, GOSSIP_OFFER_MS))
    const triggers = new Map<string, string>()
    c.node.on('intent', event => { triggers.set(event.record.id, event.trigger) })
    await c.node.start()
    await allStore([c], intents[2].id)
    assert.deepEqual(intents.map(intent => triggers.get(intent.id)), ['poll_on_connect', 'poll_on_connect', 'poll_on_connect'])
    const meta = await c.store.getMeta(intents[0].id)
    assert.equal(meta?.via, 'sync')
  })

  it('delivers from an admin that published alone', async () => {
    const fleet = createTestFleet({ members: 2 })
    const laptop = fleet.enroll('laptop', { roles: ['admin'] })
    const admin = await nodes.start(fleet, laptop, { certificates: fleet.members.map(m => m.certificate).concat(laptop.certificate) })
    const intent = signIntent(fleet)
    const published = await admin.node.publish(intent)
    assert.equal(published.recipients, 0)
    const g1 = await nodes.start(fleet, fleet.members[0])
    const firstArrival = waitForEvent<IntentEvent>(g1.node, 'intent', event => event.record.id === intent.id)
    await admin.node.dial(g1.node.getMultiaddrs()[0])
    assert.equal((await firstArrival).trigger, 'poll_on_connect')
    await admin.node.stop()
    const g2 = await nodes.start(fleet, fleet.members[1], { bootstrap: g1.node.getMultiaddrs() })
    await allStore([g2], intent.id)
  })

  it('converges two halves after a partition', async function () {
    this.timeout(60_000)
    const fleet = createTestFleet({ members: 6 })
    // Records that cross the healed link by sync reach the rest of a half by periodic sync.
    const syncIntervalMs = 300
    const left = [await nodes.start(fleet, fleet.members[0], { syncIntervalMs })]
    const right = [await nodes.start(fleet, fleet.members[3], { syncIntervalMs })]
    for (const i of [1, 2]) {
      left.push(await nodes.start(fleet, fleet.members[i], { syncIntervalMs, bootstrap: left[0].node.getMultiaddrs() }))
      right.push(await nodes.start(fleet, fleet.members[i + 3], { syncIntervalMs, bootstrap: right[0].node.getMultiaddrs() }))
    }
    await Promise.all([...left.slice(1).map(async n => { await connected(n, left[0]) }), ...right.slice(1).map(async n => { await connected(n, right[0]) })])
    await gossipReady(left[1], [left[0]])
    await gossipReady(right[1], [right[0]])
    const intent = signIntent(fleet)
    const status = report(fleet.members[4], fleet)
    await left[1].node.publish(intent)
    await right[1].node.publish(status)
    await allStore(left, intent.id)
    await allStore(right, status.id)
    assert.equal(await right[0].store.has(intent.id), false)
    await left[2].node.dial(right[2].node.getMultiaddrs()[0])
    await allStore([...left, ...right], intent.id, 25_000)
    await allStore([...left, ...right], status.id, 25_000)
  })

  it('syncs an expired intent without acting', async () => {
    const fleet = createTestFleet({ members: 2 })
    const certificates = fleet.members.map(member => member.certificate)
    const a = await nodes.start(fleet, fleet.members[0], { certificates })
    const expired = signIntent(fleet, { issuedAt: iso(Date.now() - 2 * DAY_MS), expiresAt: iso(Date.now() - DAY_MS) })
    const fresh = signIntent(fleet)
    for (const intent of [expired, fresh]) {
      await a.store.put(intent, { via: 'local', receivedAt: new Date().toISOString() })
    }
    const b = await nodes.create(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
    const intents: string[] = []
    b.node.on('intent', event => { intents.push(event.record.id) })
    await b.node.start()
    await allStore([b], fresh.id)
    assert.equal(await b.store.has(expired.id), true)
    assert.equal((await b.store.heads()).get(fleet.admin.id), fleet.adminFeed.seq)
    assert.deepEqual(intents, [fresh.id])
  })

  it('syncs a new member at once', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await nodes.start(fleet, fleet.members[0])
    // Stored, not published, so that only sync can deliver it.
    const intent = signIntent(fleet)
    await a.store.put(intent, { via: 'local', receivedAt: new Date().toISOString() })
    // A slow disk on `a` delays storing the newcomer's certificate from its hello.
    const put = a.store.put.bind(a.store)
    a.store.put = async (record, meta) => {
      if (record.type === 'certificate') {
        await new Promise(resolve => setTimeout(resolve, 500))
      }
      return await put(record, meta)
    }
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    await allStore([b], intent.id, 5_000)
  })

  it('syncs more roots than a hello carries', async () => {
    const fleet = createTestFleet({ members: 2 })
    const roots: SignedRecord[] = []
    let previous = fleet.root
    for (let i = 0; i < 2 * HELLO_MAX_RECORDS; i++) {
      previous = signRecord('root', { ...previous.body, version: previous.body.version + 1, prev: previous.id }, [fleet.admin])
      roots.push(previous)
    }
    const certificates = fleet.members.map(member => member.certificate)
    const a = await nodes.start(fleet, fleet.members[0], { certificates: [...certificates, ...roots] })
    const b = await nodes.start(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
    await waitUntil(() => b.node.trust.root.id === previous.id, 10_000, 'newest root version')
    assert.equal(b.node.trust.root.body.version, 2 * HELLO_MAX_RECORDS + 1)
  })

  it('serves records past a gap', async () => {
    const fleet = createTestFleet({ members: 2 })
    const certificates = fleet.members.map(member => member.certificate)
    // Seq 3 is from the future for every node, so `a` never fills its gap there.
    const future = signIntent(fleet, { issuedAt: iso(Date.now() + DAY_MS), expiresAt: iso(Date.now() + 2 * DAY_MS) })
    const later = [signIntent(fleet), signIntent(fleet)]
    const a = await nodes.start(fleet, fleet.members[0], { certificates: [...certificates, ...later] })
    const b = await nodes.start(fleet, fleet.members[1], { certificates: [...certificates, future], bootstrap: a.node.getMultiaddrs() })
    await allStore([b], later[1].id)
    assert.equal(await b.store.has(later[0].id), true)
    assert.equal(await a.store.has(future.id), false)
  })

  it('settles feeds below a compacted floor', async () => {
    const fleet = createTestFleet({ members: 3 })
    const certificates = fleet.members.map(member => member.certificate)
    const a = await nodes.start(fleet, fleet.members[0], { certificates })
    let prev: string | null = null
    for (let seq = 1; seq <= 20; seq++) {
      const record = report(fleet.members[2], fleet, seq, prev)
      prev = record.id
      await a.store.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    }
    await a.store.compact({ maxRecordsPerAuthor: 5 })
    const floor = await a.store.floor(fleet.members[2].key.id)
    assert.ok(floor > 1)
    const b = await nodes.start(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
    const first = await waitForEvent<any>(b.node, 'sync')
    assert.equal(first.stored, 21 - floor)
    const second = await b.node.syncWith(a.member.key.id)
    assert.equal(second?.received, 0)
  })

  it('stops forwarding a forged record', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await nodes.start(fleet, fleet.members[0])
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    const c = await nodes.start(fleet, fleet.members[2], { bootstrap: a.node.getMultiaddrs() })
    await connected(b, a)
    await connected(c, a)
    await gossipReady(a, [b, c])
    const forged = JSON.parse(new TextDecoder().decode(signIntent(fleet).bytes))
    forged.body.targets = ['tag:evil']
    const forgedBytes = new TextEncoder().encode(JSON.stringify(forged))
    await (a.node.libp2p as any).services.pubsub.publish(a.node.protocols.topics.control, forgedBytes)
    const valid = signIntent(fleet)
    await a.node.publish(valid)
    await allStore([b, c], valid.id)
    const forgedId = (await b.node.ingest(forgedBytes, { via: 'bundle' })).record?.id ?? ''
    assert.equal(await b.store.has(forgedId), false)
    assert.equal(await c.store.has(forgedId), false)
  })

  it('raises an alert on a fork', async () => {
    const fleet = createTestFleet({ members: 3 })
    const certificates = fleet.members.map(member => member.certificate)
    const a = await nodes.start(fleet, fleet.members[0], { certificates })
    const b = await nodes.start(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
    await connected(b, a)
    await gossipReady(a, [b])
    await gossipReady(b, [a])
    const author = fleet.members[2]
    const first = report(author, fleet)
    const second = signRecord('report', { ...first.body, agentVersion: '0.2.0' }, [author.key])
    await a.node.publish(first)
    await allStore([b], first.id)
    const alert = waitForEvent<SignedRecord<'alert'>>(b.node, 'alert')
    const outcome = await b.node.ingest(second.bytes, { via: 'bundle' })
    assert.equal(outcome.code, 'ERR_FORK')
    const raised = await alert
    assert.equal(raised.body.subject, author.key.id)
    assert.deepEqual([...raised.body.records].sort(), [first.id, second.id].sort())
    await allStore([a], raised.id)
    assert.equal(a.store.isRefused(author.key.id), true)
  })
})

import assert from 'node:assert/strict'
import type { SigningKey } from '../../../src/keys/index.ts'
import type { SyncEvent } from '../../../src/network/index.ts'
import { RECORD_MAX_BYTES, signRecord, toEvidence } from '../../../src/records/index.ts'
import type { ForkPair, SignedRecord } from '../../../src/records/index.ts'
import type { RecordStore } from '../../../src/store/index.ts'
import { eventOfSize, forkOf, reportAt, signAlert } from '../../utils/alerts.ts'
import { createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { NodeSet, gossipReady, signIntent, waitForEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

async function allStore (nodes: RunningNode[], id: string, timeoutMs = 15_000): Promise<void> {
  await waitUntil(async () => (await Promise.all(nodes.map(async ({ store }) => await store.has(id)))).every(Boolean), timeoutMs, `${id} on every node`)
}

async function allRefuse (nodes: RunningNode[], author: string, timeoutMs = 15_000): Promise<void> {
  await waitUntil(() => nodes.every(({ store }) => store.isRefused(author)), timeoutMs, `refusal of ${author} on every node`)
}

/**
 * Starts two connected members of a three-member fleet whose third member,
 * the subject of the forks, is known to both but never runs.
 */
async function startPair (nodes: NodeSet): Promise<{ fleet: TestFleet, a: RunningNode, b: RunningNode }> {
  const fleet = createTestFleet({ members: 3 })
  const certificates = fleet.members.map(member => member.certificate)
  const a = await nodes.start(fleet, fleet.members[0], { certificates })
  const b = await nodes.start(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
  await waitUntil(() => b.node.connectedMembers().includes(a.member.key.id), 10_000, 'member connection')
  await gossipReady(a, [b])
  await gossipReady(b, [a])
  return { fleet, a, b }
}

/**
 * Holds every append by `author` to `store` until the returned gate
 * settles, as a garden's own feed guard does before its first sync.
 */
function holdAppends (store: RecordStore, author: string): PromiseWithResolvers<void> {
  const gate = Promise.withResolvers<void>()
  store.guardAppends(author, {
    beforeAppend: async () => { await gate.promise },
    afterAppend: async () => {}
  })
  return gate
}

/**
 * Stores a first report of `subject` on `ours` and a feed of `length`
 * other reports of it on `theirs`, so that the sync from `theirs` brings a
 * record that forks the feed at seq 2.
 */
async function splitFeed (subject: SigningKey, fleet: TestFleet, ours: RecordStore, theirs: RecordStore, length = 2): Promise<void> {
  const meta = { via: 'local' as const, receivedAt: iso(Date.now()) }
  await ours.put(reportAt(fleet.fleet, subject, 1, null, '1.0.0'), meta)
  let prev: string | null = null
  for (let seq = 1; seq <= length; seq++) {
    const record = reportAt(fleet.fleet, subject, seq, prev, '6.6.6')
    await theirs.put(record, meta)
    prev = record.id
  }
}

/**
 * Starts two members of a fleet of `members` that are not connected yet; the
 * other members are known to both but never run.
 */
async function startApart (nodes: NodeSet, members = 3): Promise<{ fleet: TestFleet, a: RunningNode, b: RunningNode }> {
  const fleet = createTestFleet({ members })
  const certificates = fleet.members.map(member => member.certificate)
  const a = await nodes.start(fleet, fleet.members[0], { certificates })
  const b = await nodes.start(fleet, fleet.members[1], { certificates })
  return { fleet, a, b }
}

/** Connects `a` to `b` and resolves with `a`'s first sync from `b`. */
async function connectAndSync (a: RunningNode, b: RunningNode): Promise<SyncEvent> {
  const synced = waitForEvent<SyncEvent>(a.node, 'sync', event => event.peer === b.member.key.id)
  await a.node.dial(b.node.getMultiaddrs()[0])
  return await synced
}

/** Collects the alerts that `node` raises. */
function collectAlerts (node: RunningNode): Array<SignedRecord<'alert'>> {
  const raised: Array<SignedRecord<'alert'>> = []
  node.node.on('alert', alert => { raised.push(alert) })
  return raised
}

describe('fork alerts', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  it('refuses the subject of a member alert', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const subject = fleet.members[2].key
    const alert = signAlert(fleet.fleet, b.member.key, forkOf(fleet.fleet, subject))

    await b.node.publish(alert)

    await allStore([a], alert.id)
    assert.equal(a.store.isRefused(subject.id), true)
    assert.equal((await a.store.refusals())[0].reportedBy, b.member.key.id)
  })

  it('raises no alert for a learned fork', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const raised: Array<SignedRecord<'alert'>> = []
    a.node.on('alert', alert => { raised.push(alert) })
    const alert = signAlert(fleet.fleet, b.member.key, forkOf(fleet.fleet, fleet.members[2].key))

    await b.node.publish(alert)
    await allStore([a], alert.id)

    assert.deepEqual(raised, [])
  })

  it('spreads a fork of its own key', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const own = a.member.key
    // Another machine with a's key signed a second history, which b holds.
    await splitFeed(own, fleet, a.store, b.store)

    await a.node.syncWith(b.member.key.id)

    assert.equal(a.store.isRefused(own.id), true)
    await allRefuse([b], own.id)
  })

  it('converges on a fork detected twice', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const subject = fleet.members[2].key
    const [first, second] = forkOf(fleet.fleet, subject)
    await a.node.publish(first)
    await allStore([b], first.id)
    const raised = new Map<string, Array<SignedRecord<'alert'>>>([[a.member.key.id, []], [b.member.key.id, []]])
    for (const node of [a, b]) {
      node.node.on('alert', alert => { raised.get(node.member.key.id)?.push(alert) })
    }

    // Both nodes receive the second record at once, so both detect the fork.
    await Promise.all([a, b].map(async node => await node.node.ingest(second.bytes, { via: 'bundle' })))

    await allRefuse([a, b], subject.id)
    // Alerts are raised in the background after the ingest returns.
    await waitUntil(() => [...raised.values()].flat().length >= 2, 10_000, 'an alert of each node')
    const alerts = [...raised.values()].flat()
    assert.equal(alerts.length, 2, 'one alert per detecting node')
    for (const alert of alerts) {
      await allStore([a, b], alert.id)
    }
    for (const node of [a, b]) {
      const [evidence] = await node.store.refusals()
      assert.deepEqual([...evidence.records].sort(), [first.id, second.id].sort())
    }
  })

  it('carries a 2 MiB alert by gossip and sync', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const subject = fleet.members[2].key
    const pair: ForkPair = [
      eventOfSize(fleet.fleet, subject, 1, RECORD_MAX_BYTES, 'first'),
      eventOfSize(fleet.fleet, subject, 1, RECORD_MAX_BYTES, 'second')
    ]
    const alert = signAlert(fleet.fleet, b.member.key, pair)
    assert.ok(alert.bytes.byteLength > 2 * RECORD_MAX_BYTES, `${alert.bytes.byteLength} bytes`)

    await b.node.publish(alert)
    await allStore([a], alert.id)
    const member = fleet.enroll('garden-late')
    const late = await nodes.start(fleet, member, {
      certificates: fleet.members.map(({ certificate }) => certificate),
      bootstrap: b.node.getMultiaddrs()
    })

    await allStore([late], alert.id)
    assert.equal((await late.store.getMeta(alert.id))?.via, 'sync')
    await allRefuse([a, late], subject.id)
  })

  it('drops an alert with forged evidence', async () => {
    const { fleet, a, b } = await startPair(nodes)
    const subject = fleet.members[2].key
    const [first, second] = forkOf(fleet.fleet, subject)
    const forged = signAlert(fleet.fleet, a.member.key, [first, second], body => {
      const other = signRecord('report', second.body, [a.member.key])
      body.evidence[1] = toEvidence(other)
      body.records[1] = other.id
    })
    await (a.node.libp2p as any).services.pubsub.publish(a.node.protocols.topics.control, forged.bytes)
    const valid = signIntent(fleet)

    await a.node.publish(valid)
    await allStore([b], valid.id)

    assert.equal(await b.store.has(forged.id), false)
    assert.equal(b.store.isRefused(subject.id), false)
  })

  it('syncs a fork while appends are held', async () => {
    const { fleet, a, b } = await startApart(nodes)
    const subject = fleet.members[2].key
    await splitFeed(subject, fleet, a.store, b.store)
    const hold = holdAppends(a.store, a.member.key.id)
    const raised = collectAlerts(a)

    const sync = await connectAndSync(a, b)

    assert.equal(sync.received, 1)
    assert.equal(a.store.isRefused(subject.id), true)
    assert.deepEqual(raised, [])
    await gossipReady(a, [b])
    const alerted = waitForEvent<SignedRecord<'alert'>>(a.node, 'alert')
    hold.resolve()
    const alert = await alerted
    assert.equal(alert.body.subject, subject.id)
    await allStore([b], alert.id)
    assert.equal((await b.store.getMeta(alert.id))?.via, 'gossip')
  })

  it('raises one alert per forked author', async () => {
    const { fleet, a, b } = await startApart(nodes, 4)
    const subjects = [fleet.members[2].key, fleet.members[3].key]
    for (const subject of subjects) {
      await splitFeed(subject, fleet, a.store, b.store, 3)
    }
    const raised = collectAlerts(a)

    const sync = await connectAndSync(a, b)
    await waitUntil(() => raised.length >= 2, 10_000, 'two alerts')

    assert.equal(sync.received, 4)
    assert.deepEqual(raised.map(alert => alert.body.subject).sort(), subjects.map(subject => subject.id).sort())
    assert.deepEqual(raised.map(alert => alert.seq).sort(), [1, 2])
    for (const alert of raised) {
      await allStore([b], alert.id)
    }
    assert.equal(raised.length, 2)
    assert.equal((await a.store.alerts()).length, 2)
  })

  it('forwards no second alert by one author', async () => {
    const fleet = createTestFleet({ members: 4 })
    const certificates = fleet.members.map(member => member.certificate)
    const a = await nodes.start(fleet, fleet.members[0], { certificates })
    const b = await nodes.start(fleet, fleet.members[1], { certificates, bootstrap: a.node.getMultiaddrs() })
    const c = await nodes.start(fleet, fleet.members[2], { certificates, bootstrap: b.node.getMultiaddrs() })
    await gossipReady(a, [b])
    await gossipReady(b, [a, c])
    await gossipReady(c, [b])
    const pair = forkOf(fleet.fleet, fleet.members[3].key)
    const first = signAlert(fleet.fleet, a.member.key, pair)
    const second = signAlert(fleet.fleet, a.member.key, pair, body => {
      body.seq = 2
      body.prev = first.id
    })
    const publishRaw = async (record: SignedRecord): Promise<void> => {
      await (a.node.libp2p as any).services.pubsub.publish(a.node.protocols.topics.control, record.bytes)
    }

    await publishRaw(first)
    await allStore([b, c], first.id)
    await publishRaw(second)
    const marker = signIntent(fleet)
    await a.node.publish(marker)
    await allStore([b, c], marker.id)

    // The test proves forwarding by b only while c hears a through b alone.
    assert.equal(c.node.connectedMembers().includes(a.member.key.id), false)
    assert.equal(await b.store.has(second.id), false)
    assert.equal(await c.store.has(second.id), false)
  })

  it('stops with an alert held', async () => {
    const { fleet, a, b } = await startApart(nodes)
    await splitFeed(fleet.members[2].key, fleet, a.store, b.store)
    const hold = holdAppends(a.store, a.member.key.id)
    const raised = collectAlerts(a)
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    process.on('unhandledRejection', onUnhandled)

    try {
      await connectAndSync(a, b)
      await a.node.stop()
      hold.reject(new Error('appends stopped'))
      await a.store.close()
      await new Promise(resolve => setImmediate(resolve))
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }

    assert.deepEqual(raised, [])
    assert.deepEqual(unhandled, [])
  })

  it('keeps an alert stored after stop', async () => {
    const { fleet, a, b } = await startApart(nodes)
    await splitFeed(fleet.members[2].key, fleet, a.store, b.store)
    const hold = holdAppends(a.store, a.member.key.id)
    const raised = collectAlerts(a)
    await connectAndSync(a, b)

    await a.node.stop()
    hold.resolve()
    await waitUntil(async () => (await a.store.alerts()).length > 0, 5_000, 'stored alert')

    assert.deepEqual(raised, [])
    assert.equal((await a.store.alerts())[0].body.subject, fleet.members[2].key.id)
  })
})

import assert from 'node:assert/strict'
import { RECORD_MAX_BYTES, signRecord, toEvidence } from '../../../src/records/index.ts'
import type { ForkPair, SignedRecord } from '../../../src/records/index.ts'
import { eventOfSize, forkOf, signAlert } from '../../utils/alerts.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { NodeSet, gossipReady, signIntent, waitUntil } from './helpers.ts'
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
})

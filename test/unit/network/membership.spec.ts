import assert from 'node:assert/strict'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Connection, PeerId } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import { peerIdFromString } from '@libp2p/peer-id'
import { generateKey } from '../../../src/keys/index.ts'
import { NotMemberError } from '../../../src/network/index.ts'
import { signRecord } from '../../../src/records/index.ts'
import { createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { NodeSet, gossipReady, isReset, signIntent, signRevocation, waitForEvent, waitForLibp2pEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

/** Long enough that no connection in a test closes for lack of a certificate, unless the test is about that. */
const LONG_GRACE_MS = 120_000

function hasConnection (from: RunningNode, to: RunningNode): boolean {
  return (from.node.libp2p?.getConnections(peerIdFromString(to.member.key.id)).length ?? 0) > 0
}

function isFrom (peer: string): (connection: Connection) => boolean {
  return connection => connection.remotePeer.toString() === peer
}

/**
 * Records the result of every message that `node` validates on `topic`, by
 * wrapping the validator that the node attached.
 */
function recordJudgments (node: RunningNode, topic: string): Array<{ from: string, result: TopicValidatorResult }> {
  const pubsub = (node.node.libp2p as any).services.pubsub as GossipSub
  const validator = pubsub.topicValidators.get(topic)
  assert.ok(validator != null, `no validator on ${topic}`)
  const judgments: Array<{ from: string, result: TopicValidatorResult }> = []
  pubsub.topicValidators.set(topic, async (peer: PeerId, message) => {
    const result = await validator(peer, message)
    judgments.push({ from: peer.toString(), result })
    return result
  })
  return judgments
}

function reportBy (fleet: TestFleet, key: TestMember['key']): ReturnType<typeof signRecord<'report'>> {
  return signRecord('report', {
    fleet: fleet.fleet,
    author: key.id,
    seq: 1,
    prev: null,
    issuedAt: iso(Date.now()),
    agentVersion: '0.1.0',
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [key])
}

/** Sends a hello of our own making from `from` to `to` and waits for the reply, which follows the ingest. */
async function sendRawHello (from: RunningNode, to: RunningNode, records: Uint8Array[]): Promise<void> {
  const libp2p = from.node.libp2p as any
  const stream = await libp2p.dialProtocol(peerIdFromString(to.member.key.id), to.node.protocols.hello)
  const lp = lpStream(stream)
  const header = new TextEncoder().encode(JSON.stringify({ rootVersion: 1, count: records.length }))
  await lp.writeV([header, ...records])
  await lp.read({ signal: AbortSignal.timeout(5_000) })
  await stream.close()
}

describe('membership gate', function () {
  this.timeout(20_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  it('closes a non-member after the grace period', async () => {
    const fleet = createTestFleet({ members: 1 })
    const member = await nodes.start(fleet, fleet.members[0], { membershipGraceMs: 200 })
    const strangerKey = generateKey()
    const libp2p = member.node.libp2p
    assert.ok(libp2p != null)
    const opened = waitForLibp2pEvent(libp2p, 'connection:open', isFrom(strangerKey.id))
    const closed = waitForLibp2pEvent(libp2p, 'connection:close', isFrom(strangerKey.id))
    const stranger = await nodes.start(fleet, { key: strangerKey, name: 'stranger', certificate: fleet.members[0].certificate }, {
      bootstrap: member.node.getMultiaddrs(),
      redialDelaysMs: [60_000]
    })
    await opened
    await closed
    await waitUntil(() => !hasConnection(stranger, member), 10_000, 'connection closed at the stranger')
    assert.equal(hasConnection(member, stranger), false)
    assert.equal(member.node.trust.isMember(strangerKey.id), false)
    assert.equal(stranger.node.started, true)
  })

  it('ignores gossip and sync from a non-member', async () => {
    const fleet = createTestFleet({ members: 1 })
    const member = await nodes.start(fleet, fleet.members[0], { membershipGraceMs: LONG_GRACE_MS })
    const intent = signIntent(fleet)
    await member.node.publish(intent)
    const judgments = recordJudgments(member, member.node.protocols.topics.report)
    const strangerKey = generateKey()
    const stranger = await nodes.start(fleet, { key: strangerKey, name: 'stranger', certificate: fleet.members[0].certificate }, {
      bootstrap: member.node.getMultiaddrs()
    })
    await waitUntil(() => stranger.node.connectedMembers().includes(member.member.key.id), 10_000, 'member seen by stranger')
    const summary = await stranger.node.syncWith(member.member.key.id)
    assert.equal(summary, undefined)
    assert.equal(await stranger.store.has(intent.id), false)
    const own = signRecord('report', {
      fleet: fleet.fleet,
      author: strangerKey.id,
      seq: 1,
      prev: null,
      issuedAt: iso(Date.now()),
      agentVersion: '0.1.0',
      addresses: [],
      subscriptions: [],
      profiles: []
    }, [strangerKey])
    await stranger.store.put(own, { via: 'local', receivedAt: new Date().toISOString() })
    await gossipReady(stranger, [member])
    await (stranger.node.libp2p as any).services.pubsub.publish(stranger.node.protocols.topics.report, own.bytes)
    await waitUntil(() => judgments.some(({ from }) => from === strangerKey.id), 10_000, 'report judged')
    assert.deepEqual(judgments.map(({ result }) => result), [TopicValidatorResult.Ignore])
    assert.equal(await member.store.has(own.id), false)
  })

  it('aborts gated protocols for a non-member', async () => {
    const fleet = createTestFleet({ members: 1 })
    const member = await nodes.start(fleet, fleet.members[0], { membershipGraceMs: LONG_GRACE_MS })
    let served = 0
    await member.node.handle('/sower/test-fleet/closure/1.0.0', async (stream) => {
      served++
      await stream.close()
    })
    const stranger = await nodes.start(fleet, { key: generateKey(), name: 'stranger', certificate: fleet.members[0].certificate }, {
      bootstrap: member.node.getMultiaddrs()
    })
    await waitUntil(() => stranger.node.connectedMembers().length === 1, 10_000, 'connection')
    const stream = await stranger.node.dialProtocol(member.member.key.id, '/sower/test-fleet/closure/1.0.0')
    await assert.rejects(lpStream(stream).read({ signal: AbortSignal.timeout(5_000) }), isReset)
    assert.equal(served, 0)
    assert.equal(hasConnection(member, stranger), true)
    await assert.rejects(member.node.dialProtocol(stranger.member.key.id, '/sower/test-fleet/closure/1.0.0'), NotMemberError)
  })

  it('serves gated protocols to members', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await nodes.start(fleet, fleet.members[0])
    await a.node.handle('/sower/test-fleet/echo/1.0.0', async (stream) => {
      const lp = lpStream(stream)
      await lp.write(await lp.read())
      await stream.close()
    })
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    // Each side admits the other after its own hello, so wait for both.
    await waitUntil(() => b.node.connectedMembers().length === 1 && a.node.connectedMembers().length === 1, 5_000, 'connection')
    const lp = lpStream(await b.node.dialProtocol(a.member.key.id, '/sower/test-fleet/echo/1.0.0'))
    await lp.write(Uint8Array.from([1, 2, 3]))
    assert.deepEqual(new Uint8Array((await lp.read()).subarray()), Uint8Array.from([1, 2, 3]))
  })

  it('disconnects a member revoked while connected', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await nodes.start(fleet, fleet.members[0])
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    const c = await nodes.start(fleet, fleet.members[2], { bootstrap: a.node.getMultiaddrs() })
    await waitUntil(() => a.node.connectedMembers().length === 2, 5_000, 'connections')
    await gossipReady(b, [a])
    const revoked = waitForEvent<any>(a.node, 'status', change => change.peer === c.member.key.id && !change.status.member)
    await b.node.publish(signRevocation(fleet, c.member.key.id))
    await revoked
    await waitUntil(() => !hasConnection(a, c) && !hasConnection(b, c), 5_000, 'disconnection')
    // The gater at a denies the upgraded connection; c may see its dial fail or the connection close.
    await c.node.dial(a.node.getMultiaddrs()[0]).catch(() => {})
    await waitUntil(() => !hasConnection(a, c), 5_000, 'denied reconnection')
    assert.equal(a.node.trust.status(c.member.key.id).member, false)
  })

  it('hands a new garden its certificate', async () => {
    const fleet = createTestFleet({ members: 1 })
    const newcomer = fleet.enroll('garden-new')
    const member = await nodes.start(fleet, fleet.members[0], { certificates: [fleet.members[0].certificate, newcomer.certificate] })
    const garden = await nodes.start(fleet, newcomer, { certificates: [], bootstrap: member.node.getMultiaddrs() })
    await waitForEvent<any>(garden.node, 'status', change => change.peer === newcomer.key.id && change.status.member)
    assert.equal(await garden.store.has(newcomer.certificate.id), true)
    const intent = signIntent(fleet)
    const arrival = waitForEvent<any>(garden.node, 'intent', event => event.record.id === intent.id)
    await member.node.publish(intent)
    assert.equal((await arrival).record.id, intent.id)
  })

  it('drops a report in the hello of a non-member', async () => {
    const fleet = createTestFleet({ members: 2 })
    const member = await nodes.start(fleet, fleet.members[0], {
      certificates: fleet.members.map(({ certificate }) => certificate),
      membershipGraceMs: LONG_GRACE_MS
    })
    const stranger = await nodes.start(fleet, { key: generateKey(), name: 'stranger', certificate: fleet.members[0].certificate }, {
      bootstrap: member.node.getMultiaddrs()
    })
    await waitUntil(() => hasConnection(stranger, member), 10_000, 'connection')
    const report = reportBy(fleet, fleet.members[1].key)
    await sendRawHello(stranger, member, [report.bytes])
    assert.equal(await member.store.has(report.id), false)
  })

  it('stores a report in the hello of a member', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await nodes.start(fleet, fleet.members[0], { certificates: fleet.members.map(({ certificate }) => certificate) })
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    await waitUntil(() => a.node.connectedMembers().includes(b.member.key.id), 5_000, 'member seen')
    const report = reportBy(fleet, fleet.members[2].key)
    await sendRawHello(b, a, [report.bytes])
    assert.equal(await a.store.has(report.id), true)
  })
})

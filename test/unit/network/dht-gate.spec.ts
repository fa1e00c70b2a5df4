import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { DhtGate } from '../../../src/network/dht-gate.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { LOOPBACK, NodeSet, gossipReady, isReset, signRevocation, waitForEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

/** Long enough that no connection in these tests closes for lack of a certificate. */
const LONG_GRACE_MS = 120_000

/** Routing table of kad-dht 16, a field of its `KadDHT` class that the exported interface leaves out. */
interface RoutingTable extends EventTarget {
  find: (peer: PeerId) => Promise<PeerId | undefined>
}

function libp2pOf (node: RunningNode): Libp2p<{ dht: KadDHT }> {
  assert.ok(node.node.libp2p != null, `${node.member.name} is not started`)
  return node.node.libp2p as Libp2p<{ dht: KadDHT }>
}

function routingTableOf (node: RunningNode): RoutingTable {
  return (libp2pOf(node).services.dht as unknown as { routingTable: RoutingTable }).routingTable
}

async function inRoutingTable (node: RunningNode, peer: string): Promise<boolean> {
  return (await routingTableOf(node).find(peerIdFromString(peer))) != null
}

function isConnected (from: RunningNode, to: string): boolean {
  return libp2pOf(from).getConnections(peerIdFromString(to)).some(connection => connection.status === 'open')
}

/** Creates a stranger: a key with no certificate that stores `member`'s certificate, so it treats `member` as one. */
function strangerOf (member: TestMember): TestMember {
  return { key: generateKey(), name: 'stranger', certificate: member.certificate }
}

/** Encodes a kad-dht FIND_NODE message for `key`. Protobuf field 1 is the type (FIND_NODE is 4) and field 2 the key. */
function findNodeRequest (key: Uint8Array): Uint8Array {
  return Uint8Array.from([0x08, 0x04, 0x12, key.length, ...key])
}

/** Sends one FIND_NODE for `to`'s own id on a raw stream of `protocol` and returns the reply message. */
async function rawFindNode (from: Libp2p, to: string, protocol: string): Promise<Uint8Array> {
  const stream = await from.dialProtocol(peerIdFromString(to), protocol)
  const lp = lpStream(stream)
  await lp.write(findNodeRequest(peerIdFromString(to).toMultihash().bytes))
  const reply = await lp.read({ signal: AbortSignal.timeout(5_000) })
  await stream.close()
  return reply.subarray()
}

/** Collects the events of a DHT query until it ends. */
async function collect (events: AsyncIterable<QueryEvent>): Promise<QueryEvent[]> {
  const collected: QueryEvent[] = []
  for await (const event of events) {
    collected.push(event)
  }
  return collected
}

/** Creates a libp2p node on loopback with identify, ping and, when given, a DHT and a key. */
async function plainLibp2p (dht?: ReturnType<typeof kadDHT>, key?: SigningKey): Promise<Libp2p<{ dht?: KadDHT }>> {
  return await createLibp2p({
    ...(key != null ? { privateKey: key.toLibp2pKey() } : {}),
    addresses: { listen: LOOPBACK },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping(), ...(dht != null ? { dht } : {}) }
  })
}

describe('DHT gate', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  const plain: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(plain.splice(0).map(async node => { await node.stop() }))
    await nodes.stopAll()
  })

  /** Starts a member that waits long before closing peers without a certificate. */
  async function startGarden (fleet: TestFleet, member: TestMember, bootstrap: string[] = []): Promise<RunningNode> {
    return await nodes.start(fleet, member, {
      certificates: fleet.members.map(({ certificate }) => certificate),
      membershipGraceMs: LONG_GRACE_MS,
      bootstrap
    })
  }

  it('answers a raw FIND_NODE from a member', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await startGarden(fleet, fleet.members[0])
    const b = await startGarden(fleet, fleet.members[1], a.node.getMultiaddrs())
    await waitUntil(() => a.node.connectedMembers().includes(b.member.key.id), 5_000, 'member connected')
    const reply = await rawFindNode(libp2pOf(b), a.member.key.id, a.node.protocols.kad)
    assert.deepEqual([...reply.subarray(0, 2)], [0x08, 0x04])
  })

  it('resets a raw FIND_NODE from a non-member', async () => {
    const fleet = createTestFleet({ members: 1 })
    const member = await startGarden(fleet, fleet.members[0])
    const stranger = await nodes.start(fleet, strangerOf(fleet.members[0]), { bootstrap: member.node.getMultiaddrs() })
    await waitUntil(() => isConnected(member, stranger.member.key.id), 5_000, 'stranger connected')
    await assert.rejects(rawFindNode(libp2pOf(stranger), member.member.key.id, member.node.protocols.kad), isReset)
    assert.equal(isConnected(member, stranger.member.key.id), true)
    assert.equal(member.node.trust.isMember(stranger.member.key.id), false)
  })

  it('gives a non-member kad-dht query no answer', async () => {
    const fleet = createTestFleet({ members: 1 })
    const member = await startGarden(fleet, fleet.members[0])
    const stranger = await nodes.start(fleet, strangerOf(fleet.members[0]), { bootstrap: member.node.getMultiaddrs() })
    // The stranger counts the member as one, so its own DHT sends the member its query.
    await waitUntil(() => inRoutingTable(stranger, member.member.key.id), 5_000, 'member in the stranger routing table')
    const key = peerIdFromString(member.member.key.id).toMultihash().bytes
    const events = await collect(libp2pOf(stranger).services.dht.getClosestPeers(key, { signal: AbortSignal.timeout(10_000) }))
    const fromMember = events.filter(event => 'from' in event && event.from.toString() === member.member.key.id)
    assert.ok(fromMember.some(event => event.name === 'QUERY_ERROR'), 'no failed request to the member')
    assert.equal(fromMember.some(event => event.name === 'PEER_RESPONSE'), false)
    assert.equal(isConnected(member, stranger.member.key.id), true)
  })

  it('sends no query to a non-member', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await startGarden(fleet, fleet.members[0])
    const protocol = a.node.protocols.kad
    const callers: string[] = []
    const stranger = await plainLibp2p()
    plain.push(stranger)
    await stranger.handle(protocol, (stream, connection) => {
      callers.push(connection.remotePeer.toString())
      stream.abort(new Error('this stranger answers nothing'))
    })
    // A member whose DHT has no gate, so it hands out the stranger's address.
    const ungated = await plainLibp2p(
      kadDHT({ protocol, clientMode: false, peerInfoMapper: passthroughMapper, allowQueryWithZeroPeers: true }),
      fleet.members[1].key
    )
    plain.push(ungated)
    await ungated.dial(stranger.getMultiaddrs()[0])
    const ungatedTable = (ungated.services.dht as unknown as { routingTable: RoutingTable }).routingTable
    await waitUntil(async () => await ungatedTable.find(stranger.peerId) != null, 5_000, 'stranger in the ungated routing table')
    await a.node.dial(ungated.getMultiaddrs()[0].toString())
    await waitUntil(() => inRoutingTable(a, ungated.peerId.toString()), 5_000, 'ungated member in the routing table')

    const events = await collect(libp2pOf(a).services.dht.getClosestPeers(stranger.peerId.toMultihash().bytes, {
      signal: AbortSignal.timeout(10_000)
    }))
    const learned = events.some(event => event.name === 'PEER_RESPONSE' && event.closer.some(peer => peer.id.equals(stranger.peerId)))
    assert.equal(learned, true)
    const refused = events.find(event => event.name === 'QUERY_ERROR' && event.from.equals(stranger.peerId))
    assert.equal(refused?.name === 'QUERY_ERROR' ? refused.error.name : undefined, 'NotMemberError')
    assert.equal(callers.includes(a.member.key.id), false)
    assert.equal(isConnected(a, stranger.peerId.toString()), false)
    assert.equal(await inRoutingTable(a, stranger.peerId.toString()), false)
  })

  it('adds a garden to the routing table once admitted', async () => {
    const fleet = createTestFleet({ members: 1 })
    const newcomer = fleet.enroll('garden-new')
    const member = await nodes.start(fleet, fleet.members[0], { membershipGraceMs: LONG_GRACE_MS })
    const timeline: string[] = []
    routingTableOf(member).addEventListener('peer:add', event => {
      timeline.push(`added ${(event as CustomEvent<PeerId>).detail.toString()}`)
    })
    member.node.on('status', change => { timeline.push(`${change.status.member ? 'admitted' : 'dropped'} ${change.peer}`) })
    const garden = await nodes.start(fleet, newcomer, {
      certificates: [fleet.members[0].certificate],
      bootstrap: member.node.getMultiaddrs()
    })
    const gardenId = garden.member.key.id
    const kad = member.node.protocols.kad
    await waitUntil(async () => {
      const stored = await libp2pOf(member).peerStore.get(peerIdFromString(gardenId)).catch(() => undefined)
      return stored?.protocols.includes(kad) === true
    }, 5_000, 'garden identified')

    await member.node.publish(newcomer.certificate)
    await waitUntil(() => inRoutingTable(member, gardenId), 5_000, 'garden in the routing table')
    assert.equal(timeline.indexOf(`added ${gardenId}`) > timeline.indexOf(`admitted ${gardenId}`), true, timeline.join(', '))
    assert.equal(timeline.indexOf(`admitted ${gardenId}`) >= 0, true)
  })

  it('removes a revoked member from the routing table', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await startGarden(fleet, fleet.members[0])
    const b = await startGarden(fleet, fleet.members[1], a.node.getMultiaddrs())
    const c = await startGarden(fleet, fleet.members[2], a.node.getMultiaddrs())
    const revokedId = c.member.key.id
    await waitUntil(() => inRoutingTable(a, revokedId), 5_000, 'member in the routing table')
    await gossipReady(b, [a])
    const revoked = waitForEvent<any>(a.node, 'status', change => change.peer === revokedId && !change.status.member)
    await b.node.publish(signRevocation(fleet, revokedId))
    await revoked
    await waitUntil(async () => !(await inRoutingTable(a, revokedId)), 5_000, 'revoked member removed')
    assert.equal(await inRoutingTable(a, b.member.key.id), true)
  })

  it('keeps the gate across DHT restarts', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await startGarden(fleet, fleet.members[0])
    const b = await startGarden(fleet, fleet.members[1], a.node.getMultiaddrs())
    const stranger = await nodes.start(fleet, strangerOf(fleet.members[0]), { bootstrap: a.node.getMultiaddrs() })
    await waitUntil(() => isConnected(a, b.member.key.id) && isConnected(a, stranger.member.key.id), 5_000, 'connections')
    const dht = libp2pOf(a).services.dht as KadDHT & { start: () => Promise<void>, stop: () => Promise<void> }
    for (let round = 0; round < 2; round++) {
      await dht.stop()
      await dht.start()
      await dht.setMode('client')
      await dht.setMode('server')
      const reply = await rawFindNode(libp2pOf(b), a.member.key.id, a.node.protocols.kad)
      assert.deepEqual([...reply.subarray(0, 2)], [0x08, 0x04])
      await assert.rejects(rawFindNode(libp2pOf(stranger), a.member.key.id, a.node.protocols.kad), isReset)
    }
  })

  it('keeps the gate across node restarts', async () => {
    const fleet = createTestFleet({ members: 2 })
    const a = await startGarden(fleet, fleet.members[0])
    const b = await startGarden(fleet, fleet.members[1])
    const stranger = await nodes.start(fleet, strangerOf(fleet.members[0]))
    for (let round = 0; round < 2; round++) {
      await a.node.stop()
      await a.node.start()
      const address = a.node.getMultiaddrs()[0]
      await b.node.dial(address)
      await stranger.node.dial(address)
      await waitUntil(() => a.node.connectedMembers().includes(b.member.key.id), 5_000, 'member connected')
      const reply = await rawFindNode(libp2pOf(b), a.member.key.id, a.node.protocols.kad)
      assert.deepEqual([...reply.subarray(0, 2)], [0x08, 0x04])
      await assert.rejects(rawFindNode(libp2pOf(stranger), a.member.key.id, a.node.protocols.kad), isReset)
    }
  })

  it('finds a member through the DHT', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await startGarden(fleet, fleet.members[0])
    const b = await startGarden(fleet, fleet.members[1], a.node.getMultiaddrs())
    const c = await startGarden(fleet, fleet.members[2], a.node.getMultiaddrs())
    await waitUntil(() => inRoutingTable(a, b.member.key.id), 5_000, 'member in the routing table')
    await waitUntil(() => inRoutingTable(c, a.member.key.id), 5_000, 'hub in the routing table')
    const found = await c.node.findPeer(b.member.key.id, { signal: AbortSignal.timeout(10_000) })
    assert.equal(found.id.toString(), b.member.key.id)
    assert.ok(found.multiaddrs.length > 0)
  })
})

describe('DhtGate.mapPeerInfo', () => {
  const member = generateKey().id
  const gate = new DhtGate({ isMember: peer => peer === member, logger: silentLogger() })
  const addresses = [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/192.168.1.7/tcp/4001')]

  it('keeps every address of a member', () => {
    const mapped = gate.mapPeerInfo({ id: peerIdFromString(member), multiaddrs: addresses })
    assert.deepEqual(mapped.multiaddrs.map(String), addresses.map(String))
  })

  it('empties the addresses of a non-member', () => {
    const stranger = peerIdFromString(generateKey().id)
    const mapped = gate.mapPeerInfo({ id: stranger, multiaddrs: addresses })
    assert.equal(mapped.id, stranger)
    assert.deepEqual(mapped.multiaddrs, [])
  })
})

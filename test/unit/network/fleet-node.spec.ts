import assert from 'node:assert/strict'
import { silentLogger } from '../../../src/logger.ts'
import { FleetNode, NotStartedError, storePathKey } from '../../../src/network/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import { LOOPBACK, NodeSet, gossipReady, signIntent, waitUntil } from './helpers.ts'
import { openTestStore } from './store.ts'

const STORE_PATH = '/nix/store/0c7jx3sb4w0l0k7y8b6y9n4b4p7m5f2a-hello-2.12'

/** Active handles and requests by type, e.g. { TCPServerWrap: 1, Timeout: 3 }. */
function activeResources (): Map<string, number> {
  const counts = new Map<string, number>()
  for (const name of process.getActiveResourcesInfo()) {
    counts.set(name, (counts.get(name) ?? 0) + 1)
  }
  return counts
}

describe('FleetNode', function () {
  this.timeout(20_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  it('starts and stops twice', async () => {
    const fleet = createTestFleet({ members: 2 })
    const peer = await nodes.start(fleet, fleet.members[1])
    const { node } = await nodes.create(fleet, fleet.members[0], { bootstrap: peer.node.getMultiaddrs() })
    for (let round = 0; round < 2; round++) {
      await node.start()
      await node.start()
      assert.equal(node.started, true)
      await waitUntil(() => node.connectedMembers().length === 1, 5_000, 'connection')
      await node.stop()
      await node.stop()
      assert.equal(node.started, false)
    }
  })

  it('leaves no handles after stop', async () => {
    const fleet = createTestFleet({ members: 2 })
    const { store, close } = await openTestStore()
    const before = activeResources()
    const peer = await nodes.start(fleet, fleet.members[1])
    const node = new FleetNode({ store, nodeKey: fleet.members[0].key, logger: silentLogger() }, {
      root: fleet.root,
      listenAddresses: LOOPBACK,
      bootstrap: peer.node.getMultiaddrs(),
      syncIntervalMs: 1_000
    })
    await node.start()
    await waitUntil(() => node.connectedMembers().length === 1, 5_000, 'connection')
    await node.stop()
    await nodes.stopAll()
    await close()
    // libp2p debounces some work by up to 1 s, so short timers may still fire after stop.
    const settled = (): boolean => ['TCPServerWrap', 'TCPSocketWrap', 'Timeout'].every(type =>
      (activeResources().get(type) ?? 0) <= (before.get(type) ?? 0))
    await waitUntil(settled, 5_000, 'handles released').catch(() => {})
    const after = activeResources()
    for (const type of ['TCPServerWrap', 'TCPSocketWrap', 'Timeout']) {
      assert.ok((after.get(type) ?? 0) <= (before.get(type) ?? 0), `${type}: ${after.get(type)} after, ${before.get(type)} before`)
    }
  })

  it('publishes with no peers', async () => {
    const fleet = createTestFleet({ members: 1 })
    const { node, store } = await nodes.start(fleet, fleet.members[0])
    const intent = signIntent(fleet)
    const result = await node.publish(intent)
    assert.equal(result.recipients, 0)
    assert.equal(await store.has(intent.id), true)
  })

  it('rejects methods before start', async () => {
    const fleet = createTestFleet({ members: 1 })
    const { node } = await nodes.create(fleet, fleet.members[0])
    await assert.rejects(node.provide(STORE_PATH), NotStartedError)
  })

  it('restarts with its history intact', async () => {
    const fleet = createTestFleet({ members: 2 })
    const first = await openTestStore()
    const member = fleet.members[0]
    for (const { certificate } of fleet.members) {
      await first.store.put(certificate, { via: 'local', receivedAt: new Date().toISOString() })
    }
    const node = new FleetNode({ store: first.store, nodeKey: member.key, logger: silentLogger() }, { root: fleet.root, listenAddresses: LOOPBACK })
    await node.start()
    const intent = signIntent(fleet)
    await node.publish(intent)
    await node.stop()
    await first.store.close()

    const store = await RecordStore.open(`${first.dir}/db`)
    const again = new FleetNode({ store, nodeKey: member.key, logger: silentLogger() }, { root: fleet.root, listenAddresses: LOOPBACK })
    try {
      await again.start()
      assert.equal(again.peerId, member.key.id)
      assert.equal(await store.has(intent.id), true)
      assert.equal(again.trust.isMember(fleet.members[1].key.id), true)
      assert.equal((await store.heads()).get(fleet.admin.id), 3)
    } finally {
      await again.stop()
      await first.close()
    }
  })

  it('finds a closure provider through the DHT', async () => {
    const fleet = createTestFleet({ members: 3 })
    const a = await nodes.start(fleet, fleet.members[0])
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    const c = await nodes.start(fleet, fleet.members[2], { bootstrap: a.node.getMultiaddrs() })
    await waitUntil(() => a.node.connectedMembers().length === 2, 5_000, 'connections')
    await gossipReady(a, [b, c])
    await b.node.provide(STORE_PATH)
    const found: string[] = []
    for await (const provider of c.node.findProviders(STORE_PATH, { signal: AbortSignal.timeout(5_000) })) {
      found.push(provider.id.toString())
    }
    assert.ok(found.includes(b.member.key.id))
  })

  it('uses a fleet-scoped DHT protocol', async () => {
    const fleet = createTestFleet({ fleet: 'north', members: 1 })
    const { node } = await nodes.start(fleet, fleet.members[0])
    const protocols = node.libp2p?.getProtocols() ?? []
    assert.ok(protocols.includes('/sower/north/kad/1.0.0'))
    assert.equal(protocols.includes('/ipfs/kad/1.0.0'), false)
  })
})

describe('storePathKey', () => {
  it('hashes the store path hash part', () => {
    assert.equal(storePathKey(STORE_PATH).toString(), storePathKey(`${STORE_PATH}`).toString())
    assert.equal(storePathKey(STORE_PATH).version, 1)
  })

  it('differs between closures', () => {
    const other = '/nix/store/1c7jx3sb4w0l0k7y8b6y9n4b4p7m5f2a-hello-2.12'
    assert.notEqual(storePathKey(STORE_PATH).toString(), storePathKey(other).toString())
  })

  it('rejects a path outside the store', () => {
    assert.throws(() => storePathKey('/usr/bin/hello'), { code: 'ERR_INVALID_INPUT' })
  })
})

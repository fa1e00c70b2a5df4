import assert from 'node:assert/strict'
import { INVALID_MESSAGE_WEIGHT } from '../../../src/network/gossip.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import { NodeSet, gossipReady, signIntent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

/** Gossipsub's graylist threshold: below it, a peer's messages are dropped unread. */
const GRAYLIST_THRESHOLD = -80

function pubsubOf (running: RunningNode): any {
  return (running.node.libp2p as any).services.pubsub
}

/** Signs an intent and changes its body afterwards, so that its signature fails. */
function forgedIntent (fleet: ReturnType<typeof createTestFleet>): Uint8Array {
  const forged = JSON.parse(new TextDecoder().decode(signIntent(fleet).bytes))
  forged.body.targets = ['tag:evil']
  return new TextEncoder().encode(JSON.stringify(forged))
}

describe('gossip score', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  async function pair (): Promise<{ fleet: ReturnType<typeof createTestFleet>, a: RunningNode, b: RunningNode }> {
    const fleet = createTestFleet({ members: 2 })
    const a = await nodes.start(fleet, fleet.members[0])
    const b = await nodes.start(fleet, fleet.members[1], { bootstrap: a.node.getMultiaddrs() })
    await gossipReady(a, [b])
    await gossipReady(b, [a])
    // Until each admits the other, the peer's score carries the penalty of non-members, and a publishes nothing to b.
    await waitUntil(() => pubsubOf(b).getScore(a.member.key.id) === 0, 10_000, 'a admitted by b')
    await waitUntil(() => pubsubOf(a).getScore(b.member.key.id) === 0, 10_000, 'b admitted by a')
    return { fleet, a, b }
  }

  it("lowers an invalid sender's score", async () => {
    const { fleet, a, b } = await pair()
    await pubsubOf(a).publish(a.node.protocols.topics.control, forgedIntent(fleet))
    await waitUntil(() => pubsubOf(b).getScore(a.member.key.id) < 0, 10_000, 'a lower score')
    // One invalid record costs the weight, less what decayed since.
    const score: number = pubsubOf(b).getScore(a.member.key.id)
    assert.ok(score >= INVALID_MESSAGE_WEIGHT, `score ${score} below ${INVALID_MESSAGE_WEIGHT}`)
    assert.ok(score < 0.9 * INVALID_MESSAGE_WEIGHT, `score ${score} above ${0.9 * INVALID_MESSAGE_WEIGHT}`)
  })

  it('graylists after three invalid records', async () => {
    const { fleet, a, b } = await pair()
    for (let count = 0; count < 3; count++) {
      await pubsubOf(a).publish(a.node.protocols.topics.control, forgedIntent(fleet))
    }
    await waitUntil(() => pubsubOf(b).getScore(a.member.key.id) < GRAYLIST_THRESHOLD, 10_000, 'a graylisted sender')
    const valid = signIntent(fleet)
    await a.node.publish(valid)
    // Sync still delivers: only gossip from a graylisted peer is dropped.
    await b.node.syncWith(a.member.key.id)
    assert.equal(await b.store.has(valid.id), true)
  })

  it("keeps a valid sender's score", async () => {
    const { fleet, a, b } = await pair()
    const valid = signIntent(fleet)
    await a.node.publish(valid)
    await waitUntil(async () => await b.store.has(valid.id), 10_000, 'the valid intent on b')
    assert.equal(pubsubOf(b).getScore(a.member.key.id), 0)
  })
})

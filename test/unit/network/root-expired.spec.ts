import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import { generateKey } from '../../../src/keys/index.ts'
import type { Ingest, IngestResult } from '../../../src/network/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { DAY_MS, createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { admins, nextRoot } from '../../utils/roots.ts'
import { NodeSet, gossipReady, signIntent, waitForEvent, waitUntil } from './helpers.ts'
import type { RunningNode } from './helpers.ts'

/**
 * Clock of every node in these tests. The fleet was created 400 days
 * before, so version 1 of its root, which lasts 365 days, has expired.
 */
const NOW_MS = Date.now()
const CREATED_MS = NOW_MS - 400 * DAY_MS

interface ExpiredFleet {
  fleet: TestFleet
  member: TestMember
  garden: TestMember
  /** Version 2, signed by version 1's root key and valid for a year from `NOW_MS`. */
  next: SignedRecord<'root'>
}

/** Creates a fleet whose version 1 has expired at `NOW_MS`, with two gardens enrolled until after `NOW_MS`. */
function expiredFleet (): ExpiredFleet {
  const fleet = createTestFleet({ nowMs: CREATED_MS })
  const expiresAt = iso(NOW_MS + 30 * DAY_MS)
  const member = fleet.enroll('member', { expiresAt })
  const garden = fleet.enroll('garden', { expiresAt })
  const next = nextRoot(fleet.root, {
    fleet: fleet.fleet, admins: fleet.root.body.admins, threshold: 1, nowMs: NOW_MS
  }, [fleet.admin])
  return { fleet, member, garden, next }
}

/** Records the outcome of every record that hello and gossip hand to `node`'s ingest. */
function recordOutcomes (node: RunningNode): IngestResult[] {
  const outcomes: IngestResult[] = []
  const ingest: Ingest = node.node.ingest
  const recording: Ingest = async (bytes, meta) => {
    const outcome = await ingest(bytes, meta)
    outcomes.push(outcome)
    return outcome
  }
  // The hello and gossip paths read the public `ingest` field on every call.
  Object.defineProperty(node.node, 'ingest', { value: recording })
  return outcomes
}

function outcomesFor (outcomes: IngestResult[], id: string): IngestResult[] {
  return outcomes.filter(outcome => outcome.record?.id === id)
}

describe('expired root', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  afterEach(async () => { await nodes.stopAll() })

  const clock = { nowMs: () => NOW_MS }

  it('adopts version 2 from a member', async () => {
    const { fleet, member, garden, next } = expiredFleet()
    const a = await nodes.start(fleet, member, {
      ...clock, root: next, certificates: [member.certificate, garden.certificate]
    })
    const b = await nodes.create(fleet, garden, { ...clock, bootstrap: a.node.getMultiaddrs() })
    const admitted = waitForEvent<any>(b.node, 'status', change => change.peer === member.key.id && change.status.member)
    await b.node.start()
    assert.equal(b.node.trust.rootExpired, true)
    assert.equal(b.node.trust.status(member.key.id).member, false)

    await admitted
    assert.equal(b.node.trust.root.id, next.id)
    assert.equal(b.node.trust.rootExpired, false)
    assert.equal(await b.store.has(member.certificate.id), true)

    await gossipReady(a, [b])
    const intent = signIntent(fleet, {}, NOW_MS)
    const arrival = waitForEvent<any>(b.node, 'intent', event => event.record.id === intent.id)
    await a.node.publish(intent)
    assert.equal((await arrival).record.id, intent.id)
  })

  it('adopts version 2 by sync when hello carries none', async () => {
    const { fleet, member, garden, next } = expiredFleet()
    const certificates = [member.certificate, garden.certificate]
    // A hello this small carries no record, so the root can arrive only by sync.
    const tiny = { helloMaxBytes: 300 }
    const a = await nodes.start(fleet, member, { ...clock, ...tiny, root: next, certificates })
    const b = await nodes.create(fleet, garden, { ...clock, ...tiny, certificates, bootstrap: a.node.getMultiaddrs() })
    const outcomes = recordOutcomes(b)
    const admitted = waitForEvent<any>(b.node, 'status', change => change.peer === member.key.id && change.status.member)
    const synced = waitForEvent<any>(b.node, 'sync', event => event.peer === member.key.id)
    await b.node.start()

    await admitted
    assert.equal(b.node.trust.root.id, next.id)
    // The full sync follows the hello of this node, so that hello has been ingested by then.
    await synced
    assert.deepEqual(outcomesFor(outcomes, next.id), [])
  })

  it('ignores a root floor from a non-member', async () => {
    const { fleet, member, garden, next } = expiredFleet()
    const certificates = [member.certificate, garden.certificate]
    // A hello this small carries no record, so the root can arrive only by sync.
    const tiny = { helloMaxBytes: 300 }
    const stranger: TestMember = { key: generateKey(), name: 'stranger', certificate: member.certificate }
    const s = await nodes.start(fleet, stranger, { ...clock, ...tiny, certificates })
    const libp2p = s.node.libp2p
    assert.ok(libp2p != null)
    // The stranger replies to every sync request with an empty batch that claims the root feed starts at version 1000.
    let served = 0
    await libp2p.unhandle(s.node.protocols.sync)
    await libp2p.handle(s.node.protocols.sync, async stream => {
      const frames = lpStream(stream)
      await frames.read()
      await frames.write(new TextEncoder().encode(JSON.stringify({ count: 0, more: false, next: {}, floors: { root: 1000 } })))
      // The garden closes its end once it has settled the cursors of this pull.
      await frames.read().catch(() => {})
      served++
      await stream.close()
    })
    const b = await nodes.start(fleet, garden, { ...clock, ...tiny, certificates, bootstrap: s.node.getMultiaddrs() })
    await waitUntil(() => served > 0, 10_000, 'root pull from the stranger ended')

    const a = await nodes.start(fleet, member, { ...clock, ...tiny, root: next, certificates })
    const admitted = waitForEvent<any>(b.node, 'status', change => change.peer === member.key.id && change.status.member)
    await b.node.dial(a.node.getMultiaddrs()[0])
    await admitted
    assert.equal(b.node.trust.root.id, next.id)
  })

  it('adopts version 2 by gossip', async () => {
    const { fleet, member, garden, next } = expiredFleet()
    const certificates = [member.certificate, garden.certificate]
    // Both nodes start expired, so no hello carries version 2. The long grace keeps them connected meanwhile.
    const init = { ...clock, certificates, membershipGraceMs: 120_000 }
    const a = await nodes.start(fleet, member, init)
    const b = await nodes.start(fleet, garden, { ...init, bootstrap: a.node.getMultiaddrs() })
    await gossipReady(a, [b])

    const admitted = waitForEvent<any>(b.node, 'status', change => change.peer === member.key.id && change.status.member)
    const stored = waitForEvent<any>(b.node, 'record', event => event.record.id === next.id)
    await a.node.publish(next)
    assert.equal((await stored).via, 'gossip')
    await admitted
    assert.equal(b.node.trust.root.id, next.id)
  })

  it('stays expired among peers with the same root', async () => {
    const { fleet, member, garden } = expiredFleet()
    const a = await nodes.start(fleet, member, clock)
    const b = await nodes.create(fleet, garden, { ...clock, bootstrap: a.node.getMultiaddrs() })
    const outcomes = recordOutcomes(b)
    await b.node.start()

    await waitUntil(() => outcomesFor(outcomes, member.certificate.id).length > 0, 10_000, 'certificate of the peer judged')
    for (const outcome of outcomesFor(outcomes, member.certificate.id)) {
      assert.equal(outcome.action, 'ignore')
      assert.equal(outcome.code, 'ERR_ROOT_EXPIRED')
    }
    assert.equal(await b.store.has(member.certificate.id), false)
    assert.equal(b.node.trust.rootExpired, true)
    assert.equal(b.node.trust.status(member.key.id).member, false)
    assert.deepEqual(b.node.connectedMembers(), [])

    const intent = signIntent(fleet, {}, NOW_MS)
    const ingested = await b.node.ingest(intent.bytes, { via: 'sync', from: member.key.id })
    assert.equal(ingested.action, 'ignore')
    assert.equal(ingested.code, 'ERR_ROOT_EXPIRED')
    await assert.rejects(a.node.publish(intent), { name: 'PublishRejectedError', code: 'ERR_ROOT_EXPIRED' })
    assert.equal(await b.store.has(intent.id), false)
  })

  it('rejects a forged version 2', async () => {
    const { fleet, member, garden } = expiredFleet()
    const forger = generateKey()
    const forged = nextRoot(fleet.root, {
      fleet: fleet.fleet, admins: admins([forger], [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }]), threshold: 1, nowMs: NOW_MS
    }, [forger])
    const a = await nodes.start(fleet, member, { ...clock, root: forged })
    const b = await nodes.create(fleet, garden, { ...clock, bootstrap: a.node.getMultiaddrs() })
    const outcomes = recordOutcomes(b)
    await b.node.start()

    await waitUntil(() => outcomesFor(outcomes, forged.id).length > 0, 10_000, 'forged root judged')
    const [outcome] = outcomesFor(outcomes, forged.id)
    assert.equal(outcome.action, 'reject')
    assert.equal(outcome.code, 'ERR_ROOT_THRESHOLD')
    assert.equal(b.node.trust.root.id, fleet.root.id)
    assert.equal(b.node.trust.rootExpired, true)
    assert.equal(await b.store.has(forged.id), false)
  })
})

import assert from 'node:assert/strict'
import { silentLogger } from '../../../src/logger.ts'
import { TrustState } from '../../../src/network/index.ts'
import { signRecord } from '../../../src/records/index.ts'
import type { RootBody, SignedRecord } from '../../../src/records/index.ts'
import { ROOT_CHAIN_MAX_STEPS } from '../../../src/trust/index.ts'
import { DAY_MS, createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { signRevocation } from './helpers.ts'
import { openTestStore } from './store.ts'

/** Signs `count` root versions after the fleet's pinned one; `expiresAtMs` gives each version's expiry. */
function rootChain (fleet: TestFleet, count: number, expiresAtMs: (version: number) => number): Array<SignedRecord<'root'>> {
  const roots: Array<SignedRecord<'root'>> = []
  let previous = fleet.root
  for (let i = 0; i < count; i++) {
    const version = previous.body.version + 1
    const body: RootBody = { ...previous.body, version, prev: previous.id, expiresAt: iso(expiresAtMs(version)) }
    previous = signRecord('root', body, [fleet.admin])
    roots.push(previous)
  }
  return roots
}

describe('TrustState', () => {
  let close: (() => Promise<void>) | undefined
  afterEach(async () => { await close?.() })

  const nowMs = Date.now()
  const cases = [
    { name: 'loads one walk of versions', count: ROOT_CHAIN_MAX_STEPS - 1, expiresAtMs: () => nowMs + DAY_MS },
    { name: 'loads more than one walk', count: 2 * ROOT_CHAIN_MAX_STEPS + 10, expiresAtMs: () => nowMs + DAY_MS },
    {
      name: 'loads past expired versions',
      count: ROOT_CHAIN_MAX_STEPS + 10,
      expiresAtMs: (version: number) => version <= ROOT_CHAIN_MAX_STEPS + 1 ? nowMs - DAY_MS : nowMs + DAY_MS
    }
  ]

  for (const testCase of cases) {
    it(testCase.name, async () => {
      const fleet = createTestFleet()
      const opened = await openTestStore()
      close = opened.close
      const roots = rootChain(fleet, testCase.count, testCase.expiresAtMs)
      await opened.store.putMany(roots.map(record => ({ record, meta: { via: 'sync', receivedAt: iso(nowMs) } })))
      const trust = new TrustState({ store: opened.store, logger: silentLogger() }, { root: fleet.root, nowMs: () => nowMs })
      await trust.load()
      assert.equal(trust.root.body.version, testCase.count + 1)
      assert.equal(trust.root.id, roots.at(-1)?.id)
    })
  }

  it('loads an expired newest version as expired', async () => {
    const fleet = createTestFleet({ members: 1 })
    const opened = await openTestStore()
    close = opened.close
    const roots = rootChain(fleet, ROOT_CHAIN_MAX_STEPS + 10, () => nowMs - DAY_MS)
    await opened.store.putMany(roots.map(record => ({ record, meta: { via: 'sync', receivedAt: iso(nowMs) } })))
    await opened.store.put(fleet.members[0].certificate, { via: 'sync', receivedAt: iso(nowMs) })
    const trust = new TrustState({ store: opened.store, logger: silentLogger() }, { root: fleet.root, nowMs: () => nowMs })
    await trust.load()
    assert.equal(trust.root.id, roots.at(-1)?.id)
    assert.equal(trust.rootExpired, true)
    const status = trust.status(fleet.members[0].key.id)
    assert.equal(status.member, false)
    assert.equal(!status.member && status.code, 'ERR_ROOT_EXPIRED')
    assert.deepEqual(trust.members(), [])
  })

  it('leaves the expired state at a valid version', async () => {
    const fleet = createTestFleet({ members: 1 })
    const opened = await openTestStore()
    close = opened.close
    const [expired, valid] = rootChain(fleet, 2, version => version === 2 ? nowMs - DAY_MS : nowMs + DAY_MS)
    await opened.store.put(expired, { via: 'sync', receivedAt: iso(nowMs) })
    await opened.store.put(fleet.members[0].certificate, { via: 'sync', receivedAt: iso(nowMs) })
    const trust = new TrustState({ store: opened.store, logger: silentLogger() }, { root: fleet.root, nowMs: () => nowMs })
    await trust.load()
    assert.equal(trust.rootExpired, true)
    const events: string[] = []
    trust.on('rootValid', root => { events.push(root.id) })
    trust.apply(valid)
    assert.equal(trust.rootExpired, false)
    assert.deepEqual(events, [valid.id])
    assert.deepEqual(trust.members(), [fleet.members[0].key.id])
  })

  it('keeps a revoked peer revoked while expired', async () => {
    const fleet = createTestFleet({ members: 1 })
    const opened = await openTestStore()
    close = opened.close
    const [expired] = rootChain(fleet, 1, () => nowMs - DAY_MS)
    const peer = fleet.members[0].key.id
    for (const record of [expired, fleet.members[0].certificate, signRevocation(fleet, peer)]) {
      await opened.store.put(record, { via: 'sync', receivedAt: iso(nowMs) })
    }
    const trust = new TrustState({ store: opened.store, logger: silentLogger() }, { root: fleet.root, nowMs: () => nowMs })
    await trust.load()
    assert.equal(trust.rootExpired, true)
    const status = trust.status(peer)
    assert.equal(!status.member && status.code, 'ERR_REVOKED')
  })
})

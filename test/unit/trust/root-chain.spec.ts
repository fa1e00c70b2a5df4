import assert from 'node:assert/strict'
import { addSignatures, rootBodySchema, signRecord } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import {
  ROOT_CHAIN_MAX_STEPS, isRootExpired, rootKeys, verifyPinnedRoot, verifyPinnedSignatures, verifyRootStep, walkRootChain
} from '../../../src/trust/index.ts'
import { DAY_MS } from '../../utils/fleet.ts'
import { admins, firstRoot, keys, nextRoot } from '../../utils/roots.ts'

const nowMs = Date.parse('2026-06-01T12:00:00.000Z')

type RootRecord = SignedRecord<'root'>

describe('pinned root', () => {
  for (const threshold of [1, 2, 3, 4]) {
    it(`accepts ${threshold} of ${threshold} signatures`, () => {
      const rootKeyList = keys(threshold)
      const root = firstRoot({ admins: admins(rootKeyList), threshold, nowMs }, rootKeyList)
      assert.doesNotThrow(() => verifyPinnedRoot(root, nowMs))
    })

    it(`rejects ${threshold - 1} of ${threshold} signatures`, () => {
      const rootKeyList = keys(threshold)
      const signers = rootKeyList.slice(1)
      const body = firstRoot({ admins: admins(rootKeyList), threshold, nowMs }, rootKeyList).body
      const root = signRecord('root', body, signers.length > 0 ? signers : keys(1))
      assert.throws(() => verifyPinnedRoot(root, nowMs), { name: 'RootChainError', code: 'ERR_ROOT_THRESHOLD' })
    })
  }

  it('counts one key once', () => {
    const [first, second] = keys(2)
    const root = firstRoot({ admins: admins([first, second]), threshold: 2, nowMs }, [first])
    const doubled = { ...root, signatures: [root.signatures[0], root.signatures[0]] }
    assert.throws(() => verifyPinnedRoot(doubled, nowMs), { code: 'ERR_ROOT_THRESHOLD', message: /has 1 of the 2/ })
  })

  it('ignores admins without root scope', () => {
    const [rooted, deployer] = keys(2)
    const list = [...admins([rooted]), ...admins([deployer], [{ name: 'deploy' }])]
    const root = firstRoot({ admins: list, threshold: 1, nowMs }, [deployer])
    assert.throws(() => verifyPinnedRoot(root, nowMs), { code: 'ERR_ROOT_THRESHOLD' })
  })

  it('ignores unknown signers', () => {
    const [rooted] = keys(1)
    const root = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs }, [rooted, ...keys(2)])
    assert.doesNotThrow(() => verifyPinnedRoot(root, nowMs))
  })

  it('rejects a bad signature', () => {
    const [rooted] = keys(1)
    const root = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs }, [rooted])
    const changed = { ...root, body: { ...root.body, threshold: 1, expiresAt: '2099-01-01T00:00:00.000Z' } }
    assert.throws(() => verifyPinnedRoot(changed, nowMs), { code: 'ERR_ROOT_SIGNATURE' })
  })

  it('rejects an expired root', () => {
    const [rooted] = keys(1)
    const root = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs, expiresAtMs: nowMs }, [rooted])
    assert.throws(() => verifyPinnedRoot(root, nowMs), { code: 'ERR_ROOT_EXPIRED', message: /sower root rotate/ })
  })

  it('checks signatures of an expired root', () => {
    const [rooted, other] = keys(2)
    const root = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs, expiresAtMs: nowMs - DAY_MS }, [rooted])
    assert.doesNotThrow(() => verifyPinnedSignatures(root))
    const unsigned = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs, expiresAtMs: nowMs - DAY_MS }, [other])
    assert.throws(() => verifyPinnedSignatures(unsigned), { code: 'ERR_ROOT_THRESHOLD' })
  })

  it('expires at its expiry time', () => {
    const [rooted] = keys(1)
    const root = firstRoot({ admins: admins([rooted]), threshold: 1, nowMs, expiresAtMs: nowMs }, [rooted])
    assert.equal(isRootExpired(root, nowMs - 1), false)
    assert.equal(isRootExpired(root, nowMs), true)
  })

  it('lists its root keys', () => {
    const [rooted, deployer] = keys(2)
    const list = [...admins([rooted]), ...admins([deployer], [{ name: 'deploy' }])]
    const root = firstRoot({ admins: list, threshold: 1, nowMs }, [rooted])
    assert.deepEqual([...rootKeys(root.body)], [rooted.id])
  })
})

describe('root chain', () => {
  const [a, b, c, d, e] = keys(5)
  const v1 = firstRoot({ admins: admins([a, b, c]), threshold: 2, nowMs }, [a, b])
  // Version 2 removes c and adds d; version 3 removes a and adds e.
  const v2 = nextRoot(v1, { admins: admins([a, b, d]), threshold: 2, nowMs }, [a, b, d])
  const v3 = nextRoot(v2, { admins: admins([b, d, e]), threshold: 2, nowMs }, [b, d, e])

  it('walks several versions', () => {
    assert.equal(walkRootChain(v1, [v3, v2], nowMs).id, v3.id)
  })

  it('stays at the pinned root alone', () => {
    assert.equal(walkRootChain(v1, [], nowMs).id, v1.id)
  })

  it('ignores duplicates and older versions', () => {
    assert.equal(walkRootChain(v2, [v1, v2, v3, v3], nowMs).id, v3.id)
  })

  it('stops at a skipped version', () => {
    assert.equal(walkRootChain(v1, [v3], nowMs).id, v1.id)
  })

  it('rejects a skipped version as a step', () => {
    assert.throws(() => verifyRootStep(v1, v3), { code: 'ERR_ROOT_VERSION', message: /version 3 cannot follow version 1/ })
  })

  it('rejects a key removed in the previous version', () => {
    const forged = nextRoot(v2, { admins: admins([b, c]), threshold: 2, nowMs }, [b, c])
    assert.throws(() => verifyRootStep(v2, forged), { code: 'ERR_ROOT_THRESHOLD', message: /1 of the 2 signatures that version 2's root keys/ })
    assert.throws(() => walkRootChain(v1, [v2, forged], nowMs), { code: 'ERR_ROOT_THRESHOLD' })
  })

  it('rejects a missing threshold of old keys', () => {
    const next = nextRoot(v1, { admins: admins([a, d, e]), threshold: 2, nowMs }, [a, d, e])
    assert.throws(() => verifyRootStep(v1, next), { code: 'ERR_ROOT_THRESHOLD', message: /version 1's root keys/ })
  })

  it('rejects a missing threshold of new keys', () => {
    const next = nextRoot(v1, { admins: admins([a, d, e]), threshold: 2, nowMs }, [a, b, c])
    assert.throws(() => verifyRootStep(v1, next), { code: 'ERR_ROOT_THRESHOLD', message: /its own root keys/ })
  })

  it('counts a repeated old key once', () => {
    const next = nextRoot(v1, { admins: admins([a, b, c]), threshold: 2, nowMs }, [a])
    const doubled = { ...next, signatures: [next.signatures[0], next.signatures[0]] }
    assert.throws(() => verifyRootStep(v1, doubled), { code: 'ERR_ROOT_THRESHOLD' })
  })

  it('raises a threshold the old keys cannot meet alone', () => {
    const next = nextRoot(v1, { admins: admins([a, b, c, d]), threshold: 3, nowMs }, [a, b])
    assert.throws(() => verifyRootStep(v1, next), { code: 'ERR_ROOT_THRESHOLD', message: /2 of the 3 signatures its own/ })
  })

  it('rejects an expired newest version', () => {
    const expired = nextRoot(v2, { admins: admins([b, d, e]), threshold: 2, nowMs, expiresAtMs: nowMs - 1 }, [b, d, e])
    assert.throws(() => walkRootChain(v1, [v2, expired], nowMs), { code: 'ERR_ROOT_EXPIRED', message: /root version 3 expired/ })
  })

  it('passes an expired intermediate version', () => {
    const old = nextRoot(v1, { admins: admins([a, b, d]), threshold: 2, nowMs, expiresAtMs: nowMs - DAY_MS }, [a, b])
    const newest = nextRoot(old, { admins: admins([b, d, e]), threshold: 2, nowMs }, [b, d, e])
    assert.equal(walkRootChain(v1, [old, newest], nowMs).id, newest.id)
  })

  it('rejects a wrong prev link', () => {
    const otherV1 = firstRoot({ admins: admins([a, b, c]), threshold: 1, nowMs }, [a])
    const wrongPrev = signRecord('root', { ...v2.body, prev: otherV1.id }, [a, b, d])
    assert.throws(() => verifyRootStep(v1, wrongPrev), { code: 'ERR_ROOT_LINK', message: new RegExp(`does not extend root ${v1.id}`) })
  })

  it('rejects another fleet with the right link', () => {
    const foreign = signRecord('root', { ...v2.body, fleet: 'other-fleet' }, [a, b])
    assert.throws(() => verifyRootStep(v1, foreign), { code: 'ERR_ROOT_LINK', message: /of fleet test-fleet/ })
  })

  it('rejects another fleet\'s chain', () => {
    const otherV1 = firstRoot({ fleet: 'other-fleet', admins: admins([a, b]), threshold: 2, nowMs }, [a, b])
    const otherV2 = nextRoot(otherV1, { fleet: 'other-fleet', admins: admins([a, b]), threshold: 2, nowMs }, [a, b])
    assert.throws(() => walkRootChain(v1, [otherV2], nowMs), { code: 'ERR_ROOT_LINK' })
  })

  it('prefers the valid candidate', () => {
    const otherV1 = firstRoot({ fleet: 'other-fleet', admins: admins([a, b]), threshold: 2, nowMs }, [a, b])
    const otherV2 = nextRoot(otherV1, { fleet: 'other-fleet', admins: admins([a, b]), threshold: 2, nowMs }, [a, b])
    assert.equal(walkRootChain(v1, [otherV2, v2], nowMs).id, v2.id)
  })

  it('gives every signature set of a version one id', () => {
    const minimal = nextRoot(v1, { admins: admins([a, b, d]), threshold: 2, nowMs }, [a, b])
    const more = addSignatures(minimal, [d])
    assert.equal(more.id, minimal.id)
    assert.notDeepEqual(more.bytes, minimal.bytes)
  })

  it('follows the link past a copy with more signatures', () => {
    const minimal = nextRoot(v1, { admins: admins([a, b, d]), threshold: 2, nowMs }, [a, b])
    const more = addSignatures(minimal, [d])
    const after = nextRoot(more, { admins: admins([b, d, e]), threshold: 2, nowMs }, [b, d])
    assert.equal(walkRootChain(v1, [more, minimal, after], nowMs).id, after.id)
    assert.equal(walkRootChain(v1, [minimal, more, after], nowMs).id, after.id)
  })

  it('stops after the step cap', () => {
    const chain = buildChain(5)
    assert.equal(walkRootChain(chain[0], chain.slice(1), nowMs, 2).body.version, 3)
  })

  it(`caps a walk at ${ROOT_CHAIN_MAX_STEPS} steps`, () => {
    const chain = buildChain(ROOT_CHAIN_MAX_STEPS + 3)
    const first = walkRootChain(chain[0], chain.slice(1), nowMs)
    assert.equal(first.body.version, ROOT_CHAIN_MAX_STEPS + 1)
    assert.equal(walkRootChain(first, chain, nowMs).body.version, ROOT_CHAIN_MAX_STEPS + 3)
  })

  it('rejects prev on version 1 in the schema', () => {
    const result = rootBodySchema.safeParse({ ...v1.body, prev: v1.id })
    assert.equal(result.success, false)
    assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['prev'])
  })

  it('rejects a missing prev on version 2 in the schema', () => {
    const result = rootBodySchema.safeParse({ ...v2.body, prev: null })
    assert.equal(result.success, false)
    assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['prev'])
  })
})

function buildChain (length: number): RootRecord[] {
  const [key] = keys(1)
  const init = { admins: admins([key]), threshold: 1, nowMs }
  const chain = [firstRoot(init, [key])]
  while (chain.length < length) {
    chain.push(nextRoot(chain[chain.length - 1], init, [key]))
  }
  return chain
}

import assert from 'node:assert/strict'
import { SyncBudget } from '../../../src/network/sync-budget.ts'

function budgetAt (clock: { nowMs: number }, maxPeers = 4): SyncBudget {
  return new SyncBudget({ burstBytes: 1000, refillBytesPerSec: 100, maxPeers, nowMs: () => clock.nowMs })
}

describe('sync budget', () => {
  const cases: Array<{ name: string, chargeBytes: number, elapsedMs: number, tokens: number }> = [
    { name: 'untouched peer', chargeBytes: 0, elapsedMs: 0, tokens: 1000 },
    { name: 'charged peer', chargeBytes: 600, elapsedMs: 0, tokens: 400 },
    { name: 'overdrawn peer', chargeBytes: 1500, elapsedMs: 0, tokens: -500 },
    { name: 'partial refill', chargeBytes: 1500, elapsedMs: 2_000, tokens: -300 },
    { name: 'refill capped at burst', chargeBytes: 600, elapsedMs: 60_000, tokens: 1000 }
  ]
  for (const { name, chargeBytes, elapsedMs, tokens } of cases) {
    it(name, () => {
      const clock = { nowMs: 0 }
      const budget = budgetAt(clock)
      budget.charge('peer', chargeBytes)
      clock.nowMs += elapsedMs
      assert.equal(budget.tokens('peer'), tokens)
      assert.equal(budget.hasTokens('peer'), tokens > 0)
    })
  }

  it('allows one session per peer', () => {
    const budget = budgetAt({ nowMs: 0 })
    assert.equal(budget.beginSession('a'), true)
    assert.equal(budget.beginSession('a'), false)
    assert.equal(budget.beginSession('b'), true)
    budget.endSession('a')
    assert.equal(budget.beginSession('a'), true)
  })

  it('drops refilled buckets', () => {
    const clock = { nowMs: 0 }
    const budget = budgetAt(clock)
    budget.charge('a', 500)
    budget.charge('b', 100)
    clock.nowMs += 1_000
    budget.beginSession('c')
    assert.equal(budget.trackedPeers, 1)
    assert.equal(budget.tokens('a'), 600)
  })

  it('keeps at most maxPeers buckets', () => {
    const clock = { nowMs: 0 }
    const budget = budgetAt(clock, 2)
    for (const peer of ['a', 'b', 'c']) {
      budget.charge(peer, 800)
    }
    assert.equal(budget.trackedPeers, 2)
    assert.equal(budget.tokens('a'), 1000)
    assert.equal(budget.tokens('c'), 200)
  })
})

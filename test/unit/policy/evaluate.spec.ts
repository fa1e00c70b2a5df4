import assert from 'node:assert/strict'
import {
  ACTIONS, PolicyArgumentError, SEED_TYPES, TRIGGERS, evaluate, parseSubscriptionPolicy
} from '../../../src/policy/index.ts'
import type { Action, Rule, Rules, SeedType, TimeWindow, Trigger, Weekday } from '../../../src/policy/index.ts'

const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const NIGHT: TimeWindow = { days: ALL_DAYS, start: '22:00', end: '06:00' }
// 2025-06-02 is a Monday.
const NOON = new Date('2025-06-02T12:00Z')

function rule (actions: Action[], triggers: Trigger[], extra: Partial<Rule> = {}): Rule {
  return { actions, triggers, confirm: false, ...extra }
}

/** Returns every non-empty subset of `values`, in their order. */
function subsets<T> (values: readonly T[]): T[][] {
  const result: T[][] = []
  for (let mask = 1; mask < 2 ** values.length; mask++) {
    result.push(values.filter((_, index) => (mask & (1 << index)) !== 0))
  }
  return result
}

describe('policy evaluate', () => {
  describe('actions and triggers', () => {
    for (const action of ACTIONS) {
      for (const allowed of TRIGGERS) {
        for (const trigger of TRIGGERS) {
          const permitted = trigger === allowed
          it(`${permitted ? 'permits' : 'denies'} ${action} for ${allowed} on ${trigger}`, () => {
            const decision = evaluate({ only: rule([action], [allowed]) }, trigger, 'system', NOON)
            assert.equal(decision.action, permitted ? action : null)
            assert.equal(decision.rule, permitted ? 'only' : null)
            assert.equal(decision.denied, !permitted)
            assert.equal(decision.confirm, false)
            assert.equal(decision.stageNow, permitted)
            assert.equal(decision.waitForWindow, null)
          })
        }
      }
    }

    for (const actions of subsets(ACTIONS)) {
      const highest = actions[actions.length - 1]
      it(`returns ${highest} from ${actions.join(', ')}`, () => {
        assert.equal(evaluate({ only: rule(actions, ['realtime']) }, 'realtime', 'system', NOON).action, highest)
      })
    }

    it('denies with no rules', () => {
      const decision = evaluate({}, 'realtime', 'system', NOON)
      assert.deepEqual(decision, {
        action: null, rule: null, confirm: false, denied: true, stageNow: false, waitForWindow: null
      })
    })

    it('denies a rule without actions', () => {
      assert.equal(evaluate({ only: rule([], ['realtime']) }, 'realtime', 'system', NOON).denied, true)
    })

    it('takes the highest action across rules', () => {
      const rules = { low: rule(['stage'], ['realtime']), high: rule(['activate'], ['realtime']) }
      const decision = evaluate(rules, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'activate')
      assert.equal(decision.rule, 'high')
    })

    for (const seedType of SEED_TYPES) {
      it(`returns restart for a ${seedType} seed`, () => {
        const rules = { all: rule(['stage', 'activate', 'restart'], ['user_retry']) }
        assert.equal(evaluate(rules, 'user_retry', seedType, NOON).action, 'restart')
      })
    }
  })

  describe('confirm', () => {
    it('requires confirmation', () => {
      const careful = rule(['activate'], ['realtime'], { confirm: true })
      const decision = evaluate({ careful }, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'activate')
      assert.equal(decision.confirm, true)
      assert.equal(decision.denied, false)
      assert.equal(decision.stageNow, false)
    })

    const orders: Array<[string, Rules]> = [
      ['confirm first', {
        careful: rule(['activate'], ['realtime'], { confirm: true }), quick: rule(['activate'], ['realtime'])
      }],
      ['confirm last', {
        quick: rule(['activate'], ['realtime']), careful: rule(['activate'], ['realtime'], { confirm: true })
      }]
    ]
    for (const [name, rules] of orders) {
      it(`prefers no confirm with ${name}`, () => {
        const decision = evaluate(rules, 'realtime', 'system', NOON)
        assert.equal(decision.rule, 'quick')
        assert.equal(decision.confirm, false)
      })
    }

    it('prefers a higher action with confirm', () => {
      const rules = {
        careful: rule(['restart'], ['realtime'], { confirm: true }),
        quick: rule(['activate'], ['realtime'])
      }
      const decision = evaluate(rules, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'restart')
      assert.equal(decision.confirm, true)
      assert.equal(decision.stageNow, true)
    })

    for (const seedType of ['service', 'home'] as SeedType[]) {
      it(`prefers activate over confirmed restart for ${seedType}`, () => {
        const rules = {
          careful: rule(['restart'], ['realtime'], { confirm: true }),
          quick: rule(['activate'], ['realtime'])
        }
        const decision = evaluate(rules, 'realtime', seedType, NOON)
        assert.equal(decision.action, 'activate')
        assert.equal(decision.confirm, false)
      })
    }

    it('breaks ties by rule name', () => {
      const rules = { zulu: rule(['activate'], ['realtime']), alpha: rule(['activate'], ['realtime']) }
      assert.equal(evaluate(rules, 'realtime', 'system', NOON).rule, 'alpha')
    })

    it('stages now under a confirmed action', () => {
      const rules = {
        careful: rule(['activate'], ['realtime'], { confirm: true }),
        fetch: rule(['stage'], ['realtime'])
      }
      const decision = evaluate(rules, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'activate')
      assert.equal(decision.confirm, true)
      assert.equal(decision.stageNow, true)
    })
  })

  describe('windows', () => {
    const nightly = rule(['stage', 'activate', 'restart'], ['schedule'], { window: NIGHT })
    const fetch = rule(['stage'], ['realtime', 'poll_on_connect'])

    it('waits for the window', () => {
      const decision = evaluate({ nightly }, 'realtime', 'system', NOON)
      assert.equal(decision.action, null)
      assert.equal(decision.denied, false)
      assert.equal(decision.stageNow, false)
      assert.deepEqual(decision.waitForWindow, {
        action: 'restart', rule: 'nightly', confirm: false, opensAt: new Date('2025-06-02T22:00Z')
      })
    })

    it('stages while waiting', () => {
      const decision = evaluate({ nightly, fetch }, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'stage')
      assert.equal(decision.rule, 'fetch')
      assert.equal(decision.stageNow, true)
      assert.equal(decision.waitForWindow?.action, 'restart')
    })

    const edges: Array<[string, string, Action | null]> = [
      ['before start', '2025-06-02T21:59Z', null],
      ['at start', '2025-06-02T22:00Z', 'restart'],
      ['at 23:30', '2025-06-02T23:30Z', 'restart'],
      ['at 05:59', '2025-06-03T05:59Z', 'restart'],
      ['at end', '2025-06-03T06:00Z', null]
    ]
    for (const [name, at, expected] of edges) {
      it(`permits ${expected ?? 'nothing'} on schedule ${name}`, () => {
        assert.equal(evaluate({ nightly }, 'schedule', 'system', new Date(at)).action, expected)
      })
    }

    it('waits from the end instant to the next start', () => {
      const decision = evaluate({ nightly }, 'schedule', 'system', new Date('2025-06-03T06:00Z'))
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-03T22:00Z'))
    })

    it('opens at once inside a window for another trigger', () => {
      const now = new Date('2025-06-02T23:00Z')
      const decision = evaluate({ nightly, fetch }, 'realtime', 'system', now)
      assert.equal(decision.action, 'stage')
      assert.deepEqual(decision.waitForWindow?.opensAt, now)
    })

    it('acts inside a window that lists the trigger', () => {
      const open = rule(['stage', 'activate'], ['realtime', 'schedule'], { window: NIGHT })
      const decision = evaluate({ open }, 'realtime', 'system', new Date('2025-06-02T23:00Z'))
      assert.equal(decision.action, 'activate')
      assert.equal(decision.waitForWindow, null)
    })

    it('does not defer without the schedule trigger', () => {
      const pushOnly = rule(['stage', 'activate'], ['realtime'], { window: NIGHT })
      assert.equal(evaluate({ pushOnly }, 'realtime', 'system', NOON).denied, true)
    })

    it('does not defer to a rule without a window', () => {
      const later = rule(['activate'], ['schedule'])
      assert.equal(evaluate({ later, fetch }, 'realtime', 'system', NOON).waitForWindow, null)
    })

    it('does not defer to a window without days', () => {
      const never = rule(['activate'], ['schedule'], { window: { ...NIGHT, days: [] } })
      assert.equal(evaluate({ never }, 'realtime', 'system', NOON).denied, true)
    })

    it('waits for a restart after activating a system', () => {
      const rules = { nightly, quick: rule(['stage', 'activate'], ['realtime']) }
      const decision = evaluate(rules, 'realtime', 'system', NOON)
      assert.equal(decision.action, 'activate')
      assert.equal(decision.waitForWindow?.action, 'restart')
    })

    for (const seedType of ['service', 'home'] as SeedType[]) {
      it(`does not wait for a restart of ${seedType}`, () => {
        const rules = { nightly, quick: rule(['stage', 'activate'], ['realtime']) }
        const decision = evaluate(rules, 'realtime', seedType, NOON)
        assert.equal(decision.action, 'activate')
        assert.equal(decision.waitForWindow, null)
      })
    }

    it('waits for the earliest window', () => {
      const evening = rule(['activate'], ['schedule'], { window: { days: ALL_DAYS, start: '18:00', end: '19:00' } })
      const decision = evaluate({ nightly, evening }, 'realtime', 'system', NOON)
      assert.equal(decision.waitForWindow?.rule, 'evening')
      assert.equal(decision.waitForWindow?.action, 'activate')
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-02T18:00Z'))
    })

    it('reports the best rule at the opening', () => {
      const windowed = rule(['activate'], ['schedule'], { window: NIGHT })
      const anytime = rule(['stage', 'activate', 'restart'], ['schedule'])
      const decision = evaluate({ windowed, anytime }, 'realtime', 'system', NOON)
      assert.equal(decision.waitForWindow?.rule, 'anytime')
      assert.equal(decision.waitForWindow?.action, 'restart')
    })

    it('carries confirm of the window rule', () => {
      const careful = rule(['activate'], ['schedule'], { window: NIGHT, confirm: true })
      assert.equal(evaluate({ careful }, 'realtime', 'system', NOON).waitForWindow?.confirm, true)
    })

    it('waits for the next window on schedule', () => {
      const evening = rule(['activate'], ['schedule'], { window: { days: ALL_DAYS, start: '18:00', end: '19:00' } })
      const decision = evaluate({ nightly, evening }, 'schedule', 'system', new Date('2025-06-02T18:00Z'))
      assert.equal(decision.action, 'activate')
      assert.equal(decision.waitForWindow?.action, 'restart')
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-02T22:00Z'))
    })

    it('uses the garden zone', () => {
      const decision = evaluate({ nightly }, 'realtime', 'system', NOON, { zone: 'Asia/Kolkata' })
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-02T16:30Z'))
    })

    it('uses the window zone over the garden zone', () => {
      const kiritimati = rule(['activate'], ['schedule'], { window: { ...NIGHT, zone: 'Pacific/Kiritimati' } })
      // 20:00 UTC is 01:30 in Kolkata, inside the garden zone's night, but 10:00 in Kiritimati.
      const now = new Date('2025-06-02T20:00Z')
      const decision = evaluate({ kiritimati }, 'realtime', 'system', now, { zone: 'Asia/Kolkata' })
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-03T08:00Z'))
    })

    it('waits across a daylight saving jump', () => {
      const berlin = rule(['activate'], ['schedule'], { window: { days: ALL_DAYS, start: '02:00', end: '03:00' } })
      const now = new Date('2025-03-29T12:00Z')
      const decision = evaluate({ berlin }, 'realtime', 'system', now, { zone: 'Europe/Berlin' })
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-03-30T01:00Z'))
    })
  })

  describe('shorthand policies', () => {
    it('stages realtime by default', () => {
      const decision = evaluate(parseSubscriptionPolicy({}), 'realtime', 'system', NOON)
      assert.equal(decision.action, 'stage')
      assert.equal(decision.rule, 'arrival')
    })

    it('activates a retry by default', () => {
      assert.equal(evaluate(parseSubscriptionPolicy({}), 'user_retry', 'system', NOON).action, 'activate')
    })

    it('denies schedule by default', () => {
      assert.equal(evaluate(parseSubscriptionPolicy({}), 'schedule', 'system', NOON).denied, true)
    })

    it('activates realtime when accepted', () => {
      const rules = parseSubscriptionPolicy({ acceptRealtime: true })
      assert.equal(evaluate(rules, 'realtime', 'system', NOON).action, 'activate')
    })

    it('activates on connect when enabled', () => {
      const rules = parseSubscriptionPolicy({ deployOnConnect: true })
      assert.equal(evaluate(rules, 'poll_on_connect', 'system', NOON).action, 'activate')
    })

    it('stages then restarts in the window', () => {
      const rules = parseSubscriptionPolicy({ window: { start: '02:00', end: '04:00', zone: 'Europe/Berlin' } })
      const decision = evaluate(rules, 'poll_on_connect', 'system', NOON)
      assert.equal(decision.action, 'stage')
      assert.equal(decision.waitForWindow?.action, 'restart')
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-03T00:00Z'))
    })

    it('asks to confirm a retry', () => {
      const decision = evaluate(parseSubscriptionPolicy({ confirm: true }), 'user_retry', 'system', NOON)
      assert.equal(decision.action, 'activate')
      assert.equal(decision.confirm, true)
      assert.equal(decision.stageNow, false)
    })

    it('never activates with stageOnly', () => {
      const rules = parseSubscriptionPolicy({ stageOnly: true, acceptRealtime: true })
      for (const trigger of TRIGGERS) {
        assert.notEqual(evaluate(rules, trigger, 'system', NOON).action, 'activate', trigger)
      }
    })
  })

  describe('documented examples', () => {
    const maintenance = parseSubscriptionPolicy({
      window: { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '02:00', end: '04:00', zone: 'Europe/Berlin' }
    })
    const rules = parseSubscriptionPolicy({
      policy: {
        fetch: { actions: ['stage'], triggers: ['realtime', 'poll_on_connect'] },
        nightly: {
          actions: ['stage', 'activate'],
          triggers: ['schedule'],
          window: { start: '22:00', end: '06:00', zone: 'Europe/Berlin' }
        },
        weekend: {
          actions: ['stage', 'activate', 'restart'],
          triggers: ['schedule'],
          window: { days: ['sat'], start: '03:00', end: '05:00', zone: 'Europe/Berlin' }
        },
        retry: { actions: ['stage', 'activate'], triggers: ['user_retry'], confirm: true }
      }
    })

    it('waits from Tuesday to Wednesday night', () => {
      const decision = evaluate(maintenance, 'realtime', 'system', new Date('2025-06-03T12:00Z'))
      assert.equal(decision.action, 'stage')
      assert.equal(decision.stageNow, true)
      assert.deepEqual(decision.waitForWindow, {
        action: 'restart', rule: 'window', confirm: false, opensAt: new Date('2025-06-04T00:00Z')
      })
    })

    it('waits from Friday to Monday night', () => {
      const decision = evaluate(maintenance, 'realtime', 'system', new Date('2025-06-06T13:00Z'))
      assert.deepEqual(decision.waitForWindow?.opensAt, new Date('2025-06-09T00:00Z'))
    })

    it('activates at night after staging', () => {
      const decision = evaluate(rules, 'realtime', 'system', new Date('2025-06-04T10:00Z'))
      assert.equal(decision.action, 'stage')
      assert.deepEqual(decision.waitForWindow, {
        action: 'activate', rule: 'nightly', confirm: false, opensAt: new Date('2025-06-04T20:00Z')
      })
    })

    it('leaves the reboot to the weekend', () => {
      const decision = evaluate(rules, 'schedule', 'system', new Date('2025-06-04T20:00Z'))
      assert.equal(decision.action, 'activate')
      assert.deepEqual(decision.waitForWindow, {
        action: 'restart', rule: 'weekend', confirm: false, opensAt: new Date('2025-06-07T01:00Z')
      })
    })

    it('confirms a retry', () => {
      const decision = evaluate(rules, 'user_retry', 'system', new Date('2025-06-04T10:00Z'))
      assert.equal(decision.action, 'activate')
      assert.equal(decision.confirm, true)
    })
  })

  describe('arguments', () => {
    const invalid: Array<[string, () => unknown]> = [
      ['unknown trigger', () => evaluate({}, 'gossip' as Trigger, 'system', NOON)],
      ['unknown seed type', () => evaluate({}, 'realtime', 'vm' as SeedType, NOON)],
      ['invalid date', () => evaluate({}, 'realtime', 'system', new Date('soon'))],
      ['unknown garden zone', () => evaluate({}, 'realtime', 'system', NOON, { zone: 'Moon/Base' })]
    ]
    for (const [name, call] of invalid) {
      it(`rejects ${name}`, () => {
        assert.throws(call, (error: unknown) => {
          return error instanceof PolicyArgumentError && error.code === 'ERR_POLICY_ARGUMENT'
        })
      })
    }
  })
})

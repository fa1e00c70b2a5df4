import assert from 'node:assert/strict'
import { PolicyError, expandPolicy, parseSubscriptionPolicy } from '../../../src/policy/index.ts'
import type { Rule, Rules, TimeWindow, Weekday } from '../../../src/policy/index.ts'

const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const NIGHT: TimeWindow = { days: ALL_DAYS, start: '02:00', end: '04:00' }

const arrival: Rule = { actions: ['stage'], triggers: ['realtime', 'poll_on_connect'], confirm: false }
const retry: Rule = { actions: ['stage', 'activate'], triggers: ['user_retry'], confirm: false }
const realtime: Rule = { actions: ['stage', 'activate'], triggers: ['realtime'], confirm: false }
const connect: Rule = { actions: ['stage', 'activate'], triggers: ['poll_on_connect'], confirm: false }
const windowRule: Rule = {
  actions: ['stage', 'activate', 'restart'], triggers: ['schedule'], window: NIGHT, confirm: false
}

function confirmed (rule: Rule): Rule {
  return { ...rule, confirm: true }
}

function stageOnly (rule: Rule): Rule {
  return { ...rule, actions: ['stage'] }
}

describe('policy shorthand', () => {
  const cases: Array<[string, Record<string, unknown>, Rules]> = [
    ['nothing set', {}, { arrival, retry }],
    ['all null',
      { policy: null, window: null, acceptRealtime: null, deployOnConnect: null, stageOnly: null, confirm: null },
      { arrival, retry }],
    ['acceptRealtime', { acceptRealtime: true }, { arrival, realtime, retry }],
    ['acceptRealtime false', { acceptRealtime: false }, { arrival, retry }],
    ['deployOnConnect', { deployOnConnect: true }, { arrival, connect, retry }],
    ['both arrivals', { acceptRealtime: true, deployOnConnect: true }, { arrival, realtime, connect, retry }],
    ['window', { window: { start: '02:00', end: '04:00' } }, { arrival, retry, window: windowRule }],
    ['window and acceptRealtime', { window: { start: '02:00', end: '04:00' }, acceptRealtime: true },
      { arrival, realtime, retry, window: windowRule }],
    ['confirm', { confirm: true, acceptRealtime: true },
      { arrival, realtime: confirmed(realtime), retry: confirmed(retry) }],
    ['confirm with window', { confirm: true, window: { start: '02:00', end: '04:00' } },
      { arrival, retry: confirmed(retry), window: confirmed(windowRule) }],
    ['stageOnly', { stageOnly: true, acceptRealtime: true, deployOnConnect: true },
      { arrival, realtime: stageOnly(realtime), connect: stageOnly(connect), retry: stageOnly(retry) }],
    ['stageOnly with window', { stageOnly: true, window: { start: '02:00', end: '04:00' } },
      { retry: stageOnly(retry), window: stageOnly(windowRule) }]
  ]
  for (const [name, fields, expected] of cases) {
    it(`expands ${name}`, () => {
      assert.deepEqual(parseSubscriptionPolicy(fields), expected)
    })
  }

  it('keeps the window zone and days', () => {
    const window = { days: ['sat', 'sun'], start: '22:00', end: '06:00', zone: 'Asia/Kolkata' }
    const rules = parseSubscriptionPolicy({ window })
    assert.deepEqual(rules.window.window, { days: ['sat', 'sun'], start: '22:00', end: '06:00', zone: 'Asia/Kolkata' })
  })

  it('returns a map policy unchanged', () => {
    const rules = parseSubscriptionPolicy({ policy: { all: { actions: ['restart'], triggers: ['realtime'] } } })
    assert.deepEqual(rules, { all: { actions: ['restart'], triggers: ['realtime'], confirm: false } })
  })

  it('returns a list policy as a map', () => {
    const rules = parseSubscriptionPolicy({ policy: [{ actions: ['restart'], triggers: ['realtime'] }] })
    assert.deepEqual(rules, { 'rule-1': { actions: ['restart'], triggers: ['realtime'], confirm: false } })
  })

  it('returns an empty policy as no rules', () => {
    assert.deepEqual(parseSubscriptionPolicy({ policy: {} }), {})
  })

  it('rejects a policy with shorthand fields', () => {
    assert.throws(() => expandPolicy({ policy: {}, acceptRealtime: true, confirm: false }), (error: unknown) => {
      assert.ok(error instanceof PolicyError)
      assert.deepEqual(error.issues.map(issue => issue.path), [['acceptRealtime'], ['confirm']])
      return true
    })
  })

  it('copies window days', () => {
    const window: TimeWindow = { days: ['mon'], start: '02:00', end: '04:00' }
    const rules = expandPolicy({ window })
    window.days.push('tue')
    assert.deepEqual(rules.window.window?.days, ['mon'])
  })
})

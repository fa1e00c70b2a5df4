import assert from 'node:assert/strict'
import {
  ERROR_CODES, WARNING_CODES, parsePolicyFields, validateSubscriptions
} from '../../../src/policy/index.ts'
import type { FindingCode, PolicyFinding } from '../../../src/policy/index.ts'

interface Expected {
  code: FindingCode
  subscription: string | null
  rule: string | null
  path: Array<string | number>
  message: RegExp
}

const stage = { actions: ['stage'], triggers: ['realtime'] }

function only (subscriptions: unknown): PolicyFinding {
  const { findings } = validateSubscriptions(subscriptions)
  assert.equal(findings.length, 1, JSON.stringify(findings, null, 2))
  return findings[0]
}

describe('policy validateSubscriptions', () => {
  const cases: Array<[string, unknown, Expected]> = [
    ['a subscription that is not an object', ['web'],
      { code: 'invalid_subscription', subscription: null, rule: null, path: [0], message: /expected an object.*got "web"/ }],
    ['a missing subscription name', [{ seed: 'nginx' }],
      { code: 'missing_subscription_name', subscription: null, rule: null, path: [0, 'name'], message: /^subscription 0 \(unnamed\): missing subscription name/ }],
    ['duplicate subscription names', [{ name: 'web' }, { name: 'db' }, { name: 'web' }],
      { code: 'duplicate_subscription', subscription: 'web', rule: null, path: [2, 'name'], message: /subscriptions 0 and 2 are both named "web"/ }],
    ['a policy that is a string', [{ name: 'web', policy: 'strict' }],
      { code: 'invalid_policy', subscription: 'web', rule: null, path: [0, 'policy'], message: /map of named rules or a list of rules, got "strict"/ }],
    ['a policy with shorthand', [{ name: 'web', policy: { a: stage }, acceptRealtime: true }],
      { code: 'mixed_policy_fields', subscription: 'web', rule: null, path: [0, 'acceptRealtime'], message: /"acceptRealtime" cannot be combined with "policy"/ }],
    ['a shorthand field of the wrong type', [{ name: 'web', stageOnly: 'yes' }],
      { code: 'invalid_field', subscription: 'web', rule: null, path: [0, 'stageOnly'], message: /stageOnly to be true or false, got "yes"/ }],
    ['a rule that is not an object', [{ name: 'web', policy: { a: 'stage' } }],
      { code: 'invalid_field', subscription: 'web', rule: 'a', path: [0, 'policy', 'a'], message: /rule to be an object/ }],
    ['missing actions', [{ name: 'web', policy: { a: { triggers: ['realtime'] } } }],
      { code: 'missing_field', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'actions'], message: /missing actions/ }],
    ['a missing window end', [{ name: 'web', policy: { a: { ...stage, triggers: ['schedule'], window: { start: '22:00' } } } }],
      { code: 'missing_field', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'window', 'end'], message: /missing window end/ }],
    ['an unknown rule field', [{ name: 'web', policy: { a: { ...stage, when: 'night' } } }],
      { code: 'unknown_field', subscription: 'web', rule: 'a', path: [0, 'policy', 'a'], message: /unknown field "when" in rule: use "actions"/ }],
    ['an invalid rule name in a map', [{ name: 'web', policy: { 'night shift': stage } }],
      { code: 'invalid_rule_name', subscription: 'web', rule: 'night shift', path: [0, 'policy', 'night shift'], message: /invalid rule name "night shift"/ }],
    ['an invalid rule name in a list', [{ name: 'web', policy: [{ name: 'night.shift', ...stage }] }],
      { code: 'invalid_rule_name', subscription: 'web', rule: 'night.shift', path: [0, 'policy', 0, 'name'], message: /invalid rule name "night.shift"/ }],
    ['duplicate rule names in a list', [{ name: 'web', policy: [{ name: 'a', ...stage }, { name: 'a', ...stage }] }],
      { code: 'duplicate_rule', subscription: 'web', rule: 'a', path: [0, 'policy', 1, 'name'], message: /^subscription "web", rule "a": list items 0 and 1 are both named "a"/ }],
    ['a generated name taken', [{ name: 'web', policy: [stage, { name: 'rule-1', ...stage }] }],
      { code: 'duplicate_rule', subscription: 'web', rule: 'rule-1', path: [0, 'policy', 1, 'name'], message: /items 0 \(unnamed, so named by its position\) and 1/ }],
    ['an unknown action', [{ name: 'web', policy: { a: { ...stage, actions: ['stage', 'reboot'] } } }],
      { code: 'unknown_action', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'actions', 1], message: /unknown action "reboot": use stage, activate or restart/ }],
    ['an unknown trigger in a list', [{ name: 'web', policy: [{ ...stage, triggers: ['gossip'] }] }],
      { code: 'unknown_trigger', subscription: 'web', rule: 'rule-1', path: [0, 'policy', 0, 'triggers', 0], message: /^subscription "web", rule "rule-1": unknown trigger "gossip": use realtime/ }],
    ['an unknown day', [{ name: 'web', window: { days: ['someday'], start: '22:00', end: '06:00' } }],
      { code: 'invalid_day', subscription: 'web', rule: null, path: [0, 'window', 'days', 0], message: /unknown day "someday"/ }],
    ['an invalid time', [{ name: 'web', policy: { a: { ...stage, triggers: ['schedule'], window: { start: '10pm', end: '06:00' } } } }],
      { code: 'invalid_time', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'window', 'start'], message: /invalid window start "10pm": use HH:MM/ }],
    ['an unknown zone', [{ name: 'web', policy: { nightly: { ...stage, triggers: ['schedule'], window: { start: '22:00', end: '06:00', zone: 'CET+1' } } } }],
      { code: 'invalid_zone', subscription: 'web', rule: 'nightly', path: [0, 'policy', 'nightly', 'window', 'zone'], message: /unknown time zone "CET\+1"/ }],
    ['equal start and end', [{ name: 'web', window: { start: '03:00', end: '03:00' } }],
      { code: 'window_start_equals_end', subscription: 'web', rule: null, path: [0, 'window', 'end'], message: /both "03:00"/ }],
    ['empty actions', [{ name: 'web', policy: { off: { actions: [], triggers: ['realtime'] } } }],
      { code: 'no_actions', subscription: 'web', rule: 'off', path: [0, 'policy', 'off', 'actions'], message: /never applies because actions is empty/ }],
    ['empty triggers', [{ name: 'web', policy: [{ name: 'off', actions: ['stage'], triggers: [] }] }],
      { code: 'no_triggers', subscription: 'web', rule: 'off', path: [0, 'policy', 0, 'triggers'], message: /never applies because triggers is empty/ }],
    ['a window without days', [{ name: 'web', policy: { a: { ...stage, triggers: ['schedule'], window: { days: [], start: '22:00', end: '06:00' } } } }],
      { code: 'no_days', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'window', 'days'], message: /never opens because days is empty/ }],
    ['a shorthand window without days', [{ name: 'web', window: { days: [], start: '22:00', end: '06:00' } }],
      { code: 'no_days', subscription: 'web', rule: 'window', path: [0, 'window', 'days'], message: /never opens/ }],
    ['restart without activate', [{ name: 'web', policy: { a: { actions: ['stage', 'restart'], triggers: ['realtime'] } } }],
      { code: 'restart_without_activate', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'actions'], message: /"restart" but not "activate".*add "activate"/ }],
    ['a window without schedule', [{ name: 'web', policy: { a: { ...stage, window: { start: '22:00', end: '06:00' } } } }],
      { code: 'window_without_schedule', subscription: 'web', rule: 'a', path: [0, 'policy', 'a', 'triggers'], message: /add "schedule" to triggers/ }]
  ]
  for (const [name, subscriptions, expected] of cases) {
    it(`reports ${name}`, () => {
      const finding = only(subscriptions)
      assert.equal(finding.code, expected.code)
      assert.equal(finding.subscription, expected.subscription)
      assert.equal(finding.rule, expected.rule)
      assert.deepEqual(finding.path, expected.path)
      assert.match(finding.message, expected.message)
    })
  }

  it('covers every code', () => {
    const covered = new Set(cases.map(([, , expected]) => expected.code))
    assert.deepEqual([...ERROR_CODES, ...WARNING_CODES].filter(code => !covered.has(code)), [])
  })

  it('marks errors', () => {
    assert.equal(only([{ name: 'web', stageOnly: 1 }]).severity, 'error')
  })

  it('marks warnings', () => {
    assert.equal(only([{ name: 'web', policy: { off: { actions: [], triggers: ['realtime'] } } }]).severity, 'warning')
  })

  it('accepts a valid set', () => {
    const report = validateSubscriptions([
      { name: 'web', seed: 'nginx', acceptRealtime: true, window: { start: '02:00', end: '04:00' } },
      { name: 'db', policy: { nightly: { actions: ['stage', 'activate'], triggers: ['schedule'], window: { start: '22:00', end: '06:00' } } } },
      { name: 'home', policy: [{ actions: ['stage'], triggers: ['realtime'] }] }
    ])
    assert.deepEqual(report, { valid: true, findings: [] })
  })

  it('accepts an empty set', () => {
    assert.deepEqual(validateSubscriptions([]), { valid: true, findings: [] })
  })

  it('stays valid with warnings', () => {
    const report = validateSubscriptions([{ name: 'web', policy: { off: { actions: [], triggers: [] } } }])
    assert.equal(report.valid, true)
    assert.equal(report.findings.length, 2)
  })

  it('becomes invalid with an error', () => {
    assert.equal(validateSubscriptions([{ name: 'web', acceptRealtime: 'yes' }]).valid, false)
  })

  it('rejects a set that is not a list', () => {
    const report = validateSubscriptions({ web: {} })
    assert.equal(report.valid, false)
    assert.equal(report.findings[0].code, 'invalid_subscription')
    assert.deepEqual(report.findings[0].path, [])
  })

  it('validates parsed subscriptions', () => {
    const parsed = parsePolicyFields({ policy: [{ name: 'off', actions: [], triggers: ['realtime'] }] })
    const finding = only([{ name: 'web', ...parsed }])
    assert.equal(finding.code, 'no_actions')
    assert.deepEqual(finding.path, [0, 'policy', 'off', 'actions'])
  })

  it('reports warnings beside errors', () => {
    const { findings } = validateSubscriptions([{
      name: 'web',
      policy: { a: { actions: ['restart'], triggers: ['gossip'], window: { days: [], start: '22:00', end: '06:00' } } }
    }])
    assert.deepEqual(findings.map(finding => finding.code).sort(), [
      'no_days', 'restart_without_activate', 'unknown_trigger', 'window_without_schedule'
    ])
  })

  it('reports every mixed field', () => {
    const { findings } = validateSubscriptions([{ name: 'web', policy: {}, window: { start: '02:00', end: '04:00' }, confirm: true }])
    assert.deepEqual(findings.map(finding => finding.path), [[0, 'window'], [0, 'confirm']])
  })

  it('reports mixed fields beside other errors', () => {
    const { findings } = validateSubscriptions([{ name: 'web', policy: { a: { actions: ['x'], triggers: [] } }, confirm: true }])
    assert.deepEqual(findings.map(finding => finding.code), ['mixed_policy_fields', 'unknown_action', 'no_triggers'])
  })

  it('ignores null shorthand fields', () => {
    assert.deepEqual(validateSubscriptions([{ name: 'web', policy: {}, confirm: null }]).findings, [])
  })

  it('reports each duplicate subscription', () => {
    const { findings } = validateSubscriptions([{ name: 'web' }, { name: 'web' }, { name: 'web' }])
    assert.deepEqual(findings.map(finding => finding.path), [[1, 'name'], [2, 'name']])
  })
})

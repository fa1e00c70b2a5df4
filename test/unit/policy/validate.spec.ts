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

/** Returns a subscription set of one subscription `web` with a rule `a` that has `window` and the schedule trigger. */
function scheduledWeb (window: unknown, rule = 'a'): unknown[] {
  return [{ name: 'web', policy: { [rule]: { ...stage, triggers: ['schedule'], window } } }]
}

function expectedFinding (
  code: FindingCode,
  subscription: string | null,
  rule: string | null,
  path: Array<string | number>,
  message: RegExp
): Expected {
  return { code, subscription, rule, path, message }
}

function only (subscriptions: unknown): PolicyFinding {
  const { findings } = validateSubscriptions(subscriptions)
  assert.equal(findings.length, 1, JSON.stringify(findings, null, 2))
  return findings[0]
}

describe('policy validateSubscriptions', () => {
  const cases: Array<[string, unknown, Expected]> = [
    ['a subscription that is not an object', ['web'],
      expectedFinding('invalid_subscription', null, null, [0], /expected an object.*got "web"/)],
    ['a missing subscription name', [{ seed: 'nginx' }],
      expectedFinding('missing_subscription_name', null, null, [0, 'name'],
        /^subscription 0 \(unnamed\): missing subscription name/)],
    ['duplicate subscription names', [{ name: 'web' }, { name: 'db' }, { name: 'web' }],
      expectedFinding('duplicate_subscription', 'web', null, [2, 'name'],
        /subscriptions 0 and 2 are both named "web"/)],
    ['a policy that is a string', [{ name: 'web', policy: 'strict' }],
      expectedFinding('invalid_policy', 'web', null, [0, 'policy'],
        /map of named rules or a list of rules, got "strict"/)],
    ['a policy with shorthand', [{ name: 'web', policy: { a: stage }, acceptRealtime: true }],
      expectedFinding('mixed_policy_fields', 'web', null, [0, 'acceptRealtime'],
        /"acceptRealtime" cannot be combined with "policy"/)],
    ['a shorthand field of the wrong type', [{ name: 'web', stageOnly: 'yes' }],
      expectedFinding('invalid_field', 'web', null, [0, 'stageOnly'], /stageOnly to be true or false, got "yes"/)],
    ['a rule that is not an object', [{ name: 'web', policy: { a: 'stage' } }],
      expectedFinding('invalid_field', 'web', 'a', [0, 'policy', 'a'], /rule to be an object/)],
    ['missing actions', [{ name: 'web', policy: { a: { triggers: ['realtime'] } } }],
      expectedFinding('missing_field', 'web', 'a', [0, 'policy', 'a', 'actions'], /missing actions/)],
    ['a missing window end', scheduledWeb({ start: '22:00' }),
      expectedFinding('missing_field', 'web', 'a', [0, 'policy', 'a', 'window', 'end'], /missing window end/)],
    ['an unknown rule field', [{ name: 'web', policy: { a: { ...stage, when: 'night' } } }],
      expectedFinding('unknown_field', 'web', 'a', [0, 'policy', 'a'], /unknown field "when" in rule: use "actions"/)],
    ['an invalid rule name in a map', [{ name: 'web', policy: { 'night shift': stage } }],
      expectedFinding('invalid_rule_name', 'web', 'night shift', [0, 'policy', 'night shift'],
        /invalid rule name "night shift"/)],
    ['an invalid rule name in a list', [{ name: 'web', policy: [{ name: 'night.shift', ...stage }] }],
      expectedFinding('invalid_rule_name', 'web', 'night.shift', [0, 'policy', 0, 'name'],
        /invalid rule name "night.shift"/)],
    ['duplicate rule names in a list', [{ name: 'web', policy: [{ name: 'a', ...stage }, { name: 'a', ...stage }] }],
      expectedFinding('duplicate_rule', 'web', 'a', [0, 'policy', 1, 'name'],
        /^subscription "web", rule "a": list items 0 and 1 are both named "a"/)],
    ['a generated name taken', [{ name: 'web', policy: [stage, { name: 'rule-1', ...stage }] }],
      expectedFinding('duplicate_rule', 'web', 'rule-1', [0, 'policy', 1, 'name'],
        /items 0 \(unnamed, so named by its position\) and 1/)],
    ['an unknown action', [{ name: 'web', policy: { a: { ...stage, actions: ['stage', 'reboot'] } } }],
      expectedFinding('unknown_action', 'web', 'a', [0, 'policy', 'a', 'actions', 1],
        /unknown action "reboot": use stage, activate or restart/)],
    ['an unknown trigger in a list', [{ name: 'web', policy: [{ ...stage, triggers: ['gossip'] }] }],
      expectedFinding('unknown_trigger', 'web', 'rule-1', [0, 'policy', 0, 'triggers', 0],
        /^subscription "web", rule "rule-1": unknown trigger "gossip": use realtime/)],
    ['an unknown day', [{ name: 'web', window: { days: ['someday'], start: '22:00', end: '06:00' } }],
      expectedFinding('invalid_day', 'web', null, [0, 'window', 'days', 0], /unknown day "someday"/)],
    ['an invalid time', scheduledWeb({ start: '10pm', end: '06:00' }),
      expectedFinding('invalid_time', 'web', 'a', [0, 'policy', 'a', 'window', 'start'],
        /invalid window start "10pm": use HH:MM/)],
    ['an unknown zone', scheduledWeb({ start: '22:00', end: '06:00', zone: 'CET+1' }, 'nightly'),
      expectedFinding('invalid_zone', 'web', 'nightly', [0, 'policy', 'nightly', 'window', 'zone'],
        /unknown time zone "CET\+1"/)],
    ['equal start and end', [{ name: 'web', window: { start: '03:00', end: '03:00' } }],
      expectedFinding('window_start_equals_end', 'web', null, [0, 'window', 'end'], /both "03:00"/)],
    ['empty actions', [{ name: 'web', policy: { off: { actions: [], triggers: ['realtime'] } } }],
      expectedFinding('no_actions', 'web', 'off', [0, 'policy', 'off', 'actions'],
        /never applies because actions is empty/)],
    ['empty triggers', [{ name: 'web', policy: [{ name: 'off', actions: ['stage'], triggers: [] }] }],
      expectedFinding('no_triggers', 'web', 'off', [0, 'policy', 0, 'triggers'],
        /never applies because triggers is empty/)],
    ['a window without days', scheduledWeb({ days: [], start: '22:00', end: '06:00' }),
      expectedFinding('no_days', 'web', 'a', [0, 'policy', 'a', 'window', 'days'],
        /never opens because days is empty/)],
    ['a shorthand window without days', [{ name: 'web', window: { days: [], start: '22:00', end: '06:00' } }],
      expectedFinding('no_days', 'web', 'window', [0, 'window', 'days'], /never opens/)],
    ['restart without activate',
      [{ name: 'web', policy: { a: { actions: ['stage', 'restart'], triggers: ['realtime'] } } }],
      expectedFinding('restart_without_activate', 'web', 'a', [0, 'policy', 'a', 'actions'],
        /"restart" but not "activate".*add "activate"/)],
    ['a window without schedule',
      [{ name: 'web', policy: { a: { ...stage, window: { start: '22:00', end: '06:00' } } } }],
      expectedFinding('window_without_schedule', 'web', 'a', [0, 'policy', 'a', 'triggers'],
        /add "schedule" to triggers/)]
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
    const nightly = { ...stage, triggers: ['schedule'], window: { start: '22:00', end: '06:00' } }
    const report = validateSubscriptions([
      { name: 'web', seed: 'nginx', acceptRealtime: true, window: { start: '02:00', end: '04:00' } },
      { name: 'db', policy: { nightly } },
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
    const subscription = { name: 'web', policy: {}, window: { start: '02:00', end: '04:00' }, confirm: true }
    const { findings } = validateSubscriptions([subscription])
    assert.deepEqual(findings.map(finding => finding.path), [[0, 'window'], [0, 'confirm']])
  })

  it('reports mixed fields beside other errors', () => {
    const subscription = { name: 'web', policy: { a: { actions: ['x'], triggers: [] } }, confirm: true }
    const { findings } = validateSubscriptions([subscription])
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

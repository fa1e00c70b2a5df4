import assert from 'node:assert/strict'
import { z } from 'zod'
import {
  PolicyError, parsePolicy, parsePolicyFields, parseSubscriptionPolicy, policyFieldsSchema, policySchema, ruleSchema
} from '../../../src/policy/index.ts'
import type { Rules, Weekday } from '../../../src/policy/index.ts'

const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']

function policyError (fn: () => unknown): PolicyError {
  try {
    fn()
  } catch (error) {
    if (error instanceof PolicyError) return error
    throw error
  }
  assert.fail('expected a PolicyError')
}

function issuePaths (input: unknown): string[] {
  const result = policyFieldsSchema.safeParse(input)
  assert.equal(result.success, false)
  return result.error?.issues.map(issue => issue.path.join('.')) ?? []
}

describe('policy schema', () => {
  describe('rule', () => {
    it('sorts and deduplicates actions and triggers', () => {
      const rule = ruleSchema.parse({
        actions: ['restart', 'stage', 'activate', 'stage'],
        triggers: ['user_retry', 'realtime', 'schedule', 'realtime', 'poll_on_connect']
      })
      assert.deepEqual(rule.actions, ['stage', 'activate', 'restart'])
      assert.deepEqual(rule.triggers, ['realtime', 'poll_on_connect', 'schedule', 'user_retry'])
    })

    it('defaults confirm to false', () => {
      assert.equal(ruleSchema.parse({ actions: ['stage'], triggers: ['realtime'] }).confirm, false)
    })

    it('keeps confirm', () => {
      assert.equal(ruleSchema.parse({ actions: ['stage'], triggers: ['realtime'], confirm: true }).confirm, true)
    })

    it('treats null as missing', () => {
      const rule = ruleSchema.parse({ actions: ['stage'], triggers: ['realtime'], window: null, confirm: null })
      assert.deepEqual(rule, { actions: ['stage'], triggers: ['realtime'], confirm: false })
    })

    it('accepts empty actions and triggers', () => {
      const rule = ruleSchema.parse({ actions: [], triggers: [] })
      assert.deepEqual(rule, { actions: [], triggers: [], confirm: false })
    })

    const invalidRules: Array<[string, unknown, string, RegExp]> = [
      ['unknown action', { actions: ['reboot'], triggers: ['realtime'] }, 'actions.0',
        /unknown action "reboot": use stage/],
      ['unknown trigger', { actions: ['stage'], triggers: ['gossip'] }, 'triggers.0',
        /unknown trigger "gossip": use realtime/],
      ['missing actions', { triggers: ['realtime'] }, 'actions', /missing actions/],
      ['missing triggers', { actions: ['stage'] }, 'triggers', /missing triggers/],
      ['actions not a list', { actions: 'stage', triggers: ['realtime'] }, 'actions', /expected actions to be a list/],
      ['unknown field', { actions: ['stage'], triggers: ['realtime'], trigger: [] }, '',
        /unknown field "trigger" in rule/],
      ['confirm not boolean', { actions: ['stage'], triggers: ['realtime'], confirm: 'yes' }, 'confirm',
        /true or false/],
      ['not an object', 'stage', '', /expected rule to be an object/]
    ]
    for (const [name, input, path, message] of invalidRules) {
      it(`rejects ${name}`, () => {
        const result = ruleSchema.safeParse(input)
        assert.equal(result.success, false)
        assert.equal(result.error?.issues[0].path.join('.'), path)
        assert.match(result.error?.issues[0].message ?? '', message)
      })
    }
  })

  describe('window', () => {
    function parseWindow (window: unknown): unknown {
      return ruleSchema.parse({ actions: ['stage'], triggers: ['schedule'], window }).window
    }

    it('defaults days to every day', () => {
      assert.deepEqual(parseWindow({ start: '22:00', end: '06:00' }), { days: ALL_DAYS, start: '22:00', end: '06:00' })
    })

    it('normalises day names', () => {
      const window = parseWindow({ days: ['Sunday', 'FRI', 'monday', 'mon'], start: '22:00', end: '06:00' })
      assert.deepEqual(window, { days: ['mon', 'fri', 'sun'], start: '22:00', end: '06:00' })
    })

    it('keeps empty days', () => {
      const window = parseWindow({ days: [], start: '22:00', end: '06:00' })
      assert.deepEqual(window, { days: [], start: '22:00', end: '06:00' })
    })

    it('keeps the zone as written', () => {
      const window = parseWindow({ start: '22:00', end: '06:00', zone: 'Asia/Kolkata' })
      assert.deepEqual(window, { days: ALL_DAYS, start: '22:00', end: '06:00', zone: 'Asia/Kolkata' })
    })

    it('accepts a zone in any letter case', () => {
      const window = parseWindow({ start: '22:00', end: '06:00', zone: 'europe/berlin' })
      assert.deepEqual(window, { days: ALL_DAYS, start: '22:00', end: '06:00', zone: 'europe/berlin' })
    })

    it('accepts 24:00 as end', () => {
      assert.deepEqual(parseWindow({ start: '00:00', end: '24:00' }), { days: ALL_DAYS, start: '00:00', end: '24:00' })
    })

    const invalidWindows: Array<[string, unknown, string, RegExp]> = [
      ['unknown zone', { start: '22:00', end: '06:00', zone: 'Europe/Berln' }, 'zone',
        /unknown time zone "Europe\/Berln"/],
      ['offset as zone', { start: '22:00', end: '06:00', zone: '+02:00' }, 'zone', /unknown time zone "\+02:00"/],
      ['zone not a string', { start: '22:00', end: '06:00', zone: 2 }, 'zone', /unknown time zone 2/],
      ['hour 24 as start', { start: '24:00', end: '06:00' }, 'start', /invalid window start "24:00"/],
      ['one-digit hour', { start: '2:00', end: '06:00' }, 'start', /use HH:MM/],
      ['minute 60', { start: '22:00', end: '06:60' }, 'end', /invalid window end "06:60"/],
      ['end after 24:00', { start: '22:00', end: '24:01' }, 'end', /invalid window end/],
      ['time with seconds', { start: '22:00:00', end: '06:00' }, 'start', /invalid window start/],
      ['missing start', { end: '06:00' }, 'start', /missing window start/],
      ['start equal to end', { start: '06:00', end: '06:00' }, 'end', /both "06:00".*"00:00".*"24:00"/],
      ['unknown day', { days: ['mo'], start: '22:00', end: '06:00' }, 'days.0', /unknown day "mo"/],
      ['days not a list', { days: 'mon', start: '22:00', end: '06:00' }, 'days', /expected days to be a list/],
      ['unknown field', { start: '22:00', end: '06:00', timezone: 'UTC' }, '', /unknown field "timezone" in window/]
    ]
    for (const [name, window, path, message] of invalidWindows) {
      it(`rejects ${name}`, () => {
        const result = ruleSchema.safeParse({ actions: ['stage'], triggers: ['schedule'], window })
        assert.equal(result.success, false)
        assert.equal(result.error?.issues[0].path.join('.'), path === '' ? 'window' : `window.${path}`)
        assert.match(result.error?.issues[0].message ?? '', message)
      })
    }
  })

  describe('policy', () => {
    const nightly = { actions: ['stage', 'activate'], triggers: ['schedule'], window: { start: '22:00', end: '06:00' } }
    const retry = { actions: ['stage', 'activate'], triggers: ['user_retry'] }
    const expected: Rules = {
      nightly: {
        actions: ['stage', 'activate'],
        triggers: ['schedule'],
        window: { days: ALL_DAYS, start: '22:00', end: '06:00' },
        confirm: false
      },
      retry: { actions: ['stage', 'activate'], triggers: ['user_retry'], confirm: false }
    }

    it('parses a map', () => {
      assert.deepEqual(policySchema.parse({ nightly, retry }), expected)
    })

    it('parses a named list to the same map', () => {
      assert.deepEqual(policySchema.parse([{ name: 'nightly', ...nightly }, { name: 'retry', ...retry }]), expected)
    })

    it('names unnamed list items by position', () => {
      const rules = policySchema.parse([nightly, { name: 'retry', ...retry }, retry])
      assert.deepEqual(Object.keys(rules), ['rule-1', 'retry', 'rule-3'])
    })

    it('treats a null name as missing', () => {
      assert.deepEqual(Object.keys(policySchema.parse([{ name: null, ...retry }])), ['rule-1'])
    })

    it('parses an empty map', () => {
      assert.deepEqual(policySchema.parse({}), {})
    })

    it('parses an empty list', () => {
      assert.deepEqual(policySchema.parse([]), {})
    })

    it('rejects duplicate list names', () => {
      const result = policySchema.safeParse([{ name: 'a', ...retry }, { name: 'a', ...retry }])
      assert.equal(result.error?.issues[0].path.join('.'), '1.name')
      assert.match(result.error?.issues[0].message ?? '', /list items 0 and 1 are both named "a"/)
    })

    it('rejects a name that clashes with a generated one', () => {
      const result = policySchema.safeParse([retry, { name: 'rule-1', ...retry }])
      assert.match(result.error?.issues[0].message ?? '', /list items 0 \(unnamed, so named by its position\) and 1/)
    })

    it('reports other errors of a duplicate item', () => {
      const result = policySchema.safeParse([retry, { name: 'rule-1', actions: ['reboot'], triggers: ['realtime'] }])
      assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['1.name', '1.actions.0'])
    })

    it('names list items in messages', () => {
      const result = policySchema.safeParse([retry, { name: 'late', actions: ['reboot'], triggers: ['realtime'] }])
      assert.equal(result.error?.issues[0].path.join('.'), '1.actions.0')
      assert.match(result.error?.issues[0].message ?? '', /^rule "late": unknown action "reboot"/)
    })

    const invalidNames: Array<[string, string]> = [
      ['with a space', 'my rule'],
      ['with a dot', 'my.rule'],
      ['with a leading dash', '-rule'],
      ['empty', ''],
      ['of 65 characters', 'x'.repeat(65)]
    ]
    for (const [label, name] of invalidNames) {
      it(`rejects a rule name ${label} in a map`, () => {
        const result = policySchema.safeParse({ [name]: retry })
        assert.equal(result.success, false)
        assert.match(result.error?.issues[0].message ?? '', /invalid rule name/)
      })

      it(`rejects a rule name ${label} in a list`, () => {
        const result = policySchema.safeParse([{ name, ...retry }])
        assert.equal(result.error?.issues[0].path.join('.'), '0.name')
        assert.match(result.error?.issues[0].message ?? '', /invalid rule name/)
      })
    }

    it('rejects a string', () => {
      const result = policySchema.safeParse('nightly')
      const message = result.error?.issues[0].message ?? ''
      assert.match(message, /expected policy to be a map of named rules or a list of rules/)
    })
  })

  describe('policy fields', () => {
    it('reports the path of an invalid zone', () => {
      const window = { start: '22:00', end: '06:00', zone: 'Nowhere/City' }
      const paths = issuePaths({ policy: { nightly: { actions: ['stage'], triggers: ['schedule'], window } } })
      assert.deepEqual(paths, ['policy.nightly.window.zone'])
    })

    it('reports the path of an invalid time', () => {
      const paths = issuePaths({
        policy: { nightly: { actions: ['stage'], triggers: ['schedule'], window: { start: '25:00', end: '06:00' } } }
      })
      assert.deepEqual(paths, ['policy.nightly.window.start'])
    })

    it('reports the index of a list item', () => {
      const window = { start: '22:00', end: 'six' }
      const paths = issuePaths({ policy: [{ actions: ['stage'], triggers: ['schedule'], window }] })
      assert.deepEqual(paths, ['policy.0.window.end'])
    })

    it('reports a shorthand window', () => {
      assert.deepEqual(issuePaths({ window: { start: '22:00', end: '06:00', zone: 'Berlin' } }), ['window.zone'])
    })

    const shorthandBooleans = ['acceptRealtime', 'deployOnConnect', 'stageOnly', 'confirm']
    for (const field of shorthandBooleans) {
      it(`rejects a non-boolean ${field}`, () => {
        assert.deepEqual(issuePaths({ [field]: 'yes' }), [field])
      })

      it(`rejects ${field} with a policy`, () => {
        assert.deepEqual(issuePaths({ policy: {}, [field]: false }), [field])
      })
    }

    it('rejects a window with a policy', () => {
      assert.deepEqual(issuePaths({ policy: {}, window: { start: '22:00', end: '06:00' } }), ['window'])
    })

    it('accepts null shorthand fields with a policy', () => {
      const fields = {
        policy: {}, window: null, acceptRealtime: null, deployOnConnect: null, stageOnly: null, confirm: null
      }
      assert.equal(policyFieldsSchema.safeParse(fields).success, true)
    })

    it('extends into a subscription schema', () => {
      const subscriptionSchema = policyFieldsSchema.extend({ name: z.string(), seed: z.string() })
      const parsed = subscriptionSchema.parse({ name: 'web', seed: 'nginx', acceptRealtime: true })
      assert.equal(parsed.name, 'web')
      assert.equal(parsed.acceptRealtime, true)
    })

    it('keeps the mixing check when extended', () => {
      const subscriptionSchema = policyFieldsSchema.extend({ name: z.string() })
      const result = subscriptionSchema.safeParse({ name: 'web', policy: {}, confirm: true })
      assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['confirm'])
    })

    it('reports paths under an array of subscriptions', () => {
      const configSchema = z.object({ subscriptions: z.array(policyFieldsSchema.extend({ name: z.string() })) })
      const result = configSchema.safeParse({
        subscriptions: [{ name: 'web', policy: { nightly: { actions: ['stage'], triggers: ['sometimes'] } } }]
      })
      assert.equal(result.error?.issues[0].path.join('.'), 'subscriptions.0.policy.nightly.triggers.0')
    })
  })

  describe('PolicyError', () => {
    it('names the rule and field', () => {
      const error = policyError(() => parsePolicy({
        nightly: {
          actions: ['stage'],
          triggers: ['schedule'],
          window: { start: '22:00', end: '06:00', zone: 'Mars/Olympus' }
        }
      }))
      assert.equal(error.code, 'ERR_POLICY_INVALID')
      assert.equal(error.name, 'PolicyError')
      assert.deepEqual(error.issues[0].path, ['policy', 'nightly', 'window', 'zone'])
      assert.match(error.message, /policy\.nightly\.window\.zone: unknown time zone "Mars\/Olympus"/)
    })

    it('names list items', () => {
      const error = policyError(() => parsePolicy([{ name: 'late', actions: ['stage'], triggers: ['gossip'] }]))
      assert.match(error.message, /policy\[0\]\.triggers\[0\]: rule "late": unknown trigger "gossip"/)
    })

    it('lists every issue', () => {
      const error = policyError(() => parsePolicy({ a: { actions: ['x'], triggers: ['y'] } }))
      assert.equal(error.issues.length, 2)
    })

    it('comes from parsePolicyFields', () => {
      const error = policyError(() => parsePolicyFields({ window: { start: '22:00', end: '22:00' } }))
      assert.deepEqual(error.issues[0].path, ['window', 'end'])
    })

    it('comes from parseSubscriptionPolicy', () => {
      const error = policyError(() => parseSubscriptionPolicy({ policy: {}, stageOnly: true }))
      assert.deepEqual(error.issues[0].path, ['stageOnly'])
    })
  })
})

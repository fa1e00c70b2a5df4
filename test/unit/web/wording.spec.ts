import assert from 'node:assert/strict'
import type { EventBody } from '../../../src/records/index.ts'
import { formatAgo } from '../../../src/web/render/format.ts'
import { describeRule, policyRules } from '../../../src/web/render/policy.ts'
import { STATUS_LABELS, deploymentStatus, describeEvent, formatWindowOpening } from '../../../src/web/render/wording.ts'

const ALICE = `12D3KooW${'A'.repeat(44)}`
const admins = new Map([[ALICE, 'alice']])

function event (kind: EventBody['kind'], init: Partial<EventBody> = {}): EventBody {
  return {
    fleet: 'f',
    author: `12D3KooW${'G'.repeat(44)}`,
    seq: 1,
    prev: null,
    issuedAt: '2026-03-06T10:00:00.000Z',
    deployment: `dep_${'a'.repeat(52)}`,
    intent: `int_${'b'.repeat(52)}`,
    seed: 'web',
    kind,
    ...init
  }
}

describe('web wording', () => {
  describe('describeEvent', () => {
    const cases: Array<[string, EventBody, string, string]> = [
      ['received by gossip', event('received', { trigger: 'realtime', actor: ALICE }),
        'Received by gossip while online, signed by admin alice', 'info'],
      ['received by sync', event('received', { trigger: 'poll_on_connect', actor: ALICE }),
        'Received by sync after connecting, signed by admin alice', 'info'],
      ['received from a bundle', event('received', { trigger: 'poll_on_connect', detail: { reason: 'import' } }),
        'Received in an imported bundle', 'info'],
      ['received with unknown trigger', event('received', { trigger: 'constructor' as any }), 'Received', 'info'],
      ['policy denied', event('policy_denied', { trigger: 'realtime', detail: { action: 'activate' } }),
        'Policy denied: no rule permits activate on realtime', 'policy'],
      ['policy denied with reason', event('policy_denied', { detail: { reason: 'outside every window' } }),
        'Policy denied: outside every window', 'policy'],
      ['waiting for window', event('waiting_for_window', { detail: { opensAt: '2026-03-07T01:00:00.000Z', zone: 'Europe/Berlin' } }),
        'Waiting for the window opening Sat 02:00 Europe/Berlin', 'waiting'],
      ['confirmation required', event('confirmation_required'), 'Confirmation required', 'confirm'],
      ['confirmed by admin', event('confirmed', { actor: ALICE }), 'Confirmed by admin alice', 'info'],
      ['health check failed', event('health_check', { detail: { exitCode: 1 } }), 'Health check failed', 'failure'],
      ['health check passed', event('health_check', { detail: { exitCode: 0 } }), 'Health check passed', 'info'],
      ['success', event('result', { result: 'success' }), 'Finished: success', 'ok'],
      ['failure with reason', event('result', { result: 'failure', detail: { reason: 'switch exited 1' } }),
        'Failed: switch exited 1', 'failure'],
      ['unknown actor key', event('canceled', { actor: `12D3KooW${'Z'.repeat(44)}` }), 'Canceled by key 12D3KooWZZZZ…ZZZZ', 'neutral']
    ]
    for (const [name, body, title, tone] of cases) {
      it(name, () => {
        const words = describeEvent(body, admins)
        assert.equal(words.title, title)
        assert.equal(words.tone, tone)
      })
    }

    it('policy denied uses the deployment trigger', () => {
      const words = describeEvent(event('policy_denied', { detail: { action: 'stage' } }), admins, 'schedule')
      assert.equal(words.title, 'Policy denied: no rule permits stage on schedule')
    })

    it('policy denied never reads as failure', () => {
      assert.notEqual(describeEvent(event('policy_denied'), admins).tone, 'failure')
    })

    it('confirmation required never reads as failure', () => {
      assert.notEqual(describeEvent(event('confirmation_required'), admins).tone, 'failure')
    })
  })

  describe('deploymentStatus', () => {
    const cases: Array<[string, Parameters<typeof deploymentStatus>[0], string]> = [
      ['policy denial', { lastEvent: 'policy_denied', policyEnd: 'policy_denied' }, 'policy_denied'],
      ['staged only', { lastEvent: 'policy_denied', policyEnd: 'staged_only' }, 'staged_only'],
      ['denial without policyEnd', { lastEvent: 'policy_denied' }, 'policy_denied'],
      ['retry after denial', { lastEvent: 'retry' }, 'in_progress'],
      ['confirmation wait', { lastEvent: 'confirmation_required' }, 'confirmation_required'],
      ['success', { result: 'success', lastEvent: 'result' }, 'success'],
      ['window wait', { lastEvent: 'waiting_for_window' }, 'waiting_for_window'],
      ['running step', { lastEvent: 'staging' }, 'in_progress']
    ]
    for (const [name, deployment, expected] of cases) {
      it(name, () => {
        assert.equal(deploymentStatus(deployment), expected)
      })
    }

    it('labels staged only', () => {
      assert.equal(STATUS_LABELS.staged_only, 'Staged only')
    })
  })

  describe('formatWindowOpening', () => {
    it('uses the given zone', () => {
      assert.equal(formatWindowOpening('2026-03-07T01:00:00.000Z', 'America/New_York'), 'Fri 20:00 America/New_York')
    })

    it('defaults to UTC', () => {
      assert.equal(formatWindowOpening('2026-03-07T01:00:00.000Z', undefined), 'Sat 01:00 UTC')
    })

    it('keeps an invalid time as given', () => {
      assert.equal(formatWindowOpening('soon', 'Europe/Berlin'), 'soon Europe/Berlin')
    })
  })

  describe('describeRule', () => {
    it('describes actions, triggers, window and confirm', () => {
      const rule = describeRule({
        actions: ['stage', 'activate'],
        triggers: ['realtime'],
        window: { days: ['sat', 'sun'], start: '02:00', end: '04:00', zone: 'Europe/Berlin' },
        confirm: true
      })
      assert.equal(rule.actions, 'stage, activate')
      assert.equal(rule.triggers, 'realtime')
      assert.equal(rule.window, 'sat, sun 02:00–04:00 Europe/Berlin')
      assert.equal(rule.confirm, true)
      assert.equal(rule.other, undefined)
    })

    it('keeps unknown fields as JSON', () => {
      assert.equal(describeRule({ actions: ['stage'], priority: 3 }).other, '{"priority":3}')
    })

    it('survives a rule that is not an object', () => {
      assert.equal(describeRule('stage').other, '"stage"')
    })

    it('names list rules by position', () => {
      assert.deepEqual(policyRules([{ actions: ['stage'] }]).map(([name]) => name), ['#1'])
    })
  })

  describe('formatAgo', () => {
    const nowMs = Date.parse('2026-03-06T10:00:00.000Z')
    const cases: Array<[string, string]> = [
      ['2026-03-06T10:00:00.000Z', 'just now'],
      ['2026-03-06T09:59:18.000Z', '42 s ago'],
      ['2026-03-06T07:00:00.000Z', '3 h ago'],
      ['2026-03-04T10:00:00.000Z', '2 d ago'],
      ['2026-03-06T10:05:00.000Z', 'in 5 min']
    ]
    for (const [iso, expected] of cases) {
      it(expected, () => {
        assert.equal(formatAgo(iso, nowMs), expected)
      })
    }
  })
})

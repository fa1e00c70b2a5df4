import assert from 'node:assert/strict'
import type { EventBody } from '../../../src/records/index.ts'
import { formatAgo } from '../../../src/web/render/format.ts'
import { describeRule, policyRules } from '../../../src/web/render/policy.ts'
import { describeEvent } from '../../../src/web/render/event-words.ts'
import { STATUS_LABELS, deploymentStatus, formatWindowOpening, statusLabel } from '../../../src/web/render/wording.ts'

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
    const PEER = `12D3KooW${'P'.repeat(44)}`
    const cases: Array<[string, EventBody, string, string]> = [
      ['received by gossip', event('received', { trigger: 'realtime', actor: ALICE, detail: { reason: null, sequence: 3 } }),
        'Received by gossip while online, signed by admin alice', 'info'],
      ['received by sync', event('received', { trigger: 'poll_on_connect', actor: ALICE }),
        'Received by sync after connecting, signed by admin alice', 'info'],
      ['received from a bundle', event('received', { trigger: 'poll_on_connect', detail: { reason: 'import' } }),
        'Received in an imported bundle', 'info'],
      ['received when a window opened', event('received', {
        trigger: 'schedule', actor: 'policy', detail: { reason: 'window_opened', opensAt: '2026-03-07T01:00:00.000Z' }
      }), 'Started when its window opened', 'info'],
      ['received on an unreliable clock', event('received', {
        trigger: 'realtime', actor: ALICE, detail: { clockReliable: false, expiresAt: '2026-03-07T01:00:00.000Z', expiryChecked: false }
      }), "Received by gossip while online, signed by admin alice. Its expiry was not checked, because the garden's clock is marked unreliable", 'info'],
      ['received with unknown trigger', event('received', { trigger: 'constructor' as any }), 'Received', 'info'],
      ['policy denied', event('policy_denied', {
        trigger: 'realtime', actor: 'policy', detail: { trigger: 'realtime', reason: 'no rule of subscription web permits any action on realtime' }
      }), 'Policy denied: no rule of subscription web permits any action on realtime', 'policy'],
      ['policy denied without reason', event('policy_denied', { trigger: 'realtime' }),
        'Policy denied: no rule permits any action on realtime', 'policy'],
      ['staged only', event('policy_denied', {
        trigger: 'poll_on_connect', detail: { trigger: 'poll_on_connect', action: 'activate', permitted: 'stage', staged: true, reason: 'x' }
      }), 'Staged only: the policy permits only staging on poll_on_connect, so nothing was activated', 'policy'],
      ['waiting for window', event('waiting_for_window', {
        detail: { opensAt: '2026-03-07T01:00:00.000Z', zone: 'Europe/Berlin', action: 'restart', rule: 'night' }
      }), 'Waiting for the window opening Sat 02:00 Europe/Berlin to restart (rule night)', 'waiting'],
      ['confirmation required', event('confirmation_required'), 'Confirmation required', 'confirm'],
      ['confirmation required with rule', event('confirmation_required', {
        detail: { action: 'restart', rule: 'prod', trigger: 'realtime', stageNow: false }
      }), 'Confirmation required before a restart (rule prod)', 'confirm'],
      ['confirmed by admin', event('confirmed', { actor: ALICE, detail: { followUp: null, action: 'activate' } }),
        'Confirmed by admin alice', 'info'],
      ['confirmed by an operator', event('confirmed', { actor: 'operator' }), 'Confirmed by an operator on the garden', 'info'],
      ['staging progress', event('staging', {
        detail: { storePath: '/nix/store/x', bytesReceived: 512 * 1024, bytesExpected: 1024 * 1024, source: PEER }
      }), `Staging the closure: 512.0 KiB of 1.0 MiB received from ${PEER.slice(0, 24)}…`, 'info'],
      ['staged from a peer', event('staged', { detail: { source: 'peer', peer: PEER, bytes: 2048 } }),
        `Staged the closure from peer ${PEER.slice(0, 16)}…, 2.0 KiB`, 'info'],
      ['staged from a cache', event('staged', { detail: { source: 'cache', peer: null, bytes: 2048 } }),
        'Staged the closure from a binary cache, 2.0 KiB', 'info'],
      ['activating a system', event('activating', { detail: { mode: 'boot-and-reboot', storePath: '/nix/store/x', previousGeneration: 4 } }),
        'Activating: setting the next boot entry and rebooting, replacing generation 4', 'info'],
      ['activated for a reboot', event('activated', { detail: { generation: 5, mode: 'boot-and-reboot', reboot: true } }),
        'Activated generation 5 as the next boot entry, and the host reboots', 'info'],
      ['health check failed', event('health_check', { detail: { ok: false, exitCode: 1, signal: null, timedOut: false } }),
        'Health check failed: it exited with status 1', 'failure'],
      ['health check timed out', event('health_check', { detail: { ok: false, exitCode: null, signal: 'SIGTERM', timedOut: true } }),
        'Health check failed: it timed out', 'failure'],
      ['health check passed', event('health_check', { detail: { ok: true, exitCode: 0 } }), 'Health check passed', 'info'],
      ['rollback with failed command', event('rolled_back', { detail: { generation: 2, ok: false, exitCode: 3 } }),
        'Rolled back to generation 2, but its activation command exited with status 3', 'failure'],
      ['success', event('result', { result: 'success', detail: { generation: 3, action: 'activate' } }),
        'Finished: success, generation 3 is current', 'ok'],
      ['success without change', event('result', { result: 'success', detail: { noop: true } }),
        'Finished: success, the release was already the current generation', 'ok'],
      ['success after a reboot', event('result', { result: 'success', detail: { generation: 3, rebooted: true } }),
        'Finished: success after a reboot, generation 3 is current', 'ok'],
      ['failure with reason', event('result', { result: 'failure', detail: { reason: 'activation command exited with status 1', rolledBack: true } }),
        'Failed: activation command exited with status 1. Rolled back to the previous generation', 'failure'],
      ['superseded', event('superseded', { detail: { by: 'int_x', sequence: 2, reason: 'intent int_x with sequence 2 is newer' } }),
        'Superseded: intent int_x with sequence 2 is newer', 'neutral'],
      ['retry', event('retry', { actor: ALICE, detail: { followUp: 'int_y', attempt: 2 } }),
        'Retry requested by admin alice, attempt 2', 'info'],
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
      const words = describeEvent(event('policy_denied'), admins, 'schedule')
      assert.equal(words.title, 'Policy denied: no rule permits any action on schedule')
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
      ['running step', { lastEvent: 'staging' }, 'in_progress'],
      ['staging while asked', { lastEvent: 'staged', waiting: { kind: 'confirmation' } }, 'confirmation_required'],
      ['window confirmed ahead', { lastEvent: 'confirmed', waiting: { kind: 'window' } }, 'waiting_for_window'],
      ['latest deployment waiting', { waiting: { kind: 'confirmation' } }, 'confirmation_required'],
      ['latest deployment running', {}, 'in_progress']
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

  describe('statusLabel', () => {
    const cases: Array<[string, Parameters<typeof statusLabel>, string]> = [
      ['window with zone', ['waiting_for_window', { kind: 'window', opensAt: '2026-01-03T01:00:00.000Z', zone: 'Europe/Zurich' }],
        'Waiting for window (opens Sat 02:00 Europe/Zurich)'],
      ['window in UTC', ['waiting_for_window', { kind: 'window', opensAt: '2026-01-03T01:00:00.000Z' }], 'Waiting for window (opens Sat 01:00 UTC)'],
      ['window without opening', ['waiting_for_window', { kind: 'window' }], 'Waiting for window'],
      ['summary without wait', ['waiting_for_window'], 'Waiting for window'],
      ['confirmation', ['confirmation_required', { kind: 'confirmation' }], 'Confirmation required'],
      ['result', ['success'], 'Success']
    ]
    for (const [name, args, expected] of cases) {
      it(name, () => {
        assert.equal(statusLabel(...args), expected)
      })
    }
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

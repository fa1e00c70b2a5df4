import assert from 'node:assert/strict'
import { expectedTargets } from '../../../src/cli/commands/deploy.ts'
import { deploymentState, describeDeployment, describeEvent } from '../../../src/cli/words.ts'
import type { DeploymentState } from '../../../src/cli/words.ts'
import type { DeploymentView } from '../../../src/garden/index.ts'
import { generateKey } from '../../../src/keys/index.ts'
import type { GardenSummary } from '../../../src/store/index.ts'

type Fields = Pick<DeploymentView, 'result' | 'lastEvent' | 'policyEnd' | 'waiting' | 'stagedOnly' | 'awaitingConfirmation'>

describe('deploymentState', () => {
  const cases: Array<[string, Fields, DeploymentState, string]> = [
    ['a result', { lastEvent: 'result', result: 'success' }, 'success', 'success'],
    ['a denial', { lastEvent: 'policy_denied' }, 'policy_denied', 'policy denied'],
    ['staging only', { lastEvent: 'policy_denied', stagedOnly: true }, 'staged_only', 'staged only (policy permits no activation)'],
    ['a stored denial', { lastEvent: 'policy_denied', policyEnd: 'policy_denied' }, 'policy_denied', 'policy denied'],
    ['a stored staging end', { lastEvent: 'policy_denied', policyEnd: 'staged_only' }, 'staged_only', 'staged only (policy permits no activation)'],
    ['a confirmation wait', { lastEvent: 'staged', awaitingConfirmation: true }, 'confirmation_required', 'confirmation required'],
    ['a window wait', { lastEvent: 'waiting_for_window' }, 'waiting_for_window', 'waiting for window'],
    ['a stored confirmation wait', { lastEvent: 'staged', waiting: { kind: 'confirmation' } }, 'confirmation_required', 'confirmation required'],
    ['a stored window wait', { lastEvent: 'confirmed', waiting: { kind: 'window', opensAt: '2026-01-03T01:00:00.000Z' } },
      'waiting_for_window', 'waiting for window'],
    ['a running step', { lastEvent: 'health_check' }, 'in_progress', 'in progress (health check)'],
    ['a retry', { lastEvent: 'retry' }, 'in_progress', 'in progress (retry)']
  ]
  for (const [name, fields, state, words] of cases) {
    it(`reads ${name}`, () => {
      assert.equal(deploymentState(fields), state)
      assert.equal(describeDeployment(fields), words)
    })
  }
})

describe('describeEvent', () => {
  it('names the admin and details', () => {
    const key = generateKey().id
    const text = describeEvent({
      id: 'evt_x',
      issuedAt: '2026-01-01T00:00:00.000Z',
      kind: 'confirmed',
      trigger: 'realtime',
      actor: key,
      detail: { action: 'activate', output: 'line one\nlast line\n' }
    }, new Map([[key, 'admin ops']]))
    assert.equal(text, 'confirmed, trigger realtime, by admin ops, action=activate output=last line')
  })

  it('names a staged-only end', () => {
    const text = describeEvent({
      id: 'evt_x',
      issuedAt: '2026-01-01T00:00:00.000Z',
      kind: 'policy_denied',
      trigger: 'realtime',
      actor: 'policy',
      detail: { permitted: 'stage', staged: true }
    }, new Map())
    assert.equal(text, 'staged only, trigger realtime, by policy, permitted=stage staged=true')
  })
})

describe('expectedTargets', () => {
  function garden (name: string, tags: string[], fields: Partial<GardenSummary> = {}): GardenSummary {
    return { peer: generateKey().id, name, tags, roles: ['garden'], revoked: false, addresses: [], pending: 0, ...fields }
  }
  const web1 = garden('web-1', ['web'])
  const web2 = garden('web-2', ['web'], { revoked: true })
  const web3 = garden('web-3', ['web'], { report: 'rep_x' })
  const admin = garden('laptop', ['web'], { roles: ['admin'] })
  const subscribed = new Map([[web3.peer, new Set(['db'])]])

  it('skips revoked, admin and unsubscribed gardens', () => {
    const targets = expectedTargets([web1, web2, web3, admin], ['tag:web'], ['app'], subscribed)
    assert.deepEqual(targets.map(target => target.name), ['web-1'])
  })

  it('keeps a subscribed garden', () => {
    const targets = expectedTargets([web3], ['name:web-3'], ['db'], subscribed)
    assert.deepEqual(targets, [{ peer: web3.peer, name: 'web-3', seed: 'db' }])
  })
})

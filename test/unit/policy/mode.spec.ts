import assert from 'node:assert/strict'
import { PolicyArgumentError, modeFor } from '../../../src/policy/index.ts'
import type { Action, DeploymentModeKind, SeedType } from '../../../src/policy/index.ts'

describe('policy modeFor', () => {
  const cases: Array<[Action, SeedType, boolean, DeploymentModeKind]> = [
    ['stage', 'system', false, 'download-only'],
    ['stage', 'system', true, 'download-only'],
    ['activate', 'system', false, 'switch'],
    ['activate', 'system', true, 'switch'],
    ['restart', 'system', false, 'switch'],
    ['restart', 'system', true, 'boot-and-reboot'],
    ['stage', 'service', false, 'download-only'],
    ['activate', 'service', false, 'restart-service'],
    ['restart', 'service', false, 'restart-service'],
    ['restart', 'service', true, 'restart-service'],
    ['stage', 'home', false, 'download-only'],
    ['activate', 'home', false, 'run-activate'],
    ['restart', 'home', false, 'run-activate'],
    ['restart', 'home', true, 'run-activate']
  ]
  for (const [action, seedType, bootChanged, kind] of cases) {
    it(`maps ${action} of ${seedType}${bootChanged ? ' with a new kernel' : ''} to ${kind}`, () => {
      assert.deepEqual(modeFor(action, seedType, { bootChanged }), { kind })
    })
  }

  it('needs no bootChanged to activate', () => {
    assert.deepEqual(modeFor('activate', 'system'), { kind: 'switch' })
  })

  it('needs bootChanged to restart a system', () => {
    assert.throws(() => modeFor('restart', 'system'), PolicyArgumentError)
  })

  it('rejects an unknown action', () => {
    assert.throws(() => modeFor('reboot' as Action, 'system'), PolicyArgumentError)
  })

  it('rejects an unknown seed type', () => {
    assert.throws(() => modeFor('stage', 'vm' as SeedType), PolicyArgumentError)
  })
})

import assert from 'node:assert/strict'
import { DEPLOYMENT_REASONS, PolicyArgumentError, triggerForReason } from '../../../src/policy/index.ts'
import type { DeploymentReason, Trigger } from '../../../src/policy/index.ts'

describe('policy triggerForReason', () => {
  const cases: Array<[DeploymentReason, Trigger]> = [
    ['gossip', 'realtime'],
    ['sync', 'poll_on_connect'],
    ['import', 'poll_on_connect'],
    ['window_opened', 'schedule'],
    ['retry', 'user_retry']
  ]
  for (const [reason, trigger] of cases) {
    it(`maps ${reason} to ${trigger}`, () => {
      assert.equal(triggerForReason(reason), trigger)
    })
  }

  it('covers every reason', () => {
    assert.deepEqual(cases.map(([reason]) => reason), [...DEPLOYMENT_REASONS])
  })

  for (const reason of ['push', 'toString', '']) {
    it(`rejects ${JSON.stringify(reason)}`, () => {
      assert.throws(() => triggerForReason(reason as DeploymentReason), PolicyArgumentError)
    })
  }
})

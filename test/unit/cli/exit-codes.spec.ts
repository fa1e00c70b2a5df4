import assert from 'node:assert/strict'
import { EXIT, exitStatusFor } from '../../../src/cli/exit-codes.ts'

describe('exitStatusFor', () => {
  const cases: Array<[string, number]> = [
    ['ERR_USAGE', EXIT.usage],
    ['ERR_INVALID_SELECTOR', EXIT.usage],
    ['ERR_CONFIG', EXIT.invalidInput],
    ['ERR_KEY_PERMISSIONS', EXIT.invalidInput],
    ['ERR_RECORD_SCHEMA', EXIT.invalidInput],
    ['ERR_BUNDLE_TRUNCATED', EXIT.invalidInput],
    ['ERR_SCOPE_LIMIT', EXIT.rejected],
    ['ERR_ROOT_THRESHOLD', EXIT.rejected],
    ['ERR_REVOKED', EXIT.rejected],
    ['ERR_NO_ADMIN_KEY', EXIT.rejected],
    ['ERR_NOT_FOUND', EXIT.notFound],
    ['ERR_PATH_NOT_VALID', EXIT.notFound],
    ['ERR_STORE_LOCKED', EXIT.unavailable],
    ['ERR_NIX_COMMAND_FAILED', EXIT.unavailable],
    ['ERR_NODE_UNREACHABLE', EXIT.unavailable],
    ['ERR_ADMIN_FEED_BEHIND', EXIT.unavailable],
    ['ERR_OWN_FEED_BEHIND', EXIT.unavailable],
    ['ERR_OWN_FEED_FORKED', EXIT.unavailable],
    ['ERR_DEPLOYMENT_FAILED', EXIT.deploymentFailed],
    ['ERR_TIMEOUT', EXIT.timeout],
    ['ERR_INTERRUPTED', EXIT.interrupted],
    ['ERR_SOMETHING_NEW', EXIT.unexpected]
  ]
  for (const [code, status] of cases) {
    it(`maps ${code} to ${status}`, () => {
      assert.equal(exitStatusFor(code), status)
    })
  }

  it('keeps statuses distinct', () => {
    const values = Object.values(EXIT)
    assert.equal(new Set(values).size, values.length)
  })
})

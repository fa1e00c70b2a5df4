import assert from 'node:assert/strict'
import { isExpired, selectsGarden } from '../../../src/deploy/targets.ts'
import { activationCommand, healthCheckCommand, rebootCommand } from '../../../src/deploy/index.ts'
import type { DeploySubscription } from '../../../src/deploy/index.ts'

const PEER = '12D3KooWGzh8uQ3Cz5pxUjS7RbP6ebbt4H3VdHW3F6DYXnh2RS1d'
const OTHER = '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3'
const SELF = { peer: PEER, name: 'garden-1', tags: ['web', 'eu'] }

describe('target selection', function () {
  const cases: Array<[string[], boolean]> = [
    [['*'], true],
    [['name:garden-1'], true],
    [['name:garden-10'], false],
    [['name:garden'], false],
    [['tag:eu'], true],
    [['tag:e'], false],
    [['tag:us'], false],
    [[`peer:${PEER}`], true],
    [[`peer:${OTHER}`], false],
    [['tag:us', 'name:garden-1'], true]
  ]
  for (const [targets, expected] of cases) {
    it(`${expected ? 'selects' : 'skips'} ${targets.join(' ')}`, function () {
      assert.equal(selectsGarden(targets, SELF), expected)
    })
  }
})

describe('intent expiry', function () {
  const expiresAt = '2025-06-10T14:00:00.000Z'
  const cases: Array<[string, number, boolean]> = [
    ['before expiry', Date.parse(expiresAt) - 1, false],
    ['within the skew', Date.parse(expiresAt) + 5 * 60 * 1000 - 1, false],
    ['at the end of the skew', Date.parse(expiresAt) + 5 * 60 * 1000, true]
  ]
  for (const [name, nowMs, expected] of cases) {
    it(`judges ${name}`, function () {
      assert.equal(isExpired({ expiresAt }, nowMs), expected)
    })
  }
})

describe('default host commands', function () {
  const subscription = (type: DeploySubscription['type'], commands = {}): DeploySubscription =>
    ({ name: 'nginx', seed: 'nginx', type, profile: '/nix/var/nix/profiles/nginx', commands })
  const context = (type: DeploySubscription['type'], commands = {}) => ({
    deployment: 'dep_x', subscription: subscription(type, commands), storePath: '/nix/store/abc-x', realPath: '/root/nix/store/abc-x', generation: 4
  })

  it('switches a system', function () {
    assert.deepEqual(activationCommand('switch', context('system'))?.argv, ['/root/nix/store/abc-x/bin/switch-to-configuration', 'switch'])
  })

  it('sets the boot entry of a system', function () {
    assert.deepEqual(activationCommand('boot-and-reboot', context('system'))?.argv, ['/root/nix/store/abc-x/bin/switch-to-configuration', 'boot'])
  })

  it('restarts a service', function () {
    assert.deepEqual(activationCommand('restart-service', context('service'))?.argv, ['systemctl', 'restart', 'nginx'])
  })

  it('runs activate of a home', function () {
    assert.deepEqual(activationCommand('run-activate', context('home'))?.argv, ['/root/nix/store/abc-x/activate'])
  })

  it('runs nothing for download only', function () {
    assert.equal(activationCommand('download-only', context('system')), null)
  })

  it('reboots with systemctl', function () {
    assert.deepEqual(rebootCommand(context('system')).argv, ['systemctl', 'reboot'])
  })

  it('has no default health check', function () {
    assert.equal(healthCheckCommand(context('service')), null)
  })

  it('uses configured commands', function () {
    const commands = { activate: ['/bin/act'], restart: ['/bin/rs'], reboot: ['/bin/rb'], healthCheck: ['/bin/hc'], timeoutMs: 1234 }
    assert.deepEqual(activationCommand('switch', context('system', commands))?.argv, ['/bin/act'])
    assert.deepEqual(activationCommand('restart-service', context('service', commands))?.argv, ['/bin/rs'])
    assert.deepEqual(rebootCommand(context('system', commands)).argv, ['/bin/rb'])
    assert.deepEqual(healthCheckCommand(context('system', commands))?.argv, ['/bin/hc'])
    assert.equal(healthCheckCommand(context('system', commands))?.timeoutMs, 1234)
  })

  it('passes the deployment in the environment', function () {
    const env = activationCommand('boot-and-reboot', context('system'))?.env
    assert.equal(env?.SOWER_ACTION, 'boot')
    assert.equal(env?.SOWER_STORE_PATH, '/nix/store/abc-x')
    assert.equal(env?.SOWER_REAL_PATH, '/root/nix/store/abc-x')
    assert.equal(env?.SOWER_GENERATION, '4')
    assert.equal(env?.SOWER_PROFILE, '/nix/var/nix/profiles/nginx')
  })
})

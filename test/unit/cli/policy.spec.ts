import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'
import { runCli } from './run-cli.ts'

const CONFIG = {
  fleet: 'acme',
  root: 'root.json',
  nodeKey: 'node.pem',
  timeZone: 'Europe/Zurich',
  subscriptions: [
    { name: 'now', seed: 'web', type: 'system', profile: '/tmp/p1', acceptRealtime: true },
    { name: 'nightly', seed: 'db', type: 'system', profile: '/tmp/p2', window: { days: ['sat'], start: '02:00', end: '05:00' } },
    { name: 'careful', seed: 'api', type: 'service', profile: '/tmp/p3', acceptRealtime: true, confirm: true, commands: { restart: ['true'] } },
    { name: 'mirror', seed: 'cache', type: 'home', profile: '/tmp/p4', stageOnly: true },
    { name: 'closed', seed: 'off', type: 'home', profile: '/tmp/p5', policy: { never: { actions: ['activate'], triggers: ['user_retry'] } } }
  ]
}

/** Friday 2026-01-02 12:00 in Zurich. */
const AT = '2026-01-02T11:00:00Z'

describe('sower policy explain', () => {
  let folder: string
  let config: string

  before(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-policy-'))
    config = join(folder, 'config.json')
    await writeFile(config, JSON.stringify(CONFIG))
  })

  after(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  const cases: Array<[string, string[], RegExp]> = [
    ['activates at once', ['--subscription', 'now'], /activate now, permitted by rule realtime: switch-to-configuration switch/],
    ['waits for a window', ['--seed', 'db'], /waiting for window: restart when the window of rule window opens at 2026-01-03T01:00:00.000Z \(Sat 02:00 Europe\/Zurich\)/],
    ['requires confirmation', ['--seed', 'api'], /confirmation required: rule realtime permits activate/],
    ['stages only', ['--seed', 'cache'], /stage now, permitted by rule arrival: download and verify only/],
    ['denies', ['--seed', 'off'], /policy denied: no rule permits anything for trigger realtime now/]
  ]
  for (const [name, args, expected] of cases) {
    it(name, async () => {
      const run = await runCli(['policy', 'explain', '--config', config, ...args, '--trigger', 'realtime', '--at', AT])
      assert.equal(run.status, EXIT.ok, run.err)
      assert.match(run.out, expected)
    })
  }

  it('prints JSON', async () => {
    const run = await runCli(['policy', 'explain', '--config', config, '--seed', 'db', '--trigger', 'realtime', '--at', AT, '--json'])
    const explanation = JSON.parse(run.out)
    assert.equal(explanation.decision.action, 'stage')
    assert.equal(explanation.decision.waitForWindow.opensAt, '2026-01-03T01:00:00.000Z')
  })

  it('rejects an unknown subscription', async () => {
    const run = await runCli(['policy', 'explain', '--config', config, '--subscription', 'nope', '--trigger', 'realtime'])
    assert.equal(run.status, EXIT.notFound)
    assert.match(run.err, /has no subscription nope; its subscriptions: now, nightly, careful, mirror, closed/)
  })

  it('rejects an unknown trigger', async () => {
    const run = await runCli(['policy', 'explain', '--config', config, '--seed', 'web', '--trigger', 'cron'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /unknown trigger "cron": use realtime, poll_on_connect, schedule, user_retry/)
  })

  it('needs exactly one of subscription and seed', async () => {
    const run = await runCli(['policy', 'explain', '--config', config, '--trigger', 'realtime'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /give exactly one of --subscription NAME or --seed SEED/)
  })
})

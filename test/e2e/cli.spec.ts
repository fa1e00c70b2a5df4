import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { SOWER_BIN } from '../../src/demo/processes.ts'
import { CliFleet, eventually, sower, sowerJson } from './cli-fleet.ts'

const E2E_TIMEOUT_MS = 90_000

/** Returns the state of each (garden, seed) in `sower status --json` output. */
function statesOf (status: any): Record<string, string> {
  const states: Record<string, string> = {}
  for (const garden of status.gardens) {
    for (const seed of garden.seeds) {
      states[`${garden.name as string} ${seed.seed as string}`] = seed.state
    }
  }
  return states
}

function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('sower demo', function () {
  this.timeout(E2E_TIMEOUT_MS)
  let workspace: string | undefined

  afterEach(async () => {
    if (workspace != null) {
      await rm(workspace, { recursive: true, force: true })
      workspace = undefined
    }
  })

  it('reaches every expected end state', async () => {
    const child = spawn(process.execPath, [SOWER_BIN, 'demo', '--exit-when-done', '--keep', '--timeout', '80'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOWER_LOG_LEVEL: 'warn' }
    })
    let output = ''
    child.stdout.setEncoding('utf8').on('data', (text: string) => { output += text })
    child.stderr.setEncoding('utf8').on('data', (text: string) => { output += text })
    const status = await new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    workspace = /workspace (\S+)/.exec(output)?.[1]
    assert.equal(status, 0, output)
    assert.ok(workspace != null, output)

    const fleet = await sowerJson(['status', '--config', join(workspace, 'admin', 'config.json')])
    assert.deepEqual(statesOf(fleet), {
      'confirm-1 demo-service': 'success',
      'realtime-1 demo-service': 'success',
      'realtime-1 demo-system': 'success',
      'stage-only-1 demo-system': 'staged_only',
      'window-1 demo-system': 'waiting_for_window'
    })
  })

  it('stops every node on SIGINT', async () => {
    const child = spawn(process.execPath, [SOWER_BIN, 'demo', '--keep', '--timeout', '80'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SOWER_LOG_LEVEL: 'warn' }
    })
    const pids: number[] = []
    const exited = new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
    for await (const line of createInterface({ input: child.stdout })) {
      workspace ??= /workspace (\S+)/.exec(line)?.[1]
      for (const match of line.matchAll(/pids? ([\d, ]+)\)/g)) {
        pids.push(...match[1].split(',').map(pid => Number(pid.trim())))
      }
      if (line.includes('Ctrl-C stops the demo')) {
        break
      }
    }
    assert.equal(pids.length, 5)
    child.kill('SIGINT')
    assert.equal(await exited, 0)
    for (const pid of pids) {
      assert.equal(processAlive(pid), false, `node process ${pid} still runs`)
    }
  })
})

describe('sower against a running fleet', function () {
  this.timeout(E2E_TIMEOUT_MS)
  let folder: string
  let fleet: CliFleet

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-e2e-'))
    fleet = await CliFleet.create(folder)
  })

  afterEach(async () => {
    await fleet.stopAll()
    await rm(folder, { recursive: true, force: true })
  })

  async function enroll (name: string, peer: string, ...extra: string[]): Promise<void> {
    const run = await sower(['enroll', peer, '--name', name, ...extra, '--config', fleet.admin.config])
    assert.equal(run.status, 0, run.stderr)
  }

  it('stops a revoked garden from deploying and publishing', async () => {
    await fleet.startAdmin()
    await enroll('admin', fleet.admin.key.id, '--role', 'admin')
    for (const name of ['g1', 'g2']) {
      // Periodic sync (every second here) can deliver an intent before gossip does, so both triggers deploy.
      const garden = await fleet.addGarden({ name, tags: ['app'], policy: { acceptRealtime: true, deployOnConnect: true } })
      await enroll(name, garden.key.id, '--tag', 'app')
      await fleet.start(garden)
    }
    await eventually('reports of both gardens', async () => {
      const status = await sowerJson(['status', '--config', fleet.admin.config])
      return status.gardens.filter((garden: any) => garden.agentVersion != null && garden.name !== 'admin').length === 2 ? true : undefined
    })

    const first = await sower(['deploy', 'app', await fleet.buildApp('1.0'), '--to', 'app', '--type', 'service',
      '--timeout', '40', '--config', fleet.admin.config])
    assert.equal(first.status, 0, first.stdout + first.stderr)
    assert.match(first.stdout, /g1 +app +success/)
    assert.match(first.stdout, /g2 +app +success/)

    const revoke = await sower(['revoke', 'g2', '--reason', 'disk stolen', '--config', fleet.admin.config])
    assert.equal(revoke.status, 0, revoke.stderr)
    const seen = await sowerJson(['status', 'g2', '--config', fleet.admin.config])
    assert.equal(seen.summary.revoked, true)
    assert.equal(seen.member, false)

    const second = await sower(['deploy', 'app', await fleet.buildApp('2.0'), '--to', 'tag:app', '--type', 'service',
      '--timeout', '40', '--config', fleet.admin.config])
    assert.equal(second.status, 0, second.stdout + second.stderr)
    assert.match(second.stdout, /waiting for 1 target/)
    const intent = /published intent (int_\w+)/.exec(second.stdout)?.[1] ?? ''
    const onG2 = await sower(['status', '--intent', intent, '--config', fleet.garden('g2').config])
    assert.equal(onG2.status, 5, 'the revoked garden received the new intent')
    const restarts = await readFile(join(fleet.garden('g2').folder, 'restarts.log'), 'utf8')
    assert.equal(restarts.trim().split('\n').length, 1)

    await fleet.stop(fleet.garden('g2'))
    const restartedMs = Date.now()
    await fleet.start(fleet.garden('g2'))
    const bundle = join(folder, 'g2.bundle')
    await eventually('a report of g2 after its restart', async () => {
      const own = await sowerJson(['status', 'g2', '--config', fleet.garden('g2').config])
      return Date.parse(own.summary.reportedAt ?? '') >= restartedMs ? true : undefined
    })
    assert.equal((await sower(['bundle', 'export', '--out', bundle, '--config', fleet.garden('g2').config])).status, 0)
    const imported = await sowerJson(['bundle', 'import', bundle, '--config', fleet.admin.config])
    assert.ok(imported.problems.some((problem: any) => problem.code === 'ERR_REVOKED'), JSON.stringify(imported.problems))
    assert.equal(imported.accepted, 0)
  })

  it('confirms a garden that waits', async () => {
    await fleet.startAdmin()
    await enroll('admin', fleet.admin.key.id, '--role', 'admin')
    // Periodic sync can deliver the intent before gossip does, so both triggers wait for the confirmation.
    const careful = await fleet.addGarden({ name: 'careful', tags: ['app'], policy: { acceptRealtime: true, deployOnConnect: true, confirm: true } })
    await enroll('careful', careful.key.id, '--tag', 'app')
    await fleet.start(careful)
    await eventually('a report of the garden', async () => {
      const status = await sowerJson(['status', '--config', fleet.admin.config])
      return status.gardens.some((garden: any) => garden.name === 'careful' && garden.agentVersion != null) ? true : undefined
    })

    const deploy = await sower(['deploy', 'app', await fleet.buildApp('1.0'), '--to', 'careful', '--type', 'service',
      '--timeout', '40', '--config', fleet.admin.config])
    assert.equal(deploy.status, 0, deploy.stdout + deploy.stderr)
    assert.match(deploy.stdout, /careful +app +confirmation required/)
    const intent = /published intent (int_\w+)/.exec(deploy.stdout)?.[1] ?? ''

    const confirm = await sower(['confirm', intent, '--timeout', '40', '--config', fleet.admin.config])
    assert.equal(confirm.status, 0, confirm.stdout + confirm.stderr)
    assert.match(confirm.stdout, /careful +app +success/)
  })

  it('carries records between two halves by bundle', async () => {
    await fleet.startAdmin()
    await enroll('admin', fleet.admin.key.id, '--role', 'admin')
    // Periodic sync can deliver the intent before gossip does, so both triggers deploy.
    const online = await fleet.addGarden({ name: 'online', tags: ['app'], policy: { acceptRealtime: true, deployOnConnect: true } })
    const offline = await fleet.addGarden({ name: 'offline', tags: ['app'], policy: { deployOnConnect: true }, online: false })
    await enroll('online', online.key.id, '--tag', 'app')
    await enroll('offline', offline.key.id, '--tag', 'app')
    await fleet.start(online)
    await fleet.start(offline)

    const deploy = await sower(['deploy', 'app', await fleet.buildApp('1.0'), '--to', 'tag:app', '--type', 'service',
      '--no-wait', '--config', fleet.admin.config])
    assert.equal(deploy.status, 0, deploy.stderr)
    const intent = /published intent (int_\w+)/.exec(deploy.stdout)?.[1] ?? ''

    const outbound = join(folder, 'to-offline.bundle')
    assert.equal((await sower(['bundle', 'export', '--out', outbound, '--with-closures', '--config', fleet.admin.config])).status, 0)
    const intoOffline = await sowerJson(['bundle', 'import', outbound, '--config', offline.config])
    assert.equal(intoOffline.closuresImported.length, 1)

    await eventually('the offline garden applying the intent', async () => {
      const own = await sowerJson(['status', '--intent', intent, '--config', offline.config])
      return own.deployments.some((deployment: any) => deployment.state === 'success') ? true : undefined
    })
    const inbound = join(folder, 'from-offline.bundle')
    assert.equal((await sower(['bundle', 'export', '--out', inbound, '--config', offline.config])).status, 0)
    assert.equal((await sower(['bundle', 'import', inbound, '--config', fleet.admin.config])).status, 0)

    const seen = await sowerJson(['status', '--intent', intent, '--config', fleet.admin.config])
    const states = Object.fromEntries(seen.deployments.map((deployment: any) => [deployment.gardenName, deployment.state]))
    assert.equal(states.offline, 'success')
    assert.equal(states.online, 'success')
    const offlineTrigger = seen.deployments.find((deployment: any) => deployment.gardenName === 'offline').trigger
    assert.equal(offlineTrigger, 'poll_on_connect')
  })
})

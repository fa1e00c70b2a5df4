import assert from 'node:assert/strict'
import { join } from 'node:path'
import { rm, writeFile } from 'node:fs/promises'
import { describeOnBackends, idOf, readLines, service, system, waitForFile, writeScript } from './helpers.ts'
import type { TestGarden } from './helpers.ts'

const RESTART_POLICY = { go: { actions: ['stage', 'activate', 'restart'], triggers: ['realtime'], confirm: false } } as any
const ACTIVATE_POLICY = { go: { actions: ['stage', 'activate'], triggers: ['realtime'], confirm: false } } as any

/** Deploys `storePath` as sequence `sequence`, waits for its result event and returns the deployment id. */
async function deploy (g: TestGarden, sequence: number, storePath: string, type: 'service' | 'system' = 'service'): Promise<string> {
  const intent = g.signer.deploy(sequence, [await g.release(storePath, type)])
  await g.receive(intent)
  await g.waitForResult(idOf(g, intent))
  return idOf(g, intent)
}

describeOnBackends('deployment activation', suite => {
  it('rolls back a failing activation', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, commands: { restart: [join(s.folder, 'restart.sh')] } })])
    await writeScript(g.folder, 'restart.sh',
      `if [ "$SOWER_STORE_PATH" = "${suite.closures.web2}" ]; then printf 'boom \\033[31mred\\033[0m\\n'; exit 3; fi`)
    await deploy(g, 1, suite.closures.web1)
    const started = Date.now()
    const failed = await deploy(g, 2, suite.closures.web2)
    const result = g.lastEvent(failed, 'result')

    assert.ok(Date.now() - started < 5000)
    assert.equal(result?.body.result, 'failure')
    assert.match(String(result?.body.detail?.reason), /activation command exited with status 3/)
    assert.equal(result?.body.detail?.exitCode, 3)
    assert.equal(result?.body.detail?.output, 'boom red\n')
    assert.deepEqual(g.kinds(failed), ['received', 'staging', 'staged', 'activating', 'rolled_back', 'result'])
    assert.equal(g.lastEvent(failed, 'rolled_back')?.body.detail?.generation, 1)
    const current = await g.backend.currentGeneration(g.profile)
    assert.equal(current?.number, 1)
    assert.equal(current?.storePath, suite.closures.web1)
  })

  it('rolls back a failing health check', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, commands: { healthCheck: [s.scripts.health] } })])
    await writeFile(join(g.folder, 'healthy'), '')
    await deploy(g, 1, suite.closures.web1)
    await rm(join(g.folder, 'healthy'))
    const failed = await deploy(g, 2, suite.closures.web2)

    assert.equal(g.lastEvent(failed, 'result')?.body.result, 'failure')
    assert.match(String(g.lastEvent(failed, 'result')?.body.detail?.reason), /health check exited with status 1/)
    assert.deepEqual(g.kinds(failed), ['received', 'staging', 'staged', 'activating', 'activated', 'health_check', 'rolled_back', 'result'])
    assert.equal(g.lastEvent(failed, 'health_check')?.body.detail?.ok, false)
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
    assert.deepEqual(await readLines(join(g.folder, 'activations')), [
      `restart ${suite.closures.web1}`, `restart ${suite.closures.web2}`, `restart ${suite.closures.web1}`
    ])
  })

  it('retries a failed deployment', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, commands: { healthCheck: [s.scripts.health] } })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'failed')

    await writeFile(join(g.folder, 'healthy'), '')
    const since = g.eventsOf(idOf(g, intent)).length
    await g.receive(g.signer.followUp('retry', intent.id))
    const result = await g.waitForResult(idOf(g, intent), since)

    assert.equal(result.body.result, 'success')
    assert.equal(result.body.trigger, 'user_retry')
    assert.equal(g.engine.job(idOf(g, intent))?.attempts, 2)
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
  })

  it('resumes an activation after a crash', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, commands: { restart: [s.scripts.blockOnce] } })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await waitForFile(join(g.folder, 'blocked'))
    await g.restart()
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'activating', 'activated', 'result'])
    const generations = await g.backend.listGenerations(g.profile)
    assert.deepEqual(generations.map(generation => generation.storePath), [suite.closures.web1])
  })

  it('completes the release that is current already', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    await deploy(g, 1, suite.closures.web1)
    const intent = g.signer.deploy(2, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.equal(result.body.detail?.noop, true)
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'result'])
    assert.equal((await g.backend.listGenerations(g.profile)).length, 1)
  })

  it('reboots for a new initrd when permitted', async function () {
    let bootId = 'boot-1'
    const g = await suite.garden(s => [system(s, { policy: RESTART_POLICY })], {
      init: { readBootId: async () => bootId },
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.systemA) }
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemB, 'system')])
    await g.receive(intent)
    const activated = await g.waitForEvent(idOf(g, intent), 'activated')
    await g.engine.idle()

    assert.equal(activated.body.detail?.reboot, true)
    assert.equal(activated.body.detail?.mode, 'boot-and-reboot')
    assert.deepEqual(await readLines(join(g.folder, 'reboots')), [`reboot ${suite.closures.systemB}`])
    assert.deepEqual(await readLines(join(g.folder, 'activations')), [`boot ${suite.closures.systemB}`])
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'awaiting_reboot')
    assert.equal(g.lastEvent(idOf(g, intent), 'result'), undefined)

    bootId = 'boot-2'
    await g.restart()
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.equal(result.body.detail?.action, 'restart')
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.systemB)
  })

  it('rolls back when the host does not reboot', async function () {
    const g = await suite.garden(s => [system(s, { policy: RESTART_POLICY })], {
      init: { readBootId: async () => 'same-boot', rebootWaitMs: 1000 },
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.systemA) }
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemB, 'system')])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'activated')
    await g.engine.idle()

    g.now += 2000
    await g.engine.tick()
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'failure')
    assert.match(String(result.body.detail?.reason), /did not reboot/)
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.systemA)
  })

  it('switches now and reboots in the window', async function () {
    let bootId = 'boot-1'
    const policy = {
      go: { actions: ['stage', 'activate'], triggers: ['realtime'], confirm: false },
      night: { actions: ['stage', 'activate', 'restart'], triggers: ['schedule'], window: { start: '02:00', end: '04:00' }, confirm: false }
    } as any
    const g = await suite.garden(s => [system(s, { policy })], {
      init: { readBootId: async () => bootId },
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.systemA) }
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemB, 'system')])
    await g.receive(intent)
    const waiting = await g.waitForEvent(idOf(g, intent), 'waiting_for_window')

    assert.equal(waiting.body.detail?.action, 'restart')
    assert.equal(g.lastEvent(idOf(g, intent), 'activated')?.body.detail?.mode, 'switch')
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.systemB)

    g.now = Date.parse('2025-06-11T02:30:00.000Z')
    await g.engine.tick()
    await g.waitForEvent(idOf(g, intent), 'activated', g.eventsOf(idOf(g, intent)).indexOf(waiting))
    await g.engine.idle()
    assert.deepEqual(await readLines(join(g.folder, 'reboots')), [`reboot ${suite.closures.systemB}`])
    assert.deepEqual(await readLines(join(g.folder, 'activations')), [`switch ${suite.closures.systemB}`, `boot ${suite.closures.systemB}`])

    bootId = 'boot-2'
    await g.restart()
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.equal(result.body.detail?.action, 'restart')
    assert.equal((await g.backend.listGenerations(g.profile)).length, 2)
  })

  it('switches without reboot when restart is not permitted', async function () {
    const g = await suite.garden(s => [system(s, { policy: ACTIVATE_POLICY })], {
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.systemA) }
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemB, 'system')])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.equal(g.lastEvent(idOf(g, intent), 'activated')?.body.detail?.mode, 'switch')
    assert.deepEqual(await readLines(join(g.folder, 'reboots')), [])
    assert.deepEqual(await readLines(join(g.folder, 'activations')), [`switch ${suite.closures.systemB}`])
  })

  it('switches without reboot when boot files are unchanged', async function () {
    const g = await suite.garden(s => [system(s, { policy: RESTART_POLICY })], {
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.systemA) }
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemA2, 'system')])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.equal(g.lastEvent(idOf(g, intent), 'activated')?.body.detail?.mode, 'switch')
    assert.deepEqual(await readLines(join(g.folder, 'reboots')), [])
  })

  it('runs switch-to-configuration by default', async function () {
    const g = await suite.garden(s => [{ ...system(s, { policy: ACTIVATE_POLICY }), commands: { reboot: [s.scripts.reboot] } }])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemA, 'system')])
    await g.receive(intent)
    const activated = await g.waitForEvent(idOf(g, intent), 'activated')

    assert.equal(activated.body.detail?.exitCode, 0)
    assert.equal(activated.body.detail?.output, 'switch-to-configuration switch: h 1\n')
  })

  it('runs the activate script of a home', async function () {
    const g = await suite.garden(s => [{ name: 'alice', seed: 'alice', type: 'home', profile: join(s.folder, 'profiles', 'alice'), acceptRealtime: true }])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemA, 'home', 'alice')])
    await g.receive(intent)
    const activated = await g.waitForEvent(idOf(g, intent, 'alice'), 'activated')

    assert.equal(activated.body.detail?.mode, 'run-activate')
    assert.equal(activated.body.detail?.output, 'activating h 1\n')
  })
})

import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DAY_MS, iso } from '../../utils/fleet.ts'
import { describeOnBackends, idOf, readLines, service } from './helpers.ts'

const CONFIRM = { acceptRealtime: true, confirm: true }

describeOnBackends('deployment intents', suite => {
  it('runs a duplicate intent once', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.receive(intent, 'poll_on_connect')
    await g.engine.handleIntent(intent, 'realtime')
    await g.waitForResult(idOf(g, intent))
    await g.restart()
    await g.engine.handleIntent(intent, 'poll_on_connect')
    await g.engine.idle()

    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'activating', 'activated', 'result'])
    assert.equal((await g.backend.listGenerations(g.profile)).length, 1)
  })

  it('rejects a stale sequence', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const newer = g.signer.deploy(5, [await g.release(suite.closures.web2)])
    await g.receive(newer)
    await g.waitForResult(idOf(g, newer))
    const older = g.signer.deploy(4, [await g.release(suite.closures.web1)])
    await g.receive(older)
    const result = await g.waitForResult(idOf(g, older))

    assert.equal(result.body.result, 'superseded')
    assert.equal(result.body.detail?.code, 'stale_sequence')
    assert.match(String(result.body.detail?.reason), /sequence 4 is at or below sequence 5/)
    assert.deepEqual(g.kinds(idOf(g, older)), ['received', 'superseded', 'result'])
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web2)
  })

  it('rejects a replay of the applied sequence', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const first = g.signer.deploy(3, [await g.release(suite.closures.web1)])
    await g.receive(first)
    await g.waitForResult(idOf(g, first))
    const replay = g.signer.deploy(3, [await g.release(suite.closures.web2)])
    await g.receive(replay)
    const result = await g.waitForResult(idOf(g, replay))

    assert.equal(result.body.detail?.code, 'stale_sequence')
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
  })

  it('supersedes a job that has not activated', async function () {
    const g = await suite.garden(s => [service(s, CONFIRM)])
    const older = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(older)
    await g.waitForEvent(idOf(g, older), 'staged')
    const newer = g.signer.deploy(2, [await g.release(suite.closures.web2)])
    await g.receive(newer)
    const result = await g.waitForResult(idOf(g, older))

    assert.equal(result.body.result, 'superseded')
    assert.equal(g.lastEvent(idOf(g, older), 'superseded')?.body.detail?.by, newer.id)
    await g.waitForEvent(idOf(g, newer), 'staged')
    assert.equal(g.engine.job(idOf(g, newer))?.step, 'waiting_for_confirmation')
  })

  it('supersedes an older intent arriving late', async function () {
    const g = await suite.garden(s => [service(s, CONFIRM)])
    const older = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    const newer = g.signer.deploy(2, [await g.release(suite.closures.web2)])
    await g.receive(newer)
    await g.receive(older)
    const result = await g.waitForResult(idOf(g, older))

    assert.equal(result.body.result, 'superseded')
    assert.equal(result.body.detail?.code, 'newer_intent_known')
    assert.equal(g.eventsOf(idOf(g, older)).some(event => event.body.kind === 'staging'), false)
  })

  it('cancels a job waiting for confirmation', async function () {
    const g = await suite.garden(s => [service(s, CONFIRM)])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'staged')
    await g.receive(g.signer.followUp('cancel', intent.id))
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'canceled')
    assert.equal(g.lastEvent(idOf(g, intent), 'canceled')?.body.actor, g.fleet.admin.id)
    await g.receive(g.signer.followUp('confirm', intent.id))
    await g.engine.idle()
    assert.equal(g.lastEvent(idOf(g, intent), 'confirmed'), undefined)
    assert.equal(await g.backend.currentGeneration(g.profile), null)
  })

  it('does not cancel a finished job', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    await g.receive(g.signer.followUp('cancel', intent.id))
    await g.engine.idle()

    assert.equal(g.lastEvent(idOf(g, intent), 'canceled'), undefined)
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'succeeded')
  })

  it('runs no failed deployment again after a lost store', async function () {
    const g = await suite.garden(s => [
      service(s, { acceptRealtime: true, deployOnConnect: true, commands: { healthCheck: [s.scripts.health] } })
    ])
    await writeFile(join(g.folder, 'healthy'), '')
    const first = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(first)
    await g.waitForResult(idOf(g, first))
    await rm(join(g.folder, 'healthy'))
    const failed = g.signer.deploy(2, [await g.release(suite.closures.web2)])
    await g.receive(failed)
    assert.equal((await g.waitForResult(idOf(g, failed))).body.result, 'failure')
    await g.engine.idle()
    const activations = await readLines(join(g.folder, 'activations'))
    const kinds = g.kinds(idOf(g, failed))

    await g.loseStore([first, failed, ...g.announced])
    await g.engine.idle()

    assert.deepEqual(await readLines(join(g.folder, 'activations')), activations)
    assert.deepEqual(g.kinds(idOf(g, failed)), kinds)
    assert.equal((await g.store.deployment(idOf(g, failed)))?.result, 'failure')
  })

  it('judges older intents against a lost store', async function () {
    const g = await suite.garden(s => [
      service(s, { acceptRealtime: true, deployOnConnect: true, commands: { healthCheck: [s.scripts.health] } })
    ])
    const older = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    const failed = g.signer.deploy(2, [await g.release(suite.closures.web2)])
    await g.receive(failed)
    assert.equal((await g.waitForResult(idOf(g, failed))).body.result, 'failure')
    await g.engine.idle()
    const activations = await readLines(join(g.folder, 'activations'))

    // The older intent reaches the garden only with the lost store's records, and is handled first.
    await g.loseStore([older, failed, ...g.announced])
    const result = await g.waitForResult(idOf(g, older))
    await g.engine.idle()

    assert.equal(result.body.detail?.code, 'newer_intent_known')
    assert.deepEqual(await readLines(join(g.folder, 'activations')), activations)
  })

  it('refuses an expired intent', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)], { expiresAt: iso(g.now - 10 * 60 * 1000) })
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'failure')
    assert.equal(result.body.detail?.code, 'expired')
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'result'])
  })

  it('allows the clock skew on expiry', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)], { expiresAt: iso(g.now - 60 * 1000) })
    await g.receive(intent)
    assert.equal((await g.waitForResult(idOf(g, intent))).body.result, 'success')
  })

  it('records an unreliable clock instead of judging expiry', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], { init: { clockReliable: false } })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)], { expiresAt: iso(g.now - DAY_MS) })
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))
    const received = g.lastEvent(idOf(g, intent), 'received')

    assert.equal(result.body.result, 'success')
    assert.equal(received?.body.detail?.clockReliable, false)
    assert.equal(received?.body.detail?.expiryChecked, false)
  })

  it('picks up intents stored while stopped', async function () {
    const g = await suite.garden(s => [service(s, { deployOnConnect: true })])
    await g.engine.stop()
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.store.put(intent, { via: 'bundle', receivedAt: iso(g.now) })
    await g.engine.handleIntent(intent, 'poll_on_connect')
    await g.engine.start()
    const result = await g.waitForResult(idOf(g, intent))
    const received = g.lastEvent(idOf(g, intent), 'received')

    assert.equal(result.body.result, 'success')
    assert.equal(received?.body.trigger, 'poll_on_connect')
    assert.equal(received?.body.detail?.reason, 'import')
  })

  it('applies a follow-up that arrived first', async function () {
    const g = await suite.garden(s => [service(s, CONFIRM)])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    const confirm = g.signer.followUp('confirm', intent.id)
    await g.receive(confirm)
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.ok(g.kinds(idOf(g, intent)).includes('confirmed'))
  })

  it('ignores intents for other gardens', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)], { targets: ['name:garden-2', 'tag:us'] })
    await g.receive(intent)
    await g.engine.idle()

    assert.equal(g.engine.job(idOf(g, intent)), undefined)
    assert.equal(g.events.length, 0)
  })

  it('fails a release of another seed type', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.systemA, 'system')])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.detail?.code, 'type_mismatch')
  })

  it('runs each seed as its own job', async function () {
    const g = await suite.garden(s => [
      service(s, { acceptRealtime: true }),
      service(s, { name: 'api', seed: 'api', profile: `${s.folder}/profiles/api`, acceptRealtime: true, commands: { restart: [s.scripts.fail] } })
    ])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1), await g.release(suite.closures.web2, 'service', 'api')])
    await g.receive(intent)

    assert.equal((await g.waitForResult(idOf(g, intent, 'web'))).body.result, 'success')
    assert.equal((await g.waitForResult(idOf(g, intent, 'api'))).body.result, 'failure')
  })
})

import assert from 'node:assert/strict'
import { join } from 'node:path'
import { describeOnBackends, idOf, readLines, service } from './helpers.ts'

const HOUR_MS = 60 * 60 * 1000
/** Wednesday 02:00 UTC, the next opening of a 02:00-04:00 window after the test start. */
const WEDNESDAY_2_MS = Date.parse('2025-06-11T02:00:00.000Z')
const NIGHT = { start: '02:00', end: '04:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as any }

describeOnBackends('deployment policy', suite => {
  it('deploys on a realtime intent', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'activating', 'activated', 'result'])
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
    assert.deepEqual(await readLines(join(g.folder, 'activations')), [`restart ${suite.closures.web1}`])
  })

  it('records the trigger and signer on received', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const received = await g.waitForEvent(idOf(g, intent), 'received')

    assert.equal(received.body.trigger, 'realtime')
    assert.equal(received.body.actor, g.fleet.admin.id)
    assert.equal(received.body.detail?.sequence, 1)
  })

  it('ends with policy_denied and no result', async function () {
    const policy = { connect: { actions: ['stage', 'activate'], triggers: ['poll_on_connect'], confirm: false } } as any
    const g = await suite.garden(s => [service(s, { policy })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent, 'realtime')
    const denied = await g.waitForEvent(idOf(g, intent), 'policy_denied')
    await g.engine.idle()

    assert.match(String(denied.body.detail?.reason), /no rule of subscription web permits any action on realtime/)
    assert.equal(denied.body.result, undefined)
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'policy_denied'])
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'denied')
    assert.equal(await g.backend.currentGeneration(g.profile), null)
  })

  it('stages now and activates when the window opens', async function () {
    const g = await suite.garden(s => [service(s, { window: NIGHT })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const waiting = await g.waitForEvent(idOf(g, intent), 'waiting_for_window')

    assert.equal(waiting.body.detail?.opensAt, new Date(WEDNESDAY_2_MS).toISOString())
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'waiting_for_window'])
    assert.equal(await g.backend.currentGeneration(g.profile), null)

    g.now = WEDNESDAY_2_MS - 1
    await g.engine.tick()
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'waiting_for_window')

    g.now = WEDNESDAY_2_MS + 1000
    await g.engine.tick()
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.equal(result.body.trigger, 'schedule')
    assert.equal(g.lastEvent(idOf(g, intent), 'received')?.body.detail?.reason, 'window_opened')
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
  })

  it('re-arms the window timer after a restart', async function () {
    const g = await suite.garden(s => [service(s, { window: NIGHT })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'waiting_for_window')

    g.now = WEDNESDAY_2_MS - 50
    await g.restart()
    // The restarted engine armed a 50 ms timer; by the time it fires the window is open.
    g.now = WEDNESDAY_2_MS + HOUR_MS
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
  })

  it('waits for a confirmation while staged', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, confirm: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const required = await g.waitForEvent(idOf(g, intent), 'confirmation_required')
    await g.waitForEvent(idOf(g, intent), 'staged')

    assert.equal(required.body.detail?.action, 'activate')
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'waiting_for_confirmation')
    assert.equal(await g.backend.currentGeneration(g.profile), null)

    await g.receive(g.signer.followUp('confirm', intent.id))
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.deepEqual(g.kinds(idOf(g, intent)), [
      'received', 'confirmation_required', 'staging', 'staged', 'confirmed', 'activating', 'activated', 'result'
    ])
    assert.equal(g.lastEvent(idOf(g, intent), 'confirmed')?.body.actor, g.fleet.admin.id)
  })

  it('confirms as an operator on the garden', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, confirm: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'staged')

    assert.equal(await g.engine.confirm(idOf(g, intent)), true)
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.equal(g.lastEvent(idOf(g, intent), 'confirmed')?.body.actor, 'operator')
  })

  it('stages only under a stage-only policy', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true, stageOnly: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    const end = await g.waitForEvent(idOf(g, intent), 'policy_denied')

    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'policy_denied'])
    assert.equal(end.body.detail?.permitted, 'stage')
    assert.equal(end.body.detail?.staged, true)
    assert.equal(g.engine.job(idOf(g, intent))?.step, 'staged_only')
    assert.equal(await g.backend.currentGeneration(g.profile), null)
  })

  it('activates a staged default-policy job on retry', async function () {
    const g = await suite.garden(s => [service(s)])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'policy_denied')

    await g.receive(g.signer.followUp('retry', intent.id))
    const result = await g.waitForResult(idOf(g, intent))
    assert.equal(result.body.result, 'success')
    assert.equal(result.body.trigger, 'user_retry')
    assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, suite.closures.web1)
  })
})

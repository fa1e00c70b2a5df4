import assert from 'node:assert/strict'
import { describeOnBackends, idOf, service } from './helpers.ts'

describeOnBackends('deployment reports', suite => {
  it('lists subscriptions and generations', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], { init: { agentVersion: '9.9.9' } })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    const report = await g.engine.report()
    const [profile] = report.body.profiles

    assert.equal(report.body.agentVersion, '9.9.9')
    assert.equal(report.body.author, g.member.key.id)
    assert.deepEqual(report.body.addresses, ['/ip4/127.0.0.1/tcp/4710'])
    assert.deepEqual(report.body.subscriptions.map(subscription => subscription.name), ['web'])
    assert.deepEqual(Object.keys(report.body.subscriptions[0].policy).sort(), ['arrival', 'realtime', 'retry'])
    assert.equal(profile.profile, g.profile)
    assert.deepEqual(profile.generations.map(generation => [generation.number, generation.storePath, generation.current]),
      [[1, suite.closures.web1, true]])
    assert.match(profile.generations[0].date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/)
    assert.deepEqual(profile.drift, [])
  })

  it('reports a generation made by hand as drift', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    await g.backend.setProfile(g.profile, suite.closures.web2)
    const report = await g.engine.report()

    assert.deepEqual(report.body.profiles[0].drift, [2])
  })

  it('keeps generations from before the first start', async function () {
    const g = await suite.garden(s => [service(s)], {
      prepare: async garden => { await garden.backend.setProfile(garden.profile, suite.closures.web1) }
    })
    const report = await g.engine.report()

    assert.deepEqual(report.body.profiles[0].drift, [])
    assert.equal(report.body.profiles[0].generations.length, 1)
  })

  it('sends a report at start and on change', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    await g.engine.idle()
    assert.equal(g.reports().length, 1)
    assert.deepEqual(g.reports()[0].body.profiles[0].generations, [])

    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    await g.waitForReports(2)
    assert.equal(g.reports()[1].body.profiles[0].generations[0].storePath, suite.closures.web1)
  })

  it('sends no report when nothing changed', async function () {
    const policy = { connect: { actions: ['stage', 'activate'], triggers: ['poll_on_connect'], confirm: false } } as any
    const g = await suite.garden(s => [service(s, { policy })])
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'policy_denied')
    await g.engine.idle()

    assert.equal(g.reports().length, 1)
  })

  it('sends a due report at stop', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], { init: { reportDelayMs: 60_000 } })
    await g.waitForReports(1)
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    assert.equal(g.reports().length, 1)

    await g.engine.stop()

    assert.equal(g.reports().length, 2)
    assert.equal(g.reports()[1].body.profiles[0].generations[0].storePath, suite.closures.web1)
  })

  it('stays stopped when stop follows start', async function () {
    const g = await suite.garden(s => [service(s)], { init: { reportIntervalMs: 20 } })
    await g.engine.stop()
    const started = g.engine.start()
    await g.engine.stop()
    await started
    const reports = g.reports().length
    await new Promise(resolve => setTimeout(resolve, 200))

    assert.equal(g.reports().length, reports)
  })

  it('starts again when start follows stop', async function () {
    const g = await suite.garden(s => [service(s)], { init: { reportIntervalMs: 20 } })
    const stopped = g.engine.stop()
    await g.engine.start()
    await stopped
    const reports = g.reports().length

    await g.waitForReports(reports + 2)
  })

  it('sends reports periodically', async function () {
    const g = await suite.garden(s => [service(s)], { init: { reportIntervalMs: 20 } })
    await g.waitForReports(3)

    assert.ok(g.reports().length >= 3)
  })
})

import assert from 'node:assert/strict'
import { Level } from 'level'
import { generateKey } from '../../../src/keys/index.ts'
import { deploymentId } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { GROUP_MAX_RECORDS } from '../../../src/store/index.ts'
import { openTables } from '../../../src/store/tables.ts'
import type { RecordStore, StoredMeta } from '../../../src/store/index.ts'
import { FLEET, FeedSigner, at, deployBody, eventBody, metaAt, reportBody, seededRandom, shuffled } from './records.ts'
import type { EventInit } from './records.ts'
import { TempStores } from './temp-store.ts'

interface Arrival {
  record: SignedRecord
  meta: StoredMeta
}

/**
 * Signs a small fleet history: three gardens enrolled by one admin, two
 * intents, one garden re-enrolled with tags and one revoked. Deployments
 * succeed, fail, are retried or stay open, and a two-seed intent ends partial.
 */
function fleetHistory (): { arrivals: Arrival[], admin: FeedSigner, gardens: FeedSigner[], intents: string[] } {
  const admin = new FeedSigner(generateKey())
  const [a, b, c] = [generateKey(), generateKey(), generateKey()].map(key => new FeedSigner(key))
  const arrivals: Arrival[] = []
  const add = (record: SignedRecord, meta = metaAt(100_000)): void => { arrivals.push({ record, meta }) }
  const certificate = (garden: FeedSigner, name: string, offsetMs: number, tags: string[] = []): SignedRecord =>
    admin.sign('certificate', {
      fleet: FLEET, issuedAt: at(offsetMs), peer: garden.key.id, name, roles: ['garden'], tags, expiresAt: at(offsetMs + 86_400_000)
    })
  const event = (garden: FeedSigner, init: Omit<EventInit, 'garden'>): void => {
    add(garden.sign('event', eventBody({ ...init, garden: garden.key.id })))
  }

  add(certificate(a, 'alpha', 0))
  add(certificate(b, 'bravo', 0))
  add(certificate(c, 'charlie', 0))
  const first = admin.sign('intent', deployBody(10_000, ['web']))
  add(first)
  const second = admin.sign('intent', deployBody(20_000, ['web', 'db'], 2))
  add(second)
  add(certificate(a, 'alpha', 30_000, ['eu']))
  add(admin.sign('revocation', { fleet: FLEET, issuedAt: at(40_000), peer: c.key.id, reason: 'retired' }))

  add(a.sign('report', reportBody(5_000, '1.0.0', ['/ip4/127.0.0.1/tcp/1'])))
  event(a, { intent: first.id, seed: 'web', kind: 'received', trigger: 'realtime', offsetMs: 11_000 })
  event(a, { intent: first.id, seed: 'web', kind: 'staging', offsetMs: 12_000 })
  event(a, { intent: first.id, seed: 'web', kind: 'result', result: 'success', offsetMs: 13_000 })
  add(a.sign('report', reportBody(15_000, '1.1.0', ['/ip4/127.0.0.1/tcp/2'])))
  event(a, { intent: second.id, seed: 'web', kind: 'received', trigger: 'poll_on_connect', offsetMs: 21_000 })
  event(a, { intent: second.id, seed: 'db', kind: 'received', trigger: 'poll_on_connect', offsetMs: 21_500 })
  event(a, { intent: second.id, seed: 'web', kind: 'result', result: 'success', offsetMs: 22_000 })
  event(a, { intent: second.id, seed: 'db', kind: 'result', result: 'failure', offsetMs: 23_000 })

  add(b.sign('report', reportBody(6_000, '1.0.0')))
  event(b, { intent: first.id, seed: 'web', kind: 'received', trigger: 'realtime', offsetMs: 11_000 })
  event(b, { intent: first.id, seed: 'web', kind: 'result', result: 'failure', offsetMs: 12_000 })
  event(b, { intent: first.id, seed: 'web', kind: 'retry', trigger: 'user_retry', offsetMs: 14_000 })

  add(c.sign('report', reportBody(50_000, '0.9.0')), metaAt(45_000))
  event(c, { intent: first.id, seed: 'web', kind: 'received', trigger: 'schedule', offsetMs: 11_000 })
  event(c, { intent: first.id, seed: 'web', kind: 'staging', offsetMs: 12_000 })

  return { arrivals, admin, gardens: [a, b, c], intents: [first.id, second.id] }
}

/** Signs `eventsPerGarden` events per garden, five per deployment, with every tenth deployment failed. */
function manyDeployments (gardenCount: number, eventsPerGarden: number): Arrival[] {
  const intent = 'int_' + 'd'.repeat(52)
  const arrivals: Arrival[] = []
  for (let g = 0; g < gardenCount; g++) {
    const garden = new FeedSigner(generateKey())
    for (let i = 0; i < eventsPerGarden; i++) {
      const step = i % 5
      const seed = `seed-${Math.floor(i / 5)}`
      const init: EventInit = { intent, seed, garden: garden.key.id, kind: step === 4 ? 'result' : 'staging', offsetMs: i * 1000 }
      if (step === 4) {
        init.result = Math.floor(i / 5) % 10 === 0 ? 'failure' : 'success'
      }
      arrivals.push({ record: garden.sign('event', eventBody(init)), meta: metaAt(i * 1000 + 500) })
    }
  }
  return arrivals
}

/** Removes `releases` from every stored intent summary, as a store written before summaries kept them. */
async function dropStoredReleases (folder: string): Promise<void> {
  const db = new Level<string, string>(folder)
  await db.open()
  try {
    const { intents } = await openTables(db)
    for (const [key, raw] of await intents.sublevel.iterator().all()) {
      const { facts, ...state } = intents.decode(raw)
      const { releases: _releases, ...legacy } = facts ?? {}
      await intents.sublevel.put(key, intents.encode({ ...state, facts: legacy } as any))
    }
  } finally {
    await db.close()
  }
}

/** Removes `waiting` and its tracking from every stored deployment and garden, as a store written before them. */
async function dropStoredWaits (folder: string): Promise<void> {
  const db = new Level<string, string>(folder)
  await db.open()
  try {
    const { deployments, gardens } = await openTables(db)
    for (const [key, raw] of await deployments.sublevel.iterator().all()) {
      const { waiting: _waiting, tracking, ...state } = deployments.decode(raw)
      const { wait: _wait, waitFacts: _waitFacts, confirmed: _confirmed, waitEnd: _waitEnd, ...legacy } = tracking as any
      await deployments.sublevel.put(key, deployments.encode({ ...state, tracking: legacy }))
    }
    for (const [key, raw] of await gardens.sublevel.iterator().all()) {
      const state = gardens.decode(raw)
      if (state.latestDeployment == null) continue
      const { waiting: _waiting, ...ref } = state.latestDeployment as any
      await gardens.sublevel.put(key, gardens.encode({ ...state, latestDeployment: ref }))
    }
  } finally {
    await db.close()
  }
}

async function viewsOf (store: RecordStore): Promise<unknown> {
  return {
    gardens: await store.gardens(),
    deployments: await store.deployments(),
    intents: await store.intents()
  }
}

describe('RecordStore views', () => {
  const temp = new TempStores()
  let store: RecordStore
  let history: ReturnType<typeof fleetHistory>

  beforeEach(async () => {
    store = await temp.open()
    history = fleetHistory()
    for (const { record, meta } of history.arrivals) {
      assert.equal((await store.put(record, meta)).status, 'stored')
    }
  })

  afterEach(async () => {
    await temp.cleanup()
  })

  describe('gardens', () => {
    it('takes name and tags from the newest certificate', async () => {
      const alpha = await store.garden(history.gardens[0].key.id)

      assert.equal(alpha?.name, 'alpha')
      assert.deepEqual(alpha?.tags, ['eu'])
      assert.deepEqual(alpha?.roles, ['garden'])
      assert.equal(alpha?.certificateIssuedAt, at(30_000))
    })

    it('marks a revoked garden', async () => {
      const [alpha, , charlie] = await Promise.all(history.gardens.map(async garden => await store.garden(garden.key.id)))

      assert.equal(charlie?.revoked, true)
      assert.equal(charlie?.revokedAt, at(40_000))
      assert.equal(alpha?.revoked, false)
    })

    it('takes version and addresses from the newest report', async () => {
      const alpha = await store.garden(history.gardens[0].key.id)

      assert.equal(alpha?.agentVersion, '1.1.0')
      assert.deepEqual(alpha?.addresses, ['/ip4/127.0.0.1/tcp/2'])
      assert.equal(alpha?.reportedAt, at(15_000))
    })

    it('sets last seen from reports and events', async () => {
      const [alpha, , charlie] = await Promise.all(history.gardens.map(async garden => await store.garden(garden.key.id)))

      assert.equal(alpha?.lastSeen, at(23_000))
      assert.equal(charlie?.lastSeen, at(45_000))
    })

    it('tracks the latest deployment and result', async () => {
      const [alpha, bravo, charlie] = await Promise.all(history.gardens.map(async garden => await store.garden(garden.key.id)))

      assert.equal(alpha?.latestDeployment?.id, deploymentId(history.intents[1], 'db', history.gardens[0].key.id))
      assert.equal(alpha?.latestDeployment?.result, 'failure')
      assert.equal(alpha?.latestResult, 'failure')
      assert.equal(bravo?.latestDeployment?.result, undefined)
      assert.equal(bravo?.latestResult, 'failure')
      assert.equal(charlie?.latestResult, undefined)
    })

    it('counts open deployments', async () => {
      const pending = await Promise.all(history.gardens.map(async garden => (await store.garden(garden.key.id))?.pending))

      assert.deepEqual(pending, [0, 1, 1])
    })

    it('lists every garden with a certificate or report', async () => {
      const names = (await store.gardens()).map(garden => garden.name)

      assert.deepEqual(names, ['alpha', 'bravo', 'charlie'])
    })

    it('returns frozen summaries', async () => {
      const [alpha] = await store.gardens()

      assert.throws(() => { (alpha.tags).push('x') }, TypeError)
    })

    it('names a garden by peer id until its certificate arrives', async () => {
      const other = await temp.open()
      const garden = new FeedSigner(generateKey())
      await other.put(garden.sign('report', reportBody(0)), metaAt(0))

      const summary = await other.garden(garden.key.id)

      assert.equal(summary?.name, garden.key.id)
      assert.equal(summary?.certificate, undefined)
    })
  })

  describe('deployments', () => {
    it('summarises a deployment', async () => {
      const id = deploymentId(history.intents[0], 'web', history.gardens[0].key.id)

      assert.deepEqual(await store.deployment(id), {
        id,
        garden: history.gardens[0].key.id,
        intent: history.intents[0],
        seed: 'web',
        trigger: 'realtime',
        result: 'success',
        lastEvent: 'result',
        startedAt: at(11_000),
        updatedAt: at(13_000)
      })
    })

    it('reopens a deployment on retry', async () => {
      const id = deploymentId(history.intents[0], 'web', history.gardens[1].key.id)
      const summary = await store.deployment(id)

      assert.equal(summary?.result, undefined)
      assert.equal(summary?.trigger, 'user_retry')
      assert.equal(summary?.lastEvent, 'retry')
    })

    it('lists deployments of a garden, latest start first', async () => {
      const ids = (await store.deployments({ garden: history.gardens[0].key.id })).map(summary => summary.seed)

      assert.deepEqual(ids, ['db', 'web', 'web'])
    })

    it('filters by intent and limit', async () => {
      const ofIntent = await store.deployments({ intent: history.intents[0] })
      const limited = await store.deployments({ limit: 2 })
      const both = await store.deployments({ garden: history.gardens[0].key.id, intent: history.intents[1] })

      assert.equal(ofIntent.length, 3)
      assert.equal(limited.length, 2)
      assert.deepEqual(both.map(summary => summary.seed).sort(), ['db', 'web'])
    })
  })

  type Step = [EventInit['kind'], Pick<EventInit, 'result' | 'detail' | 'trigger'>?]

  interface SignedDeployment {
    arrivals: Arrival[]
    garden: string
    id: string
  }

  /** Signs a report and one garden's deployment of the first intent, one event per step, a second apart. */
  function signDeployment (steps: Step[]): SignedDeployment {
    const garden = new FeedSigner(generateKey())
    const intent = history.intents[0]
    const arrivals: Arrival[] = [{ record: garden.sign('report', reportBody(50_000)), meta: metaAt(100_000) }]
    for (const [index, [kind, fields]] of steps.entries()) {
      const init = { intent, seed: 'web', garden: garden.key.id, kind, offsetMs: 60_000 + index * 1000, ...fields }
      arrivals.push({ record: garden.sign('event', eventBody(init)), meta: metaAt(100_000) })
    }
    return { arrivals, garden: garden.key.id, id: deploymentId(intent, 'web', garden.key.id) }
  }

  async function storeArrivals (arrivals: Arrival[], folder?: string): Promise<RecordStore> {
    const other = await temp.open(folder)
    for (const { record, meta } of arrivals) {
      await other.put(record, meta)
    }
    return other
  }

  async function deploymentOf (steps: Step[]): Promise<SignedDeployment & { store: RecordStore }> {
    const signed = signDeployment(steps)
    return { ...signed, store: await storeArrivals(signed.arrivals) }
  }

  describe('policy ends', () => {
    const DENIED: Step = ['policy_denied', { detail: { reason: 'no rule permits any action on realtime' } }]
    const STAGED_ONLY: Step = ['policy_denied', { detail: { permitted: 'stage', staged: true } }]

    const cases: Array<[string, Step[], string | undefined, number]> = [
      ['a denial', [['received'], DENIED], 'policy_denied', 0],
      ['staging only', [['received'], ['staging'], ['staged'], STAGED_ONLY], 'staged_only', 0],
      ['a denial reopened by retry', [['received'], DENIED, ['retry']], undefined, 1],
      ['a denial after a retry', [['received'], ['result', { result: 'failure' }], ['retry'], DENIED], 'policy_denied', 0]
    ]
    for (const [name, steps, policyEnd, pending] of cases) {
      it(`summarises ${name}`, async () => {
        const { store: other, garden, id } = await deploymentOf(steps)
        const summary = await other.deployment(id)

        assert.equal(summary?.policyEnd, policyEnd)
        assert.equal(summary?.result, undefined)
        assert.equal((await other.garden(garden))?.pending, pending)
      })
    }

    it('gives a canceled denial its result', async () => {
      const { store: other, garden, id } = await deploymentOf([['received'], DENIED, ['canceled'], ['result', { result: 'canceled' }]])
      const summary = await other.deployment(id)

      assert.equal(summary?.result, 'canceled')
      assert.equal(summary?.policyEnd, undefined)
      assert.equal((await other.garden(garden))?.pending, 0)
    })

    it('marks the latest deployment of a garden', async () => {
      const { store: other, garden } = await deploymentOf([['received'], STAGED_ONLY])

      assert.equal((await other.garden(garden))?.latestDeployment?.policyEnd, 'staged_only')
    })

    for (const seed of [1, 2, 3, 4]) {
      it(`ends the same for shuffle ${seed}`, async () => {
        const signed = signDeployment([['received'], DENIED, ['retry'], ['staging'], ['staged'], STAGED_ONLY])
        const inOrder = await storeArrivals(signed.arrivals)
        const reordered = await storeArrivals(shuffled(signed.arrivals, seededRandom(seed)))
        const summary = await reordered.deployment(signed.id)

        assert.equal(summary?.policyEnd, 'staged_only')
        assert.equal((await reordered.garden(signed.garden))?.pending, 0)
        assert.deepEqual(summary, await inOrder.deployment(signed.id))
      })
    }
  })

  describe('waits', () => {
    const OPENS_AT = '2026-01-03T01:00:00.000Z'
    const ASKED: Step = ['confirmation_required', {
      trigger: 'realtime', detail: { action: 'activate', rule: 'prod', trigger: 'realtime', stageNow: true }
    }]
    const WINDOW: Step = ['waiting_for_window', {
      trigger: 'realtime', detail: { opensAt: OPENS_AT, zone: 'Europe/Zurich', action: 'activate', rule: 'night' }
    }]
    const CONFIRMATION = { kind: 'confirmation' }
    const WINDOW_WAIT = { kind: 'window', opensAt: OPENS_AT, zone: 'Europe/Zurich' }
    const RECEIVED: Step = ['received', { trigger: 'realtime' }]
    const OPENED: Step = ['received', { trigger: 'schedule', detail: { reason: 'window_opened', opensAt: OPENS_AT } }]
    const STAGE: Step[] = [['staging'], ['staging'], ['staged']]
    const ACTIVATE: Step[] = [['activating'], ['activated'], ['health_check']]

    // Event sequences as the engine records them (src/deploy/runner.ts, follow-ups.ts).
    const cases: Array<[string, Step[], object | undefined]> = [
      ['a confirmation wait', [RECEIVED, ASKED], CONFIRMATION],
      ['staging during a confirmation wait', [RECEIVED, ASKED, ...STAGE], CONFIRMATION],
      ['a confirmed wait', [RECEIVED, ASKED, ...STAGE, ['confirmed']], undefined],
      ['an activation after confirmation', [RECEIVED, ASKED, ...STAGE, ['confirmed'], ...ACTIVATE], undefined],
      ['a success after confirmation', [RECEIVED, ASKED, ['confirmed'], ...STAGE, ...ACTIVATE, ['result', { result: 'success' }]], undefined],
      ['a failed staging while asked', [RECEIVED, ASKED, ['staging'], ['result', { result: 'failure' }]], undefined],
      ['a canceled confirmation wait', [RECEIVED, ASKED, ...STAGE, ['canceled'], ['result', { result: 'canceled' }]], undefined],
      ['a retry of a confirmation wait', [RECEIVED, ASKED, ['retry', { trigger: 'user_retry' }]], undefined],
      ['a confirmation asked after a retry', [RECEIVED, ASKED, ['retry', { trigger: 'user_retry' }], ASKED, ...STAGE], CONFIRMATION],
      ['a window wait', [RECEIVED, ...STAGE, WINDOW], WINDOW_WAIT],
      ['a window wait after a switch', [RECEIVED, ...STAGE, ...ACTIVATE, WINDOW], WINDOW_WAIT],
      ['a confirmation during a window wait', [RECEIVED, ...STAGE, WINDOW, ['confirmed']], WINDOW_WAIT],
      ['a window wait after confirmation', [RECEIVED, ASKED, ...STAGE, ['confirmed'], WINDOW], WINDOW_WAIT],
      ['an opened window', [RECEIVED, ...STAGE, WINDOW, OPENED], undefined],
      ['a confirmation after the window', [RECEIVED, ...STAGE, WINDOW, OPENED, ASKED], CONFIRMATION],
      ['a superseded window wait', [RECEIVED, ...STAGE, WINDOW, ['superseded'], ['result', { result: 'superseded' }]], undefined],
      ['a staged-only end after the window', [RECEIVED, ...STAGE, WINDOW, OPENED, ['policy_denied', { detail: { permitted: 'stage', staged: true } }]], undefined]
    ]
    for (const [name, steps, waiting] of cases) {
      it(`summarises ${name}`, async () => {
        const { store: other, garden, id } = await deploymentOf(steps)

        assert.deepEqual((await other.deployment(id))?.waiting, waiting)
        assert.deepEqual((await other.garden(garden))?.latestDeployment?.waiting, waiting)
      })
    }

    it('keeps a waiting deployment pending', async () => {
      const { store: other, garden } = await deploymentOf([RECEIVED, ASKED, ...STAGE])

      assert.equal((await other.garden(garden))?.pending, 1)
    })

    const shuffles: Array<[string, Step[], object]> = [
      ['confirmation', [RECEIVED, ...STAGE, WINDOW, ['confirmed'], OPENED, ['retry'], ASKED, ...STAGE], CONFIRMATION],
      ['window', [RECEIVED, ASKED, ...STAGE, ['confirmed'], ...ACTIVATE, WINDOW], WINDOW_WAIT]
    ]
    for (const [name, steps, waiting] of shuffles) {
      for (const seed of [1, 2, 3, 4]) {
        it(`waits for the ${name} after shuffle ${seed}`, async () => {
          const signed = signDeployment(steps)
          const inOrder = await storeArrivals(signed.arrivals)
          const reordered = await storeArrivals(shuffled(signed.arrivals, seededRandom(seed)))
          const summary = await reordered.deployment(signed.id)

          assert.deepEqual(summary?.waiting, waiting)
          assert.deepEqual((await reordered.garden(signed.garden))?.latestDeployment?.waiting, waiting)
          assert.deepEqual(summary, await inOrder.deployment(signed.id))
        })
      }
    }

    it('reads a summary stored before waits were tracked', async () => {
      const folder = await temp.folder()
      const signed = signDeployment([RECEIVED, ASKED, ...STAGE, ['confirmed'], WINDOW])
      const first = await storeArrivals(signed.arrivals.slice(0, 3), folder)
      await first.close()
      await dropStoredWaits(folder)

      const second = await storeArrivals([], folder)
      const legacy = await second.deployment(signed.id)
      assert.equal(legacy?.waiting, undefined)
      assert.equal(legacy?.lastEvent, 'confirmation_required')
      assert.equal((await second.garden(signed.garden))?.latestDeployment?.waiting, undefined)

      await second.putMany(signed.arrivals.slice(3))
      assert.deepEqual((await second.deployment(signed.id))?.waiting, WINDOW_WAIT)
    })
  })

  describe('intents', () => {
    it('counts applied gardens and results', async () => {
      const first = await store.intent(history.intents[0])

      assert.equal(first?.gardens, 3)
      assert.equal(first?.applied, 1)
      assert.deepEqual(first?.results, { success: 1, partial: 0, failure: 0, canceled: 0, superseded: 0 })
    })

    it('combines the seeds of a garden', async () => {
      const second = await store.intent(history.intents[1])

      assert.equal(second?.applied, 0)
      assert.equal(second?.results.partial, 1)
      assert.deepEqual(second?.seeds, ['web', 'db'])
      assert.equal(second?.sequence, 2)
    })

    it('keeps the store path of each release', async () => {
      const [second, first] = await store.intents()

      assert.deepEqual(second.releases.map(release => release.seed), ['web', 'db'])
      assert.match(second.releases[1].storePath, /^\/nix\/store\/[0-9a-z]{32}-db$/)
      assert.deepEqual(first.releases, (await store.intent(history.intents[0]))?.releases)
    })

    it('keeps no releases for a follow-up', async () => {
      const retry = history.admin.sign('intent', {
        fleet: FLEET, issuedAt: at(60_000), expiresAt: at(120_000), targets: ['*'], action: 'retry', intent: history.intents[0]
      })
      await store.put(retry, metaAt(60_000))

      assert.deepEqual((await store.intent(retry.id))?.releases, [])
    })

    it('reads releases of a summary stored without them', async () => {
      const folder = await temp.folder()
      const first = await temp.open(folder)
      await first.putMany(history.arrivals)
      const expected = await first.intents()
      await first.close()
      await dropStoredReleases(folder)

      const second = await temp.open(folder)

      assert.deepEqual(await second.intents(), expected)
      assert.deepEqual(await second.intent(history.intents[1]), expected[0])
    })

    it('lists intents newest first', async () => {
      const ids = (await store.intents()).map(summary => summary.id)

      assert.deepEqual(ids, [history.intents[1], history.intents[0]])
    })

    it('counts events that arrive before their intent', async () => {
      const other = await temp.open()
      const admin = new FeedSigner(generateKey())
      const intent = admin.sign('intent', deployBody(0, ['web']))
      const garden = new FeedSigner(generateKey())
      const result = garden.sign('event', eventBody({ intent: intent.id, seed: 'web', garden: garden.key.id, kind: 'result', result: 'success', offsetMs: 1000 }))
      await other.put(result, metaAt(0))

      assert.equal(await other.intent(intent.id), undefined)
      await other.put(intent, metaAt(0))
      assert.equal((await other.intent(intent.id))?.applied, 1)
    })
  })

  describe('arrival order', () => {
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8]

    for (const seed of seeds) {
      it(`gives the same views for shuffle ${seed}`, async () => {
        const expected = await viewsOf(store)
        const other = await temp.open()
        const order = shuffled(history.arrivals, seededRandom(seed))

        if (seed % 2 === 0) {
          await other.putMany(order)
        } else {
          for (const { record, meta } of order) {
            await other.put(record, meta)
          }
        }

        assert.deepEqual(await viewsOf(other), expected)
      })
    }

    it('gives the same views after a record arrives twice', async () => {
      const expected = await viewsOf(store)

      for (const { record, meta } of history.arrivals) {
        await store.put(record, meta)
      }

      assert.deepEqual(await viewsOf(store), expected)
    })

    it('gives the same views across batches', async () => {
      const arrivals = manyDeployments(4, GROUP_MAX_RECORDS / 2)
      const inOrder = await temp.open()
      const reordered = await temp.open()

      const results = await inOrder.putMany(arrivals)
      await reordered.putMany(shuffled(arrivals, seededRandom(99)))

      assert.equal(results.filter(result => result.status === 'stored').length, arrivals.length)
      assert.deepEqual(await viewsOf(reordered), await viewsOf(inOrder))
      assert.deepEqual(await reordered.heads(), await inOrder.heads())
    })

    it('keeps the views across reopen', async () => {
      const folder = await temp.folder()
      const first = await temp.open(folder)
      await first.putMany(history.arrivals)
      const expected = await viewsOf(first)
      await first.close()

      const second = await temp.open(folder)

      assert.deepEqual(await viewsOf(second), expected)
    })
  })
})

import assert from 'node:assert/strict'
import { CHANGED_GARDENS_MAX, GardenCache } from '../../../src/web/garden-cache.ts'
import { sortGardens } from '../../../src/web/table/index.ts'
import { openFleetStore } from '../../utils/web-store.ts'
import type { FleetStore, GardenFeed } from '../../utils/web-store.ts'

describe('web garden cache', () => {
  let fixture: FleetStore
  let cache: GardenCache
  let gardens: GardenFeed[]

  beforeEach(async () => {
    fixture = await openFleetStore()
    gardens = []
    for (const name of ['delta', 'alpha', 'charlie', 'bravo']) {
      gardens.push(await fixture.enroll(name))
    }
    cache = new GardenCache(fixture.store)
    fixture.store.on('record', record => {
      cache.changed(record.type === 'certificate' ? (record.body as { peer: string }).peer : record.author)
    })
  })

  afterEach(async () => {
    fixture.store.removeAllListeners('record')
    await fixture.close()
  })

  async function assertMatchesStore (): Promise<void> {
    const stored = await fixture.store.gardens()
    for (const [sort, dir] of [['name', 'asc'], ['result', 'desc'], ['lastSeen', 'asc'], ['version', 'desc']] as const) {
      const cached = (await cache.sorted(sort, dir)).entries.map(entry => entry.garden)
      assert.deepEqual(cached, sortGardens(stored, sort, dir), `${sort} ${dir}`)
    }
  }

  it('starts from the store', async () => {
    await assertMatchesStore()
  })

  it('follows results and reports', async () => {
    await assertMatchesStore()
    const intent = fixture.intent(['web'])
    await fixture.put(intent)
    await fixture.put(fixture.event(gardens[2], intent, 'result', { result: 'failure' }))
    await assertMatchesStore()
    await fixture.put(fixture.report(gardens[0], { agentVersion: '0.10.0' }), fixture.event(gardens[1], intent, 'result', { result: 'success' }))
    await assertMatchesStore()
  })

  it('adds a new garden', async () => {
    await assertMatchesStore()
    await fixture.enroll('aardvark')
    await assertMatchesStore()
    assert.equal((await cache.snapshot()).gardens.length, 5)
  })

  it('version grows on change', async () => {
    const before = (await cache.snapshot()).version
    await fixture.put(fixture.report(gardens[0]))
    assert.ok((await cache.snapshot()).version > before)
  })

  it('version stays without change', async () => {
    const before = (await cache.snapshot()).version
    assert.equal((await cache.snapshot()).version, before)
  })

  it('reloads after many changes', async () => {
    await assertMatchesStore()
    for (let i = 0; i <= CHANGED_GARDENS_MAX; i++) cache.changed(`12D3KooW${String(i).padStart(44, 'x')}`)
    await fixture.put(fixture.report(gardens[3], { agentVersion: '9.9.9' }))
    await assertMatchesStore()
  })
})

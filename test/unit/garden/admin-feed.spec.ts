import assert from 'node:assert/strict'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { parseConfig } from '../../../src/config/index.ts'
import type { Config } from '../../../src/config/index.ts'
import { Garden, feedMarkPath, readFeedMark } from '../../../src/garden/index.ts'
import { writeFeedMark } from '../../../src/garden/feed-mark.ts'
import type { GardenInit } from '../../../src/garden/index.ts'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { NodeSet, waitUntil } from '../network/helpers.ts'

const DAY_MS = 24 * 60 * 60 * 1000

interface Setup {
  folder: string
  fleet: TestFleet
  config: Config
}

/**
 * Writes an admin node's config for the admin key of a two-member test
 * fleet, whose feed has the two certificates. The node runs as the first
 * member, and the feed head mark of the admin key is at seq 2.
 */
async function setUp (): Promise<Setup> {
  const fleet = createTestFleet({ fleet: 'unit', members: 2 })
  const written = await writeAdminFolder('sower-admin-feed-', { root: fleet.root, admin: fleet.admin, nodeKey: fleet.members[0].key })
  const folder = written.folder
  const config = parseConfig(written.config, join(folder, 'config.json'))
  await writeFeedMark(feedMarkPath(config.adminKeys[0]), {
    author: fleet.admin.id,
    seq: fleet.adminFeed.seq,
    record: fleet.adminFeed.prev ?? '',
    writtenAt: iso(Date.now())
  })
  return { folder, fleet, config }
}

function certificateBody (name: string): { peer: string, name: string, roles: ['garden'], tags: string[], expiresAt: string } {
  return { peer: generateKey().id, name, roles: ['garden'], tags: [], expiresAt: iso(Date.now() + DAY_MS) }
}

describe('admin feed guard', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  let setup: Setup
  let garden: Garden | undefined

  beforeEach(async () => { setup = await setUp() })

  afterEach(async () => {
    await garden?.stop()
    garden = undefined
    await nodes.stopAll()
    await rm(setup.folder, { recursive: true, force: true })
  })

  async function startGarden (config: Config, init: Partial<GardenInit> = {}): Promise<Garden> {
    garden = new Garden(config, { logger: silentLogger(), control: false, ...init })
    await garden.start()
    return garden
  }

  it('waits for sync after a lost store', async () => {
    const { fleet } = setup
    const peer = await nodes.start(fleet, fleet.members[1], { certificates: fleet.members.map(member => member.certificate) })
    const node = await startGarden({ ...setup.config, bootstrap: peer.node.getMultiaddrs() }, { adminFeed: { waitMs: 20_000 } })

    const outcome = await node.api.sign({ type: 'certificate', body: certificateBody('web-3') })

    const record = await node.store.get(outcome.id)
    assert.equal(record?.seq, 3)
    assert.equal(record?.prev, fleet.adminFeed.prev)
    const mark = await readFeedMark(feedMarkPath(setup.config.adminKeys[0]))
    assert.equal(mark?.seq, 3)
    assert.equal(mark?.record, outcome.id)
    await waitUntil(async () => await peer.store.has(outcome.id), 10_000, 'the certificate on the peer')
    assert.equal(peer.store.isRefused(fleet.admin.id), false)
  })

  it('rejects once the wait ends', async () => {
    const node = await startGarden(setup.config, { adminFeed: { waitMs: 300 } })

    await assert.rejects(node.api.sign({ type: 'certificate', body: certificateBody('web-3') }), {
      code: 'ERR_ADMIN_FEED_BEHIND',
      message: /is missing seq 1 to 2: /
    })
    assert.equal(node.store.feed(setup.fleet.admin.id).last, 0)
    assert.equal((await readFeedMark(feedMarkPath(setup.config.adminKeys[0])))?.seq, 2)
  })

  it('signs at once with a complete store', async () => {
    const store = await RecordStore.open(join(setup.config.dataDir, 'records'))
    for (const member of setup.fleet.members) {
      await store.put(member.certificate, { via: 'local', receivedAt: iso(Date.now()) })
    }
    await store.close()
    const node = await startGarden(setup.config, { adminFeed: { waitMs: 20_000 } })
    const startedMs = performance.now()

    const outcome = await node.api.sign({ type: 'certificate', body: certificateBody('web-3') })

    const elapsedMs = performance.now() - startedMs
    assert.ok(elapsedMs < 5_000, `signed after ${elapsedMs} ms`)
    assert.equal((await node.store.get(outcome.id))?.seq, 3)
  })

  it('rejects a waiting sign on stop', async () => {
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write (line: string) { lines.push(line) } })
    const node = await startGarden(setup.config, { logger, adminFeed: { waitMs: 20_000 } })
    const signing = node.api.sign({ type: 'certificate', body: certificateBody('web-3') })
    const rejected = assert.rejects(signing, { code: 'ERR_ADMIN_FEED_BEHIND' })
    await waitUntil(() => lines.some(line => line.includes('waits until sync brings them back')), 5_000, 'the waiting sign')

    await node.stop()

    await rejected
  })
})

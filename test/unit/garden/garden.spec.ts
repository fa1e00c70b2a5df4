import assert from 'node:assert/strict'
import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { connectControl, callControl } from '../../../src/cli/control-client.ts'
import { parseConfig } from '../../../src/config/index.ts'
import type { Config } from '../../../src/config/index.ts'
import {
  ControlServer, Garden, controlSocketPath, feedMarkPath, openStoreOnly, readFeedMark, readRootFile, toEnvelope
} from '../../../src/garden/index.ts'
import { writeFeedMark } from '../../../src/garden/feed-mark.ts'
import { generateKey, readKeyFile } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { FleetNode } from '../../../src/network/index.ts'
import { signRecord } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { runCli } from '../cli/run-cli.ts'
import { LOOPBACK, waitUntil } from '../network/helpers.ts'

interface Setup {
  folder: string
  config: Config
  admin: SigningKey
}

async function setUp (web = false, extra: Record<string, unknown> = {}): Promise<Setup> {
  const { folder, admin, config } = await writeAdminFolder('sower-garden-', { scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy', seeds: ['web'] }] })
  const fields = { ...config, web: { enabled: web, port: 0 }, nix: { backend: 'plain' }, ...extra }
  return { folder, config: parseConfig(fields, join(folder, 'config.json')), admin }
}

describe('Garden', () => {
  let setup: Setup
  let garden: Garden | undefined

  afterEach(async () => {
    await garden?.stop()
    garden = undefined
    await rm(setup.folder, { recursive: true, force: true })
  })

  it('starts and stops twice', async () => {
    setup = await setUp(true)
    garden = new Garden(setup.config, { logger: silentLogger() })
    await Promise.all([garden.start(), garden.start()])
    assert.match(garden.webUrl ?? '', /^http:\/\/127\.0\.0\.1:\d+\/$/)
    assert.equal(garden.addresses.length, 1)
    await Promise.all([garden.stop(), garden.stop()])
    await garden.stop()
    assert.equal(garden.webUrl, null)
  })

  it('passes the sync budget to the node', async () => {
    setup = await setUp(false, { sync: { budgetBurstBytes: 2_000_000, budgetRefillBytesPerSec: 300_000 } })
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    assert.deepEqual(garden.node.syncBudgetLimits, { burstBytes: 2_000_000, refillBytesPerSec: 300_000 })
  })

  it('stops before start', async () => {
    setup = await setUp()
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.stop()
  })

  it('releases the store on stop', async () => {
    setup = await setUp()
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    await garden.stop()
    const local = await openStoreOnly(setup.config, silentLogger())
    await local.close()
  })

  it('rejects an invalid root file', async () => {
    setup = await setUp()
    await writeFile(join(setup.folder, 'root.json'), '{}')
    garden = new Garden(setup.config, { logger: silentLogger() })
    await assert.rejects(garden.start(), { code: 'ERR_INVALID_INPUT', message: /invalid record file .*root\.json/ })
  })

  it('cleans up after a failed start', async () => {
    setup = await setUp()
    const blocker = createServer()
    await new Promise<void>(resolve => { blocker.listen(0, '127.0.0.1', resolve) })
    const port = (blocker.address() as AddressInfo).port
    try {
      garden = new Garden({ ...setup.config, web: { ...setup.config.web, enabled: true, port } }, { logger: silentLogger() })
      await assert.rejects(garden.start(), { code: 'EADDRINUSE' })
      const local = await openStoreOnly(setup.config, silentLogger())
      await local.close()
    } finally {
      blocker.close()
    }
  })

  it('reports after the wait without peers', async () => {
    setup = await setUp()
    garden = new Garden(setup.config, { logger: silentLogger(), ownFeed: { waitMs: 300 } })
    await garden.start()
    const info = await garden.api.info()
    assert.equal(info.ownFeed?.state, 'waiting')
    assert.equal(garden.store.feed(garden.peerId).last, 0)
    await waitUntil(() => garden?.store.feed(garden.peerId).last === 1, 5_000, 'first report')
    const report = await garden.store.getBySeq(garden.peerId, 1)
    assert.equal(report?.type, 'report')
    // The mark is written after the record is stored, before the engine announces it.
    await waitUntil(async () => (await readFeedMark(feedMarkPath(setup.config.nodeKey)))?.record === report?.id, 5_000, 'the mark')
    assert.equal((await garden.api.info()).ownFeed?.state, 'ready')
  })

  it('shows the wait in status', async () => {
    setup = await setUp()
    await writeFile(setup.config.file, JSON.stringify({ fleet: 'unit', root: 'root.json', nodeKey: 'node.pem', dataDir: 'data' }))
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    const run = await runCli(['status', '--config', setup.config.file])
    assert.equal(run.status, 0, run.err)
    assert.match(run.out, /own feed waiting for a first sync \(no record stored, no feed head mark\): this node signs no report, event or alert/)
  })

  it('shows the own feed in the web view', async () => {
    setup = await setUp(true)
    garden = new Garden(setup.config, { logger: silentLogger(), ownFeed: { waitMs: 300 } })
    await garden.start()
    const url = garden.webUrl ?? ''
    assert.equal(garden.ownFeed?.state, 'waiting')
    assert.match(await (await fetch(url)).text(), /class="own-feed-waiting">waiting for a first sync</)

    await waitUntil(() => garden?.ownFeed?.state === 'ready', 5_000, 'the own feed ready')
    const ready = await (await fetch(url)).text()
    assert.match(ready, /class="own-feed-ready">ready</)
    assert.doesNotMatch(ready, /id="own-feed"/)
  })

  it('alerts in the web view while behind', async () => {
    setup = await setUp(true)
    const nodeKey = await readKeyFile(setup.config.nodeKey)
    await writeFeedMark(feedMarkPath(setup.config.nodeKey), {
      author: nodeKey.id, seq: 3, record: `rep_${'a'.repeat(52)}`, writtenAt: new Date().toISOString()
    })
    garden = new Garden(setup.config, { logger: silentLogger(), ownFeed: { waitMs: 100 } })
    await garden.start()

    await waitUntil(() => garden?.ownFeed?.state === 'behind', 5_000, 'the own feed behind')
    const text = await (await fetch(garden.webUrl ?? '')).text()
    assert.match(text, /class="own-feed-behind">read-only, behind its feed head mark</)
    assert.match(text, /<div id="own-feed" class="banner banner-alert" role="alert">/)
    assert.match(text, new RegExp(`the feed of this node \\(${nodeKey.id}\\) is missing seq 1 to 3`))
  })

  it('stops while it waits', async () => {
    setup = await setUp()
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    const pending = garden.store.append('report', {
      fleet: 'unit', issuedAt: new Date().toISOString(), agentVersion: '1.0.0', addresses: [], subscriptions: [], profiles: []
    }, await readKeyFile(setup.config.nodeKey))
    const rejected = assert.rejects(pending, { code: 'ERR_OWN_FEED_STOPPED' })
    await garden.stop()
    await rejected
  })

  it('rejects a root of another fleet', async () => {
    setup = await setUp()
    const other = parseConfig({ fleet: 'other', root: 'root.json', nodeKey: 'node.pem', dataDir: 'data' }, join(setup.folder, 'other.json'))
    garden = new Garden(other, { logger: silentLogger() })
    await assert.rejects(garden.start(), { message: /root .*root\.json belongs to fleet unit, but .*other\.json names fleet other/ })
  })
})

/** Signs certificates by the setup's admin for `keys`, as one admin feed from seq 1. */
function certificates (setup: Setup, keys: SigningKey[]): Array<SignedRecord<'certificate'>> {
  const records: Array<SignedRecord<'certificate'>> = []
  for (const [index, key] of keys.entries()) {
    records.push(signRecord('certificate', {
      fleet: 'unit',
      author: setup.admin.id,
      seq: index + 1,
      prev: records.at(-1)?.id ?? null,
      issuedAt: new Date(Date.now() - 60_000).toISOString(),
      peer: key.id,
      name: `node-${index + 1}`,
      roles: ['garden'],
      tags: [],
      expiresAt: new Date(Date.now() + 86_400_000).toISOString()
    }, [setup.admin]))
  }
  return records
}

describe('Garden with a peer', function () {
  this.timeout(30_000)
  let setup: Setup
  let garden: Garden | undefined
  let peer: FleetNode
  let peerStore: RecordStore

  beforeEach(async () => {
    setup = await setUp()
    const peerKey = generateKey()
    peerStore = await RecordStore.open(join(setup.folder, 'peer'))
    for (const record of certificates(setup, [await readKeyFile(setup.config.nodeKey), peerKey])) {
      await peerStore.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    }
    peer = new FleetNode({ store: peerStore, nodeKey: peerKey, logger: silentLogger() }, {
      root: await readRootFile(setup.config.root),
      listenAddresses: LOOPBACK,
      syncIntervalMs: 200
    })
    await peer.start()
  })

  afterEach(async () => {
    await garden?.stop()
    garden = undefined
    await peer.stop()
    await peerStore.close()
    await rm(setup.folder, { recursive: true, force: true })
  })

  it('continues after losing its data', async () => {
    const config = { ...setup.config, bootstrap: peer.getMultiaddrs() }
    garden = new Garden(config, { logger: silentLogger(), ownFeed: { waitMs: 20_000 } })
    await garden.start()
    const self = garden.peerId
    await waitUntil(() => garden?.store.feed(self).last === 1, 10_000, 'the first report')
    const old = await garden.store.getBySeq(self, 1)
    await waitUntil(async () => await peerStore.has(old?.id ?? ''), 10_000, 'the first report on the peer')
    await garden.stop()
    await rm(config.dataDir, { recursive: true, force: true })

    garden = new Garden(config, { logger: silentLogger(), ownFeed: { waitMs: 20_000 } })
    await garden.start()
    await waitUntil(() => garden?.store.feed(self).last === 2, 10_000, 'a report after the restart')
    const next = await garden.store.getBySeq(self, 2)
    assert.equal(next?.prev, old?.id)
    await waitUntil(async () => await peerStore.has(next?.id ?? ''), 10_000, 'the new report on the peer')
    assert.equal(peerStore.isRefused(self), false)
    assert.equal(garden.store.isRefused(self), false)
  })
})

describe('control socket', () => {
  let setup: Setup
  let garden: Garden

  beforeEach(async () => {
    setup = await setUp()
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
  })

  afterEach(async () => {
    await garden.stop()
    await rm(setup.folder, { recursive: true, force: true })
  })

  it('has mode 0600', async () => {
    assert.equal((await stat(controlSocketPath(setup.config.dataDir))).mode & 0o777, 0o600)
  })

  it('serves the node api', async () => {
    const api = await connectControl(controlSocketPath(setup.config.dataDir))
    const info = await api?.info({})
    assert.equal(info?.peer, garden.peerId)
    assert.equal(info?.networked, true)
  })

  it('signs with an allowed key', async () => {
    const api = await connectControl(controlSocketPath(setup.config.dataDir))
    const peer = generateKey().id
    const outcome = await api?.sign({ type: 'certificate', body: { peer, name: 'web-1', roles: ['garden'], tags: [], expiresAt: new Date(Date.now() + 60_000).toISOString() } })
    assert.match(outcome?.id ?? '', /^cert_/)
    assert.equal((await garden.store.garden(peer))?.name, 'web-1')
  })

  it('passes errors with their code', async () => {
    const api = await connectControl(controlSocketPath(setup.config.dataDir))
    const intent = {
      action: 'retry' as const,
      intent: `int_${'a'.repeat(52)}`,
      targets: ['*'],
      expiresAt: new Date(Date.now() + 60_000).toISOString()
    }
    await assert.rejects(api!.sign({ type: 'intent', body: intent }), {
      name: 'RemoteError',
      code: 'ERR_NO_ADMIN_KEY',
      message: /no admin key of this node may sign this intent: .*a retry for all seeds is outside the seeds web; name the seeds/
    })
  })

  it('publishes a new root version', async () => {
    const api = await connectControl(controlSocketPath(setup.config.dataDir))
    const current = (await readRootFile(setup.config.root)).body
    const next = signRecord('root', { ...current, version: 2, prev: (await readRootFile(setup.config.root)).id }, [setup.admin])
    await api?.publish({ record: toEnvelope(next) })
    assert.equal((await api?.info({}))?.rootVersion, 2)
  })

  it('rejects an unsigned root version', async () => {
    const api = await connectControl(controlSocketPath(setup.config.dataDir))
    const current = await readRootFile(setup.config.root)
    const next = signRecord('root', { ...current.body, version: 2, prev: current.id }, [generateKey()])
    await assert.rejects(api!.publish({ record: toEnvelope(next) }), {
      code: 'ERR_ROOT_THRESHOLD',
      message: /root version 2 has 0 of the 1 signatures that version 1's root keys must give/
    })
  })

  it('rejects an unknown method', async () => {
    await assert.rejects(callControl(controlSocketPath(setup.config.dataDir), 'shutdown', {}), {
      code: 'ERR_CONTROL',
      message: 'unknown method shutdown'
    })
  })

  it('returns null without a node', async () => {
    await garden.stop()
    assert.equal(await connectControl(controlSocketPath(setup.config.dataDir)), null)
  })
})

describe('control socket path', () => {
  let setup: Setup

  afterEach(async () => {
    await rm(setup.folder, { recursive: true, force: true })
  })

  it('replaces a stale socket', async () => {
    setup = await setUp()
    const path = controlSocketPath(setup.config.dataDir)
    await mkdir(setup.config.dataDir, { recursive: true })
    // A crashed node leaves a socket file without a listener. Connecting to a plain file fails the same way.
    await writeFile(path, '')
    const garden = new Garden(setup.config, { logger: silentLogger() })
    try {
      await garden.start()
      assert.notEqual(await connectControl(path), null)
    } finally {
      await garden.stop()
    }
  })

  it('rejects a socket in use', async () => {
    setup = await setUp()
    const garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    try {
      const server = new ControlServer({ api: garden.api, logger: silentLogger() }, { path: controlSocketPath(setup.config.dataDir) })
      await assert.rejects(server.start(), { code: 'ERR_CONTROL', message: /another process serves the control socket/ })
    } finally {
      await garden.stop()
    }
  })
})

import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connectControl, callControl } from '../../../src/cli/control-client.ts'
import { parseConfig } from '../../../src/config/index.ts'
import type { Config } from '../../../src/config/index.ts'
import { ControlServer, Garden, controlSocketPath, openStoreOnly, readRootFile, toEnvelope } from '../../../src/garden/index.ts'
import { generateKey, writeKeyFile } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { signRecord } from '../../../src/records/index.ts'

interface Setup {
  folder: string
  config: Config
  admin: SigningKey
}

async function setUp (web = false): Promise<Setup> {
  const folder = await mkdtemp(join(tmpdir(), 'sower-garden-'))
  const admin = generateKey()
  const nowMs = Date.now()
  const root = signRecord('root', {
    fleet: 'unit',
    version: 1,
    prev: null,
    issuedAt: new Date(nowMs - 60_000).toISOString(),
    expiresAt: new Date(nowMs + 86_400_000).toISOString(),
    threshold: 1,
    admins: [{ name: 'ops', key: admin.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy', seeds: ['web'] }] }]
  }, [admin])
  await writeFile(join(folder, 'root.json'), JSON.stringify(toEnvelope(root)))
  await writeKeyFile(join(folder, 'node.pem'), generateKey())
  await writeKeyFile(join(folder, 'admin.pem'), admin)
  const config = parseConfig({
    fleet: 'unit',
    root: 'root.json',
    nodeKey: 'node.pem',
    adminKeys: ['admin.pem'],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: 'data',
    web: { enabled: web, port: 0 },
    nix: { backend: 'plain' }
  }, join(folder, 'config.json'))
  return { folder, config, admin }
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

  it('rejects a root of another fleet', async () => {
    setup = await setUp()
    const other = parseConfig({ fleet: 'other', root: 'root.json', nodeKey: 'node.pem', dataDir: 'data' }, join(setup.folder, 'other.json'))
    garden = new Garden(other, { logger: silentLogger() })
    await assert.rejects(garden.start(), { message: /root .*root\.json belongs to fleet unit, but .*other\.json names fleet other/ })
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

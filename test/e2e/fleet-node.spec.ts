import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { silentLogger } from '../../src/logger.ts'
import { FleetNode } from '../../src/network/index.ts'
import { RecordStore } from '../../src/store/index.ts'
import { signIntent } from '../unit/network/helpers.ts'
import { createTestFleet } from '../utils/fleet.ts'
import { spawnFleetNode } from './fleet-process.ts'
import type { FleetProcess } from './fleet-process.ts'

describe('fleet node processes', function () {
  this.timeout(60_000)
  let dir: string
  let processes: FleetProcess[] = []
  let admin: FleetNode | undefined
  let adminStore: RecordStore | undefined

  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'sower-e2e-')) })
  afterEach(async () => {
    await admin?.stop()
    await adminStore?.close()
    await Promise.all(processes.map(async child => { await child.stop() }))
    processes = []
    await rm(dir, { recursive: true, force: true })
  })

  async function spawnIn (name: string, ...args: Parameters<typeof spawnFleetNode> extends [any, ...infer Rest] ? Rest : never): Promise<FleetProcess> {
    const nodeDir = join(dir, name)
    await mkdir(nodeDir)
    const child = await spawnFleetNode(nodeDir, ...args)
    processes.push(child)
    return child
  }

  it('delivers an intent to three processes', async () => {
    const fleet = createTestFleet({ members: 3 })
    const laptop = fleet.enroll('laptop', { roles: ['admin'] })
    const first = await spawnIn('g1', fleet, fleet.members[0])
    const ready = await first.waitFor(line => line.event === 'ready')
    const others = await Promise.all([1, 2].map(async i => await spawnIn(`g${i + 1}`, fleet, fleet.members[i], { bootstrap: ready.addresses })))
    await Promise.all(others.map(async child => await child.waitFor(line => line.event === 'sync')))

    adminStore = await RecordStore.open(join(dir, 'admin-db'))
    for (const record of [laptop.certificate, ...fleet.members.map(member => member.certificate)]) {
      await adminStore.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    }
    admin = new FleetNode({ store: adminStore, nodeKey: laptop.key, logger: silentLogger() }, {
      root: fleet.root,
      listenAddresses: ['/ip4/127.0.0.1/tcp/0']
    })
    await admin.start()
    const intent = signIntent(fleet)
    await admin.publish(intent)
    await admin.dial(ready.addresses[0])

    const arrivals = await Promise.all([first, ...others].map(async child =>
      await child.waitFor(line => line.event === 'intent' && line.id === intent.id)))
    assert.equal(arrivals.length, 3)
    assert.equal(arrivals[0].trigger, 'poll_on_connect')
  })

  it('exits cleanly on SIGTERM', async () => {
    const fleet = createTestFleet({ members: 1 })
    const child = await spawnIn('g1', fleet, fleet.members[0])
    await child.waitFor(line => line.event === 'ready')
    child.child.kill('SIGTERM')
    assert.equal(await child.exited, 0)
  })
})

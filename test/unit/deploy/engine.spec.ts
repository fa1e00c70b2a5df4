import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DeploySubscription } from '../../../src/deploy/index.ts'
import { hasNix } from '../../../src/nix/index.ts'
import { deploymentId } from '../../../src/records/index.ts'
import { BACKENDS, TempFolders, TestGarden, buildClosures } from './helpers.ts'
import type { Closures, GardenOptions, Scripts } from './helpers.ts'

/** Tuesday 2025-06-10 14:00 UTC. */
const TUESDAY_MS = Date.parse('2025-06-10T14:00:00.000Z')

function service (garden: { folder: string, scripts: Scripts }, fields: Partial<DeploySubscription> = {}): DeploySubscription {
  return {
    name: 'web',
    seed: 'web',
    type: 'service',
    profile: join(garden.folder, 'profiles', 'web'),
    acceptRealtime: true,
    ...fields,
    commands: { restart: [garden.scripts.record], reboot: [garden.scripts.reboot], timeoutMs: 5000, ...fields.commands }
  }
}

async function readLines (path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(line => line !== '')
}

for (const backend of BACKENDS) {
  describe(`deployment engine (${backend.kind} backend)`, function () {
    const templates = new TempFolders()
    const folders = new TempFolders()
    const gardens: TestGarden[] = []
    let closures: Closures

    before(async function () {
      if (backend.kind === 'nix' && !(await hasNix())) {
        this.skip() // nix-store is not installed on this host; the plain backend runs the same cases.
      }
      this.timeout(60_000)
      closures = await buildClosures(backend, templates)
    })

    after(async function () {
      await templates.removeAll()
    })

    afterEach(async function () {
      for (const garden of gardens.splice(0)) {
        await garden.close().catch(() => {})
      }
      await folders.removeAll()
    })

    async function garden (subscriptions: GardenOptions['subscriptions'], init: GardenOptions['init'] = {}): Promise<TestGarden> {
      const created = await TestGarden.create({ backend, closures, folders, subscriptions, nowMs: TUESDAY_MS, init })
      gardens.push(created)
      return created
    }

    function idOf (garden: TestGarden, intent: { id: string }, seed = 'web'): string {
      return deploymentId(intent.id, seed, garden.member.key.id)
    }

    it('deploys a service on a realtime intent', async function () {
      const g = await garden(s => [service(s)])
      const intent = g.signer.deploy(1, [await g.release(closures.web1)])
      await g.receive(intent)
      const result = await g.waitForResult(idOf(g, intent))

      assert.equal(result.body.result, 'success')
      assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'staged', 'activating', 'activated', 'result'])
      assert.equal((await g.backend.currentGeneration(g.profile))?.storePath, closures.web1)
      assert.deepEqual(await readLines(join(g.folder, 'activations')), [`restart ${closures.web1}`])
    })
  })
}

import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { silentLogger } from '../../../src/logger.ts'
import { WebData } from '../../../src/web/data.ts'
import { DeploymentPage } from '../../../src/web/render/deployment-pages.ts'
import { formatBytes } from '../../../src/web/render/format.ts'
import { html, renderFragment } from '../../../src/web/render/html.ts'
import { loadDeployment } from '../../../src/web/views.ts'
import { BACKENDS, TUESDAY_MS, TempFolders, TestGarden, idOf, service, templateClosures } from '../deploy/helpers.ts'
import type { Closures, GardenOptions } from '../deploy/helpers.ts'
import { iso } from '../../utils/fleet.ts'

/** The plain backend needs no Nix, and the events it makes carry the same detail fields. */
const PLAIN = BACKENDS.find(backend => backend.kind === 'plain') ?? BACKENDS[0]
const NIGHT = { start: '02:00', end: '04:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as any }

interface Entry {
  kind: string
  issuedAt: string
  title: string
  meta: string
}

function decodeText (markup: string): string {
  return markup.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'").replace(/&amp;/g, '&').replace(/\s+/g, ' ').trim()
}

/** Reads the timeline entries of a rendered deployment page: kind, time, sentence and the meta line. */
function timelineEntries (markup: string): Entry[] {
  const pattern = /<li class="event[^"]*" data-kind="([^"]+)"[^>]*>[\s\S]*?<time datetime="([^"]+)">[\s\S]*?<span class="event-title">([\s\S]*?)<\/span>[\s\S]*?<p class="event-meta">([\s\S]*?)<\/p>/g
  return [...markup.matchAll(pattern)].map(match => ({
    kind: match[1],
    issuedAt: match[2],
    title: decodeText(match[3]),
    meta: decodeText(match[4])
  }))
}

// Each test runs a real deployment engine on a garden with a record store
// and a plain profile store, then renders the deployment's page from that
// record store as the web view does.
describe('deployment timeline of real events', function () {
  this.timeout(30_000)
  const folders = new TempFolders()
  const gardens: TestGarden[] = []
  let closures: Closures

  before(async function () {
    this.timeout(60_000)
    closures = await templateClosures(PLAIN)
  })

  afterEach(async () => {
    for (const garden of gardens.splice(0)) {
      await garden.close().catch(() => {})
    }
    await folders.removeAll()
  })

  async function garden (subscriptions: GardenOptions['subscriptions']): Promise<TestGarden> {
    const created = await TestGarden.create({ backend: PLAIN, closures, folders, subscriptions, nowMs: TUESDAY_MS })
    gardens.push(created)
    await created.store.put(created.fleet.root, { via: 'sync', receivedAt: iso(TUESDAY_MS) })
    return created
  }

  async function render (g: TestGarden, deployment: string): Promise<Entry[]> {
    await g.engine.idle()
    const view = await loadDeployment(new WebData({ store: g.store, logger: silentLogger() }), deployment, g.now)
    return timelineEntries(renderFragment(html`<${DeploymentPage} view=${view} />`))
  }

  async function closureSize (g: TestGarden, storePath: string): Promise<string> {
    const release = await g.release(storePath)
    return formatBytes(release.manifest.reduce((sum, entry) => sum + entry.narSize, 0))
  }

  it('reads a deployment with a health check', async () => {
    const g = await garden(s => [service(s, { acceptRealtime: true, commands: { healthCheck: [s.scripts.ok] } })])
    const intent = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))

    const entries = await render(g, idOf(g, intent))

    assert.deepEqual(entries.map(entry => entry.title), [
      'Received by gossip while online, signed by admin admin',
      `Staging the closure of ${await closureSize(g, closures.web1)}`,
      'Staged the closure: it was already in the local store',
      'Activating: restarting the service',
      'Activated generation 1',
      'Health check passed',
      'Finished: success, generation 1 is current'
    ])
    assert.deepEqual(entries.map(entry => entry.issuedAt), g.eventsOf(idOf(g, intent)).map(event => event.body.issuedAt))
    assert.deepEqual(entries.map(entry => / by (.*) · /.exec(entry.meta)?.[1]), [
      'admin admin', 'the garden', 'the garden', 'the garden', 'the garden', 'the garden', 'the garden'
    ])
  })

  it('reads a staged-only end and its retry', async () => {
    const g = await garden(s => [service(s)])
    const intent = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'policy_denied')
    await g.engine.idle()
    await g.receive(g.signer.followUp('retry', intent.id))
    await g.waitForResult(idOf(g, intent))

    const entries = await render(g, idOf(g, intent))

    assert.deepEqual(entries.map(entry => entry.title), [
      'Received by gossip while online, signed by admin admin',
      `Staging the closure of ${await closureSize(g, closures.web1)}`,
      'Staged the closure: it was already in the local store',
      'Staged only: the policy permits only staging on realtime, so nothing was activated',
      'Retry requested by admin admin, attempt 2',
      'Activating: restarting the service',
      'Activated generation 1',
      'Finished: success, generation 1 is current'
    ])
  })

  it('reads a policy denial', async () => {
    const policy = { connect: { actions: ['stage', 'activate'], triggers: ['poll_on_connect'], confirm: false } } as any
    const g = await garden(s => [service(s, { policy })])
    const intent = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'policy_denied')

    const entries = await render(g, idOf(g, intent))

    assert.deepEqual(entries.map(entry => entry.title), [
      'Received by gossip while online, signed by admin admin',
      'Policy denied: no rule of subscription web permits any action on realtime'
    ])
    assert.equal(entries[1].meta.includes('by the policy'), true)
  })

  it('reads a window wait', async () => {
    const g = await garden(s => [service(s, { window: NIGHT })])
    const intent = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'waiting_for_window')

    const entries = await render(g, idOf(g, intent))

    assert.equal(entries.at(-1)?.title, 'Waiting for the window opening Wed 02:00 UTC to restart (rule window)')
  })

  it('reads a confirmation by an operator', async () => {
    const g = await garden(s => [service(s, { acceptRealtime: true, confirm: true })])
    const intent = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'staged')
    await g.engine.confirm(idOf(g, intent))
    await g.waitForResult(idOf(g, intent))

    const titles = (await render(g, idOf(g, intent))).map(entry => entry.title)

    assert.equal(titles[1], 'Confirmation required before activation (rule realtime), and the closure is staged meanwhile')
    assert.equal(titles[4], 'Confirmed by an operator on the garden')
  })

  it('reads a failed health check', async () => {
    const g = await garden(s => [service(s, { acceptRealtime: true, commands: { healthCheck: [s.scripts.health] } })])
    await writeFile(join(g.folder, 'healthy'), '')
    const first = g.signer.deploy(1, [await g.release(closures.web1)])
    await g.receive(first)
    await g.waitForResult(idOf(g, first))
    await rm(join(g.folder, 'healthy'))
    const second = g.signer.deploy(2, [await g.release(closures.web2)])
    await g.receive(second)
    await g.waitForResult(idOf(g, second))

    const titles = (await render(g, idOf(g, second))).map(entry => entry.title)

    assert.deepEqual(titles.slice(3), [
      'Activating: restarting the service, replacing generation 1',
      'Activated generation 2',
      'Health check failed: it exited with status 1',
      'Rolled back to generation 1',
      'Failed: health check exited with status 1. Rolled back to the previous generation'
    ])
  })
})

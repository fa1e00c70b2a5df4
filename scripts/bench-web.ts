/**
 * Measures how fast the web view serves its pages over a large store. It
 * fills a LevelDB record store with signed records of many gardens and
 * events, starts the web view on 127.0.0.1 and times HTTP requests: one
 * warm-up, then the median of several. Not a test: run it by hand with
 *
 *   node scripts/bench-web.ts [--gardens 10000] [--events 1000000] [--requests 15] [--dir PATH]
 *
 * With --dir, a store filled by an earlier run in PATH is reused as is.
 */
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { generateKey } from '../src/keys/index.ts'
import type { SigningKey } from '../src/keys/index.ts'
import { silentLogger } from '../src/logger.ts'
import { deploymentId, signRecord } from '../src/records/index.ts'
import type { EventKind, RecordType, SignedRecord } from '../src/records/index.ts'
import { RecordStore } from '../src/store/index.ts'
import { startWebView } from '../src/web/index.ts'
import { createTestFleet, iso } from '../test/utils/fleet.ts'
import { testRelease } from '../test/utils/web-store.ts'

const { values: args } = parseArgs({
  options: {
    gardens: { type: 'string', default: '10000' },
    events: { type: 'string', default: '1000000' },
    requests: { type: 'string', default: '15' },
    dir: { type: 'string' }
  }
})
const GARDENS = Number(args.gardens)
const EVENTS = Number(args.events)
const REQUESTS = Number(args.requests)
/** Records handed to the store per putMany call; the store groups them into batches itself. */
const FILL_CHUNK_RECORDS = 4096
const INTENTS = 50
/** Events per deployment: received, staging, staged, activated, result. */
const DEPLOYMENT_KINDS: EventKind[] = ['received', 'staging', 'staged', 'activated', 'result']
const RESULTS = ['success', 'success', 'success', 'failure', 'partial'] as const

interface Feed {
  key: SigningKey
  seq: number
  prev: string | null
}

let clockMs = Date.parse('2026-01-01T00:00:00.000Z')

function signNext<T extends RecordType> (feed: Feed, fleet: string, type: T, body: Record<string, unknown>): SignedRecord<T> {
  clockMs += 7
  const full = { fleet, author: feed.key.id, seq: feed.seq + 1, prev: feed.prev, issuedAt: iso(clockMs), ...body }
  const record = signRecord(type, full as any, [feed.key])
  feed.seq = full.seq
  feed.prev = record.id
  return record
}

async function putAll (store: RecordStore, records: SignedRecord[]): Promise<void> {
  const meta = { via: 'sync' as const, receivedAt: iso(clockMs) }
  for (let i = 0; i < records.length; i += FILL_CHUNK_RECORDS) {
    const chunk = records.slice(i, i + FILL_CHUNK_RECORDS)
    const results = await store.putMany(chunk.map(record => ({ record, meta })))
    const failed = results.find(result => result.status !== 'stored')
    if (failed != null) throw new Error(`storing a record while filling the store failed: ${JSON.stringify(failed)}`)
  }
}

/** Signs one garden's events for one deployment of one intent. */
function deploymentEvents (feed: Feed, fleet: string, intent: SignedRecord<'intent'>, admin: string, n: number): SignedRecord[] {
  const deployment = deploymentId(intent.id, 'web', feed.key.id)
  return DEPLOYMENT_KINDS.map(kind => signNext(feed, fleet, 'event', {
    deployment,
    intent: intent.id,
    seed: 'web',
    kind,
    ...(kind === 'received' ? { trigger: 'realtime', actor: admin } : {}),
    ...(kind === 'result' ? { result: RESULTS[n % RESULTS.length] } : {}),
    ...(kind === 'activated' ? { detail: { generation: n + 1, output: 'switching to configuration\nactivated\n' } } : {})
  }))
}

async function fill (store: RecordStore): Promise<string> {
  const fleet = createTestFleet({ fleet: 'bench', nowMs: clockMs })
  const admin: Feed = { key: fleet.admin, seq: 0, prev: null }
  await putAll(store, [fleet.root])

  const intents: Array<SignedRecord<'intent'>> = []
  for (let i = 0; i < INTENTS; i++) {
    intents.push(signNext(admin, fleet.fleet, 'intent', {
      expiresAt: iso(clockMs + 365 * 24 * 3600 * 1000),
      targets: ['*'],
      action: 'deploy',
      sequence: i + 1,
      releases: [testRelease('web', String(i + 1))]
    }))
  }

  const gardens: Feed[] = []
  const startMs = performance.now()
  for (let start = 0; start < GARDENS; start += 1000) {
    const records: SignedRecord[] = []
    for (let g = start; g < Math.min(GARDENS, start + 1000); g++) {
      const feed: Feed = { key: generateKey(), seq: 0, prev: null }
      gardens.push(feed)
      records.push(signNext(admin, fleet.fleet, 'certificate', {
        peer: feed.key.id, name: `garden-${g + 1}`, roles: ['garden'], tags: [`rack-${g % 40}`], expiresAt: iso(clockMs + 365 * 24 * 3600 * 1000)
      }))
      records.push(signNext(feed, fleet.fleet, 'report', {
        agentVersion: `0.${g % 7}.${g % 3}`,
        addresses: [`/ip4/127.0.0.1/tcp/${4000 + (g % 1000)}`],
        subscriptions: [{ name: 'web', seed: 'web', type: 'service', profile: '/nix/var/nix/profiles/sower/web', policy: { realtime: { actions: ['activate'], triggers: ['realtime'] } } }],
        profiles: [{ seed: 'web', profile: '/nix/var/nix/profiles/sower/web', generations: [{ number: 1, storePath: testRelease('web', '1').storePath, date: iso(clockMs), current: true }], drift: [] }]
      }))
    }
    await putAll(store, start === 0 ? [...intents, ...records] : records)
  }
  console.log(`stored ${GARDENS} gardens in ${((performance.now() - startMs) / 1000).toFixed(1)} s`)

  const perGarden = Math.max(1, Math.floor(EVENTS / GARDENS / DEPLOYMENT_KINDS.length))
  let stored = 0
  const eventsStartMs = performance.now()
  for (let start = 0; start < gardens.length; start += 200) {
    const records: SignedRecord[] = []
    for (const feed of gardens.slice(start, start + 200)) {
      for (let d = 0; d < perGarden; d++) {
        records.push(...deploymentEvents(feed, fleet.fleet, intents[d % INTENTS], fleet.admin.id, d))
      }
    }
    await putAll(store, records)
    stored += records.length
    if ((start / 200) % 10 === 0) {
      const seconds = (performance.now() - eventsStartMs) / 1000
      console.log(`stored ${stored} events in ${seconds.toFixed(0)} s`)
    }
  }
  console.log(`stored ${stored} events in ${((performance.now() - eventsStartMs) / 1000).toFixed(1)} s`)
  return gardens[Math.floor(gardens.length / 2)].key.id
}

interface Timing {
  medianMs: number
  minMs: number
  maxMs: number
  bytes: number
}

async function time (url: string, before?: () => Promise<void>): Promise<Timing> {
  const samples: number[] = []
  let bytes = 0
  for (let i = 0; i <= REQUESTS; i++) {
    await before?.()
    const startMs = performance.now()
    const response = await fetch(url)
    const body = await response.text()
    const elapsedMs = performance.now() - startMs
    if (response.status !== 200) throw new Error(`${url} returned ${response.status}`)
    bytes = body.length
    // The first request warms caches and is not counted.
    if (i > 0) samples.push(elapsedMs)
  }
  samples.sort((a, b) => a - b)
  return { medianMs: samples[Math.floor(samples.length / 2)], minMs: samples[0], maxMs: samples[samples.length - 1], bytes }
}

async function main (): Promise<void> {
  const reuse = args.dir != null && existsSync(join(args.dir, 'CURRENT'))
  const tempDir = args.dir == null ? await mkdtemp(join(tmpdir(), 'sower-bench-web-')) : undefined
  const path = args.dir ?? join(tempDir as string, 'db')
  const store = await RecordStore.open(path)
  let samplePeer: string
  if (reuse) {
    const gardens = await store.gardens()
    samplePeer = gardens[Math.floor(gardens.length / 2)].peer
    console.log(`reusing the store in ${path} with ${gardens.length} gardens`)
  } else {
    samplePeer = await fill(store)
  }

  const view = await startWebView({ store, logger: silentLogger() })
  const [deployment] = await store.deployments({ garden: samplePeer, limit: 1 })
  const pageCount = Math.ceil((await store.gardens()).length / 50)
  const middlePage = Math.ceil(pageCount / 2)
  const pages: Array<[string, string]> = [
    ['gardens, first page (50 rows)', ''],
    ['gardens, sorted by result descending', '?sort=result&dir=desc'],
    [`gardens, page ${middlePage} of ${pageCount}`, `?page=${middlePage}`],
    ['garden', `gardens/${samplePeer}`],
    ['deployment with its timeline', `deployments/${deployment.id}`],
    ['deployments (100 rows)', 'deployments'],
    ['intents', 'intents'],
    ['API: gardens, first page', 'api/gardens']
  ]
  console.log(`\n${cpus().length} × ${cpus()[0]?.model}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`)
  console.log(`median of ${REQUESTS} requests after one warm-up\n`)
  console.log('| page | median ms | min ms | max ms | bytes |\n| --- | --- | --- | --- | --- |')
  for (const [name, path] of pages) {
    const timing = await time(new URL(path, view.url).toString())
    console.log(`| ${name} | ${timing.medianMs.toFixed(1)} | ${timing.minMs.toFixed(1)} | ${timing.maxMs.toFixed(1)} | ${timing.bytes} |`)
  }

  // Each stored record marks its garden changed, so this is the cost of the
  // first gardens page after a change, as live updates request it.
  const fleetFeed: Feed = { key: generateKey(), seq: 0, prev: null }
  const afterChange = await time(view.url, async () => {
    const report = signNext(fleetFeed, 'bench', 'report', { agentVersion: '0.9.0', addresses: [], subscriptions: [], profiles: [] })
    await store.put(report, { via: 'sync', receivedAt: iso(clockMs) })
  })
  console.log(`| gardens, first page right after a stored record | ${afterChange.medianMs.toFixed(1)} | ${afterChange.minMs.toFixed(1)} | ${afterChange.maxMs.toFixed(1)} | ${afterChange.bytes} |`)

  await view.close()
  await store.close()
  if (tempDir != null) await rm(tempDir, { recursive: true, force: true })
}

await main()

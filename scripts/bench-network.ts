// Network benchmarks with each garden a separate process on 127.0.0.1.
//   (a) publish-to-stored latency over 50 gardens, beside 50 Serf agents;
//   (b) resident memory of an idle garden and an idle Serf agent;
//   (c) catch-up time of an offline garden on 10,000 records.
// Usage: node scripts/bench-network.ts [--gardens 50] [--rounds 15] [--warm-up 30] [--records 10000] [--attempts 3] [--only latency|catch-up]
import { spawn, execFile } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs, promisify } from 'node:util'
import { silentLogger } from '../src/logger.ts'
import { FleetNode } from '../src/network/index.ts'
import { signRecord } from '../src/records/index.ts'
import type { SignedRecord } from '../src/records/index.ts'
import { RecordStore } from '../src/store/index.ts'
import { signIntent } from '../test/unit/network/helpers.ts'
import { createTestFleet, iso } from '../test/utils/fleet.ts'
import type { TestFleet, TestMember } from '../test/utils/fleet.ts'
import { spawnFleetNode } from '../test/e2e/fleet-process.ts'
import type { FleetProcess } from '../test/e2e/fleet-process.ts'

const run = promisify(execFile)
const SERF = '/usr/bin/serf'
const SPAWN_BATCH = 5
/** Members each garden keeps connections to; 50 processes share 2 CPUs here, not 50 machines. */
const REDIAL_MAX_MEMBERS = 6
const READY_TIMEOUT_MS = 180_000
/** Time a Serf event may take to reach every agent; its rounds take under a second when none is lost. */
const SERF_EVENT_TIMEOUT_MS = 20_000

const { values: args } = parseArgs({
  options: {
    gardens: { type: 'string', default: '50' },
    rounds: { type: 'string', default: '15' },
    'warm-up': { type: 'string', default: '30' },
    records: { type: 'string', default: '10000' },
    attempts: { type: 'string', default: '3' },
    only: { type: 'string' }
  }
})
const GARDENS = Number(args.gardens)
const ROUNDS = Number(args.rounds)
/**
 * Uncounted rounds first, on both sides. A garden in a fleet ingests the
 * reports of every member all day, so V8 has compiled its record path. A
 * freshly started process would measure V8's interpreter instead. Rounds
 * stop getting faster after about 20 records here.
 */
const WARM_UP_ROUNDS = Number(args['warm-up'])
const RECORDS = Number(args.records)
/** Catch-up attempts, each with a new empty garden. */
const ATTEMPTS = Number(args.attempts)

const children: ChildProcess[] = []
const fleetProcesses: FleetProcess[] = []

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

interface Resident {
  /** `VmRSS`: every resident page, the shared pages of the executable and libraries included. */
  totalKiB: number
  /** `RssAnon`: resident pages that belong to this process alone (heap, stacks, buffers). */
  privateKiB: number
}

async function resident (pid: number): Promise<Resident> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  const field = (name: string): number => Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN)
  return { totalKiB: field('VmRSS'), privateKiB: field('RssAnon') }
}

async function waitUntil (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

async function cpuTicks (pids: number[]): Promise<number> {
  const ticks = await Promise.all(pids.map(async pid => {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(' ')
    return Number(fields[13]) + Number(fields[14])
  }))
  return ticks.reduce((total, value) => total + value, 0)
}

/**
 * Waits until the processes use less than 2 % of a CPU each on average over
 * 2 s: startup (hello, sync, DHT) is over and rounds measure gossip. An
 * idle garden uses about 0.6 % here (heartbeats, DHT upkeep).
 */
async function waitForQuiet (pids: number[], timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const before = await cpuTicks(pids)
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const usedTicks = await cpuTicks(pids) - before
    // Linux counts 100 ticks per CPU second.
    if (usedTicks < 0.02 * 200 * pids.length) {
      return
    }
  }
  console.log('processes did not become quiet; measuring anyway')
}

async function startGardens (dir: string, fleet: TestFleet): Promise<FleetProcess[]> {
  const gardens: FleetProcess[] = []
  const spawnOne = async (index: number, bootstrap: string[]): Promise<FleetProcess> => {
    const gardenDir = join(dir, `garden-${index}`)
    await mkdir(gardenDir)
    const child = await spawnFleetNode(gardenDir, fleet, fleet.members[index], { bootstrap, redialMaxMembers: REDIAL_MAX_MEMBERS })
    fleetProcesses.push(child)
    await child.waitFor(line => line.event === 'ready', READY_TIMEOUT_MS)
    return child
  }
  gardens.push(await spawnOne(0, []))
  for (let start = 1; start < GARDENS; start += SPAWN_BATCH) {
    const batch = []
    for (let index = start; index < Math.min(start + SPAWN_BATCH, GARDENS); index++) {
      // Two bootstrap peers among the gardens already running, so the fleet forms a mesh, not a star.
      const seeds = [gardens[0], gardens[Math.floor(Math.random() * gardens.length)]]
      batch.push(spawnOne(index, [...new Set(seeds.map(garden => garden.lines[0].addresses[0] as string))]))
    }
    const started = await Promise.all(batch)
    await Promise.all(started.map(async garden => await garden.waitFor(line => line.event === 'sync', READY_TIMEOUT_MS)))
    gardens.push(...started)
  }
  return gardens
}

async function startAdmin (dir: string, fleet: TestFleet, laptop: TestMember, bootstrap: string[]): Promise<{ node: FleetNode, store: RecordStore }> {
  const store = await RecordStore.open(join(dir, 'admin-db'))
  for (const member of fleet.members) {
    await store.put(member.certificate, { via: 'local', receivedAt: new Date().toISOString() })
  }
  const node = new FleetNode({ store, nodeKey: laptop.key, logger: silentLogger() }, {
    root: fleet.root,
    listenAddresses: ['/ip4/127.0.0.1/tcp/0'],
    bootstrap
  })
  await node.start()
  return { node, store }
}

/** (a) Sower: median time from publish until every garden printed the intent. */
async function benchSower (dir: string): Promise<{ latenciesMs: number[], memory: Resident[] }> {
  const fleet = createTestFleet({ members: GARDENS })
  const laptop = fleet.enroll('laptop', { roles: ['admin'] })
  console.log(`sower: starting ${GARDENS} garden processes`)
  const gardens = await startGardens(dir, fleet)
  const bootstrap = gardens.slice(0, 4).map(garden => garden.lines[0].addresses[0] as string)
  const admin = await startAdmin(dir, fleet, laptop, bootstrap)
  try {
    await waitUntil(() => admin.node.connectedMembers().length >= 4, 30_000, 'admin connections')
    await waitForQuiet(gardens.map(garden => garden.child.pid ?? 0))
    const latenciesMs: number[] = []
    for (let round = 1 - WARM_UP_ROUNDS; round <= ROUNDS; round++) {
      const intent = signIntent(fleet)
      const startedAtMs = Date.now()
      await admin.node.publish(intent)
      const lines = await Promise.all(gardens.map(async garden =>
        await garden.waitFor(line => line.event === 'intent' && line.id === intent.id, 90_000)))
      const latencyMs = Math.max(...lines.map(line => line.atMs as number)) - startedAtMs
      if (round > 0) {
        latenciesMs.push(latencyMs)
      }
      const realtime = lines.filter(line => line.trigger === 'realtime').length
      console.log(`sower ${round > 0 ? 'round' : 'warm-up'} ${round}: ${latencyMs} ms until ${GARDENS} gardens stored the intent (${realtime} by gossip)`)
      await new Promise(resolve => setTimeout(resolve, 500))
    }
    await new Promise(resolve => setTimeout(resolve, 2_000))
    const memory = await Promise.all(gardens.map(async garden => await resident(garden.child.pid ?? 0)))
    return { latenciesMs, memory }
  } finally {
    await admin.node.stop()
    await admin.store.close()
    await Promise.all(gardens.map(async garden => { await garden.stop() }))
  }
}

async function startSerf (dir: string): Promise<{ rpc: string[], pids: number[], events: string }> {
  const events = join(dir, 'serf-events')
  await mkdir(events)
  const handler = join(dir, 'serf-handler.sh')
  await writeFile(handler, `#!/bin/sh\npayload=$(cat)\ndate +%s%3N > "${events}/$payload.$SERF_SELF_NAME"\n`)
  await chmod(handler, 0o755)
  const basePort = 20_000 + Math.floor(Math.random() * 20_000)
  const rpc: string[] = []
  const pids: number[] = []
  for (let index = 0; index < GARDENS; index++) {
    const bind = `127.0.0.1:${basePort + 2 * index}`
    rpc.push(`127.0.0.1:${basePort + 2 * index + 1}`)
    const child = spawn(SERF, ['agent', `-node=serf-${index}`, `-bind=${bind}`, `-advertise=${bind}`, `-rpc-addr=${rpc[index]}`,
      `-event-handler=user:bench=${handler}`, '-log-level=err', ...(index > 0 ? [`-join=127.0.0.1:${basePort}`] : [])], { stdio: 'ignore' })
    children.push(child)
    pids.push(child.pid ?? 0)
    if (index === 0) {
      await new Promise(resolve => setTimeout(resolve, 500))
    }
  }
  await waitUntil(async () => {
    const { stdout } = await run(SERF, ['members', `-rpc-addr=${rpc[0]}`, '-status=alive']).catch(() => ({ stdout: '' }))
    return stdout.trim().split('\n').filter(Boolean).length === GARDENS
  }, 60_000, 'serf membership')
  return { rpc, pids, events }
}

/** (a) Serf: median time from `serf event` until every agent's handler wrote its file. */
async function benchSerf (dir: string): Promise<{ latenciesMs: number[], memory: Resident[] }> {
  console.log(`serf: starting ${GARDENS} agents`)
  const serf = await startSerf(dir)
  try {
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const latenciesMs: number[] = []
    let lost = 0
    for (let round = 1 - WARM_UP_ROUNDS; round <= ROUNDS; round++) {
      const payload = `round${round}x${Date.now()}`
      const startedAtMs = Date.now()
      await run(SERF, ['event', `-rpc-addr=${serf.rpc[Math.abs(round) % GARDENS]}`, '-coalesce=false', 'bench', payload])
      let files: string[] = []
      const delivered = await waitUntil(async () => {
        files = (await readdir(serf.events)).filter(name => name.startsWith(`${payload}.`))
        return files.length >= GARDENS
      }, SERF_EVENT_TIMEOUT_MS, 'serf event delivery').then(() => true, () => false)
      if (!delivered) {
        // Serf's user events are best effort: count the round as lost rather than stop the benchmark.
        lost += round > 0 ? 1 : 0
        console.log(`serf ${round > 0 ? 'round' : 'warm-up'} ${round}: the event reached ${files.length} of ${GARDENS} agents within ${SERF_EVENT_TIMEOUT_MS} ms; not counted`)
        continue
      }
      const stamps = await Promise.all(files.map(async name => Number(await readFile(join(serf.events, name), 'utf8'))))
      const latencyMs = Math.max(...stamps) - startedAtMs
      if (round > 0) {
        latenciesMs.push(latencyMs)
      }
      console.log(`serf ${round > 0 ? 'round' : 'warm-up'} ${round}: ${latencyMs} ms until ${GARDENS} agents ran the handler`)
    }
    if (lost > 0) {
      console.log(`serf: ${lost} of ${ROUNDS} rounds lost, left out of the median`)
    }
    const memory = await Promise.all(serf.pids.map(resident))
    return { latenciesMs, memory }
  } finally {
    for (const child of children.splice(0)) {
      child.kill('SIGTERM')
    }
  }
}

function reportsOf (fleet: TestFleet, member: TestMember, count: number): SignedRecord[] {
  const records: SignedRecord[] = []
  let prev: string | null = null
  for (let seq = 1; seq <= count; seq++) {
    const record: SignedRecord = signRecord('report', {
      fleet: fleet.fleet,
      author: member.key.id,
      seq,
      prev,
      issuedAt: iso(Date.now() - 60_000),
      agentVersion: '0.1.0',
      addresses: [],
      subscriptions: [],
      profiles: []
    }, [member.key])
    prev = record.id
    records.push(record)
  }
  return records
}

/** (c) Time for an offline garden to catch up on `RECORDS` records from one peer. */
async function benchCatchUp (dir: string, attempts = ATTEMPTS): Promise<number[]> {
  const fleet = createTestFleet({ members: 12 })
  const authors = fleet.members.slice(2)
  const records = authors.flatMap(author => reportsOf(fleet, author, Math.ceil(RECORDS / authors.length))).slice(0, RECORDS)
  const hubDir = join(dir, 'hub')
  await mkdir(hubDir)
  const hubStore = await RecordStore.open(join(hubDir, 'db'))
  await Promise.all(fleet.members.map(async member => await hubStore.put(member.certificate, { via: 'local', receivedAt: new Date().toISOString() })))
  await Promise.all(records.map(async record => await hubStore.put(record, { via: 'local', receivedAt: new Date().toISOString() })))
  await hubStore.close()
  const hub = await spawnFleetNode(hubDir, fleet, fleet.members[0], { records: [] })
  fleetProcesses.push(hub)
  const ready = await hub.waitFor(line => line.event === 'ready', 60_000)
  const timesMs: number[] = []
  try {
    for (let attempt = 0; attempt < attempts; attempt++) {
      const gardenDir = join(dir, `offline-${attempt}`)
      await mkdir(gardenDir)
      const garden = await spawnFleetNode(gardenDir, fleet, fleet.members[1], { bootstrap: ready.addresses })
      fleetProcesses.push(garden)
      const started = await garden.waitFor(line => line.event === 'ready', 60_000)
      const pids = [garden.child.pid ?? 0, hub.child.pid ?? 0]
      const ticksBefore = await Promise.all(pids.map(async pid => await cpuTicks([pid])))
      let stored = 0
      const done = await garden.waitFor(line => {
        if (line.event === 'sync') {
          stored += line.stored as number
        }
        return line.event === 'sync' && stored >= RECORDS
      }, 120_000)
      const ticksAfter = await Promise.all(pids.map(async pid => await cpuTicks([pid])))
      // Linux counts 100 ticks per CPU second; the worker threads of a process count with it.
      const [gardenCpuMs, hubCpuMs] = ticksAfter.map((ticks, index) => (ticks - ticksBefore[index]) * 10)
      const elapsedMs = (done.atMs as number) - (started.atMs as number)
      timesMs.push(elapsedMs)
      console.log(`catch-up ${attempt + 1}: ${stored} records in ${elapsedMs} ms after the garden started listening ` +
        `(sync session ${done.durationMs as number} ms; CPU time: garden ${gardenCpuMs} ms, hub ${hubCpuMs} ms)`)
      await garden.stop()
    }
  } finally {
    await hub.stop()
  }
  return timesMs
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'sower-bench-'))
  try {
    const node = process.version
    console.log(`machine: ${cpus().length} CPUs (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB memory, Node ${node}`)
    if (args.only == null || args.only === 'latency') {
      const sower = await benchSower(dir)
      const serf = await benchSerf(dir)
      const sowerMs = median(sower.latenciesMs)
      const serfMs = median(serf.latenciesMs)
      console.log(`\n(a) ${GARDENS} gardens, ${ROUNDS} rounds: sower median ${sowerMs} ms, serf median ${serfMs} ms, serf/sower ${(serfMs / sowerMs).toFixed(1)}x`)
      const mib = (memory: Resident[], field: keyof Resident): number => Math.round(median(memory.map(entry => entry[field])) / 1024)
      console.log(`(b) idle resident memory, median: garden ${mib(sower.memory, 'totalKiB')} MiB (${mib(sower.memory, 'privateKiB')} MiB private), ` +
        `serf agent ${mib(serf.memory, 'totalKiB')} MiB (${mib(serf.memory, 'privateKiB')} MiB private)`)
    }
    if (args.only == null || args.only === 'catch-up') {
      const catchUp = await benchCatchUp(dir)
      console.log(`(c) catch-up on ${RECORDS} records: median ${median(catchUp)} ms (${catchUp.join(', ')} ms)`)
    }
  } finally {
    for (const child of children) {
      child.kill('SIGTERM')
    }
    await Promise.all(fleetProcesses.map(async child => { await child.stop() }))
    await rm(dir, { recursive: true, force: true })
  }
}

main().catch(err => {
  console.error(err)
  process.exitCode = 1
})

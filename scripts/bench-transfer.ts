/**
 * Benchmark of peer-to-peer closure transfer. It generates a closure of
 * random files in one store root, then times ways of copying it into a
 * fresh store root of the same kind:
 *
 * - peer: ClosureTransfer.stage between two fleet nodes on 127.0.0.1
 *   (TCP, Noise, yamux), verified import included;
 * - pipe: `nix-store --export | nix-store --import` through a local pipe
 *   (for the plain backend: its own export piped into its verified import
 *   in one process).
 *
 * Two more rows split the peer time: the same number of bytes over a bare
 * libp2p stream between two fleet nodes (no store work), and the backend's
 * export piped into its verified import in one process (no network).
 *
 *   node scripts/bench-transfer.ts [--mib 256] [--paths 16] [--runs 3] [--backend nix|plain]
 *
 * Each run uses a new target store root and new gardens; startup and
 * connection are not timed. The median run is reported.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { hasNix, nixVersion } from '../src/nix/index.ts'
import { readStream, sendAll } from '../src/transfer/stream-io.ts'
import type { StoreBackend } from '../src/nix/index.ts'
import type { Release } from '../src/records/index.ts'
import { createTestFleet } from '../test/utils/fleet.ts'
import { releaseOf } from '../test/unit/transfer/fixtures.ts'
import { createBackend, Gardens, waitUntil } from '../test/unit/transfer/harness.ts'
import type { BackendKind } from '../test/unit/transfer/harness.ts'

const MIB = 1024 * 1024
/** Files per generated store path. */
const FILES_PER_PATH = 4

const { values: args } = parseArgs({
  options: {
    mib: { type: 'string', default: '256' },
    paths: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    backend: { type: 'string' }
  }
})

/** Builds `pathCount` store paths of random files, `totalMib` MiB in all, and a root path that refers to each. */
async function generateClosure (store: StoreBackend, scratch: string, totalMib: number, pathCount: number): Promise<Release> {
  const fileBytes = Math.ceil(totalMib * MIB / pathCount / FILES_PER_PATH)
  const parts: string[] = []
  for (let index = 0; index < pathCount; index++) {
    const folder = join(scratch, `bench-part-${index}`)
    await mkdir(folder)
    for (let file = 0; file < FILES_PER_PATH; file++) {
      await writeFile(join(folder, `data-${file}.bin`), randomBytes(fileBytes))
    }
    parts.push(await store.addFiles(folder))
    await rm(folder, { recursive: true })
  }
  const entries = Object.fromEntries(parts.map((part, index) => [`parts/part-${index}`, { symlink: part }]))
  const root = await store.buildPath({ name: 'bench-closure', references: parts, entries })
  return await releaseOf(store, root)
}

/** Times ClosureTransfer.stage from a garden holding the closure to a garden with an empty store. */
async function timePeerTransfer (kind: BackendKind, template: string, release: Release): Promise<number> {
  const fleet = createTestFleet({ members: 2 })
  const gardens = new Gardens()
  try {
    const holder = await gardens.start(fleet, { name: 'holder', key: fleet.members[0].key, backend: kind, storeTemplate: template })
    const stager = await gardens.start(fleet, { name: 'stager', key: fleet.members[1].key, backend: kind, bootstrap: holder.node.getMultiaddrs() })
    await waitUntil(() => stager.node.connectedMembers().length === 1, 10_000, 'connection')
    const startedAt = performance.now()
    const outcome = await stager.transfer.stage(release, {})
    const elapsedMs = performance.now() - startedAt
    if (outcome.source !== 'peer' || !(await stager.backend.isValid(release.storePath))) {
      throw new Error(`staging ended with ${JSON.stringify(outcome)}`)
    }
    return elapsedMs
  } finally {
    await gardens.stopAll()
  }
}

/** Times sending `bytes` over a bare libp2p stream between two fleet nodes, without any store work. */
async function timeBareStream (bytes: number): Promise<number> {
  const fleet = createTestFleet({ members: 2 })
  const gardens = new Gardens()
  const chunk = Buffer.alloc(64 * 1024, 1)
  const protocol = `/sower/${fleet.fleet}/bench-stream/1.0.0`
  try {
    const sender = await gardens.start(fleet, { name: 'sender', key: fleet.members[0].key, backend: 'plain' })
    const receiver = await gardens.start(fleet, { name: 'receiver', key: fleet.members[1].key, backend: 'plain', bootstrap: sender.node.getMultiaddrs() })
    await waitUntil(() => receiver.node.connectedMembers().length === 1, 10_000, 'connection')
    await sender.node.handle(protocol, async stream => {
      async function * chunks (): AsyncGenerator<Buffer> {
        for (let sent = 0; sent < bytes; sent += chunk.length) {
          yield chunk
        }
      }
      await sendAll(stream, chunks(), 30_000, AbortSignal.timeout(600_000))
      await stream.close()
    })
    const stream = await receiver.node.dialProtocol(sender.node.peerId, protocol)
    const startedAt = performance.now()
    let received = 0
    for await (const data of readStream(stream)) {
      received += data.byteLength
    }
    const elapsedMs = performance.now() - startedAt
    if (received < bytes) {
      throw new Error(`bare stream carried ${received} of ${bytes} bytes`)
    }
    return elapsedMs
  } finally {
    await gardens.stopAll()
  }
}

/** Times the backend's export piped into its own verified import, in one process. */
async function timeInProcess (kind: BackendKind, source: StoreBackend, release: Release, scratch: string): Promise<number> {
  const targetRoot = await mkdtemp(join(scratch, 'in-process-'))
  try {
    const paths = release.manifest.map(entry => entry.path)
    const startedAt = performance.now()
    await createBackend(kind, targetRoot).importVerified(source.exportPaths(paths), release.manifest, { idleTimeoutMs: 0 })
    return performance.now() - startedAt
  } finally {
    await rm(targetRoot, { recursive: true, force: true })
  }
}

/** Times `nix-store --export | nix-store --import` between two store roots (or the plain backend's own pipe). */
async function timePipe (kind: BackendKind, source: StoreBackend, release: Release, scratch: string): Promise<number> {
  const targetRoot = await mkdtemp(join(scratch, 'pipe-'))
  try {
    const startedAt = performance.now()
    if (kind === 'nix') {
      await runPipe(source.storeRoot, targetRoot, release.manifest.map(entry => entry.path))
    } else {
      await createBackend('plain', targetRoot).importVerified(source.exportPaths(release.manifest.map(entry => entry.path)), release.manifest, { idleTimeoutMs: 0 })
    }
    const elapsedMs = performance.now() - startedAt
    if (!(await createBackend(kind, targetRoot).isValid(release.storePath))) {
      throw new Error('the pipe left the root path invalid')
    }
    return elapsedMs
  } finally {
    await rm(targetRoot, { recursive: true, force: true })
  }
}

async function runPipe (sourceRoot: string, targetRoot: string, paths: string[]): Promise<void> {
  const offline = "--option substituters ''"
  const script = `set -o pipefail; nix-store --store "$1" ${offline} --export "\${@:3}" | nix-store --store "$2" ${offline} --import >/dev/null`
  const child = spawn('bash', ['-c', script, 'pipe', sourceRoot, targetRoot, ...paths], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, HOME: join(targetRoot, 'home'), TMPDIR: tmpdir() }
  })
  const code = await new Promise<number | null>(resolve => child.on('close', resolve))
  if (code !== 0) {
    throw new Error(`nix-store pipe exited with ${code}`)
  }
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

function report (label: string, narMib: number, timesMs: number[]): number {
  const rate = narMib / (median(timesMs) / 1000)
  console.log(`${label}: ${rate.toFixed(1)} MiB/s (median ${median(timesMs).toFixed(0)} ms of ${timesMs.map(ms => ms.toFixed(0)).join(', ')})`)
  return rate
}

async function main (): Promise<void> {
  const kind = (args.backend ?? ((await hasNix()) ? 'nix' : 'plain')) as BackendKind
  const totalMib = Number(args.mib)
  const pathCount = Number(args.paths)
  const runs = Number(args.runs)
  const scratch = await mkdtemp(join(tmpdir(), 'sower-bench-transfer-'))
  try {
    const template = join(scratch, 'template')
    const source = createBackend(kind, template)
    console.log(`generating ${totalMib} MiB in ${pathCount} store paths (${kind} backend)...`)
    const release = await generateClosure(source, scratch, totalMib, pathCount)
    const narMib = release.manifest.reduce((total, entry) => total + entry.narSize, 0) / MIB
    console.log(`closure: ${release.manifest.length} paths, ${narMib.toFixed(1)} MiB of NARs`)

    const peerMs: number[] = []
    const pipeMs: number[] = []
    const streamMs: number[] = []
    const inProcessMs: number[] = []
    for (let run = 1; run <= runs; run++) {
      peerMs.push(await timePeerTransfer(kind, template, release))
      pipeMs.push(await timePipe(kind, source, release, scratch))
      streamMs.push(await timeBareStream(narMib * MIB))
      inProcessMs.push(await timeInProcess(kind, source, release, scratch))
      console.log(`run ${run} done`)
    }

    console.log('')
    const peerRate = report('peer-to-peer (ClosureTransfer.stage)', narMib, peerMs)
    const pipeLabel = kind === 'nix' ? 'nix-store --export | nix-store --import' : 'plain export piped into verified import'
    const pipeRate = report(pipeLabel, narMib, pipeMs)
    console.log(`ratio peer / pipe: ${(peerRate / pipeRate).toFixed(2)}`)
    report('  of which: bare libp2p stream, no store', narMib, streamMs)
    report(`  of which: ${kind} export into verified import, no network`, narMib, inProcessMs)
    const nix = kind === 'nix' ? `, Nix ${await nixVersion() ?? 'unknown'}` : ''
    console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB, ` +
      `Node ${process.version}${nix}, load average ${loadavg()[0].toFixed(1)}`)
  } finally {
    await rm(scratch, { recursive: true, force: true })
  }
}

await main()

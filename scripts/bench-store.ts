/**
 * Benchmark of the record store: fills a store with a fleet's history
 * (gardens with certificates and reports, intents, and deployment events)
 * as fast as batching allows, then times the views the web view reads.
 *
 *   node scripts/bench-store.ts [--gardens 10000] [--events 1000000] [--folder DIR] [--signers N]
 *
 * Without `--folder` the store goes to a temporary folder that is removed
 * afterwards. `fillStore` is exported for other benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import { generateKey, keyFromPem } from '../src/keys/index.ts'
import type { SigningKey } from '../src/keys/index.ts'
import { deploymentId, signRecord } from '../src/records/index.ts'
import type {
  DeployIntentBody, DeploymentResult, Envelope, EventBody, EventKind, RecordType, SignedRecord
} from '../src/records/index.ts'
import { RecordStore } from '../src/store/index.ts'
import type { StoredMeta } from '../src/store/index.ts'

const FLEET = 'bench'
/** Events of one deployment: received, staging, activating, activated, result. */
const EVENTS_PER_DEPLOYMENT = 5
/** Time between two intents of the benchmark fleet. */
const ROUND_MS = 60 * 60 * 1000
const SIGNER_ROLE = 'bench-store-signer'
const STORE_HASH = '0123456789abcdfghijklmnpqrsvwxyz'
const NAR_HASH = 'sha256:' + STORE_HASH.repeat(2).slice(0, 52)

export interface FillOptions {
  /** Default 10,000. */
  gardens?: number
  /** Deployment events in total, five per deployment; default 1,000,000. */
  events?: number
  /** Worker threads that sign garden records; default: available CPUs. */
  signers?: number
  /** Issue time of the first record; default: so that the last round ends now. */
  startMs?: number
  onProgress?: (storedRecords: number, totalRecords: number) => void
}

export interface FillResult {
  /** Every record stored: root, certificates, intents, reports and events. */
  records: number
  events: number
  /** Wall time of the whole fill, signing included. */
  ms: number
  /** Time spent waiting for `putMany`. */
  storeMs: number
  /** Peer ids of the gardens. */
  gardens: string[]
  /** Intent ids, oldest first. */
  intents: string[]
}

interface SignerData {
  role: typeof SIGNER_ROLE
  keys: string[]
  intents: string[]
  startMs: number
}

/** A record as it crosses a worker boundary: the envelope and its id and bytes. */
type WireRecord = Envelope & { id: string, bytes: Uint8Array }

/**
 * Fills `store` with the history of a fleet: a root, one admin certificate
 * per garden, one report per garden and, per intent, one deployment per
 * garden with five events. About one deployment in ten fails and one in
 * 37 stays open. Garden records are signed in worker threads while the
 * main thread stores the previous round.
 */
export async function fillStore (store: RecordStore, options: FillOptions = {}): Promise<FillResult> {
  const gardenCount = options.gardens ?? 10_000
  const rounds = Math.max(1, Math.round((options.events ?? 1_000_000) / (gardenCount * EVENTS_PER_DEPLOYMENT)))
  const startMs = options.startMs ?? Date.now() - rounds * ROUND_MS
  const startedMs = performance.now()
  const keys = Array.from({ length: gardenCount }, () => generateKey())
  const admin = generateKey()
  const adminRecords = signAdminRecords(admin, keys, rounds, startMs)
  const intents = adminRecords.filter(record => record.type === 'intent').map(record => record.id)
  const total = adminRecords.length + gardenCount + rounds * gardenCount * EVENTS_PER_DEPLOYMENT
  let stored = 0
  let storeMs = 0

  // One putMany per round keeps several batches queued, so the store prepares one while it writes another.
  const storeRound = async (records: SignedRecord[], receivedAt: string): Promise<void> => {
    const meta: StoredMeta = { via: 'sync', receivedAt }
    const putStartedMs = performance.now()
    const results = await store.putMany(records.map(record => ({ record, meta })))
    storeMs += performance.now() - putStartedMs
    const notStored = results.find(result => result.status !== 'stored')
    if (notStored != null) {
      throw new Error(`the benchmark fleet's records should all be new, but one was ${notStored.status}`)
    }
    stored += records.length
    options.onProgress?.(stored, total)
  }

  await storeRound(adminRecords, new Date(startMs).toISOString())
  const signers = startSigners(keys, intents, startMs, options.signers ?? availableParallelism())
  try {
    let next = signers.round(0)
    for (let round = 0; round < rounds; round++) {
      const records = await next
      if (round + 1 < rounds) {
        next = signers.round(round + 1)
      }
      await storeRound(records, new Date(startMs + (round + 1) * ROUND_MS).toISOString())
    }
  } finally {
    await signers.stop()
  }
  return {
    records: stored,
    events: rounds * gardenCount * EVENTS_PER_DEPLOYMENT,
    ms: performance.now() - startedMs,
    storeMs,
    gardens: keys.map(key => key.id),
    intents
  }
}

/** Signs the root, the certificates and one deploy intent per round, as one admin feed. */
function signAdminRecords (admin: SigningKey, gardens: SigningKey[], rounds: number, startMs: number): SignedRecord[] {
  const at = (offsetMs: number): string => new Date(startMs + offsetMs).toISOString()
  const records: SignedRecord[] = [signRecord('root', {
    fleet: FLEET,
    version: 1,
    prev: null,
    issuedAt: at(-ROUND_MS),
    expiresAt: at((rounds + 365 * 24) * ROUND_MS),
    threshold: 1,
    admins: [{ name: 'admin', key: admin.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }]
  }, [admin])]
  let seq = 0
  let prev: string | null = null
  const sign = <T extends RecordType>(type: T, body: object): void => {
    const record: SignedRecord = signRecord(type, { ...body, fleet: FLEET, author: admin.id, seq: ++seq, prev } as any, [admin])
    prev = record.id
    records.push(record)
  }
  gardens.forEach((key, index) => {
    sign('certificate', {
      issuedAt: at(-ROUND_MS + index),
      peer: key.id,
      name: `garden-${String(index + 1).padStart(5, '0')}`,
      roles: ['garden'],
      tags: [index % 2 === 0 ? 'even' : 'odd'],
      expiresAt: at((rounds + 365 * 24) * ROUND_MS)
    })
  })
  for (let round = 0; round < rounds; round++) {
    sign('intent', deployIntent(round, at(round * ROUND_MS), at((round + 24) * ROUND_MS)))
  }
  return records
}

function deployIntent (round: number, issuedAt: string, expiresAt: string): Omit<DeployIntentBody, 'fleet' | 'author' | 'seq' | 'prev'> {
  const storePath = `/nix/store/${STORE_HASH}-web-${round + 1}`
  return {
    issuedAt,
    expiresAt,
    targets: ['*'],
    action: 'deploy',
    sequence: round + 1,
    releases: [{
      seed: 'web',
      type: 'service',
      storePath,
      narHash: NAR_HASH,
      narSize: 4096,
      manifest: [{ path: storePath, narHash: NAR_HASH, narSize: 4096, references: [] }]
    }]
  }
}

interface Signers {
  round: (round: number) => Promise<SignedRecord[]>
  stop: () => Promise<void>
}

/** Starts worker threads that each sign the feeds of every `count`-th garden. */
function startSigners (keys: SigningKey[], intents: string[], startMs: number, count: number): Signers {
  const workers = Array.from({ length: Math.max(1, count) }, (_, index) => {
    const data: SignerData = {
      role: SIGNER_ROLE,
      keys: keys.filter((_, i) => i % count === index).map(key => key.toPem()),
      intents,
      startMs
    }
    return new Worker(new URL(import.meta.url), { workerData: data })
  })
  const ask = async (worker: Worker, round: number): Promise<WireRecord[]> => await new Promise((resolve, reject) => {
    const onError = (err: Error): void => { reject(err) }
    worker.once('error', onError)
    worker.once('message', (records: WireRecord[]) => {
      worker.off('error', onError)
      resolve(records)
    })
    worker.postMessage(round)
  })
  return {
    async round (round) {
      const batches = await Promise.all(workers.map(async worker => await ask(worker, round)))
      return batches.flat().map(fromWire)
    },
    async stop () {
      await Promise.all(workers.map(async worker => await worker.terminate()))
    }
  }
}

function fromWire (record: WireRecord): SignedRecord {
  const body = record.body as { author: string, seq: number, prev: string | null }
  return { ...record, author: body.author, seq: body.seq, prev: body.prev }
}

/** Worker side: signs one round of every garden it was given. Round 0 starts with a report. */
function runSigner (data: SignerData): void {
  const gardens = data.keys.map((pem, index) => ({ key: keyFromPem(pem), index, seq: 0, prev: null as string | null }))
  const at = (offsetMs: number): string => new Date(data.startMs + offsetMs).toISOString()
  parentPort?.on('message', (round: number) => {
    const records: WireRecord[] = []
    for (const garden of gardens) {
      const sign = (type: 'report' | 'event', body: object): void => {
        const record = signRecord(type, { ...body, fleet: FLEET, author: garden.key.id, seq: ++garden.seq, prev: garden.prev } as any, [garden.key])
        garden.prev = record.id
        records.push({ type: record.type, body: record.body, signatures: record.signatures, id: record.id, bytes: record.bytes })
      }
      if (round === 0) {
        sign('report', { issuedAt: at(0), agentVersion: '1.0.0', addresses: ['/ip4/127.0.0.1/tcp/4001'], subscriptions: [], profiles: [] })
      }
      for (const body of deploymentEvents(data.intents[round], garden.key.id, garden.index, round, at)) {
        sign('event', body)
      }
    }
    parentPort?.postMessage(records)
  })
}

function deploymentEvents (
  intent: string, garden: string, index: number, round: number, at: (offsetMs: number) => string
): Array<Omit<EventBody, 'fleet' | 'author' | 'seq' | 'prev'>> {
  const deployment = deploymentId(intent, 'web', garden)
  const open = (index + round) % 37 === 0
  const result: DeploymentResult = (index + round) % 10 === 0 ? 'failure' : 'success'
  const kinds: EventKind[] = ['received', 'staging', 'activating', 'activated', open ? 'health_check' : 'result']
  return kinds.map((kind, step) => {
    const body: Omit<EventBody, 'fleet' | 'author' | 'seq' | 'prev'> = {
      issuedAt: at(round * ROUND_MS + 60_000 + step * 1000 + (index % 1000)),
      deployment,
      intent,
      seed: 'web',
      kind
    }
    if (step === 0) {
      body.trigger = 'realtime'
    }
    if (kind === 'result') {
      body.result = result
    }
    return body
  })
}

/** Samples per query; the first one after open reads a cold cache and is reported on its own. */
const QUERY_SAMPLES = 21

/** Runs `query` once per sample argument and prints the first time and the median of the rest. */
async function timeQuery<A, T> (label: string, samples: A[], query: (sample: A) => Promise<T>, describe: (value: T) => string): Promise<void> {
  const timesMs: number[] = []
  let last: T | undefined
  for (const sample of samples) {
    const startedMs = performance.now()
    last = await query(sample)
    timesMs.push(performance.now() - startedMs)
  }
  const [firstMs, ...rest] = timesMs
  const sorted = rest.sort((a, b) => a - b)
  const median = sorted.length > 0 ? `, median of ${sorted.length} more ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms` : ''
  console.log(`${label}: first ${firstMs.toFixed(1)} ms${median} (${describe(last as T)})`)
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      gardens: { type: 'string', default: '10000' },
      events: { type: 'string', default: '1000000' },
      signers: { type: 'string' },
      folder: { type: 'string' }
    }
  })
  const folder = values.folder ?? await mkdtemp(join(tmpdir(), 'sower-bench-store-'))
  const options: FillOptions = { gardens: Number(values.gardens), events: Number(values.events) }
  if (values.signers != null) {
    options.signers = Number(values.signers)
  }
  let lastReportMs = 0
  options.onProgress = (stored, total) => {
    if (performance.now() - lastReportMs > 5000 || stored === total) {
      lastReportMs = performance.now()
      process.stderr.write(`stored ${stored} of ${total} records\n`)
    }
  }

  let store = await RecordStore.open(folder)
  try {
    const result = await fillStore(store, options)
    console.log(`filled ${result.records} records (${result.events} events, ${result.gardens.length} gardens) ` +
      `in ${(result.ms / 1000).toFixed(1)} s: ${Math.round(result.records / result.ms * 1000)} records/s overall, ` +
      `${Math.round(result.records / result.storeMs * 1000)} records/s while storing`)
    await store.close()
    const openStartedMs = performance.now()
    store = await RecordStore.open(folder)
    console.log(`open: ${(performance.now() - openStartedMs).toFixed(1)} ms (loads the in-memory tables)`)
    const repeat = Array.from({ length: QUERY_SAMPLES }, (_, i) => i)
    const gardens = repeat.map(i => result.gardens[Math.floor(i * result.gardens.length / QUERY_SAMPLES)])
    await timeQuery('gardens()', repeat, async () => await store.gardens(), list => `${list.length} gardens`)
    await timeQuery('garden(peer)', gardens, async garden => await store.garden(garden), summary => summary?.name ?? 'none')
    await timeQuery('deployments({ garden })', gardens, async garden => await store.deployments({ garden }),
      list => `${list.length} deployments`)
    await timeQuery('deployments({ limit: 50 })', repeat, async () => await store.deployments({ limit: 50 }),
      list => `${list.length} deployments`)
    await timeQuery('intents()', repeat, async () => await store.intents(), list => `${list.length} intents`)
    await timeQuery('eventsOfDeployment()', gardens,
      async garden => await store.eventsOfDeployment(deploymentId(result.intents[0], 'web', garden)),
      list => `${list.length} events`)
  } finally {
    await store.close()
    if (values.folder == null) {
      await rm(folder, { recursive: true, force: true })
    }
  }
}

if (!isMainThread && (workerData as SignerData | undefined)?.role === SIGNER_ROLE) {
  runSigner(workerData as SignerData)
} else if (isMainThread && import.meta.main) {
  await main()
}

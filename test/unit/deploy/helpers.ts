import { access, chmod, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DeploymentEngine, LocalStager } from '../../../src/deploy/index.ts'
import type { DeploySubscription, DeploymentEngineInit, Stager } from '../../../src/deploy/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import {
  NixStore, PlainStore, buildServiceClosure, buildSystemClosure, hasNix, removeTree
} from '../../../src/nix/index.ts'
import type { StoreBackend } from '../../../src/nix/index.ts'
import { deploymentId, signRecord } from '../../../src/records/index.ts'
import type { DeployIntentBody, FollowUpIntentBody, Release, SeedType, SignedRecord } from '../../../src/records/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { DAY_MS, createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'

export interface BackendCase {
  kind: 'nix' | 'plain'
  create: (storeRoot: string) => StoreBackend
}

export const BACKENDS: BackendCase[] = [
  { kind: 'nix', create: storeRoot => new NixStore({ storeRoot }) },
  { kind: 'plain', create: storeRoot => new PlainStore({ storeRoot }) }
]

/** Temporary folders of a test, removed by `removeAll` in afterEach. */
export class TempFolders {
  readonly #paths: string[] = []

  async make (label: string): Promise<string> {
    const path = await mkdtemp(join(tmpdir(), `sower-deploy-${label}-`))
    this.#paths.push(path)
    return path
  }

  async removeAll (): Promise<void> {
    for (const path of this.#paths.splice(0)) {
      await removeTree(path)
    }
  }
}

/** Store paths built once per backend and copied into each garden's store. */
export interface Closures {
  storeRoot: string
  web1: string
  web2: string
  web3: string
  /** System `h` version 1. */
  systemA: string
  /** System `h` version 2: another initrd, so switching from A needs a reboot. */
  systemB: string
  /** System `h` version 1 with a service: the kernel and initrd of A. */
  systemA2: string
}

const templateFolders = new TempFolders()
const manifests = new Map<string, Promise<Release>>()
const templates = new Map<string, Promise<Closures>>()

// Templates are shared by every spec file of this folder and removed once at the end of the run.
after(async function () {
  await templateFolders.removeAll()
})

/** Returns the template closures of a backend, built on first use. */
export async function templateClosures (backend: BackendCase): Promise<Closures> {
  let closures = templates.get(backend.kind)
  if (closures === undefined) {
    closures = buildClosures(backend, templateFolders)
    templates.set(backend.kind, closures)
  }
  return await closures
}

export async function buildClosures (backend: BackendCase, folders: TempFolders): Promise<Closures> {
  const storeRoot = await folders.make(`template-${backend.kind}`)
  const store = backend.create(storeRoot)
  const web1 = await buildServiceClosure(store, { name: 'web', version: '1.0' })
  const web2 = await buildServiceClosure(store, { name: 'web', version: '2.0' })
  const web3 = await buildServiceClosure(store, { name: 'web', version: '3.0' })
  const systemA = await buildSystemClosure(store, { hostName: 'h', version: '1' })
  const systemB = await buildSystemClosure(store, { hostName: 'h', version: '2' })
  const systemA2 = await buildSystemClosure(store, { hostName: 'h', version: '1', services: [web1.path] })
  return { storeRoot, web1: web1.path, web2: web2.path, web3: web3.path, systemA: systemA.path, systemB: systemB.path, systemA2: systemA2.path }
}

/** Returns the release of a store path, with the manifest its store reports. */
export async function releaseOf (backend: StoreBackend, seed: string, type: SeedType, storePath: string): Promise<Release> {
  const manifest = await backend.queryClosure(storePath)
  const root = manifest.find(entry => entry.path === storePath)
  if (root === undefined) throw new Error(`closure of ${storePath} lacks the path itself`)
  const release: Release = { seed, type, storePath, narHash: root.narHash, narSize: root.narSize, manifest }
  if (type === 'system') {
    const boot = await backend.bootFiles(storePath)
    release.boot = { kernel: boot.kernel ?? '', initrd: boot.initrd ?? '' }
  }
  return release
}

/** Signs intents as the test fleet's admin, keeping its feed's seq and prev links right. */
export class IntentSigner {
  readonly fleet: TestFleet
  nowMs: number

  constructor (fleet: TestFleet, nowMs: number) {
    this.fleet = fleet
    this.nowMs = nowMs
  }

  deploy (sequence: number, releases: Release[], fields: Partial<DeployIntentBody> = {}): SignedRecord<'intent'> {
    return this.#sign({ action: 'deploy', sequence, releases, ...fields })
  }

  followUp (action: FollowUpIntentBody['action'], intent: string, fields: Partial<FollowUpIntentBody> = {}): SignedRecord<'intent'> {
    return this.#sign({ action, intent, ...fields })
  }

  #sign (fields: Record<string, unknown>): SignedRecord<'intent'> {
    const feed = this.fleet.adminFeed
    const body = {
      fleet: this.fleet.fleet,
      author: this.fleet.admin.id,
      seq: feed.seq + 1,
      prev: feed.prev,
      issuedAt: iso(this.nowMs - 1000),
      expiresAt: iso(this.nowMs + DAY_MS),
      targets: ['*'],
      ...fields
    }
    const record = signRecord('intent', body as any, [this.fleet.admin])
    feed.seq = body.seq
    feed.prev = record.id
    return record
  }
}

/** Writes an executable shell script and returns its path. */
export async function writeScript (folder: string, name: string, body: string): Promise<string> {
  const path = join(folder, name)
  await writeFile(path, `#!/bin/sh\n${body}\n`)
  await chmod(path, 0o755)
  return path
}

export interface GardenOptions {
  backend: BackendCase
  closures: Closures
  folders: TempFolders
  subscriptions: (garden: { folder: string, scripts: Scripts }) => DeploySubscription[]
  nowMs: number
  init?: Partial<DeploymentEngineInit>
  stager?: (backend: StoreBackend) => Stager
  /** Runs before the engine first starts, e.g. to give a profile a generation made by hand. */
  prepare?: (garden: TestGarden) => Promise<void>
}

/** Scripts that tests use as host commands. Markers are files in the garden's folder. */
export interface Scripts {
  ok: string
  fail: string
  /** Succeeds while the file `healthy` exists in the garden's folder. */
  health: string
  /** Appends its action to `reboots` instead of rebooting. */
  reboot: string
  /** Appends `$SOWER_ACTION $SOWER_STORE_PATH` to `activations`. */
  record: string
  /** Blocks for 30 s the first time (marker `blocked`), succeeds at once afterwards. */
  blockOnce: string
}

/**
 * One garden for a test: its own store root (a copy of the template), its
 * own LevelDB record store, and an engine that a test can restart on the
 * same state, as after a crash.
 */
export class TestGarden {
  readonly options: GardenOptions
  readonly fleet: TestFleet
  readonly member: TestMember
  readonly signer: IntentSigner
  readonly folder: string
  readonly scripts: Scripts
  readonly backend: StoreBackend
  store!: RecordStore
  engine!: DeploymentEngine
  now: number
  readonly events: Array<SignedRecord<'event'>> = []
  readonly announced: SignedRecord[] = []
  readonly #waiters: Array<{ test: () => boolean, resolve: () => void }> = []

  private constructor (options: GardenOptions, folder: string, scripts: Scripts) {
    this.options = options
    this.folder = folder
    this.scripts = scripts
    this.now = options.nowMs
    this.fleet = createTestFleet({ nowMs: options.nowMs })
    this.member = this.fleet.enroll('garden-1', { tags: ['web', 'eu'] })
    this.signer = new IntentSigner(this.fleet, options.nowMs)
    this.backend = options.backend.create(join(folder, 'store'))
  }

  static async create (options: GardenOptions): Promise<TestGarden> {
    const folder = await options.folders.make(`garden-${options.backend.kind}`)
    await cp(options.closures.storeRoot, join(folder, 'store'), { recursive: true, verbatimSymlinks: true })
    const scripts = await writeScripts(folder)
    const garden = new TestGarden(options, folder, scripts)
    await options.prepare?.(garden)
    await garden.open()
    return garden
  }

  get profile (): string {
    return join(this.folder, 'profiles', 'web')
  }

  /** Opens the record store and starts a new engine on it. */
  async open (init: Partial<DeploymentEngineInit> = {}): Promise<void> {
    this.store = await RecordStore.open(join(this.folder, 'db'))
    await this.store.put(this.member.certificate, { via: 'sync', receivedAt: iso(this.now) })
    this.engine = new DeploymentEngine({
      store: this.store,
      nodeKey: this.member.key,
      backend: this.backend,
      stager: this.options.stager?.(this.backend) ?? new LocalStager(this.backend),
      announce: async record => { this.#announce(record) },
      self: () => ({ peer: this.member.key.id, name: 'garden-1', tags: ['web', 'eu'], addresses: ['/ip4/127.0.0.1/tcp/4710'] }),
      logger: silentLogger(),
      now: () => this.now
    }, {
      fleet: this.fleet.fleet,
      subscriptions: this.options.subscriptions({ folder: this.folder, scripts: this.scripts }),
      reportDelayMs: 10,
      stageProgressIntervalMs: 0,
      ...this.options.init,
      ...init
    })
    await this.engine.start()
  }

  /** Stops the engine and closes the store, as a crash or reboot would leave them, then opens both again. */
  async restart (init: Partial<DeploymentEngineInit> = {}): Promise<void> {
    await this.close()
    await this.open(init)
  }

  async close (): Promise<void> {
    await this.engine.stop()
    await this.store.close()
  }

  /**
   * Deletes the record store, as a lost data folder would, then stores
   * `records` again as the first sync after start brings them back, and
   * starts a new engine. The profiles and the Nix store stay.
   */
  async loseStore (records: SignedRecord[]): Promise<void> {
    await this.close()
    await rm(join(this.folder, 'db'), { recursive: true, force: true })
    const store = await RecordStore.open(join(this.folder, 'db'))
    await store.putMany(records.map(record => ({ record, meta: { via: 'sync' as const, receivedAt: iso(this.now) } })))
    await store.close()
    await this.open()
  }

  /** Stores an intent as gossip would and hands it to the engine. */
  async receive (record: SignedRecord<'intent'>, trigger: 'realtime' | 'poll_on_connect' = 'realtime'): Promise<void> {
    await this.store.put(record, { via: trigger === 'realtime' ? 'gossip' : 'sync', receivedAt: iso(this.now) })
    await this.engine.handleIntent(record, trigger)
  }

  /** Returns the release of a template path; every garden's copy of the template has the same manifests. */
  async release (storePath: string, type: SeedType = 'service', seed = 'web'): Promise<Release> {
    const key = `${this.options.backend.kind} ${type} ${storePath}`
    let manifest = manifests.get(key)
    if (manifest === undefined) {
      manifest = releaseOf(this.backend, seed, type, storePath)
      manifests.set(key, manifest)
    }
    return { ...structuredClone(await manifest), seed }
  }

  /** Event kinds of a deployment in the order they were announced. */
  kinds (deployment: string): string[] {
    return this.eventsOf(deployment).map(event => event.body.kind)
  }

  eventsOf (deployment: string): Array<SignedRecord<'event'>> {
    return this.events.filter(event => event.body.deployment === deployment)
  }

  lastEvent (deployment: string, kind: string): SignedRecord<'event'> | undefined {
    return this.eventsOf(deployment).findLast(event => event.body.kind === kind)
  }

  /**
   * Resolves with the first event of `kind` among the deployment's events
   * from position `since` on, which may have been announced already.
   */
  async waitForEvent (deployment: string, kind: string, since = 0): Promise<SignedRecord<'event'>> {
    const find = (): SignedRecord<'event'> | undefined => this.eventsOf(deployment).slice(since).find(event => event.body.kind === kind)
    await this.#waitUntil(() => find() !== undefined, `event ${kind} of ${deployment}`, 10_000)
    return find() as SignedRecord<'event'>
  }

  /** Resolves with the deployment's first result event from position `since` on. */
  async waitForResult (deployment: string, since = 0): Promise<SignedRecord<'event'>> {
    return await this.waitForEvent(deployment, 'result', since)
  }

  /** Resolves once `count` reports were announced. */
  async waitForReports (count: number): Promise<void> {
    await this.#waitUntil(() => this.reports().length >= count, `${count} reports`, 10_000)
  }

  reports (): Array<SignedRecord<'report'>> {
    return this.announced.filter(record => record.type === 'report') as Array<SignedRecord<'report'>>
  }

  async #waitUntil (test: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (test()) return
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, timeoutMs)
      this.#waiters.push({ test, resolve: () => { clearTimeout(timer); resolve() } })
    })
  }

  #announce (record: SignedRecord): void {
    this.announced.push(record)
    if (record.type === 'event') this.events.push(record as SignedRecord<'event'>)
    for (const waiter of [...this.#waiters]) {
      if (waiter.test()) {
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        waiter.resolve()
      }
    }
  }
}

async function writeScripts (folder: string): Promise<Scripts> {
  return {
    ok: await writeScript(folder, 'ok.sh', 'exit 0'),
    fail: await writeScript(folder, 'fail.sh', 'echo "switch failed: \\033[31mred\\033[0m"\necho "more on stderr" >&2\nexit 3'),
    health: await writeScript(folder, 'health.sh', `test -e '${folder}/healthy'`),
    reboot: await writeScript(folder, 'reboot.sh', `echo "$SOWER_ACTION $SOWER_STORE_PATH" >> '${folder}/reboots'`),
    record: await writeScript(folder, 'record.sh', `echo "$SOWER_ACTION $SOWER_STORE_PATH" >> '${folder}/activations'`),
    blockOnce: await writeScript(folder, 'block-once.sh',
      `if [ ! -e '${folder}/blocked' ]; then touch '${folder}/blocked'; exec sleep 30; fi\nexit 0`)
  }
}

/** Tuesday 2025-06-10 14:00 UTC, the fake time at which every test garden starts. */
export const TUESDAY_MS = Date.parse('2025-06-10T14:00:00.000Z')

/** Returns a service subscription of seed `web` whose commands are test scripts. */
export function service (garden: { folder: string, scripts: Scripts }, fields: Partial<DeploySubscription> = {}): DeploySubscription {
  return {
    name: 'web',
    seed: 'web',
    type: 'service',
    profile: join(garden.folder, 'profiles', 'web'),
    ...fields,
    commands: { restart: [garden.scripts.record], reboot: [garden.scripts.reboot], timeoutMs: 5000, ...fields.commands }
  }
}

/** Returns a system subscription of seed `web` that records activations and reboots instead of running them. */
export function system (garden: { folder: string, scripts: Scripts }, fields: Partial<DeploySubscription> = {}): DeploySubscription {
  return {
    name: 'web',
    seed: 'web',
    type: 'system',
    profile: join(garden.folder, 'profiles', 'web'),
    ...fields,
    commands: { activate: [garden.scripts.record], reboot: [garden.scripts.reboot], timeoutMs: 5000, ...fields.commands }
  }
}

/** Reads the lines of a marker file, none when it does not exist. */
export async function readLines (path: string): Promise<string[]> {
  return (await readFile(path, 'utf8').catch(() => '')).split('\n').filter(line => line !== '')
}

export interface Suite {
  closures: Closures
  backend: BackendCase
  garden: (subscriptions: GardenOptions['subscriptions'], options?: Partial<GardenOptions>) => Promise<TestGarden>
}

/** Returns the deployment id of a garden's job for an intent's seed. */
export function idOf (garden: TestGarden, intent: { id: string }, seed = 'web'): string {
  return deploymentId(intent.id, seed, garden.member.key.id)
}

/**
 * Declares the same tests for the Nix and the plain backend. The Nix ones
 * are skipped on hosts without nix-store, and every garden a test made is
 * closed and removed after it.
 */
export function describeOnBackends (title: string, body: (suite: Suite) => void): void {
  for (const backend of BACKENDS) {
    describe(`${title} (${backend.kind} backend)`, function () {
      const folders = new TempFolders()
      const gardens: TestGarden[] = []
      const suite: Suite = {
        closures: undefined as unknown as Closures,
        backend,
        garden: async (subscriptions, options = {}) => {
          const created = await TestGarden.create({ backend, closures: suite.closures, folders, subscriptions, nowMs: TUESDAY_MS, ...options })
          gardens.push(created)
          return created
        }
      }

      before(async function () {
        if (backend.kind === 'nix' && !(await hasNix())) {
          this.skip() // nix-store is not installed on this host; the plain backend runs the same cases.
        }
        this.timeout(60_000)
        suite.closures = await templateClosures(backend)
      })

      afterEach(async function () {
        for (const garden of gardens.splice(0)) {
          await garden.close().catch(() => {})
        }
        await folders.removeAll()
      })

      body(suite)
    })
  }
}

/** Resolves once a file exists, polling every 10 ms; a host command creates it, so no event announces it. */
export async function waitForFile (path: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await access(path).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${path}`)
    await sleep(10)
  }
}

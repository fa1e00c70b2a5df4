import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { StageProgress } from '../../../src/deploy/stager.ts'
import { generateKey } from '../../../src/keys/index.ts'
import { hasNix } from '../../../src/nix/index.ts'
import type { StoreBackend } from '../../../src/nix/index.ts'
import type { Release } from '../../../src/records/index.ts'
import { ClosureUnavailableError } from '../../../src/transfer/index.ts'
import type { SourceFailedEvent } from '../../../src/transfer/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import {
  buildSampleRelease, lateImports, recordedExports, slowExports, slowFirstQuery, stallingExports, tamperedExports
} from './fixtures.ts'
import type { ExportCall } from './fixtures.ts'
import { createBackend, Gardens, waitUntil } from './harness.ts'
import type { BackendKind, Garden, GardenInit } from './harness.ts'

/** Delay of an honest holder's first probe reply, so that the faulty holder is always tried first. */
const LATE_REPLY_MS = 1_000
/** Blob size of the large sample: more than libp2p buffers for a stream without a reader (4 MiB). */
const LARGE_BLOB_BYTES = 6 * 1024 * 1024

/** Asserts that every manifest path is valid in `store` with the manifest's NAR hash and size. */
async function assertStaged (store: StoreBackend, release: Release): Promise<void> {
  const paths = release.manifest.map(entry => entry.path)
  assert.deepEqual(await store.queryValidPaths(paths), paths)
  const recorded = new Map((await store.queryClosure(release.storePath)).map(entry => [entry.path, entry]))
  for (const entry of release.manifest) {
    assert.equal(recorded.get(entry.path)?.narHash, entry.narHash, `NAR hash of ${entry.path}`)
  }
}

function failuresOf (garden: Garden): SourceFailedEvent[] {
  const failures: SourceFailedEvent[] = []
  garden.transfer.on('source-failed', event => { failures.push(event) })
  return failures
}

async function connected (garden: Garden, count: number): Promise<void> {
  await waitUntil(() => garden.node.connectedMembers().length >= count, 10_000, `${garden.name} connected to ${count} members`)
}

for (const kind of ['nix', 'plain'] as BackendKind[]) {
  describe(`ClosureTransfer over the ${kind} backend`, function () {
    this.timeout(60_000)
    const gardens = new Gardens()
    const releases: AbortController[] = []
    let scratch: string
    let template: string
    let release: Release
    let largeTemplate: string
    let largeRelease: Release
    let fleet: TestFleet

    before(async function () {
      if (kind === 'nix' && !(await hasNix())) {
        // These cases run the real nix-store; hosts without Nix run them over the plain backend only.
        this.skip()
      }
      scratch = await mkdtemp(join(tmpdir(), `sower-transfer-${kind}-`))
      template = join(scratch, 'store')
      release = await buildSampleRelease(createBackend(kind, template), scratch)
      largeTemplate = join(scratch, 'large-store')
      largeRelease = await buildSampleRelease(createBackend(kind, largeTemplate), scratch, LARGE_BLOB_BYTES)
    })

    after(async () => {
      if (scratch !== undefined) {
        await rm(scratch, { recursive: true, force: true })
      }
    })

    beforeEach(() => {
      fleet = createTestFleet({ members: 5 })
    })

    afterEach(async () => {
      releases.splice(0).forEach(controller => { controller.abort() })
      await gardens.stopAll()
    })

    async function start (index: number, init: Partial<GardenInit> = {}): Promise<Garden> {
      const member = fleet.members[index]
      return await gardens.start(fleet, { name: member.name, key: member.key, backend: kind, ...init })
    }

    it('stages from the only holder to three gardens', async () => {
      const hub = await start(0)
      const bootstrap = hub.node.getMultiaddrs()
      const profile = join(scratch, `profile-${Date.now()}`)
      const holder = await start(1, { storeTemplate: template, bootstrap, deferTransfer: true, transfer: { profiles: [profile] } })
      await holder.backend.setProfile(profile, release.storePath)
      const others = [await start(2, { bootstrap }), await start(3, { bootstrap })]
      await connected(hub, 3)
      await holder.transfer.start()
      await waitUntil(async () => {
        for await (const provider of others[0].node.findProviders(release.storePath, { signal: AbortSignal.timeout(2_000) })) {
          if (provider.id.toString() === holder.node.peerId) {
            return true
          }
        }
        return false
      }, 20_000, 'holder announced in the DHT')

      const progress: StageProgress[] = []
      const outcomes = await Promise.all([hub, ...others].map(async (garden, index) =>
        await garden.transfer.stage(release, { onProgress: index === 0 ? p => { progress.push(p) } : undefined })))

      for (const [index, garden] of [hub, ...others].entries()) {
        assert.equal(outcomes[index].source, 'peer', `${garden.name} staged from a peer`)
        assert.ok(outcomes[index].bytes > 0, `${garden.name} received bytes`)
        await assertStaged(garden.backend, release)
      }
      const expected = release.manifest.reduce((total, entry) => total + entry.narSize, 0)
      assert.equal(progress.at(-1)?.bytesExpected, expected)
      assert.equal(progress.at(-1)?.bytesReceived, expected)
    })

    it('drops a tampered provider', async () => {
      const tampered = await start(0, { storeTemplate: template, wrap: tamperedExports })
      const honest = await start(1, { storeTemplate: template, wrap: backend => slowFirstQuery(backend, LATE_REPLY_MS) })
      const stager = await start(2, { bootstrap: [...tampered.node.getMultiaddrs(), ...honest.node.getMultiaddrs()] })
      await connected(stager, 2)
      const failures = failuresOf(stager)

      const outcome = await stager.transfer.stage(release, {})

      assert.equal(outcome.peer, honest.node.peerId)
      assert.deepEqual(failures.map(failure => [failure.source, failure.code]), [[tampered.node.peerId, 'ERR_NAR_HASH_MISMATCH']])
      await assertStaged(stager.backend, release)
    })

    it('replaces a stalled provider', async () => {
      const stallTimeoutMs = 1_500
      const released = new AbortController()
      releases.push(released)
      const stalledCalls: ExportCall[] = []
      const honestCalls: ExportCall[] = []
      const stalling = await start(0, {
        storeTemplate: template,
        wrap: backend => stallingExports(backend, { fullExports: 1, released: released.signal, calls: stalledCalls })
      })
      const honest = await start(1, {
        storeTemplate: template,
        wrap: backend => recordedExports(slowFirstQuery(backend, LATE_REPLY_MS), honestCalls)
      })
      const stager = await start(2, {
        bootstrap: [...stalling.node.getMultiaddrs(), ...honest.node.getMultiaddrs()],
        transfer: { stallTimeoutMs, batchMaxPaths: 2 }
      })
      await connected(stager, 2)
      const failures = failuresOf(stager)
      const failedAtMs: number[] = []
      stager.transfer.on('source-failed', () => { failedAtMs.push(Date.now()) })

      const outcome = await stager.transfer.stage(release, {})

      assert.equal(outcome.source, 'peer')
      assert.deepEqual(failures.map(failure => [failure.source, failure.code]), [[stalling.node.peerId, 'ERR_STREAM_TIMEOUT']])
      assert.equal(stalledCalls.length, 2)
      const replacedAfterMs = failedAtMs[0] - stalledCalls[1].atMs
      assert.ok(replacedAfterMs >= stallTimeoutMs, `replaced after ${replacedAfterMs} ms`)
      assert.ok(replacedAfterMs < stallTimeoutMs + 1_500, `replaced after ${replacedAfterMs} ms`)
      const firstBatch = new Set(stalledCalls[0].paths)
      assert.deepEqual(honestCalls.flatMap(call => call.paths).filter(path => firstBatch.has(path)), [])
      assert.deepEqual(honestCalls.flatMap(call => call.paths).sort(), [...stalledCalls[1].paths].sort())
      await assertStaged(stager.backend, release)
    })

    it('continues when a provider leaves', async () => {
      const leaving = await start(0, { storeTemplate: template, wrap: backend => slowExports(backend, 32 * 1024, 30) })
      const staying = await start(1, { storeTemplate: template, wrap: backend => slowFirstQuery(backend, LATE_REPLY_MS) })
      const stager = await start(2, { bootstrap: [...leaving.node.getMultiaddrs(), ...staying.node.getMultiaddrs()] })
      await connected(stager, 2)
      const failures = failuresOf(stager)
      let leaves: Promise<void> | undefined
      const onProgress = (progress: StageProgress): void => {
        if (progress.source === leaving.node.peerId && progress.bytesReceived > 0 && leaves === undefined) {
          leaves = leaving.transfer.stop().then(async () => { await leaving.node.stop() })
        }
      }

      const outcome = await stager.transfer.stage(release, { onProgress })

      await leaves
      assert.ok(leaves !== undefined, 'the leaving provider sent bytes first')
      assert.equal(outcome.peer, staying.node.peerId)
      assert.deepEqual(failures.map(failure => failure.source), [leaving.node.peerId])
      await assertStaged(stager.backend, release)
    })

    it('refuses a non-member', async () => {
      const exports: ExportCall[] = []
      const holder = await start(0, { storeTemplate: template, wrap: backend => recordedExports(backend, exports) })
      const outsider = await gardens.start(fleet, {
        name: 'outsider', key: generateKey(), backend: kind, bootstrap: holder.node.getMultiaddrs()
      })
      await connected(outsider, 1)

      const error = await outsider.transfer.stage(release, {}).then(() => null, (caught: unknown) => caught)

      assert.ok(error instanceof ClosureUnavailableError, `rejected with ${String(error)}`)
      assert.equal(error.code, 'ERR_CLOSURE_UNAVAILABLE')
      assert.deepEqual(error.attempts.map(attempt => attempt.source), [holder.node.peerId])
      assert.deepEqual(exports, [])
      assert.equal(await outsider.backend.isValid(release.storePath), false)
    })

    it('asks a busy provider again', async () => {
      const holder = await start(0, {
        storeTemplate: template,
        wrap: backend => slowExports(backend, 64 * 1024, 20),
        transfer: { maxConcurrentServes: 1 }
      })
      const bootstrap = holder.node.getMultiaddrs()
      const stagers = [
        await start(1, { bootstrap, transfer: { busyRetryDelayMs: 200, busyRetries: 10 } }),
        await start(2, { bootstrap, transfer: { busyRetryDelayMs: 200, busyRetries: 10 } })
      ]
      await Promise.all(stagers.map(async stager => { await connected(stager, 1) }))
      const failures = stagers.map(failuresOf)

      const outcomes = await Promise.all(stagers.map(async stager => await stager.transfer.stage(release, {})))

      assert.deepEqual(outcomes.map(outcome => outcome.source), ['peer', 'peer'])
      assert.ok(failures.flat().some(failure => failure.code === 'ERR_PROVIDER_BUSY'), 'one stager was told busy')
      for (const stager of stagers) {
        await assertStaged(stager.backend, release)
      }
    })

    it('buffers a batch the store reads late', async () => {
      const holder = await start(0, { storeTemplate: largeTemplate })
      const stager = await start(1, { bootstrap: holder.node.getMultiaddrs(), wrap: backend => lateImports(backend, 1_000) })
      await connected(stager, 1)

      const outcome = await stager.transfer.stage(largeRelease, {})

      assert.equal(outcome.peer, holder.node.peerId)
      await assertStaged(stager.backend, largeRelease)
    })

    it('returns present for a held closure', async () => {
      const holder = await start(0, { storeTemplate: template })
      const progress: StageProgress[] = []

      const outcome = await holder.transfer.stage(release, { onProgress: p => { progress.push(p) } })

      assert.deepEqual(outcome, { source: 'present', bytes: 0 })
      assert.deepEqual(progress, [])
    })

    it('announces a staged closure', async () => {
      const holder = await start(0, { storeTemplate: template })
      const stager = await start(1, { bootstrap: holder.node.getMultiaddrs() })
      const seeker = await start(2, { bootstrap: stager.node.getMultiaddrs() })
      await connected(stager, 2)
      await stager.transfer.stage(release, {})

      await waitUntil(async () => {
        for await (const provider of seeker.node.findProviders(release.storePath, { signal: AbortSignal.timeout(2_000) })) {
          if (provider.id.toString() === stager.node.peerId) {
            return true
          }
        }
        return false
      }, 20_000, 'stager announced in the DHT')
    })

    it('names every source when none has the closure', async () => {
      const empty = await start(0)
      const stager = await start(1, {
        bootstrap: empty.node.getMultiaddrs(),
        transfer: { binaryCaches: ['http://127.0.0.1:9/cache'], cacheRequestTimeoutMs: 2_000, busyRetries: 0 }
      })
      await connected(stager, 1)

      const error = await stager.transfer.stage(release, {}).then(() => null, (caught: unknown) => caught)

      assert.ok(error instanceof ClosureUnavailableError, `rejected with ${String(error)}`)
      assert.deepEqual(error.attempts.map(attempt => [attempt.kind, attempt.source, attempt.code]), [
        ['peer', empty.node.peerId, 'ERR_PATHS_NOT_PROVIDED'],
        ['cache', 'http://127.0.0.1:9/cache', 'ERR_TRANSFER_PROTOCOL']
      ])
      assert.ok(error.message.includes(release.storePath), error.message)
      assert.ok(error.message.includes(empty.node.peerId), error.message)
      assert.ok(error.message.includes('http://127.0.0.1:9/cache'), error.message)
      assert.equal(error.missing.length, release.manifest.length)
    })

    it('rejects a stage before start', async () => {
      const garden = await start(0, { deferTransfer: true })

      await assert.rejects(garden.transfer.stage(release, {}), { code: 'ERR_NOT_STARTED' })
    })

    it('ends a running stage on stop', async () => {
      const holder = await start(0, { storeTemplate: template, wrap: backend => slowExports(backend, 16 * 1024, 50) })
      const stager = await start(1, { bootstrap: holder.node.getMultiaddrs() })
      await connected(stager, 1)
      let stopping: Promise<void> | undefined

      const staging = stager.transfer.stage(release, {
        onProgress: () => { stopping ??= stager.transfer.stop() }
      })

      await assert.rejects(staging, { name: 'TransferStoppedError', code: 'ERR_TRANSFER_STOPPED' })
      await stopping
      assert.equal(stager.transfer.started, false)
    })

    it('rejects with the abort reason', async () => {
      const holder = await start(0, { storeTemplate: template, wrap: backend => slowExports(backend, 16 * 1024, 50) })
      const stager = await start(1, { bootstrap: holder.node.getMultiaddrs() })
      await connected(stager, 1)
      const controller = new AbortController()
      const reason = new Error('operator cancelled')

      const staging = stager.transfer.stage(release, {
        signal: controller.signal,
        onProgress: () => { controller.abort(reason) }
      })

      await assert.rejects(staging, error => error === reason)
      assert.equal(await stager.backend.isValid(release.storePath), false)
    })
  })
}

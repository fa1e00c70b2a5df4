import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import { hashPartOf, hasNix } from '../../../src/nix/index.ts'
import type { Release } from '../../../src/records/index.ts'
import { ClosureUnavailableError } from '../../../src/transfer/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'
import { BLOB_MARKER, buildSampleRelease, serveFolder, writeBinaryCache } from './fixtures.ts'
import { createBackend, Gardens, waitUntil } from './harness.ts'
import type { BackendKind, Garden, GardenInit } from './harness.ts'

const run = promisify(execFile)

async function stageError (garden: Garden, release: Release): Promise<ClosureUnavailableError> {
  const error = await garden.transfer.stage(release, {}).then(() => null, (caught: unknown) => caught)
  assert.ok(error instanceof ClosureUnavailableError, `rejected with ${String(error)}`)
  return error
}

for (const kind of ['nix', 'plain'] as BackendKind[]) {
  describe(`ClosureTransfer binary caches over the ${kind} backend`, function () {
    this.timeout(60_000)
    const gardens = new Gardens()
    const servers: Array<{ close: () => Promise<void> }> = []
    let scratch: string
    let template: string
    let release: Release
    let fleet: TestFleet
    let cacheDir: string

    before(async function () {
      if (kind === 'nix' && !(await hasNix())) {
        // These cases run the real nix-store; hosts without Nix run them over the plain backend only.
        this.skip()
      }
      scratch = await mkdtemp(join(tmpdir(), `sower-cache-${kind}-`))
      template = join(scratch, 'store')
      release = await buildSampleRelease(createBackend(kind, template), scratch)
    })

    after(async () => {
      if (scratch !== undefined) {
        await rm(scratch, { recursive: true, force: true })
      }
    })

    beforeEach(async () => {
      fleet = createTestFleet({ members: 2 })
      cacheDir = await mkdtemp(join(scratch, 'cache-'))
    })

    afterEach(async () => {
      await Promise.all(servers.splice(0).map(async server => { await server.close() }))
      await gardens.stopAll()
      await rm(cacheDir, { recursive: true, force: true })
    })

    async function start (index: number, init: Partial<GardenInit> = {}): Promise<Garden> {
      const member = fleet.members[index]
      return await gardens.start(fleet, { name: member.name, key: member.key, backend: kind, ...init })
    }

    async function serve (options: { stallNars?: boolean } = {}): Promise<{ url: string, requests: string[] }> {
      const server = await serveFolder(cacheDir, options)
      servers.push(server)
      return server
    }

    async function writeCache (compression: 'none' | 'zstd', claimCompression?: string): Promise<void> {
      await writeBinaryCache(createBackend(kind, template), release.manifest, cacheDir, { compression, claimCompression })
    }

    it('stages from an http cache', async () => {
      await writeCache('none')
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [url] } })

      const outcome = await garden.transfer.stage(release, {})

      assert.equal(outcome.source, 'cache')
      assert.ok(outcome.bytes > 0)
      const paths = release.manifest.map(entry => entry.path)
      assert.deepEqual(await garden.backend.queryValidPaths(paths), paths)
    })

    it('stages from a zstd cache', async () => {
      await writeCache('zstd')
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [url] } })

      assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
      assert.equal(await garden.backend.isValid(release.storePath), true)
    })

    it('stages from a file cache', async () => {
      await writeCache('none')
      const garden = await start(0, { transfer: { binaryCaches: [pathToFileURL(cacheDir).href] } })

      assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
      assert.equal(await garden.backend.isValid(release.storePath), true)
    })

    it('rejects a tampered NAR', async () => {
      await writeCache('none')
      for (const name of await readdir(join(cacheDir, 'nar'))) {
        const file = join(cacheDir, 'nar', name)
        const bytes = await readFile(file)
        const at = bytes.indexOf(BLOB_MARKER)
        if (at >= 0) {
          bytes[at] ^= 0x01
          await writeFile(file, bytes)
        }
      }
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [url] } })

      const error = await stageError(garden, release)

      assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_NAR_HASH_MISMATCH'])
      assert.equal(await garden.backend.isValid(release.storePath), false)
    })

    it('rejects an xz cache', async () => {
      await writeCache('none', 'xz')
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [url] } })

      const error = await stageError(garden, release)

      assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_UNSUPPORTED_COMPRESSION'])
      assert.match(error.message, /compression xz, which is not supported/)
    })

    it('imports what a partial cache has', async () => {
      await writeCache('none')
      await unlink(join(cacheDir, `${hashPartOf(release.storePath)}.narinfo`))
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [url] } })

      const error = await stageError(garden, release)

      assert.deepEqual(error.missing, [release.storePath])
      assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_PATHS_NOT_PROVIDED'])
      const others = release.manifest.map(entry => entry.path).filter(path => path !== release.storePath)
      assert.deepEqual(await garden.backend.queryValidPaths(others), others)
    })

    it('tries the next cache', async () => {
      await writeCache('none')
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: ['http://127.0.0.1:9', url], cacheRequestTimeoutMs: 2_000 } })

      assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
    })

    it('replaces a stalled cache', async () => {
      await writeCache('none')
      const stalled = await serve({ stallNars: true })
      const { url } = await serve()
      const garden = await start(0, { transfer: { binaryCaches: [stalled.url, url], stallTimeoutMs: 1_500 } })
      const failures: string[] = []
      garden.transfer.on('source-failed', failure => { failures.push(`${failure.source} ${failure.code}`) })

      assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
      assert.deepEqual(failures, [`${stalled.url} ERR_STREAM_TIMEOUT`])
      assert.equal(await garden.backend.isValid(release.storePath), true)
    })

    it('prefers a peer to a cache', async () => {
      await writeCache('none')
      const { url, requests } = await serve()
      const holder = await start(0, { storeTemplate: template })
      const stager = await start(1, { bootstrap: holder.node.getMultiaddrs(), transfer: { binaryCaches: [url] } })
      await waitUntil(() => stager.node.connectedMembers().length === 1, 10_000, 'connection')

      const outcome = await stager.transfer.stage(release, {})

      assert.equal(outcome.peer, holder.node.peerId)
      assert.deepEqual(requests, [])
    })

    if (kind === 'nix') {
      for (const compression of ['none', 'zstd', 'br']) {
        it(`stages from a cache that nix copy wrote with ${compression}`, async () => {
          const home = await mkdtemp(join(scratch, 'home-'))
          await run('nix', [
            '--extra-experimental-features', 'nix-command', 'copy', '--store', template, '--option', 'substituters', '',
            '--to', `file://${cacheDir}?compression=${compression}`, release.storePath
          ], { env: { ...process.env, HOME: home } })
          const { url } = await serve()
          const garden = await start(0, { transfer: { binaryCaches: [url] } })

          assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
          assert.equal(await garden.backend.isValid(release.storePath), true)
        })
      }
    }
  })
}

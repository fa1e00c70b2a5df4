import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readdir, readFile, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises'
import { availableParallelism, tmpdir } from 'node:os'
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

/**
 * Counts the blocks of an xz file with one stream and no stream padding.
 * The footer's Backward Size locates the index, whose record count
 * follows its indicator byte as a multibyte integer.
 */
function countXzBlocks (file: Buffer): number {
  const indexBytes = (file.readUInt32LE(file.length - 8) + 1) * 4
  let at = file.length - 12 - indexBytes + 1
  let count = 0
  for (let shift = 0; ; shift += 7) {
    const byte = file[at++]
    count += (byte & 0x7f) * 2 ** shift
    if ((byte & 0x80) === 0) {
      return count
    }
  }
}

function narInfoField (narInfo: string, name: string): string {
  const value = new RegExp(`^${name}: (.*)$`, 'm').exec(narInfo)?.[1]
  assert.ok(value !== undefined, `narinfo lacks ${name}`)
  return value
}

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

    for (const compression of ['bzip2', 'toString']) {
      it(`rejects a ${compression} cache`, async () => {
        await writeCache('none', compression)
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [url] } })

        const error = await stageError(garden, release)

        assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_UNSUPPORTED_COMPRESSION'])
        assert.match(error.message, new RegExp(`compression ${compression}, which is not supported`))
      })
    }

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
      /** Writes the closure of `storePath` in `store` to the cache folder with `nix copy`, with `query` as the URL's query. */
      async function nixCopy (storePath: string, query: string, store = template): Promise<void> {
        const home = await mkdtemp(join(scratch, 'home-'))
        await run('nix', [
          '--extra-experimental-features', 'nix-command', 'copy', '--store', store, '--option', 'substituters', '',
          '--to', `file://${cacheDir}?${query}`, storePath
        ], { env: { ...process.env, HOME: home } })
      }

      async function readNarInfo (storePath: string): Promise<string> {
        return await readFile(join(cacheDir, `${hashPartOf(storePath)}.narinfo`), 'utf8')
      }

      async function editNarInfo (storePath: string, fields: Record<string, string>): Promise<void> {
        let narInfo = await readNarInfo(storePath)
        for (const [name, value] of Object.entries(fields)) {
          narInfo = narInfo.replace(new RegExp(`^${name}: .*$`, 'm'), `${name}: ${value}`)
        }
        await writeFile(join(cacheDir, `${hashPartOf(storePath)}.narinfo`), narInfo)
      }

      function blobPath (): string {
        const blob = release.manifest.find(entry => entry.path.endsWith('-blob-1.0'))
        assert.ok(blob !== undefined, 'sample release lacks the blob path')
        return blob.path
      }

      for (const compression of ['none', 'zstd', 'br', 'xz']) {
        it(`stages from a cache that nix copy wrote with ${compression}`, async () => {
          await nixCopy(release.storePath, `compression=${compression}`)
          const { url } = await serve()
          const garden = await start(0, { transfer: { binaryCaches: [url] } })

          assert.equal(narInfoField(await readNarInfo(release.storePath), 'Compression'), compression)
          assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
          assert.equal(await garden.backend.isValid(release.storePath), true)
        })
      }

      it('stages from an xz file cache', async () => {
        await nixCopy(release.storePath, 'compression=xz')
        const garden = await start(0, { transfer: { binaryCaches: [pathToFileURL(cacheDir).href] } })

        assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
        const paths = release.manifest.map(entry => entry.path)
        assert.deepEqual(await garden.backend.queryValidPaths(paths), paths)
      })

      it('stages xz NARs of several blocks', async function () {
        if (availableParallelism() < 2) {
          // Nix compresses in parallel, and so in several blocks, only with two CPUs or more.
          this.skip()
        }
        const dir = await mkdtemp(join(scratch, 'large-'))
        const store = join(dir, 'store')
        const large = await buildSampleRelease(createBackend(kind, store), dir, 3 * 1024 * 1024)
        // Level 0 has a 256 KiB dictionary, so parallel compression cuts 1 MiB blocks.
        await nixCopy(large.storePath, 'compression=xz&parallel-compression=true&compression-level=0', store)
        const narFiles = await Promise.all((await readdir(join(cacheDir, 'nar'))).map(async name => await readFile(join(cacheDir, 'nar', name))))
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [url] } })

        assert.ok(Math.max(...narFiles.map(countXzBlocks)) >= 3, 'nix copy wrote no NAR of three blocks or more')
        assert.equal((await garden.transfer.stage(large, {})).source, 'cache')
        assert.equal(await garden.backend.isValid(large.storePath), true)
      })

      it('rejects a tampered xz NAR', async () => {
        // A path with the blob's file, one bit changed, has the blob's NAR with that bit changed.
        const store = join(scratch, 'tampered-store')
        const data = await readFile(join(createBackend(kind, template).realPath(blobPath()), 'data.bin'))
        data[data.indexOf(BLOB_MARKER)] ^= 0x01
        await writeFile(join(scratch, 'tampered.bin'), data)
        const tampered = await createBackend(kind, store).buildPath({ name: 'blob-1.0', entries: { 'data.bin': { file: join(scratch, 'tampered.bin') } } })
        await nixCopy(release.storePath, 'compression=xz')
        await nixCopy(tampered, 'compression=xz', store)
        const forged = await readNarInfo(tampered)
        await editNarInfo(blobPath(), Object.fromEntries(['URL', 'FileHash', 'FileSize'].map(name => [name, narInfoField(forged, name)])))
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [url] } })

        const error = await stageError(garden, release)

        assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_NAR_HASH_MISMATCH'])
        assert.equal(await garden.backend.isValid(release.storePath), false)
      })

      it('rejects a truncated xz NAR', async () => {
        await nixCopy(release.storePath, 'compression=xz')
        const narUrl = narInfoField(await readNarInfo(blobPath()), 'URL')
        const bytes = await readFile(join(cacheDir, narUrl))
        await writeFile(join(cacheDir, narUrl), bytes.subarray(0, bytes.length - 100))
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [url] } })

        const error = await stageError(garden, release)

        assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_TRANSFER_PROTOCOL'])
        assert.equal(error.attempts[0].reason,
          `${url}/${narUrl} is not a valid xz file: data ends early or is followed by other bytes (XZ_BUF_ERROR)`)
        assert.equal(await garden.backend.isValid(blobPath()), false)
      })

      it('limits an xz NAR to its FileSize', async () => {
        await nixCopy(release.storePath, 'compression=xz')
        const narInfo = await readNarInfo(blobPath())
        const fileSize = Number(narInfoField(narInfo, 'FileSize'))
        await editNarInfo(blobPath(), { FileSize: String(fileSize - 1) })
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [url] } })

        const error = await stageError(garden, release)

        assert.deepEqual(error.attempts.map(attempt => attempt.code), ['ERR_TRANSFER_PROTOCOL'])
        assert.equal(error.attempts[0].reason,
          `${url}/${narInfoField(narInfo, 'URL')} is longer than the FileSize of ${fileSize - 1} bytes in its narinfo`)
        assert.equal(await garden.backend.isValid(blobPath()), false)
      })

      it('replaces a stalled xz cache', async () => {
        await nixCopy(release.storePath, 'compression=xz')
        const stalled = await serve({ stallNars: true })
        const { url } = await serve()
        const garden = await start(0, { transfer: { binaryCaches: [stalled.url, url], stallTimeoutMs: 1_500 } })
        const failures: string[] = []
        garden.transfer.on('source-failed', failure => { failures.push(`${failure.source} ${failure.code}`) })

        assert.equal((await garden.transfer.stage(release, {})).source, 'cache')
        assert.deepEqual(failures, [`${stalled.url} ERR_STREAM_TIMEOUT`])
        assert.equal(await garden.backend.isValid(release.storePath), true)
      })
    }
  })
}

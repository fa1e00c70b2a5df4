import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  buildSystemClosure, ClosureIncompleteError, GenerationNotFoundError, hashPath, hasNix, NarHashMismatchError,
  needsReboot, NoPreviousGenerationError, PathNotInManifestError, PathNotValidError, StreamTimeoutError,
  StreamTooLargeError
} from '../../../src/nix/index.ts'
import type { ImportProgress, Manifest, ServiceClosure, StoreBackend, SystemClosure } from '../../../src/nix/index.ts'
import { BACKENDS, buildSample, cloneStore } from './fixtures.ts'
import { collect, flipByteOf, listFolder, TempFolders } from './helpers.ts'

const MISSING = '/nix/store/00000000000000000000000000000000-missing'

for (const backend of BACKENDS) {
  describe(`${backend.kind} store backend`, function () {
    const folders = new TempFolders()
    const templateFolders = new TempFolders()
    let template: StoreBackend
    let samples: ServiceClosure[]
    let systems: Record<'current' | 'sameKernel' | 'newKernel', SystemClosure>
    let source: StoreBackend
    let target: StoreBackend

    before(async function () {
      if (backend.needsNix && !(await hasNix())) {
        // The Nix backend runs the real nix-store; hosts without Nix test the plain backend only.
        this.skip()
      }
      template = backend.create(await templateFolders.make(`${backend.kind}-template`))
      samples = []
      for (const version of ['1.0', '2.0', '3.0']) {
        samples.push(await buildSample(template, version))
      }
      const current = await buildSystemClosure(template, { hostName: 'web', version: '1' })
      systems = {
        current,
        sameKernel: await buildSystemClosure(template, { hostName: 'web', version: '1', services: [samples[0].path] }),
        newKernel: await buildSystemClosure(template, { hostName: 'web', version: '1', kernelVersion: '6.7.0' })
      }
    })

    after(async () => {
      await templateFolders.removeAll()
    })

    beforeEach(async () => {
      source = await cloneStore(backend, template, folders, `${backend.kind}-a`)
      target = backend.create(await folders.make(`${backend.kind}-b`))
    })

    afterEach(async () => {
      await folders.removeAll()
    })

    describe('paths', () => {
      it('addFiles matches nix-store --add', async () => {
        const file = join(await folders.make('input'), 'a.txt')
        await writeFile(file, 'hello\n')
        const path = await source.addFiles(file)
        assert.equal(path, '/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt')
        assert.equal(await source.isValid(path), true)
      })

      it('addFiles takes a name', async () => {
        const file = join(await folders.make('input'), 'a.txt')
        await writeFile(file, 'hello\n')
        const path = await source.addFiles(file, 'greeting')
        assert.match(path, /^\/nix\/store\/[0-9a-z]{32}-greeting$/)
      })

      it('isValid is false for an unknown path', async () => {
        assert.equal(await source.isValid(MISSING), false)
      })

      it('queryValidPaths keeps valid paths', async () => {
        const sample = samples[0]
        assert.deepEqual(await source.queryValidPaths([MISSING, sample.path]), [sample.path])
      })

      it('buildPath keeps only mentioned references', async () => {
        const sample = samples[0]
        const path = await source.buildPath({
          name: 'mentions-one',
          references: [sample.path, sample.config],
          entries: { note: { text: `uses ${sample.config}/config.json\n` } }
        })
        const manifest = await source.queryClosure(path)
        assert.deepEqual(manifest.find(entry => entry.path === path)?.references, [sample.config])
      })
    })

    describe('queryClosure', () => {
      it('lists dependencies first', async () => {
        const sample = samples[0]
        const manifest = await source.queryClosure(sample.path)
        assert.deepEqual(manifest.map(entry => entry.path), [sample.config, sample.path])
      })

      it('records references', async () => {
        const sample = samples[0]
        const manifest = await source.queryClosure(sample.path)
        assert.deepEqual(manifest[1].references, [sample.config])
      })

      it('hashes match the files', async () => {
        const sample = samples[0]
        for (const entry of await source.queryClosure(sample.path)) {
          const digest = await hashPath(source.realPath(entry.path))
          assert.equal(entry.narHash, digest.narHash, entry.path)
          assert.equal(entry.narSize, digest.narSize, entry.path)
        }
      })

      it('rejects an invalid path', async () => {
        await assert.rejects(source.queryClosure(MISSING), PathNotValidError)
      })
    })

    describe('importVerified', () => {
      let manifest: Manifest
      let stream: Buffer

      beforeEach(async () => {
        manifest = await source.queryClosure(samples[0].path)
        stream = await collect(source.exportPaths(manifest.map(entry => entry.path)))
      })

      it('copies a closure', async () => {
        await target.importVerified(Readable.from([stream]), manifest)
        assert.deepEqual(await target.queryClosure(manifest[1].path), manifest)
      })

      it('returns the received paths', async () => {
        const result = await target.importVerified(Readable.from([stream]), manifest)
        assert.deepEqual(result.received, manifest.map(entry => entry.path))
        assert.equal(result.bytesReceived, stream.length)
      })

      it('accepts a stream of small chunks', async () => {
        const chunks = Array.from({ length: Math.ceil(stream.length / 7) }, (_, i) => stream.subarray(i * 7, i * 7 + 7))
        await target.importVerified(Readable.from(chunks), manifest)
        assert.equal(await target.isValid(manifest[1].path), true)
      })

      it('reports progress', async () => {
        const reports: ImportProgress[] = []
        const onProgress = (progress: ImportProgress): void => { reports.push(progress) }
        await target.importVerified(Readable.from([stream]), manifest, { onProgress })
        const last = reports.at(-1)
        assert.equal(last?.bytesReceived, stream.length)
        assert.equal(last?.pathsVerified, 2)
        assert.equal(last?.narBytesExpected, manifest[0].narSize + manifest[1].narSize)
      })

      it('imports twice', async () => {
        await target.importVerified(Readable.from([stream]), manifest)
        await target.importVerified(Readable.from([stream]), manifest)
        assert.equal(await target.isValid(manifest[1].path), true)
      })

      it('skips a dependency already present', async () => {
        const dependencyOnly = await collect(source.exportPaths([manifest[0].path]))
        await target.importVerified(Readable.from([dependencyOnly]), [manifest[0]])
        const topOnly = await collect(source.exportPaths([manifest[1].path]))
        await target.importVerified(Readable.from([topOnly]), manifest)
        assert.equal(await target.isValid(manifest[1].path), true)
      })

      it('rejects a flipped byte', async () => {
        const tampered = flipByteOf(stream, '"port": 8080')
        const error = await target.importVerified(Readable.from([tampered]), manifest).catch((error: unknown) => error)
        assert.ok(error instanceof NarHashMismatchError)
        assert.equal(error.path, manifest[0].path)
        assert.equal(error.expectedHash, manifest[0].narHash)
        assert.notEqual(error.actualHash, manifest[0].narHash)
      })

      it('leaves the store unchanged on a flipped byte', async () => {
        const tampered = flipByteOf(stream, 'running with')
        await assert.rejects(target.importVerified(Readable.from([tampered]), manifest), NarHashMismatchError)
        assert.deepEqual(await target.queryValidPaths(manifest.map(entry => entry.path)), [])
        assert.deepEqual(await listFolder(join(target.storeRoot, 'tmp')), [])
      })

      it('rejects a path outside the manifest', async () => {
        const extra = await source.buildPath({ name: 'extra', entries: { note: { text: 'not asked for\n' } } })
        const withExtra = await collect(source.exportPaths([...manifest.map(entry => entry.path), extra]))
        const error = await target.importVerified(Readable.from([withExtra]), manifest).catch((error: unknown) => error)
        assert.ok(error instanceof PathNotInManifestError)
        assert.equal(error.path, extra)
      })

      it('leaves the store unchanged on an extra path', async () => {
        const extra = await source.buildPath({ name: 'extra', entries: { note: { text: 'not asked for\n' } } })
        const withExtra = await collect(source.exportPaths([extra, ...manifest.map(entry => entry.path)]))
        await assert.rejects(target.importVerified(Readable.from([withExtra]), manifest), PathNotInManifestError)
        assert.deepEqual(await target.queryValidPaths([extra, ...manifest.map(entry => entry.path)]), [])
      })

      it('rejects a NAR larger than the manifest allows', async () => {
        await assert.rejects(target.importVerified(Readable.from([stream]), [manifest[0]]), StreamTooLargeError)
      })

      it('rejects a stream without a dependency', async () => {
        const topOnly = await collect(source.exportPaths([manifest[1].path]))
        await assert.rejects(target.importVerified(Readable.from([topOnly]), manifest), ClosureIncompleteError)
        assert.equal(await target.isValid(manifest[1].path), false)
      })

      it('rejects a stream that lacks a manifest path', async () => {
        const dependencyOnly = await collect(source.exportPaths([manifest[0].path]))
        await assert.rejects(target.importVerified(Readable.from([dependencyOnly]), manifest), ClosureIncompleteError)
        assert.equal(await target.isValid(manifest[0].path), false)
      })

      it('stops when the stream stalls', async () => {
        const stalled = new Readable({ read () {} })
        stalled.push(stream.subarray(0, 100))
        await assert.rejects(target.importVerified(stalled, manifest, { idleTimeoutMs: 50 }), StreamTimeoutError)
        assert.deepEqual(await listFolder(join(target.storeRoot, 'tmp')), [])
      })

      it('stops on abort', async () => {
        const controller = new AbortController()
        const stalled = new Readable({ read () {} })
        stalled.push(stream.subarray(0, 100))
        setTimeout(() => { controller.abort(new Error('stopped by the operator')) }, 20)
        const imported = target.importVerified(stalled, manifest, { signal: controller.signal })
        await assert.rejects(imported, /stopped by the operator/)
        assert.deepEqual(await target.queryValidPaths(manifest.map(entry => entry.path)), [])
      })

      it('rejects a wrong NAR size', async () => {
        const wrongSize = [manifest[0], { ...manifest[1], narSize: manifest[1].narSize + 8 }]
        await assert.rejects(target.importVerified(Readable.from([stream]), wrongSize), NarHashMismatchError)
      })
    })

    describe('profiles', () => {
      let profile: string
      let first: string
      let second: string

      beforeEach(async () => {
        profile = join(source.storeRoot, 'profiles', 'web')
        first = samples[0].path
        second = samples[1].path
      })

      it('setProfile twice makes two generations', async () => {
        await source.setProfile(profile, first)
        await source.setProfile(profile, second)
        const generations = await source.listGenerations(profile)
        assert.deepEqual(generations.map(generation => [generation.number, generation.storePath, generation.current]), [
          [1, first, false],
          [2, second, true]
        ])
      })

      it('dates are ISO 8601 in UTC', async () => {
        const generation = await source.setProfile(profile, first)
        assert.match(generation.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
        assert.ok(Math.abs(Date.parse(generation.date) - Date.now()) < 60_000)
      })

      it('rollback returns to the previous generation', async () => {
        await source.setProfile(profile, first)
        await source.setProfile(profile, second)
        const current = await source.rollback(profile)
        assert.equal(current.number, 1)
        assert.equal((await source.currentGeneration(profile))?.storePath, first)
      })

      it('switchGeneration moves forward again', async () => {
        await source.setProfile(profile, first)
        await source.setProfile(profile, second)
        await source.rollback(profile)
        const current = await source.switchGeneration(profile, 2)
        assert.equal(current.storePath, second)
        assert.equal((await source.currentGeneration(profile))?.number, 2)
      })

      it('setProfile after rollback adds a generation', async () => {
        const third = samples[2].path
        await source.setProfile(profile, first)
        await source.setProfile(profile, second)
        await source.rollback(profile)
        const current = await source.setProfile(profile, third)
        assert.equal(current.number, 3)
      })

      it('setProfile with the newest path reuses it', async () => {
        await source.setProfile(profile, first)
        await source.setProfile(profile, second)
        await source.rollback(profile)
        const current = await source.setProfile(profile, second)
        assert.equal(current.number, 2)
        assert.equal((await source.listGenerations(profile)).length, 2)
      })

      it('rollback without an older generation fails', async () => {
        await source.setProfile(profile, first)
        await assert.rejects(source.rollback(profile), NoPreviousGenerationError)
      })

      it('switchGeneration to an unknown number fails', async () => {
        await source.setProfile(profile, first)
        await assert.rejects(source.switchGeneration(profile, 7), GenerationNotFoundError)
      })

      it('setProfile rejects an invalid path', async () => {
        await assert.rejects(source.setProfile(profile, MISSING), PathNotValidError)
      })

      it('a missing profile has no generations', async () => {
        assert.deepEqual(await source.listGenerations(profile), [])
        assert.equal(await source.currentGeneration(profile), null)
      })
    })

    describe('bootFiles', () => {
      it('resolves kernel and initrd', async () => {
        const system = systems.current
        assert.deepEqual(await source.bootFiles(system.path), { kernel: system.kernel, initrd: system.initrd })
      })

      it('needsReboot is false for the same kernel', async () => {
        const current = await source.bootFiles(systems.current.path)
        assert.equal(needsReboot(current, await source.bootFiles(systems.sameKernel.path)), false)
      })

      it('needsReboot is true for a new kernel', async () => {
        const current = await source.bootFiles(systems.current.path)
        assert.equal(needsReboot(current, await source.bootFiles(systems.newKernel.path)), true)
      })

      it('is null without kernel entries', async () => {
        assert.deepEqual(await source.bootFiles(samples[0].path), { kernel: null, initrd: null })
      })
    })
  })
}

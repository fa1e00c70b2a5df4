import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import {
  buildSystemClosure, dumpNar, hashPath, hasNix, NixCommandError, NixCommandTimeoutError, NixStore, normaliseNarHash,
  parseDumpDb, PlainStore
} from '../../../src/nix/index.ts'
import type { Manifest, PathSpec, ServiceClosure, SystemClosure } from '../../../src/nix/index.ts'
import { BACKENDS, buildSample, cloneStore } from './fixtures.ts'
import type { BackendCase } from './fixtures.ts'
import { collect, listFolder, TempFolders } from './helpers.ts'

/** `nix-store --dump-db` output of Nix 2.8.0 for a path with one reference and one without a deriver. */
const DUMP_DB = [
  '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf',
  '1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13',
  '120',
  '',
  '0',
  '/nix/store/ng3lqb2z17nlkp2mxzrkrn93rlg60hxd-demo',
  '1ba57bd4e197a5f51830e55e64f6b014f2a19758c54a11018c36c1ff4e9a5bf2',
  '168',
  '/nix/store/iq8kidld3y6yw9wcqyfr13p2jwf26bdq-demo.drv',
  '1',
  '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf',
  ''
].join('\n')

interface PathInfoJson {
  path: string
  narHash: string
  narSize: number
  references: string[]
}

/** Reads a closure through `nix path-info --json --recursive`, a second view next to the one NixStore uses. */
function pathInfoOf (store: NixStore, path: string): Manifest {
  const result = spawnSync('nix', [
    '--extra-experimental-features', 'nix-command', 'path-info', '--json', '--recursive',
    '--store', store.storeRoot, path
  ], { encoding: 'utf8' })
  assert.equal(result.status, 0, result.stderr)
  return (JSON.parse(result.stdout) as PathInfoJson[]).map(info => ({
    path: info.path,
    narHash: normaliseNarHash(info.narHash),
    narSize: info.narSize,
    references: [...info.references].sort()
  }))
}

function byPath (manifest: Manifest): Manifest {
  return [...manifest].sort((a, b) => a.path.localeCompare(b.path))
}

describe('nix store', () => {
  describe('parseDumpDb', () => {
    it('reads records', () => {
      assert.deepEqual(parseDumpDb(DUMP_DB), [
        {
          path: '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf',
          narHash: 'sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw',
          narSize: 120,
          references: []
        },
        {
          path: '/nix/store/ng3lqb2z17nlkp2mxzrkrn93rlg60hxd-demo',
          narHash: 'sha256:1wjvk97gzh9nih0i2jn5b2bs3whln3v68pp560cgb9cpw7a7p98v',
          narSize: 168,
          references: ['/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf']
        }
      ])
    })

    it('rejects a truncated record', () => {
      assert.throws(() => parseDumpDb(DUMP_DB.split('\n').slice(0, 9).join('\n')), NixCommandError)
    })
  })

  describe('hasNix', () => {
    it('is false without nix-store', async () => {
      assert.equal(await hasNix('/nonexistent'), false)
    })
  })

  describe('with real Nix', () => {
    const folders = new TempFolders()
    const templateFolders = new TempFolders()
    const nixCase = BACKENDS.find(backend => backend.kind === 'nix') as BackendCase
    let template: NixStore
    let sample: ServiceClosure
    let system: SystemClosure
    let nix: NixStore
    let plain: PlainStore

    before(async function () {
      if (!(await hasNix())) {
        // These cases compare with the real nix-store and nix programs.
        this.skip()
      }
      template = new NixStore({ storeRoot: await templateFolders.make('nix-template') })
      sample = await buildSample(template)
      system = await buildSystemClosure(template, { hostName: 'web', version: '1', services: [sample.path] })
    })

    after(async () => {
      await templateFolders.removeAll()
    })

    beforeEach(async () => {
      nix = await cloneStore(nixCase, template, folders, 'nix') as NixStore
      plain = new PlainStore({ storeRoot: await folders.make('plain') })
    })

    afterEach(async () => {
      await folders.removeAll()
    })

    it('queryClosure matches nix path-info', async () => {
      const manifest = await nix.queryClosure(system.path)
      assert.deepEqual(byPath(manifest), byPath(pathInfoOf(nix, system.path)))
    })

    it('queryNarHash matches the manifest', async () => {
      const manifest = await nix.queryClosure(sample.path)
      assert.equal(await nix.queryNarHash(sample.path), manifest[1].narHash)
    })

    it('JS NAR equals nix-store --dump', async () => {
      const fromNix = spawnSync('nix-store', ['--dump', nix.realPath(system.path)])
      assert.equal(fromNix.status, 0, fromNix.stderr.toString())
      assert.deepEqual(await collect(dumpNar(nix.realPath(system.path))), fromNix.stdout)
    })

    it('plain NAR hash equals Nix', async () => {
      const input = join(await folders.make('input'), 'tool')
      await writeFile(input, Buffer.from([0, 1, 2, 255]), { mode: 0o755 })
      const spec: PathSpec = {
        name: 'same-on-both',
        entries: {
          'bin/run': { text: '#!/bin/sh\necho hi\n', executable: true },
          'bin/tool': { file: input },
          'etc/conf': { text: 'a=1\n' },
          link: { symlink: 'bin/run' }
        }
      }
      const fromNix = (await nix.queryClosure(await nix.buildPath(spec)))[0]
      const fromPlain = (await plain.queryClosure(await plain.buildPath(spec)))[0]
      assert.equal(fromPlain.narHash, fromNix.narHash)
      assert.equal(fromPlain.narSize, fromNix.narSize)
    })

    it('builds from kernel and initrd files', async () => {
      const input = await folders.make('input')
      await writeFile(join(input, 'bzImage'), Buffer.from([0, 1, 2, 3]))
      await writeFile(join(input, 'initrd'), Buffer.from([4, 5, 6]))
      const built = await buildSystemClosure(nix, {
        hostName: 'db', version: '2', kernelFile: join(input, 'bzImage'), initrdFile: join(input, 'initrd')
      })
      assert.deepEqual(await readFile(nix.storeRoot + built.kernel), Buffer.from([0, 1, 2, 3]))
      assert.deepEqual(await readFile(nix.storeRoot + built.initrd), Buffer.from([4, 5, 6]))
    })

    it('addFiles of a folder gives one path', async () => {
      const folder = join(await folders.make('input'), 'site')
      await mkdir(join(folder, 'css'), { recursive: true })
      await writeFile(join(folder, 'index.html'), '<h1>hi</h1>\n')
      await writeFile(join(folder, 'css', 'main.css'), 'h1 { color: green }\n')
      assert.equal(await plain.addFiles(folder), await nix.addFiles(folder))
    })

    it('plain export imports into Nix', async () => {
      const plainSystem = await buildSystemClosure(plain, { hostName: 'web', version: '1' })
      const manifest = await plain.queryClosure(plainSystem.path)
      const empty = new NixStore({ storeRoot: await folders.make('nix-empty') })
      await empty.importVerified(plain.exportPaths(manifest.map(entry => entry.path)), manifest)
      assert.deepEqual(await empty.queryClosure(plainSystem.path), manifest)
    })

    it('Nix export imports into plain', async () => {
      const manifest = await nix.queryClosure(system.path)
      await plain.importVerified(nix.exportPaths(manifest.map(entry => entry.path)), manifest)
      assert.deepEqual(await plain.queryClosure(system.path), manifest)
      assert.deepEqual(await plain.bootFiles(system.path), await nix.bootFiles(system.path))
    })

    it('import removes its spool', async () => {
      const plainSample = await buildSample(plain)
      const manifest = await plain.queryClosure(plainSample.path)
      const stream = await collect(plain.exportPaths([manifest[0].path, plainSample.path]))
      await nix.importVerified(Readable.from([stream]), manifest)
      assert.deepEqual(await listFolder(join(nix.storeRoot, 'tmp')), [])
    })

    it('export of an invalid path fails', async () => {
      const stream = nix.exportPaths(['/nix/store/00000000000000000000000000000000-missing'])
      const error = await collect(stream).catch((error: unknown) => error)
      assert.ok(error instanceof NixCommandError)
      assert.match(error.stderrTail, /is not valid/)
    })

    it('commands stop at the time limit', async () => {
      const bin = await folders.make('bin')
      await writeFile(join(bin, 'nix-store'), '#!/bin/sh\nexec sleep 10\n', { mode: 0o755 })
      const slow = new NixStore({ storeRoot: nix.storeRoot, nixBinDir: bin, commandTimeoutMs: 100 })
      await assert.rejects(slow.isValid('/nix/store/00000000000000000000000000000000-missing'), NixCommandTimeoutError)
    })

    it('nix-env stays out of the real home', async () => {
      await nix.setProfile(join(nix.storeRoot, 'profiles', 'web'), sample.path)
      assert.deepEqual(await listFolder(join(nix.storeRoot, 'home')), ['.nix-defexpr'])
    })

    it('JS hash of a store path equals Nix', async () => {
      assert.deepEqual((await hashPath(nix.realPath(sample.path))).narHash, await nix.queryNarHash(sample.path))
    })
  })
})

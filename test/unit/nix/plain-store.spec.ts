import assert from 'node:assert/strict'
import { chmod, lstat, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { PathNotValidError, StorePathCorruptError } from '../../../src/nix/errors.ts'
import { PlainStore } from '../../../src/nix/plain-store.ts'
import { collect, listFolder, TempFolders } from './helpers.ts'

const MISSING = '/nix/store/00000000000000000000000000000000-missing'

describe('plain store', () => {
  const folders = new TempFolders()
  let store: PlainStore

  beforeEach(async () => {
    store = new PlainStore({ storeRoot: await folders.make('plain') })
  })

  afterEach(async () => {
    await folders.removeAll()
  })

  it('records a content address', async () => {
    const path = await store.buildPath({ name: 'p', entries: { a: { text: 'hello\n' } } })
    const info = await store.queryPathInfo(path)
    assert.equal(info.ca, `fixed:r:${info.narHash}`)
  })

  it('makes store folders read-only', async () => {
    const path = await store.buildPath({ name: 'p', entries: { 'bin/a': { text: 'x' } } })
    assert.equal((await lstat(join(store.realPath(path), 'bin'))).mode & 0o777, 0o555)
  })

  it('replaces a leftover tree', async () => {
    const spec = { name: 'p', entries: { a: { text: 'hello\n' } } }
    const path = await store.buildPath(spec)
    const other = new PlainStore({ storeRoot: await folders.make('other') })
    await mkdir(other.realPath(path), { recursive: true })
    await writeFile(join(other.realPath(path), 'stale'), 'from an interrupted commit')
    assert.equal(await other.buildPath(spec), path)
    assert.deepEqual((await other.queryClosure(path))[0].narHash, (await store.queryClosure(path))[0].narHash)
  })

  it('export detects changed contents', async () => {
    const path = await store.buildPath({ name: 'p', entries: { a: { text: 'hello\n' } } })
    const file = join(store.realPath(path), 'a')
    await chmod(file, 0o644)
    await writeFile(file, 'changed\n')
    await assert.rejects(collect(store.exportPaths([path])), StorePathCorruptError)
  })

  it('export of an invalid path fails', async () => {
    await assert.rejects(collect(store.exportPaths([MISSING])), PathNotValidError)
  })

  it('buildPath needs valid references', async () => {
    const spec = { name: 'p', entries: { a: { text: 'x' } }, references: [MISSING] }
    await assert.rejects(store.buildPath(spec), PathNotValidError)
  })

  it('serialises concurrent profile changes', async () => {
    const build = async (text: string): Promise<string> =>
      await store.buildPath({ name: `p${text}`, entries: { a: { text } } })
    const paths = await Promise.all(['1', '2', '3'].map(build))
    const profile = join(store.storeRoot, 'profiles', 'web')
    const generations = await Promise.all(paths.map(async path => await store.setProfile(profile, path)))
    assert.deepEqual(generations.map(generation => generation.number).sort(), [1, 2, 3])
  })

  it('commits concurrent imports of one path', async () => {
    const path = await store.buildPath({ name: 'p', entries: { 'bin/a': { text: 'x' } } })
    const manifest = await store.queryClosure(path)
    const stream = await collect(store.exportPaths([path]))
    const target = new PlainStore({ storeRoot: await folders.make('target') })
    const imports = [1, 2, 3].map(async () => await target.importVerified(Readable.from([stream]), manifest))
    await Promise.all(imports)
    assert.deepEqual(await target.queryClosure(path), manifest)
  })

  it('leaves no staging folders', async () => {
    await store.buildPath({ name: 'p', entries: { a: { text: 'x' } } })
    assert.deepEqual(await listFolder(join(store.storeRoot, 'tmp')), [])
  })
})

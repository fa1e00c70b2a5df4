import assert from 'node:assert/strict'
import { lstat, readFile, readlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { buildSystemClosure, planPath } from '../../../src/nix/closure-builder.ts'
import { InvalidPathSpecError } from '../../../src/nix/errors.ts'
import { PlainStore } from '../../../src/nix/plain-store.ts'
import type { PathSpec } from '../../../src/nix/types.ts'
import { TempFolders } from './helpers.ts'

describe('closure builder', () => {
  const folders = new TempFolders()

  afterEach(async () => {
    await folders.removeAll()
  })

  describe('planPath', () => {
    it('lists folders parents first', async () => {
      const entries = { 'a/b/c': { text: '' }, 'a/d': { text: '' }, e: { text: '' } }
      const plan = await planPath({ name: 'p', entries })
      assert.deepEqual(plan.directories, ['a', 'a/b'])
    })

    it('marks text executable only on request', async () => {
      const plan = await planPath({ name: 'p', entries: { run: { text: '', executable: true }, data: { text: '' } } })
      assert.deepEqual(plan.entries.map(entry => [entry.path, entry.executable]), [['data', false], ['run', true]])
    })

    it('takes the executable bit of a source file', async () => {
      const file = join(await folders.make('source'), 'tool')
      await writeFile(file, '#!/bin/sh\n', { mode: 0o755 })
      const plan = await planPath({ name: 'p', entries: { tool: { file } } })
      assert.equal(plan.entries[0].executable, true)
    })

    const invalid: Array<[string, PathSpec]> = [
      ['an invalid name', { name: 'a b', entries: { x: { text: '' } } }],
      ['no entries', { name: 'p', entries: {} }],
      ['a dot-dot segment', { name: 'p', entries: { '../x': { text: '' } } }],
      ['an absolute entry', { name: 'p', entries: { '/x': { text: '' } } }],
      ['an empty segment', { name: 'p', entries: { 'a//b': { text: '' } } }],
      ['a space in an entry', { name: 'p', entries: { 'a b': { text: '' } } }],
      ['a file used as folder', { name: 'p', entries: { a: { text: '' }, 'a/b': { text: '' } } }],
      ['a reference outside the store', { name: 'p', entries: { a: { text: '' } }, references: ['/tmp/x'] }],
      ['text with NUL', { name: 'p', entries: { a: { text: 'a\0b' } } }],
      ['an empty symlink', { name: 'p', entries: { a: { symlink: '' } } }],
      ['a relative source file', { name: 'p', entries: { a: { file: 'relative' } } }],
      ['a missing source file', { name: 'p', entries: { a: { file: '/nonexistent/file' } } }]
    ]
    for (const [label, spec] of invalid) {
      it(`rejects ${label}`, async () => {
        await assert.rejects(planPath(spec), InvalidPathSpecError)
      })
    }
  })

  describe('buildSystemClosure', () => {
    it('writes the NixOS entries', async () => {
      const store = new PlainStore({ storeRoot: await folders.make('plain') })
      const system = await buildSystemClosure(store, { hostName: 'web', version: '1' })
      const root = store.realPath(system.path)
      assert.equal(await readlink(join(root, 'kernel')), system.kernel)
      assert.equal(await readlink(join(root, 'initrd')), system.initrd)
      assert.equal((await lstat(join(root, 'activate'))).mode & 0o777, 0o555)
      assert.equal((await lstat(join(root, 'bin', 'switch-to-configuration'))).mode & 0o777, 0o555)
      assert.equal(await readFile(join(root, 'nixos-version'), 'utf8'), '1\n')
    })

    it('uses kernel and initrd files', async () => {
      const input = await folders.make('input')
      await writeFile(join(input, 'bzImage'), Buffer.from([0, 1, 2, 3]))
      await writeFile(join(input, 'initrd'), Buffer.from([4, 5, 6]))
      const store = new PlainStore({ storeRoot: await folders.make('plain') })
      const system = await buildSystemClosure(store, {
        hostName: 'web', version: '1', kernelFile: join(input, 'bzImage'), initrdFile: join(input, 'initrd')
      })
      assert.deepEqual(await readFile(store.storeRoot + system.kernel), Buffer.from([0, 1, 2, 3]))
      assert.deepEqual(await readFile(store.storeRoot + system.initrd), Buffer.from([4, 5, 6]))
    })

    it('refers to its services', async () => {
      const store = new PlainStore({ storeRoot: await folders.make('plain') })
      const service = await store.buildPath({ name: 'svc', entries: { run: { text: 'x' } } })
      const system = await buildSystemClosure(store, { hostName: 'web', version: '1', services: [service] })
      const manifest = await store.queryClosure(system.path)
      assert.ok(manifest.at(-1)?.references.includes(service))
    })
  })
})

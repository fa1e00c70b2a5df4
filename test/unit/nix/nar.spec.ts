import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmod, lstat, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { ByteReader } from '../../../src/nix/byte-reader.ts'
import { MalformedNarError, StreamTimeoutError, StreamTooLargeError } from '../../../src/nix/errors.ts'
import { formatNarHash } from '../../../src/nix/hash.ts'
import { hasNix } from '../../../src/nix/index.ts'
import { discardSink, dumpNar, hashPath, NAR_DEPTH_MAX, parseNar, unpackNar } from '../../../src/nix/nar.ts'
import { encodeNumber, encodeString } from '../../../src/nix/wire.ts'
import { collect, listFolder, TempFolders } from './helpers.ts'

/** Encodes NAR tokens; numbers become u64 values, strings and buffers become strings. */
function nar (...tokens: Array<string | Buffer | number>): Buffer {
  return Buffer.concat(tokens.map(token => typeof token === 'number' ? encodeNumber(token) : encodeString(token)))
}

function regular (contents: string, executable = false): Array<string | number> {
  return ['(', 'type', 'regular', ...(executable ? ['executable', ''] : []), 'contents', contents, ')']
}

function entry (name: string, node: Array<string | number>): Array<string | number> {
  return ['entry', '(', 'name', name, 'node', ...node, ')']
}

/** Tokens that open a regular file node at the root of a NAR. */
const FILE_START = ['nix-archive-1', '(', 'type', 'regular']

function directoryNar (...entries: Array<Array<string | number>>): Buffer {
  return nar('nix-archive-1', '(', 'type', 'directory', ...entries.flat(), ')')
}

async function makeTree (root: string): Promise<string> {
  const tree = join(root, 'tree')
  await mkdir(join(tree, 'bin'), { recursive: true })
  await mkdir(join(tree, 'empty'))
  await writeFile(join(tree, 'bin', 'run'), '#!/bin/sh\necho run\n')
  await chmod(join(tree, 'bin', 'run'), 0o755)
  await writeFile(join(tree, 'data'), Buffer.alloc(70_000, 7))
  await writeFile(join(tree, 'empty-file'), '')
  await writeFile(join(tree, 'Zebra'), 'capital letters sort first\n')
  await writeFile(join(tree, 'naïve'), 'non-ASCII name\n')
  await symlink('bin/run', join(tree, 'link'))
  await symlink('/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt', join(tree, 'store-link'))
  return tree
}

describe('nar', () => {
  const folders = new TempFolders()
  let root: string

  beforeEach(async () => {
    root = await folders.make('nar')
  })

  afterEach(async () => {
    await folders.removeAll()
  })

  describe('dumpNar', () => {
    it('writes a regular file', async () => {
      await writeFile(join(root, 'file'), 'hello\n')
      assert.deepEqual(await collect(dumpNar(join(root, 'file'))), nar('nix-archive-1', ...regular('hello\n')))
    })

    it('marks executables', async () => {
      await writeFile(join(root, 'file'), 'x', { mode: 0o755 })
      assert.deepEqual(await collect(dumpNar(join(root, 'file'))), nar('nix-archive-1', ...regular('x', true)))
    })

    it('writes a symlink without following it', async () => {
      await symlink('/nowhere', join(root, 'link'))
      const expected = nar('nix-archive-1', '(', 'type', 'symlink', 'target', '/nowhere', ')')
      assert.deepEqual(await collect(dumpNar(join(root, 'link'))), expected)
    })

    it('sorts directory entries by bytes', async () => {
      await mkdir(join(root, 'dir'))
      await writeFile(join(root, 'dir', 'b'), '')
      await writeFile(join(root, 'dir', 'B'), '')
      const expected = directoryNar(entry('B', regular('')), entry('b', regular('')))
      assert.deepEqual(await collect(dumpNar(join(root, 'dir'))), expected)
    })

    it('hashPath returns hash and size', async () => {
      await writeFile(join(root, 'file'), 'hello\n')
      const bytes = nar('nix-archive-1', ...regular('hello\n'))
      assert.deepEqual(await hashPath(join(root, 'file')), {
        narHash: formatNarHash(createHash('sha256').update(bytes).digest()),
        narSize: bytes.length
      })
    })
  })

  describe('matches nix-store --dump', () => {
    before(async function () {
      if (!(await hasNix())) {
        // Comparing with Nix's own archive needs the nix-store program.
        this.skip()
      }
    })

    it('for a mixed tree', async () => {
      const tree = await makeTree(root)
      const fromNix = spawnSync('nix-store', ['--dump', tree], { maxBuffer: 1 << 24 })
      assert.equal(fromNix.status, 0, fromNix.stderr.toString())
      assert.deepEqual(await collect(dumpNar(tree)), fromNix.stdout)
    })

    it('for a single file', async () => {
      await writeFile(join(root, 'file'), 'hello\n')
      const fromNix = spawnSync('nix-store', ['--dump', join(root, 'file')])
      assert.deepEqual(await collect(dumpNar(join(root, 'file'))), fromNix.stdout)
    })
  })

  describe('unpackNar', () => {
    it('restores a tree with the same NAR', async () => {
      const tree = await makeTree(root)
      const bytes = await collect(dumpNar(tree))
      await unpackNar(Readable.from([bytes]), join(root, 'copy'))
      assert.deepEqual(await collect(dumpNar(join(root, 'copy'))), bytes)
    })

    it('returns the hash of the bytes read', async () => {
      const tree = await makeTree(root)
      const digest = await unpackNar(dumpNar(tree), join(root, 'copy'))
      assert.deepEqual(digest, await hashPath(tree))
    })

    it('keeps symlink targets', async () => {
      const tree = await makeTree(root)
      await unpackNar(dumpNar(tree), join(root, 'copy'))
      const target = await readlink(join(root, 'copy', 'store-link'))
      assert.equal(target, '/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt')
    })

    it('makes files read-only', async () => {
      const tree = await makeTree(root)
      await unpackNar(dumpNar(tree), join(root, 'copy'))
      assert.equal((await lstat(join(root, 'copy', 'data'))).mode & 0o777, 0o444)
      assert.equal((await lstat(join(root, 'copy', 'bin', 'run'))).mode & 0o777, 0o555)
    })

    it('unpacks a single file', async () => {
      await unpackNar(Readable.from([nar('nix-archive-1', ...regular('hello\n'))]), join(root, 'file'))
      assert.equal(await readFile(join(root, 'file'), 'utf8'), 'hello\n')
    })

    it('stops at the size limit', async () => {
      const bytes = nar('nix-archive-1', ...regular('x'.repeat(100)))
      await assert.rejects(unpackNar(Readable.from([bytes]), join(root, 'file'), { maxBytes: 64 }), StreamTooLargeError)
    })

    it('stops when the source stalls', async () => {
      const stalled = new Readable({ read () {} })
      stalled.push(nar('nix-archive-1'))
      await assert.rejects(unpackNar(stalled, join(root, 'file'), { idleTimeoutMs: 50 }), StreamTimeoutError)
      stalled.destroy()
    })
  })

  describe('parseNar rejects', () => {
    const file = regular('')
    const cases: Array<[string, Buffer]> = [
      ['a wrong magic', nar('nix-archive-2', ...file)],
      ['an unknown type', nar('nix-archive-1', '(', 'type', 'fifo', ')')],
      ['unsorted entries', directoryNar(entry('b', file), entry('a', file))],
      ['a repeated entry', directoryNar(entry('a', file), entry('a', file))],
      ['a dot-dot name', directoryNar(entry('..', file))],
      ['a dot name', directoryNar(entry('.', file))],
      ['a name with a slash', directoryNar(entry('a/b', file))],
      ['an empty name', directoryNar(entry('', file))],
      ['a name with NUL', directoryNar(entry('a\0b', file))],
      ['a long name', directoryNar(entry('a'.repeat(256), file))],
      ['contents before executable', nar(...FILE_START, 'contents', 'x', 'executable', '', ')')],
      ['a non-empty executable mark', nar(...FILE_START, 'executable', 'yes', 'contents', 'x', ')')],
      ['a truncated archive', nar(...FILE_START, 'contents', 'hello').subarray(0, 90)],
      ['non-zero padding', Buffer.concat([nar(...FILE_START, 'contents', 5), Buffer.from('hello\x01\0\0'), nar(')')])],
      ['a huge length', Buffer.concat([nar(...FILE_START, 'contents'), Buffer.alloc(8, 0xff)])]
    ]
    for (const [label, bytes] of cases) {
      it(label, async () => {
        await assert.rejects(parseNar(new ByteReader(Readable.from([bytes])), discardSink), MalformedNarError)
      })
    }

    it('nesting deeper than the limit', async () => {
      const depth = NAR_DEPTH_MAX + 1
      const open = Array.from({ length: depth }, () => ['(', 'type', 'directory', 'entry', '(', 'name', 'd', 'node'])
        .flat()
      const close = Array.from({ length: depth }, () => [')', ')']).flat()
      const bytes = nar('nix-archive-1', ...open, ...regular(''), ...close)
      await assert.rejects(parseNar(new ByteReader(Readable.from([bytes])), discardSink), MalformedNarError)
    })
  })

  describe('unpackNar never escapes', () => {
    it('a symlink followed by an entry below it', async () => {
      const bytes = nar('nix-archive-1', '(', 'type', 'directory',
        ...entry('a', ['(', 'type', 'symlink', 'target', root, ')']),
        ...entry('a/evil', regular('x')), ')')
      await assert.rejects(unpackNar(Readable.from([bytes]), join(root, 'out')), MalformedNarError)
      assert.deepEqual((await listFolder(root)).sort(), ['out'])
    })
  })
})

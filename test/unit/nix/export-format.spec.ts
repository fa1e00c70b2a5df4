import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { ByteReader } from '../../../src/nix/byte-reader.ts'
import { MalformedExportError, MalformedNarError, StreamTooLargeError } from '../../../src/nix/errors.ts'
import { encodeExport, EXPORT_MAGIC, readExport } from '../../../src/nix/export-format.ts'
import type { ExportedPath, ExportItem } from '../../../src/nix/export-format.ts'
import { discardSink } from '../../../src/nix/nar.ts'
import { encodeNumber, encodeString } from '../../../src/nix/wire.ts'
import { collect } from './helpers.ts'

const LEAF = '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf'
const TOP = '/nix/store/ng3lqb2z17nlkp2mxzrkrn93rlg60hxd-demo'
const DERIVER = '/nix/store/iq8kidld3y6yw9wcqyfr13p2jwf26bdq-demo.drv'

function fileNar (contents: string): Buffer {
  const tokens = ['nix-archive-1', '(', 'type', 'regular', 'contents', contents, ')']
  return Buffer.concat(tokens.map(token => encodeString(token)))
}

function items (): ExportItem[] {
  return [
    { path: LEAF, references: [], deriver: null, nar: Readable.from([fileNar('hello\n')]) },
    { path: TOP, references: [LEAF], deriver: DERIVER, nar: Readable.from([fileNar(`${LEAF}\n`)]) }
  ]
}

async function readAll (bytes: Buffer, narMaxBytes = 1 << 20): Promise<ExportedPath[]> {
  const paths: ExportedPath[] = []
  const reader = new ByteReader(Readable.from([bytes]))
  await readExport(reader, { narSink: () => discardSink, narMaxBytes, onPath: path => { paths.push(path) } })
  return paths
}

/** Builds the trailer that follows a NAR: marker, path, references, deriver and signature flag. */
function trailer (path: string, references: string[], deriver: string, signatureFlag = 0): Buffer {
  return Buffer.concat([
    encodeNumber(EXPORT_MAGIC), encodeString(path), encodeNumber(references.length),
    ...references.map(reference => encodeString(reference)), encodeString(deriver), encodeNumber(signatureFlag)
  ])
}

/** Builds one path entry of an export stream: the flag, a NAR of "hello\n" and the given trailer. */
function one (trailerBytes: Buffer): Buffer {
  return Buffer.concat([encodeNumber(1), fileNar('hello\n'), trailerBytes])
}

describe('export format', () => {
  it('round-trips paths', async () => {
    const paths = await readAll(await collect(encodeExport(items())))
    assert.deepEqual(paths.map(path => [path.index, path.path, path.references, path.deriver]), [
      [0, LEAF, [], null],
      [1, TOP, [LEAF], DERIVER]
    ])
  })

  it('hashes each NAR', async () => {
    const [leaf] = await readAll(await collect(encodeExport(items())))
    assert.equal(leaf.narHash, 'sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw')
    assert.equal(leaf.narSize, 120)
  })

  it('reads an empty export', async () => {
    assert.deepEqual(await readAll(encodeNumber(0)), [])
  })

  it('skips a legacy signature', async () => {
    const bytes = Buffer.concat([one(trailer(LEAF, [], '', 1)), encodeString('sig'), encodeNumber(0)])
    assert.equal((await readAll(bytes))[0].path, LEAF)
  })

  it('leaves bytes after the end marker', async () => {
    const bytes = Buffer.concat([encodeNumber(0), Buffer.from('trailing')])
    const reader = new ByteReader(Readable.from([bytes]))
    await readExport(reader, { narSink: () => discardSink, narMaxBytes: 1024, onPath: () => {} })
    assert.equal(reader.position, 8)
  })

  const malformed: Array<[string, Buffer, new (...args: never[]) => Error]> = [
    ['a wrong entry flag', encodeNumber(2), MalformedExportError],
    ['a missing NIXE marker', one(encodeNumber(0x4558494f)), MalformedExportError],
    ['a path outside the store', one(trailer('/tmp/x', [], '')), MalformedExportError],
    ['an invalid reference', one(trailer(LEAF, ['/nix/store/x'], '')), MalformedExportError],
    ['an invalid deriver', one(trailer(LEAF, [], 'demo.drv')), MalformedExportError],
    ['a wrong signature flag', one(trailer(LEAF, [], '', 2)), MalformedExportError],
    ['a missing end marker', one(trailer(LEAF, [], '')), MalformedExportError],
    ['a broken NAR', Buffer.concat([encodeNumber(1), encodeString('nix-archive-0')]), MalformedNarError]
  ]
  for (const [label, bytes, errorClass] of malformed) {
    it(`rejects ${label}`, async () => {
      await assert.rejects(readAll(bytes), errorClass)
    })
  }

  it('rejects a NAR over the size limit', async () => {
    await assert.rejects(readAll(await collect(encodeExport(items())), 100), StreamTooLargeError)
  })
})

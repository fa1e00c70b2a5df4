import { createHash } from 'node:crypto'
import { lstat, mkdir, open, readdir, readlink, symlink } from 'node:fs/promises'
import { ByteReader, EndOfStreamError } from './byte-reader.ts'
import type { ByteReaderInit } from './byte-reader.ts'
import { MalformedNarError } from './errors.ts'
import { writeFully } from './fs-utils.ts'
import { formatNarHash } from './hash.ts'
import { encodeNumber, encodeString, paddingFor, readBytes, readNumber, readPadding, WireFormatError } from './wire.ts'

/**
 * The Nix archive (NAR) format: a deterministic serialisation of a file
 * tree with no timestamps, owners or permissions except the executable bit.
 * Its sha256 is the NAR hash that Nix records for every store path.
 */

/** Maximum length of a file name in a NAR, in bytes (Linux NAME_MAX). */
export const NAR_NAME_MAX_BYTES = 255
/** Maximum length of a symlink target in a NAR, in bytes (Linux PATH_MAX). */
export const NAR_SYMLINK_TARGET_MAX_BYTES = 4096
/** Maximum directory depth that the reader accepts. */
export const NAR_DEPTH_MAX = 256

const NAR_MAGIC = 'nix-archive-1'
const TOKEN_MAX_BYTES = 64
const READ_CHUNK_BYTES = 64 * 1024
const SLASH = Buffer.from('/')

/** Receiver of the nodes of a NAR while it is parsed. Paths are relative, and the root is empty. */
export interface NarSink {
  directory: (path: Buffer) => Promise<void>
  /** Must consume `contents` to its end before it resolves. */
  file: (path: Buffer, executable: boolean, size: number, contents: AsyncIterable<Buffer>) => Promise<void>
  symlink: (path: Buffer, target: Buffer) => Promise<void>
}

export interface NarDigest {
  /** `sha256:<base32>`, as `nix-store --query --hash` prints it. */
  narHash: string
  narSize: number
}

/** Serialises the file tree at `fsPath` as a NAR, streaming file contents in chunks. */
export async function * dumpNar (fsPath: string): AsyncGenerator<Buffer> {
  yield encodeString(NAR_MAGIC)
  yield * dumpNode(Buffer.from(fsPath))
}

/** Computes the NAR hash and size of the file tree at `fsPath`. */
export async function hashPath (fsPath: string): Promise<NarDigest> {
  const hash = createHash('sha256')
  let narSize = 0
  for await (const chunk of dumpNar(fsPath)) {
    hash.update(chunk)
    narSize += chunk.length
  }
  return { narHash: formatNarHash(hash.digest()), narSize }
}

/**
 * Parses one NAR from `reader` and passes its nodes to `sink`. Names must
 * be sorted, unique and free of `/` and NUL, as Nix requires; the reader's
 * limit bounds the total size.
 */
export async function parseNar (reader: ByteReader, sink: NarSink): Promise<void> {
  try {
    await expectToken(reader, NAR_MAGIC)
    await parseNode(reader, sink, Buffer.alloc(0), 0)
  } catch (error) {
    throw asMalformedNar(error, reader)
  }
}

/** Unpacks a NAR into `destination`, which must not exist, and returns its hash and size. */
export async function unpackNar (
  source: AsyncIterable<Uint8Array>,
  destination: string,
  init: ByteReaderInit & { maxBytes?: number } = {}
): Promise<NarDigest> {
  const reader = new ByteReader(source, init)
  reader.limit = init.maxBytes ?? Number.POSITIVE_INFINITY
  reader.limitLabel = 'NAR'
  const hash = createHash('sha256')
  reader.onConsume = bytes => { hash.update(bytes) }
  await parseNar(reader, unpackSink(destination))
  return { narHash: formatNarHash(hash.digest()), narSize: reader.position }
}

/** Returns a sink that writes the tree at `destination`, with files 0444 and executables 0555. */
export function unpackSink (destination: string): NarSink {
  const root = Buffer.from(destination)
  const resolve = (path: Buffer): Buffer => path.length === 0 ? root : Buffer.concat([root, SLASH, path])
  return {
    directory: async path => { await mkdir(resolve(path), { mode: 0o755 }) },
    symlink: async (path, target) => { await symlink(target, resolve(path)) },
    file: async (path, executable, size, contents) => {
      const handle = await open(resolve(path), 'wx', executable ? 0o555 : 0o444)
      try {
        for await (const chunk of contents) {
          await writeFully(handle, chunk)
        }
      } finally {
        await handle.close()
      }
    }
  }
}

/** A sink that checks the structure and drops the contents, for hashing a NAR in transit. */
export const discardSink: NarSink = {
  directory: async () => {},
  symlink: async () => {},
  file: async (path, executable, size, contents) => {
    const iterator = contents[Symbol.asyncIterator]()
    let result = await iterator.next()
    while (result.done !== true) {
      result = await iterator.next()
    }
  }
}

async function * dumpNode (path: Buffer): AsyncGenerator<Buffer> {
  const stat = await lstat(path)
  if (stat.isSymbolicLink()) {
    yield encodeTokens('(', 'type', 'symlink', 'target', await readlink(path, { encoding: 'buffer' }), ')')
  } else if (stat.isFile()) {
    const executable = (stat.mode & 0o100) !== 0
    yield encodeTokens('(', 'type', 'regular', ...(executable ? ['executable', ''] : []), 'contents')
    yield encodeNumber(stat.size)
    yield * dumpContents(path, stat.size)
    yield Buffer.concat([paddingFor(stat.size), encodeString(')')])
  } else if (stat.isDirectory()) {
    yield encodeTokens('(', 'type', 'directory')
    const names = await readdir(path, { encoding: 'buffer' })
    names.sort(Buffer.compare)
    for (const name of names) {
      yield encodeTokens('entry', '(', 'name', name, 'node')
      yield * dumpNode(Buffer.concat([path, SLASH, name]))
      yield encodeString(')')
    }
    yield encodeString(')')
  } else {
    throw new MalformedNarError(
      `cannot archive ${path.toString()}: a NAR contains only regular files, directories and symlinks`
    )
  }
}

function encodeTokens (...tokens: Array<string | Buffer>): Buffer {
  return Buffer.concat(tokens.map(token => encodeString(token)))
}

async function * dumpContents (path: Buffer, size: number): AsyncGenerator<Buffer> {
  const handle = await open(path, 'r')
  try {
    let offset = 0
    while (offset < size) {
      const buffer = Buffer.alloc(Math.min(READ_CHUNK_BYTES, size - offset))
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset)
      if (bytesRead === 0) {
        throw new MalformedNarError(`${path.toString()} shrank while it was archived`)
      }
      offset += bytesRead
      yield buffer.subarray(0, bytesRead)
    }
  } finally {
    await handle.close()
  }
}

async function parseNode (reader: ByteReader, sink: NarSink, path: Buffer, depth: number): Promise<void> {
  if (depth > NAR_DEPTH_MAX) {
    throw new MalformedNarError(`NAR nests directories deeper than ${NAR_DEPTH_MAX} levels`)
  }
  await expectToken(reader, '(')
  await expectToken(reader, 'type')
  const type = await readToken(reader)
  switch (type) {
    case 'regular':
      await parseRegular(reader, sink, path)
      break
    case 'symlink':
      await expectToken(reader, 'target')
      await sink.symlink(path, await readBytes(reader, NAR_SYMLINK_TARGET_MAX_BYTES))
      await expectToken(reader, ')')
      break
    case 'directory':
      await sink.directory(path)
      await parseEntries(reader, sink, path, depth)
      break
    default:
      throw new MalformedNarError(`NAR node has unknown type "${type}"`)
  }
}

async function parseRegular (reader: ByteReader, sink: NarSink, path: Buffer): Promise<void> {
  let token = await readToken(reader)
  const executable = token === 'executable'
  if (executable) {
    await expectToken(reader, '')
    token = await readToken(reader)
  }
  if (token !== 'contents') {
    throw new MalformedNarError(`NAR regular file has "${token}" where "contents" belongs`)
  }
  const size = await readNumber(reader)
  const end = reader.position + size
  await sink.file(path, executable, size, reader.readStream(size))
  if (reader.position !== end) {
    throw new Error('NAR sink returned before it consumed the file contents')
  }
  await readPadding(reader, size)
  await expectToken(reader, ')')
}

async function parseEntries (reader: ByteReader, sink: NarSink, path: Buffer, depth: number): Promise<void> {
  let previous: Buffer | null = null
  for (;;) {
    const token = await readToken(reader)
    if (token === ')') {
      return
    }
    if (token !== 'entry') {
      throw new MalformedNarError(`NAR directory has "${token}" where "entry" or ")" belongs`)
    }
    await expectToken(reader, '(')
    await expectToken(reader, 'name')
    const name = await readBytes(reader, NAR_NAME_MAX_BYTES)
    checkEntryName(name, previous)
    previous = name
    await expectToken(reader, 'node')
    const child = path.length === 0 ? name : Buffer.concat([path, SLASH, name])
    await parseNode(reader, sink, child, depth + 1)
    await expectToken(reader, ')')
  }
}

function checkEntryName (name: Buffer, previous: Buffer | null): void {
  const text = name.toString()
  if (name.length === 0 || text === '.' || text === '..' || name.includes(0x2f) || name.includes(0)) {
    throw new MalformedNarError(`NAR contains the invalid file name ${JSON.stringify(text)}`)
  }
  if (previous !== null && Buffer.compare(previous, name) >= 0) {
    const order = `${JSON.stringify(text)} follows ${JSON.stringify(previous.toString())}`
    throw new MalformedNarError(`NAR directory is not sorted: ${order}`)
  }
}

async function readToken (reader: ByteReader): Promise<string> {
  return (await readBytes(reader, TOKEN_MAX_BYTES)).toString('latin1')
}

async function expectToken (reader: ByteReader, expected: string): Promise<void> {
  const token = await readToken(reader)
  if (token !== expected) {
    throw new MalformedNarError(`NAR has "${token}" where "${expected}" belongs (before byte ${reader.position})`)
  }
}

function asMalformedNar (error: unknown, reader: ByteReader): unknown {
  if (error instanceof WireFormatError) {
    return new MalformedNarError(`invalid NAR: ${error.message}`)
  }
  if (error instanceof EndOfStreamError) {
    return new MalformedNarError(`NAR ends early at byte ${reader.position}`)
  }
  return error
}

import { createHash } from 'node:crypto'
import { EndOfStreamError } from './byte-reader.ts'
import type { ByteReader } from './byte-reader.ts'
import { MalformedExportError, StreamTooLargeError } from './errors.ts'
import { formatNarHash } from './hash.ts'
import { MANIFEST_MAX_ENTRIES } from './manifest.ts'
import { parseNar } from './nar.ts'
import type { NarDigest, NarSink } from './nar.ts'
import { isStorePath } from './store-path.ts'
import { encodeNumber, encodeString, readNumber, readString, WireFormatError } from './wire.ts'

/**
 * The `nix-store --export` stream (Nix 2.8 `Store::exportPaths`). Each path
 * is the number 1, the NAR, the number 0x4558494e ("NIXE" read as a
 * little-endian u32), the store path, the references as a count and
 * strings, the deriver (empty when unknown) and a signature flag. Nix 2.8
 * writes the flag 0. A legacy flag 1 is followed by a signature string,
 * which this reader skips. The number 0 ends the stream.
 */

export const EXPORT_MAGIC = 0x4558494e

const STORE_PATH_MAX_BYTES = 512
const LEGACY_SIGNATURE_MAX_BYTES = 4096

/** One path to write into an export stream. */
export interface ExportItem {
  path: string
  references: readonly string[]
  deriver: string | null
  nar: AsyncIterable<Buffer>
}

/** One path read from an export stream, with the hash of the NAR bytes that preceded it. */
export interface ExportedPath {
  index: number
  path: string
  references: string[]
  deriver: string | null
  narHash: string
  narSize: number
}

export interface ExportReadHandlers {
  /** Returns where the NAR of the `index`-th path goes. Its store path follows the NAR, so it is not known yet. */
  narSink: (index: number) => NarSink
  /** Receives each path after its NAR. An error raised here stops the read. */
  onPath: (path: ExportedPath) => void | Promise<void>
  /** Maximum size of one NAR, in bytes. */
  narMaxBytes: number
}

/** Encodes paths, dependencies first, as an export stream. */
export async function * encodeExport (items: AsyncIterable<ExportItem> | Iterable<ExportItem>): AsyncGenerator<Buffer> {
  for await (const item of items) {
    yield encodeNumber(1)
    yield * item.nar
    yield Buffer.concat([
      encodeNumber(EXPORT_MAGIC),
      encodeString(item.path),
      encodeNumber(item.references.length),
      ...item.references.map(reference => encodeString(reference)),
      encodeString(item.deriver ?? ''),
      encodeNumber(0)
    ])
  }
  yield encodeNumber(0)
}

/**
 * Reads an export stream up to its end marker, hashing each NAR while it
 * streams into the handler's sink. Returns the number of paths read. Bytes
 * after the end marker are left unread.
 */
export async function readExport (reader: ByteReader, handlers: ExportReadHandlers): Promise<number> {
  try {
    let index = 0
    while (await readEntryFlag(reader)) {
      const { narHash, narSize } = await readNar(reader, handlers.narSink(index), handlers.narMaxBytes)
      const trailer = await readTrailer(reader)
      await handlers.onPath({ index, ...trailer, narHash, narSize })
      index++
    }
    return index
  } catch (error) {
    throw asMalformedExport(error, reader)
  }
}

async function readEntryFlag (reader: ByteReader): Promise<boolean> {
  const flag = await readNumber(reader)
  if (flag !== 0 && flag !== 1) {
    throw new MalformedExportError(`export stream has ${flag} at byte ${reader.position - 8} where 0 or 1 belongs`)
  }
  return flag === 1
}

async function readNar (reader: ByteReader, sink: NarSink, narMaxBytes: number): Promise<NarDigest> {
  const start = reader.position
  const outerLimit = reader.limit
  const hash = createHash('sha256')
  const narLimit = start + narMaxBytes
  reader.limit = Math.min(outerLimit, narLimit)
  reader.onConsume = bytes => { hash.update(bytes) }
  try {
    await parseNar(reader, sink)
  } catch (error) {
    if (error instanceof StreamTooLargeError && reader.limit === narLimit) {
      throw new StreamTooLargeError(
        `a NAR in the export stream is larger than every NAR in the manifest (at most ${narMaxBytes} bytes)`,
        narMaxBytes
      )
    }
    throw error
  } finally {
    reader.onConsume = undefined
    reader.limit = outerLimit
  }
  return { narHash: formatNarHash(hash.digest()), narSize: reader.position - start }
}

async function readTrailer (reader: ByteReader): Promise<Pick<ExportedPath, 'path' | 'references' | 'deriver'>> {
  const magic = await readNumber(reader)
  if (magic !== EXPORT_MAGIC) {
    throw new MalformedExportError(`export stream lacks the NIXE marker after a NAR (byte ${reader.position - 8})`)
  }
  const path = await readStorePath(reader, 'path')
  const count = await readNumber(reader)
  if (count > MANIFEST_MAX_ENTRIES) {
    throw new MalformedExportError(`${path} claims ${count} references, more than the limit of ${MANIFEST_MAX_ENTRIES}`)
  }
  const references: string[] = []
  for (let i = 0; i < count; i++) {
    references.push(await readStorePath(reader, `reference of ${path}`))
  }
  const deriverText = await readString(reader, STORE_PATH_MAX_BYTES)
  if (deriverText !== '' && !isStorePath(deriverText)) {
    throw new MalformedExportError(`deriver of ${path} is not a store path: ${JSON.stringify(deriverText)}`)
  }
  await skipLegacySignature(reader)
  return { path, references, deriver: deriverText === '' ? null : deriverText }
}

async function readStorePath (reader: ByteReader, role: string): Promise<string> {
  const text = await readString(reader, STORE_PATH_MAX_BYTES)
  if (!isStorePath(text)) {
    throw new MalformedExportError(`export stream ${role} is not a store path: ${JSON.stringify(text)}`)
  }
  return text
}

async function skipLegacySignature (reader: ByteReader): Promise<void> {
  const flag = await readNumber(reader)
  if (flag === 1) {
    await readString(reader, LEGACY_SIGNATURE_MAX_BYTES)
  } else if (flag !== 0) {
    throw new MalformedExportError(`export stream has signature flag ${flag}, expected 0 or 1`)
  }
}

function asMalformedExport (error: unknown, reader: ByteReader): unknown {
  if (error instanceof WireFormatError) {
    return new MalformedExportError(`invalid export stream: ${error.message}`)
  }
  if (error instanceof EndOfStreamError) {
    return new MalformedExportError(`export stream ends early at byte ${reader.position}`)
  }
  return error
}

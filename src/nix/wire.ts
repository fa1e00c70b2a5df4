import type { ByteReader } from './byte-reader.ts'

/**
 * Nix's serialisation primitives, shared by NARs and export streams: a
 * number is a little-endian u64, and a string is its length as a number,
 * its bytes, then zero bytes up to a multiple of 8.
 */

const WORD_BYTES = 8
const ZERO_PADDING = Buffer.alloc(WORD_BYTES)

/** Raised by the readers below on input that breaks the framing. */
export class WireFormatError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'WireFormatError'
  }
}

/** Encodes a number as a little-endian u64. */
export function encodeNumber (value: number): Buffer {
  const bytes = Buffer.alloc(WORD_BYTES)
  bytes.writeBigUInt64LE(BigInt(value))
  return bytes
}

/** Encodes a string or bytes with length prefix and zero padding. */
export function encodeString (value: string | Uint8Array): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Buffer.from(value)
  return Buffer.concat([encodeNumber(bytes.length), bytes, paddingFor(bytes.length)])
}

/** Returns the zero bytes that follow `length` bytes of content. */
export function paddingFor (length: number): Buffer {
  const remainder = length % WORD_BYTES
  return remainder === 0 ? Buffer.alloc(0) : ZERO_PADDING.subarray(0, WORD_BYTES - remainder)
}

/** Reads a u64 that must fit in a JavaScript safe integer. */
export async function readNumber (reader: ByteReader): Promise<number> {
  const value = (await reader.readExact(WORD_BYTES)).readBigUInt64LE()
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new WireFormatError(`number ${value} at byte ${reader.position - WORD_BYTES} is too large`)
  }
  return Number(value)
}

/** Reads a string of at most `maxBytes` bytes and checks its padding. */
export async function readBytes (reader: ByteReader, maxBytes: number): Promise<Buffer> {
  const length = await readNumber(reader)
  if (length > maxBytes) {
    throw new WireFormatError(`string of ${length} bytes at byte ${reader.position} exceeds the limit of ${maxBytes}`)
  }
  const bytes = await reader.readExact(length)
  await readPadding(reader, length)
  return bytes
}

/** Reads a UTF-8 string of at most `maxBytes` bytes. */
export async function readString (reader: ByteReader, maxBytes: number): Promise<string> {
  return decodeUtf8(await readBytes(reader, maxBytes))
}

/** Reads and checks the zero padding after `length` bytes of content. */
export async function readPadding (reader: ByteReader, length: number): Promise<void> {
  const padding = paddingFor(length).length
  if (padding === 0) {
    return
  }
  const bytes = await reader.readExact(padding)
  if (bytes.some(byte => byte !== 0)) {
    throw new WireFormatError(`non-zero padding before byte ${reader.position}`)
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** Decodes UTF-8, raising WireFormatError on invalid bytes. */
export function decodeUtf8 (bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes)
  } catch {
    throw new WireFormatError('string is not valid UTF-8')
  }
}

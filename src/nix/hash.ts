import { createHash } from 'node:crypto'
import { InvalidManifestError } from './errors.ts'

/** Nix's base-32 alphabet: digits and lower-case letters without e, o, u and t. */
const NIX_BASE32_ALPHABET = '0123456789abcdfghijklmnpqrsvwxyz'
const SHA256_BYTES = 32
const SHA256_BASE32_CHARS = 52
const SHA256_HEX_CHARS = 64
const SHA256_BASE64_CHARS = 44

/**
 * Encodes bytes in Nix's base-32, which reads the bytes from the last one
 * backwards, 5 bits at a time (libutil `printHash32`).
 */
export function toNixBase32 (bytes: Uint8Array): string {
  const length = Math.floor((bytes.length * 8 - 1) / 5) + 1
  let text = ''
  for (let n = length - 1; n >= 0; n--) {
    const bit = n * 5
    const index = Math.floor(bit / 8)
    const shift = bit % 8
    const high = index + 1 < bytes.length ? bytes[index + 1] << (8 - shift) : 0
    text += NIX_BASE32_ALPHABET[((bytes[index] >> shift) | high) & 0x1f]
  }
  return text
}

/** Decodes Nix's base-32 into `byteLength` bytes, or returns null when it is not valid. */
export function fromNixBase32 (text: string, byteLength: number): Uint8Array | null {
  if (text.length !== Math.floor((byteLength * 8 - 1) / 5) + 1) {
    return null
  }
  const bytes = new Uint8Array(byteLength)
  for (let n = 0; n < text.length; n++) {
    const digit = NIX_BASE32_ALPHABET.indexOf(text[text.length - n - 1])
    if (digit < 0) {
      return null
    }
    const bit = n * 5
    const index = Math.floor(bit / 8)
    const shift = bit % 8
    bytes[index] |= (digit << shift) & 0xff
    const carry = digit >> (8 - shift)
    if (index + 1 < byteLength) {
      bytes[index + 1] |= carry
    } else if (carry !== 0) {
      return null
    }
  }
  return bytes
}

/** Formats a sha256 digest the way `nix-store --query --hash` prints it: `sha256:<base32>`. */
export function formatNarHash (digest: Uint8Array): string {
  return `sha256:${toNixBase32(digest)}`
}

/**
 * Parses a sha256 NAR hash in any form Nix prints: `sha256:<base32>`,
 * `sha256:<hex>`, `sha256:<base64>` or SRI `sha256-<base64>`. Returns the
 * digest, or null when the text is none of these.
 */
export function parseNarHash (text: string): Uint8Array | null {
  let body: string
  if (text.startsWith('sha256:')) {
    body = text.slice('sha256:'.length)
  } else if (text.startsWith('sha256-')) {
    body = text.slice('sha256-'.length)
    return body.length === SHA256_BASE64_CHARS ? decodeBase64(body) : null
  } else {
    return null
  }
  switch (body.length) {
    case SHA256_BASE32_CHARS:
      return fromNixBase32(body, SHA256_BYTES)
    case SHA256_HEX_CHARS:
      return /^[0-9a-f]+$/.test(body) ? Uint8Array.from(Buffer.from(body, 'hex')) : null
    case SHA256_BASE64_CHARS:
      return decodeBase64(body)
    default:
      return null
  }
}

/** Rewrites a NAR hash in any accepted form as `sha256:<base32>`, or raises on invalid text. */
export function normaliseNarHash (text: string): string {
  const digest = parseNarHash(text)
  if (digest === null) {
    throw new InvalidManifestError(
      `invalid NAR hash "${text}": expected sha256:<base32>, sha256:<hex> or sha256-<base64>`
    )
  }
  return formatNarHash(digest)
}

/** Returns the sha256 digest of a string or bytes. */
export function sha256 (data: string | Uint8Array): Uint8Array {
  return Uint8Array.from(createHash('sha256').update(data).digest())
}

function decodeBase64 (text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    return null
  }
  const bytes = Buffer.from(text, 'base64')
  return bytes.length === SHA256_BYTES ? Uint8Array.from(bytes) : null
}

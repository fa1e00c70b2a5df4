import canonicalize from 'canonicalize'
import { createHash } from 'node:crypto'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'

const encoder = new TextEncoder()

/** Version tag inside every signing prefix; a new wire format gets a new tag. */
export const SIGNING_DOMAIN = 'sower/v1'

/**
 * Returns the RFC 8785 (JCS) form of a JSON value. Throws for values JSON
 * cannot carry (undefined at the top, non-finite numbers) and for strings
 * with a lone surrogate, which RFC 8785 rejects because I-JSON forbids them.
 */
export function canonicalJson (value: unknown): string {
  assertWellFormed(value)
  const text = canonicalize(value)
  if (text == null) {
    throw new TypeError('value has no JSON form')
  }
  return text
}

function assertWellFormed (value: unknown): void {
  if (typeof value === 'string') {
    if (!value.isWellFormed()) {
      throw new TypeError(`string ${JSON.stringify(value.slice(0, 40))} contains a lone surrogate`)
    }
  } else if (Array.isArray(value)) {
    value.forEach(assertWellFormed)
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, child] of Object.entries(value)) {
      assertWellFormed(key)
      assertWellFormed(child)
    }
  }
}

/** The bytes a signature covers: `sower/v1/<type>\n` followed by JCS(body). */
export function signingBytes (type: string, body: unknown): Uint8Array {
  return encoder.encode(`${SIGNING_DOMAIN}/${type}\n${canonicalJson(body)}`)
}

export function sha256 (data: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest())
}

/** Lower-case RFC 4648 base32 without padding: 52 characters for a sha256. */
export function base32 (data: Uint8Array): string {
  return uint8ArrayToString(data, 'base32')
}

export function toBase64Url (data: Uint8Array): string {
  return uint8ArrayToString(data, 'base64url')
}

export function fromBase64Url (text: string): Uint8Array {
  return uint8ArrayFromString(text, 'base64url')
}

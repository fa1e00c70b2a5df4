import assert from 'node:assert/strict'
import { createHash, createPublicKey, verify } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildVectors, loadFixtureKeys, VECTORS_FILE } from '../../../scripts/make-test-vectors.ts'
import type { Vectors } from '../../../scripts/make-test-vectors.ts'
import { ID_PREFIXES, decodeRecord, deploymentId, signRecord, signingBytes, verifyRecord } from '../../../src/records/index.ts'
import { walkRootChain } from '../../../src/trust/index.ts'

const vectors: Vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../..', VECTORS_FILE), 'utf8'))
const keys = loadFixtureKeys()
const encoder = new TextEncoder()
const ED25519_SPKI_PREFIX_HEX = '302a300506032b6570032100'

describe('signed test vectors', () => {
  it('match the generating script', () => {
    assert.deepEqual(JSON.parse(JSON.stringify(buildVectors(keys))), vectors)
  })

  it('cover every record type', () => {
    const types = new Set(vectors.records.map(vector => vector.type))
    assert.deepEqual([...types].sort(), Object.keys(ID_PREFIXES).sort())
  })

  for (const vector of vectors.keys) {
    it(`key ${vector.name} has its id`, () => {
      assert.equal(keys[vector.name].id, vector.id)
      assert.equal(Buffer.from(keys[vector.name].publicKey).toString('hex'), vector.publicKeyHex)
    })
  }

  for (const vector of vectors.records) {
    describe(vector.name, () => {
      it('signing bytes', () => {
        const bytes = signingBytes(vector.type, vector.body)
        assert.equal(new TextDecoder().decode(bytes), vector.signingText)
        assert.equal(Buffer.from(bytes).toString('hex'), vector.signingHex)
        assert.equal(vector.signingText.split('\n')[0], `${vectors.signingDomain}/${vector.type}`)
      })

      it('signatures', () => {
        const record = signRecord(vector.type, vector.body as any, vector.signers.map(name => keys[name]))
        assert.deepEqual(record.signatures, vector.signatures)
      })

      it('signatures verify with the raw public keys', () => {
        for (const { key, sig } of vector.signatures) {
          const publicKeyHex = vectors.keys.find(candidate => candidate.id === key)?.publicKeyHex
          assert.ok(publicKeyHex != null, `unknown signer ${key}`)
          const publicKey = createPublicKey({ key: Buffer.from(ED25519_SPKI_PREFIX_HEX + publicKeyHex, 'hex'), format: 'der', type: 'spki' })
          assert.equal(verify(null, Buffer.from(vector.signingHex, 'hex'), publicKey, Buffer.from(sig, 'base64url')), true)
        }
      })

      it('envelope and id', () => {
        const record = signRecord(vector.type, vector.body as any, vector.signers.map(name => keys[name]))
        assert.equal(new TextDecoder().decode(record.bytes), vector.envelope)
        assert.equal(record.id, vector.id)
        // A root's id covers its signing bytes, so copies with other signatures share it.
        const hashed = vector.type === 'root' ? Buffer.from(vector.signingHex, 'hex') : Buffer.from(vector.envelope, 'utf8')
        const digest = createHash('sha256').update(hashed).digest()
        assert.equal(vector.id, `${ID_PREFIXES[vector.type]}_${rfc4648Base32(digest)}`)
      })

      it('decodes and verifies', () => {
        const decoded = decodeRecord(encoder.encode(vector.envelope))
        assert.ok(decoded.ok, decoded.ok ? '' : decoded.error.message)
        assert.equal(decoded.record.id, vector.id)
        const verified = verifyRecord(decoded.record)
        assert.ok(verified.ok, verified.ok ? '' : verified.reason)
        assert.deepEqual([...verified.signers].sort(), vector.signers.map(name => keys[name].id).sort())
      })

      if (vector.bodyText != null) {
        it('canonicalizes its body text', () => {
          const bytes = signingBytes(vector.type, JSON.parse(vector.bodyText as string))
          assert.equal(Buffer.from(bytes).toString('hex'), vector.signingHex)
        })
      }
    })
  }

  it('deployment ids', () => {
    for (const vector of vectors.deploymentIds) {
      assert.equal(deploymentId(vector.intent, vector.seed, vector.garden), vector.id)
    }
  })

  it('root versions form a chain', () => {
    const roots = vectors.records
      .filter(vector => vector.type === 'root')
      .map(vector => decodeRecord(encoder.encode(vector.envelope)))
      .map(decoded => decoded.ok ? decoded.record as any : assert.fail('root vector does not decode'))
    const newest = walkRootChain(roots[0], roots.slice(1), Date.parse('2026-06-01T00:00:00.000Z'))
    assert.equal(newest.body.version, 2)
  })
})

/** RFC 4648 base32, lower case, no padding, written out here to check ids independently. */
function rfc4648Base32 (bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = 0
  let value = 0
  let text = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      text += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) {
    text += alphabet[(value << (5 - bits)) & 31]
  }
  return text
}

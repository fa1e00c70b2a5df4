import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import {
  addSignatures, decodeRecord, fromBase64Url, parseRecord, signRecord, toBase64Url, verifyRecord
} from '../../../src/records/index.ts'
import type { Envelope, SignedRecord } from '../../../src/records/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'

/** Order of the ed25519 group, little-endian when added to a signature's S half. */
const ED25519_ORDER = 2n ** 252n + 27742317777372353535851937790883648493n

function certificateRecord (): SignedRecord<'certificate'> {
  return createTestFleet({ members: 1 }).members[0].certificate
}

function rootRecord (keys = [generateKey(), generateKey()]): SignedRecord<'root'> {
  const admins = keys.map((key, index) => ({ name: `admin-${index + 1}`, key: key.id, scopes: [{ name: 'root' as const }] }))
  const body = {
    fleet: 'test-fleet',
    version: 1,
    prev: null,
    issuedAt: '2026-01-01T00:00:00.000Z',
    expiresAt: '2027-01-01T00:00:00.000Z',
    threshold: keys.length,
    admins
  }
  return signRecord('root', body, keys)
}

function reason (result: ReturnType<typeof verifyRecord>): string {
  return result.ok ? '' : result.reason
}

describe('signed records', () => {
  it('verify', () => {
    assert.equal(verifyRecord(certificateRecord()).ok, true)
  })

  it('have a typed content id', () => {
    assert.match(certificateRecord().id, /^cert_[a-z2-7]{52}$/)
  })

  it('expose their feed position', () => {
    const record = certificateRecord()
    assert.equal(record.author, record.body.author)
    assert.equal(record.seq, record.body.seq)
    assert.equal(record.prev, record.body.prev)
  })

  it('put roots in the root feed by version', () => {
    const record = rootRecord()
    assert.equal(record.author, 'root')
    assert.equal(record.seq, 1)
    assert.equal(record.prev, null)
  })

  it('sort signatures by key', () => {
    const record = rootRecord()
    const keys = record.signatures.map(signature => signature.key)
    assert.deepEqual(keys, [...keys].sort())
  })

  it('get one id whatever the signature order', () => {
    const record = rootRecord()
    const reversed = parseRecord({ type: record.type, body: record.body, signatures: [...record.signatures].reverse() })
    assert.ok(reversed.ok)
    assert.equal(reversed.record.id, record.id)
  })

  it('decode from their own bytes', () => {
    const record = certificateRecord()
    const decoded = decodeRecord(record.bytes)
    assert.ok(decoded.ok)
    assert.equal(decoded.record.id, record.id)
    assert.deepEqual(decoded.record.bytes, record.bytes)
  })

  it('decode from non-canonical JSON', () => {
    const record = certificateRecord()
    const text = JSON.stringify({ signatures: record.signatures, body: record.body, type: record.type }, null, 2)
    const decoded = decodeRecord(new TextEncoder().encode(text))
    assert.ok(decoded.ok)
    assert.equal(decoded.record.id, record.id)
  })

  it('add signatures to a root', () => {
    const [first, second] = [generateKey(), generateKey()]
    const partial = rootRecord([first, second])
    const once = signRecord('root', partial.body, [first])
    const both = addSignatures(once, [second])
    assert.equal(both.id, partial.id)
    assert.equal(verifyRecord(both).ok, true)
  })

  it('add a key only once', () => {
    const key = generateKey()
    const record = rootRecord([key])
    assert.equal(addSignatures(record, [key]).signatures.length, 1)
  })
})

describe('tampered records', () => {
  const bodyChanges: Array<[string, (body: any) => void]> = [
    ['a changed name', body => { body.name = 'other-garden' }],
    ['a changed expiry', body => { body.expiresAt = '2099-01-01T00:00:00.000Z' }],
    ['changed tags', body => { body.tags = ['prod'] }],
    ['changed roles', body => { body.roles = ['admin'] }],
    ['a changed seq', body => { body.seq += 1 }],
    ['an added field', body => { body.note = 'x' }]
  ]

  for (const [what, change] of bodyChanges) {
    it(`rejects ${what}`, () => {
      const record = certificateRecord()
      const body = structuredClone(record.body)
      change(body)
      const result = verifyRecord({ type: record.type, body, signatures: record.signatures })
      assert.equal(result.ok, false)
      assert.match(reason(result), /does not verify/)
    })
  }

  it('rejects a changed type', () => {
    const record = certificateRecord()
    const asRevocation = { type: 'revocation', body: record.body, signatures: record.signatures } as unknown as Envelope
    const result = verifyRecord(asRevocation)
    assert.equal(result.ok, false)
    assert.match(reason(result), /does not verify/)
  })

  it('rejects a flipped signature bit', () => {
    const record = certificateRecord()
    const signature = fromBase64Url(record.signatures[0].sig)
    signature[10] ^= 0x01
    const result = verifyRecord({ ...record, signatures: [{ key: record.signatures[0].key, sig: toBase64Url(signature) }] })
    assert.equal(result.ok, false)
  })

  it('rejects a signature with S plus the group order', () => {
    const record = certificateRecord()
    const signature = fromBase64Url(record.signatures[0].sig)
    const s = littleEndianToBigInt(signature.subarray(32)) + ED25519_ORDER
    signature.set(bigIntToLittleEndian(s, 32), 32)
    const result = verifyRecord({ ...record, signatures: [{ key: record.signatures[0].key, sig: toBase64Url(signature) }] })
    assert.equal(result.ok, false)
  })

  it('rejects non-zero base64url padding bits', () => {
    const record = certificateRecord()
    const { key, sig } = record.signatures[0]
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    const last = alphabet[alphabet.indexOf(sig.at(-1) as string) ^ 1]
    const result = verifyRecord({ ...record, signatures: [{ key, sig: sig.slice(0, -1) + last }] })
    assert.equal(result.ok, false)
    assert.match(reason(result), /not base64url/)
  })

  it('rejects a signature by another key', () => {
    const record = certificateRecord()
    const forged = signRecord('certificate', record.body, [generateKey()])
    const result = verifyRecord(forged)
    assert.equal(result.ok, false)
    assert.match(reason(result), /must be signed by its author/)
  })

  it('rejects an extra signature', () => {
    const record = certificateRecord()
    const extra = signRecord('certificate', record.body, [generateKey()])
    const result = verifyRecord({ ...record, signatures: [...record.signatures, ...extra.signatures] })
    assert.equal(result.ok, false)
    assert.match(reason(result), /alone/)
  })

  it('rejects a duplicated author signature', () => {
    const record = certificateRecord()
    const result = verifyRecord({ ...record, signatures: [...record.signatures, ...record.signatures] })
    assert.equal(result.ok, false)
    assert.match(reason(result), /alone/)
  })

  it('does not decode a duplicated signature', () => {
    const record = certificateRecord()
    const decoded = parseRecord({ type: record.type, body: record.body, signatures: [...record.signatures, ...record.signatures] })
    assert.equal(decoded.ok, false)
    assert.equal(decoded.ok ? '' : decoded.error.code, 'ERR_RECORD_SCHEMA')
    assert.match(decoded.ok ? '' : decoded.error.message, /signatures\.1\.key: duplicate signature by key 12D3KooW/)
  })
})

function littleEndianToBigInt (bytes: Uint8Array): bigint {
  let value = 0n
  for (let i = bytes.length - 1; i >= 0; i--) {
    value = (value << 8n) | BigInt(bytes[i])
  }
  return value
}

function bigIntToLittleEndian (value: bigint, length: number): Uint8Array {
  const bytes = new Uint8Array(length)
  for (let i = 0; i < length; i++) {
    bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn)
  }
  return bytes
}

import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKey, isKeyId, publicKeyFromId, verifySignature } from '../../../src/keys/index.ts'

const message = new TextEncoder().encode('sower/v1/test\n{}')

describe('key ids', () => {
  it('is the libp2p peer id', () => {
    const key = generateKey()
    assert.equal(peerIdFromPrivateKey(key.toLibp2pKey()).toString(), key.id)
  })

  it('starts with 12D3KooW', () => {
    assert.match(generateKey().id, /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/)
  })

  it('round-trips to the public key', () => {
    const key = generateKey()
    const der = publicKeyFromId(key.id).export({ format: 'der', type: 'spki' })
    assert.deepEqual(new Uint8Array(der.subarray(-32)), key.publicKey)
  })

  it('verifies a signature', () => {
    const key = generateKey()
    assert.equal(verifySignature(key.id, message, key.sign(message)), true)
  })

  it('rejects a signature by another key', () => {
    const key = generateKey()
    assert.equal(verifySignature(generateKey().id, message, key.sign(message)), false)
  })

  it('rejects a changed message', () => {
    const key = generateKey()
    const signature = key.sign(message)
    const changed = Uint8Array.from(message)
    changed[0] ^= 1
    assert.equal(verifySignature(key.id, changed, signature), false)
  })

  it('signs deterministically', () => {
    const key = generateKey()
    assert.deepEqual(key.sign(message), key.sign(message))
  })

  it('libp2p verifies our signature', async () => {
    const key = generateKey()
    assert.equal(await key.toLibp2pKey().publicKey.verify(message, key.sign(message)), true)
  })

  const badIds: Array<[string, () => Promise<string> | string]> = [
    ['an empty id', () => ''],
    ['text', () => 'garden-1'],
    ['a truncated id', () => generateKey().id.slice(0, -1)],
    ['a secp256k1 peer id', async () => peerIdFromPrivateKey(await generateKeyPair('secp256k1')).toString()],
    ['an rsa peer id', async () => peerIdFromPrivateKey(await generateKeyPair('RSA', 1024)).toString()]
  ]

  for (const [what, makeId] of badIds) {
    it(`rejects ${what}`, async () => {
      const id = await makeId()
      assert.equal(isKeyId(id), false)
      assert.throws(() => publicKeyFromId(id), { name: 'InvalidKeyIdError', code: 'ERR_INVALID_KEY_ID' })
      assert.equal(verifySignature(id, message, new Uint8Array(64)), false)
    })
  }
})

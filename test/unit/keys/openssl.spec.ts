import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { generateKey, readKeyFile, writeKeyFile } from '../../../src/keys/index.ts'

const run = promisify(execFile)

describe('key files with openssl', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-openssl-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  it('openssl reads our key file', async () => {
    const path = join(folder, 'node.pem')
    const key = generateKey()
    await writeKeyFile(path, key)
    const { stdout } = await run('openssl', ['pkey', '-in', path, '-pubout'])
    const der = createPublicKey(stdout).export({ format: 'der', type: 'spki' })
    assert.deepEqual(new Uint8Array(der.subarray(-32)), key.publicKey)
  })

  it('loads a key from openssl genpkey', async () => {
    const path = join(folder, 'admin.pem')
    await run('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', path])
    await chmod(path, 0o600)
    const { stdout } = await run('openssl', ['pkey', '-in', path, '-pubout', '-outform', 'DER'], { encoding: 'buffer' })
    const key = await readKeyFile(path)
    assert.deepEqual(key.publicKey, new Uint8Array(stdout.subarray(-32)))
    assert.equal(key.id, idOfPublicKey(key.publicKey))
  })
})

/**
 * Computes a peer id by hand, independently of libp2p: base58btc of the
 * identity multihash (0x00, length) of the protobuf PublicKey
 * `{ Type: Ed25519 (1), Data: key }`.
 */
function idOfPublicKey (publicKey: Uint8Array): string {
  const protobuf = [0x08, 0x01, 0x12, publicKey.length, ...publicKey]
  return base58btc(Uint8Array.from([0x00, protobuf.length, ...protobuf]))
}

function base58btc (bytes: Uint8Array): string {
  const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
  let value = 0n
  for (const byte of bytes) {
    value = value * 256n + BigInt(byte)
  }
  let text = ''
  while (value > 0n) {
    text = alphabet[Number(value % 58n)] + text
    value /= 58n
  }
  for (const byte of bytes) {
    if (byte !== 0) {
      break
    }
    text = '1' + text
  }
  return text
}

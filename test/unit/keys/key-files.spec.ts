import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKey, keyFromPem, readKeyFile, writeKeyFile } from '../../../src/keys/index.ts'

describe('key files', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-keys-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  it('writes mode 0600', async () => {
    const path = join(folder, 'node.pem')
    await writeKeyFile(path, generateKey())
    assert.equal((await stat(path)).mode & 0o777, 0o600)
  })

  it('reads back the same key', async () => {
    const path = join(folder, 'node.pem')
    const key = generateKey()
    await writeKeyFile(path, key)
    assert.equal((await readKeyFile(path)).id, key.id)
  })

  it('never overwrites an existing file', async () => {
    const path = join(folder, 'node.pem')
    const first = generateKey()
    await writeKeyFile(path, first)
    await assert.rejects(writeKeyFile(path, generateKey()), { name: 'KeyFileError', code: 'ERR_KEY_EXISTS' })
    assert.equal((await readKeyFile(path)).id, first.id)
  })

  it('reports a missing folder', async () => {
    const path = join(folder, 'missing', 'node.pem')
    await assert.rejects(writeKeyFile(path, generateKey()), { name: 'KeyFileError', code: 'ERR_KEY_FILE' })
  })

  for (const mode of [0o640, 0o604, 0o644, 0o660, 0o666]) {
    it(`rejects mode ${mode.toString(8)}`, async () => {
      const path = join(folder, 'node.pem')
      await writeKeyFile(path, generateKey())
      await chmod(path, mode)
      await assert.rejects(readKeyFile(path), (err: any) => {
        assert.equal(err.code, 'ERR_KEY_PERMISSIONS')
        assert.match(err.message, new RegExp(`mode ${mode.toString(8)}`))
        assert.ok(err.message.includes(`chmod 600 ${path}`), err.message)
        return true
      })
    })
  }

  it('accepts mode 0400', async () => {
    const path = join(folder, 'node.pem')
    const key = generateKey()
    await writeKeyFile(path, key)
    await chmod(path, 0o400)
    assert.equal((await readKeyFile(path)).id, key.id)
  })

  it('names keygen for a missing file', async () => {
    const path = join(folder, 'absent.pem')
    await assert.rejects(readKeyFile(path), (err: any) => {
      assert.equal(err.code, 'ERR_KEY_FILE')
      assert.match(err.message, /ENOENT/)
      assert.ok(err.message.includes(`sower keygen --out ${path}`), err.message)
      return true
    })
  })

  const foreignKeys: Array<[string, () => string]> = [
    ['rsa', () => pkcs8(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey)],
    ['ec', () => pkcs8(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)],
    ['ed448', () => pkcs8(generateKeyPairSync('ed448').privateKey)],
    ['x25519', () => pkcs8(generateKeyPairSync('x25519').privateKey)]
  ]

  for (const [type, makePem] of foreignKeys) {
    it(`rejects an ${type} key`, async () => {
      const path = join(folder, `${type}.pem`)
      await writeFile(path, makePem(), { mode: 0o600 })
      await assert.rejects(readKeyFile(path), (err: any) => {
        assert.equal(err.code, 'ERR_KEY_TYPE')
        assert.match(err.message, new RegExp(`expected an ed25519 key, got ${type}`))
        return true
      })
    })
  }

  const malformed: Array<[string, () => string]> = [
    ['empty text', () => ''],
    ['random text', () => 'not a key\n'],
    ['a public key', () => generateKeyPairSync('ed25519').publicKey.export({ format: 'pem', type: 'spki' }).toString()],
    ['a truncated PEM', () => generateKey().toPem().slice(0, 60)]
  ]

  for (const [what, makePem] of malformed) {
    it(`rejects ${what}`, () => {
      assert.throws(() => keyFromPem(makePem()), { name: 'KeyFileError', code: 'ERR_KEY_FORMAT' })
    })
  }

  it('names the file of a foreign key', async () => {
    const path = join(folder, 'rsa.pem')
    await writeFile(path, foreignKeys[0][1](), { mode: 0o600 })
    await assert.rejects(readKeyFile(path), (err: any) => {
      assert.equal(err.code, 'ERR_KEY_TYPE')
      assert.match(err.message, new RegExp(`^invalid key file ${path}: expected an ed25519 key, got rsa`))
      assert.match(err.message, /sower keygen --out FILE/)
      return true
    })
  })

  it('names the file of a non-PEM key', async () => {
    const path = join(folder, 'text.pem')
    await writeFile(path, 'not a key\n', { mode: 0o600 })
    await assert.rejects(readKeyFile(path), (err: any) => {
      assert.equal(err.code, 'ERR_KEY_FORMAT')
      assert.match(err.message, new RegExp(`^invalid key file ${path}: not a PEM private key`))
      assert.match(err.message, /sower keygen --out FILE/)
      return true
    })
  })

  it('writes PEM PKCS#8', async () => {
    const path = join(folder, 'node.pem')
    await writeKeyFile(path, generateKey())
    const text = await readFile(path, 'utf8')
    assert.match(text, /^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=\n]+-----END PRIVATE KEY-----\n$/)
  })
})

function pkcs8 (key: import('node:crypto').KeyObject): string {
  return key.export({ format: 'pem', type: 'pkcs8' }).toString()
}

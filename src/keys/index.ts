import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { open, stat, readFile } from 'node:fs/promises'
import { privateKeyFromRaw, publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { SowerError } from '../errors.ts'

/** DER prefix of an ed25519 SubjectPublicKeyInfo, followed by the 32-byte key. */
const ED25519_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00
])
const ED25519_PUBLIC_KEY_BYTES = 32
const KEY_FILE_MODE = 0o600
const VERIFY_CACHE_MAX_KEYS = 4096

/** A key file that is missing, unreadable, not ed25519 or readable by others. */
export class KeyFileError extends SowerError {
  constructor (message: string, code = 'ERR_KEY_FILE', options?: ErrorOptions) {
    super(message, code, options)
  }
}

/** A string that is not the peer id of an ed25519 key. */
export class InvalidKeyIdError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_KEY_ID')
  }
}

/**
 * An ed25519 private key with its id. The id is the libp2p peer id of the
 * public key (`12D3KooW...`), so a garden's node key and its fleet identity
 * are one and the same.
 */
export class SigningKey {
  readonly id: string
  readonly publicKey: Uint8Array
  readonly #privateKey: KeyObject

  constructor (privateKey: KeyObject) {
    if (privateKey.asymmetricKeyType !== 'ed25519') {
      throw new KeyFileError(`expected an ed25519 key, got ${privateKey.asymmetricKeyType ?? 'unknown'}: ` +
        'create one with `sower keygen --out FILE` or `openssl genpkey -algorithm ed25519`', 'ERR_KEY_TYPE')
    }
    this.#privateKey = privateKey
    this.publicKey = rawPublicKey(createPublicKey(privateKey))
    this.id = peerIdFromPublicKey(publicKeyFromRaw(this.publicKey)).toString()
  }

  sign (data: Uint8Array): Uint8Array {
    return new Uint8Array(sign(null, data, this.#privateKey))
  }

  /** PEM PKCS#8 form, the format `openssl genpkey -algorithm ed25519` writes. */
  toPem (): string {
    return this.#privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  }

  /** The same key as libp2p's `PrivateKey`, for the node's identity. */
  toLibp2pKey (): PrivateKey {
    const jwk = this.#privateKey.export({ format: 'jwk' })
    const seed = Buffer.from(jwk.d ?? '', 'base64url')
    const raw = new Uint8Array(seed.length + this.publicKey.length)
    raw.set(seed, 0)
    raw.set(this.publicKey, seed.length)
    return privateKeyFromRaw(raw)
  }
}

/** Creates a new random ed25519 key. */
export function generateKey (): SigningKey {
  return new SigningKey(generateKeyPairSync('ed25519').privateKey)
}

/** Parses a PEM PKCS#8 ed25519 private key. */
export function keyFromPem (pem: string): SigningKey {
  let key: KeyObject
  try {
    key = createPrivateKey({ key: pem, format: 'pem' })
  } catch (err) {
    throw new KeyFileError('not a PEM private key: create one with `sower keygen --out FILE`', 'ERR_KEY_FORMAT', { cause: err })
  }
  return new SigningKey(key)
}

/**
 * Writes a key as PEM PKCS#8 with mode 0600. An existing file is never
 * overwritten: losing a garden's key loses its identity.
 */
export async function writeKeyFile (path: string, key: SigningKey): Promise<void> {
  let handle
  try {
    handle = await open(path, 'wx', KEY_FILE_MODE)
  } catch (err: any) {
    if (err.code === 'EEXIST') {
      throw new KeyFileError(`key file ${path} already exists; choose another path or remove it first`, 'ERR_KEY_EXISTS')
    }
    throw new KeyFileError(`cannot create key file ${path}: ${err.message}`, 'ERR_KEY_FILE', { cause: err })
  }
  try {
    await handle.writeFile(key.toPem())
    await handle.sync()
  } finally {
    await handle.close()
  }
}

/**
 * Reads a key file, rejecting one that group or others may read, as ssh
 * does, because anyone who reads it can sign as this garden or admin.
 */
export async function readKeyFile (path: string): Promise<SigningKey> {
  let mode: number
  let pem: string
  try {
    mode = (await stat(path)).mode
    pem = await readFile(path, 'utf8')
  } catch (err: any) {
    const hint = err.code === 'ENOENT' ? '; create it with `sower keygen --out ' + path + '`' : ''
    throw new KeyFileError(`cannot read key file ${path}: ${err.code ?? err.message}${hint}`, 'ERR_KEY_FILE', { cause: err })
  }
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8)
    throw new KeyFileError(`key file ${path} has mode ${octal} and is readable by others; run \`chmod 600 ${path}\``, 'ERR_KEY_PERMISSIONS')
  }
  try {
    return keyFromPem(pem)
  } catch (err) {
    if (err instanceof KeyFileError) {
      throw new KeyFileError(`invalid key file ${path}: ${err.message}`, err.code, { cause: err })
    }
    throw err
  }
}

function rawPublicKey (publicKey: KeyObject): Uint8Array {
  const der = publicKey.export({ format: 'der', type: 'spki' })
  return new Uint8Array(der.subarray(der.length - ED25519_PUBLIC_KEY_BYTES))
}

const publicKeyCache = new Map<string, KeyObject>()

/**
 * Returns the public key behind an ed25519 peer id. Throws
 * `InvalidKeyIdError` for anything else (RSA, secp256k1 or malformed ids).
 */
export function publicKeyFromId (id: string): KeyObject {
  const cached = publicKeyCache.get(id)
  if (cached != null) {
    return cached
  }
  let raw: Uint8Array | undefined
  try {
    const peerId = peerIdFromString(id)
    raw = peerId.type === 'Ed25519' ? peerId.publicKey.raw : undefined
  } catch {
    raw = undefined
  }
  if (raw == null) {
    throw new InvalidKeyIdError(`"${id.slice(0, 80)}" is not the peer id of an ed25519 key (12D3KooW...)`)
  }
  const der = new Uint8Array(ED25519_SPKI_PREFIX.length + raw.length)
  der.set(ED25519_SPKI_PREFIX, 0)
  der.set(raw, ED25519_SPKI_PREFIX.length)
  const key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
  if (publicKeyCache.size >= VERIFY_CACHE_MAX_KEYS) {
    publicKeyCache.clear()
  }
  publicKeyCache.set(id, key)
  return key
}

/** Checks an ed25519 signature by the key with peer id `id`; false for any malformed input. */
export function verifySignature (id: string, data: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, data, publicKeyFromId(id), signature)
  } catch {
    return false
  }
}

/** True when `id` is the peer id of an ed25519 key. */
export function isKeyId (id: string): boolean {
  try {
    publicKeyFromId(id)
    return true
  } catch {
    return false
  }
}

import { createPublicKey, verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'
import { parentPort } from 'node:worker_threads'
import type { SignatureJob, SignatureJobResult } from './signature-pool.ts'

/**
 * A worker thread of `SignaturePool`: verifies the ed25519 signatures of
 * each job it receives and returns one flag per signature. It imports only
 * Node built-ins, so that it starts in a few milliseconds.
 */
const KEY_CACHE_MAX_KEYS = 4096
const keys = new Map<string, KeyObject>()

function publicKey (x: string): KeyObject {
  let key = keys.get(x)
  if (key == null) {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' })
    if (keys.size >= KEY_CACHE_MAX_KEYS) {
      keys.clear()
    }
    keys.set(x, key)
  }
  return key
}

function verifyOne (job: SignatureJob, index: number): boolean {
  const [messageStart, messageLength, signatureLength] = job.offsets.subarray(index * 3, index * 3 + 3)
  const message = new Uint8Array(job.data, messageStart, messageLength)
  const signature = new Uint8Array(job.data, messageStart + messageLength, signatureLength)
  try {
    return verify(null, message, publicKey(job.keys[index]), signature)
  } catch {
    return false
  }
}

parentPort?.on('message', (job: SignatureJob) => {
  const valid = new Uint8Array(job.keys.length)
  for (let index = 0; index < job.keys.length; index++) {
    valid[index] = verifyOne(job, index) ? 1 : 0
  }
  const result: SignatureJobResult = { id: job.id, valid }
  parentPort?.postMessage(result, [valid.buffer])
})

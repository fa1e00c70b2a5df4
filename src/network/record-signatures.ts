import { fromBase64Url, signingBytes } from '../records/index.ts'
import type { SignedRecord, VerifyResult } from '../records/index.ts'
import type { SignatureCheck, SignaturePool } from './signature-pool.ts'

/**
 * Checks the signatures of many records at once with `pool` and returns
 * what `verifyRecord` returns for each. By its rules, one bad signature
 * rejects a record, and records other than roots must carry exactly one
 * signature, by their author.
 */
export async function verifyRecords (records: SignedRecord[], pool: SignaturePool): Promise<VerifyResult[]> {
  const checks: SignatureCheck[] = []
  const checkIndexes = records.map(record => {
    const message = signingBytes(record.type, record.body)
    return record.signatures.map(({ key, sig }) => {
      const signature = decodeSignature(sig)
      if (signature == null) {
        return -1
      }
      checks.push({ key, message, signature })
      return checks.length - 1
    })
  })
  const valid = await pool.verify(checks)
  return records.map((record, index) => judgeSignatures(record, checkIndexes[index], valid))
}

function decodeSignature (sig: string): Uint8Array | undefined {
  try {
    return fromBase64Url(sig)
  } catch {
    return undefined
  }
}

/** Applies the rules of `verifyRecord` in its order; `checkIndexes` is -1 for a signature that is not base64url. */
function judgeSignatures (record: SignedRecord, checkIndexes: number[], valid: boolean[]): VerifyResult {
  const signers = new Set<string>()
  for (const [index, { key }] of record.signatures.entries()) {
    const check = checkIndexes[index]
    if (check < 0) {
      return { ok: false, reason: `signature by ${key} is not base64url` }
    }
    if (!valid[check]) {
      return { ok: false, reason: `signature by ${key} does not verify` }
    }
    signers.add(key)
  }
  if (record.type !== 'root' && (record.signatures.length !== 1 || !signers.has(record.author))) {
    return { ok: false, reason: `a ${record.type} must be signed by its author ${record.author} alone` }
  }
  return { ok: true, signers }
}

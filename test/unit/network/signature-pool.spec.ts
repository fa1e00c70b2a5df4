import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { SignaturePool } from '../../../src/network/index.ts'
import type { SignatureCheck } from '../../../src/network/signature-pool.ts'

const encoder = new TextEncoder()

/** Signs `count` messages with two keys and lets `breakCheck` change every third check. */
function checks (count: number, breakCheck: (check: SignatureCheck) => SignatureCheck): { checks: SignatureCheck[], expected: boolean[] } {
  const keys = [generateKey(), generateKey()]
  const list: SignatureCheck[] = []
  const expected: boolean[] = []
  for (let i = 0; i < count; i++) {
    const key = keys[i % 2]
    const message = encoder.encode(`message ${i}`)
    const check = { key: key.id, message, signature: key.sign(message) }
    const broken = i % 3 === 2
    list.push(broken ? breakCheck(check) : check)
    expected.push(!broken)
  }
  return { checks: list, expected }
}

const BREAKS: Array<{ name: string, breakCheck: (check: SignatureCheck) => SignatureCheck }> = [
  { name: 'another message', breakCheck: check => ({ ...check, message: encoder.encode('forged') }) },
  { name: 'another key', breakCheck: check => ({ ...check, key: generateKey().id }) },
  { name: 'a short signature', breakCheck: check => ({ ...check, signature: check.signature.subarray(0, 32) }) },
  { name: 'a key id that is no ed25519 key', breakCheck: check => ({ ...check, key: 'QmNotAnEd25519Key' }) }
]

describe('SignaturePool', function () {
  this.timeout(20_000)
  let pool: SignaturePool | undefined
  afterEach(async () => { await pool?.stop() })

  for (const { name, breakCheck } of BREAKS) {
    it(`rejects ${name} on workers`, async () => {
      pool = new SignaturePool({ workers: 2, chunkChecks: 4, minParallelChecks: 1, logger: silentLogger() })
      pool.start()
      const batch = checks(60, breakCheck)
      assert.deepEqual(await pool.verify(batch.checks), batch.expected)
      assert.equal(pool.workers, 2)
    })
  }

  it('verifies here before start', async () => {
    pool = new SignaturePool({ workers: 2, minParallelChecks: 1, logger: silentLogger() })
    const batch = checks(30, BREAKS[0].breakCheck)
    assert.deepEqual(await pool.verify(batch.checks), batch.expected)
    assert.equal(pool.workers, 0)
  })

  it('verifies small batches here', async () => {
    pool = new SignaturePool({ workers: 2, minParallelChecks: 64, logger: silentLogger() })
    pool.start()
    const batch = checks(63, BREAKS[0].breakCheck)
    assert.deepEqual(await pool.verify(batch.checks), batch.expected)
    assert.equal(pool.workers, 0)
  })

  it('finishes a batch when stopped', async () => {
    pool = new SignaturePool({ workers: 1, chunkChecks: 2, minParallelChecks: 1, logger: silentLogger() })
    pool.start()
    const batch = checks(200, BREAKS[0].breakCheck)
    const verified = pool.verify(batch.checks)
    await pool.stop()
    assert.deepEqual(await verified, batch.expected)
    assert.equal(pool.workers, 0)
  })

  it('ends idle workers', async () => {
    pool = new SignaturePool({ workers: 1, minParallelChecks: 1, workerIdleMs: 50, logger: silentLogger() })
    pool.start()
    await pool.verify(checks(10, BREAKS[0].breakCheck).checks)
    assert.equal(pool.workers, 1)
    await new Promise(resolve => setTimeout(resolve, 300))
    assert.equal(pool.workers, 0)
    const batch = checks(10, BREAKS[1].breakCheck)
    assert.deepEqual(await pool.verify(batch.checks), batch.expected)
  })
})

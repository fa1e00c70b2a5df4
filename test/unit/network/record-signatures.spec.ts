import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { SignaturePool } from '../../../src/network/index.ts'
import { verifyRecords } from '../../../src/network/record-signatures.ts'
import { addSignatures, decodeRecord, signRecord, verifyRecord } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet } from '../../utils/fleet.ts'

function report (fleet: TestFleet, seq = 1): SignedRecord<'report'> {
  const member = fleet.members[0]
  return signRecord('report', {
    fleet: fleet.fleet,
    author: member.key.id,
    seq,
    prev: seq === 1 ? null : `rep_${'a'.repeat(52)}`,
    issuedAt: iso(Date.now()),
    agentVersion: '0.1.0',
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [member.key])
}

/** Decodes `record` after `change` edited its JSON form, as a peer could send it. */
function edited (record: SignedRecord, change: (json: any) => void): SignedRecord {
  const json = JSON.parse(new TextDecoder().decode(record.bytes))
  change(json)
  const decoded = decodeRecord(new TextEncoder().encode(JSON.stringify(json)))
  assert.ok(decoded.ok)
  return decoded.record
}

const fleet = createTestFleet({ members: 2 })
const second = generateKey()
const CASES: Array<{ name: string, ok: boolean, record: () => SignedRecord }> = [
  { name: 'a valid report', ok: true, record: () => report(fleet) },
  { name: 'a forged body', ok: false, record: () => edited(report(fleet), json => { json.body.agentVersion = '6.6.6' }) },
  { name: 'a signature by another key', ok: false, record: () => signRecord('report', report(fleet).body, [fleet.members[1].key]) },
  { name: 'a second signature', ok: false, record: () => addSignatures(report(fleet), [second]) },
  { name: 'a swapped signature', ok: false, record: () => edited(report(fleet), json => { json.body.seq = 2; json.body.prev = `rep_${'a'.repeat(52)}` }) },
  { name: 'a root of two keys', ok: true, record: () => addSignatures(signRecord('root', fleet.root.body, [fleet.admin]), [second]) },
  {
    name: 'a root with one bad signature',
    ok: false,
    record: () => edited(addSignatures(fleet.root, [second]), json => { json.signatures[1].sig = json.signatures[0].sig })
  }
]

describe('verifyRecords', () => {
  let pool: SignaturePool
  beforeEach(() => {
    pool = new SignaturePool({ workers: 1, chunkChecks: 2, minParallelChecks: 1, logger: silentLogger() })
    pool.start()
  })
  afterEach(async () => { await pool.stop() })

  for (const testCase of CASES) {
    it(`judges ${testCase.name} as verifyRecord does`, async () => {
      const record = testCase.record()
      const [result] = await verifyRecords([record], pool)
      assert.equal(result.ok, testCase.ok)
      assert.deepEqual(result, verifyRecord(record))
    })
  }

  it('judges a batch in order', async () => {
    const records = CASES.map(testCase => testCase.record())
    assert.deepEqual(await verifyRecords(records, pool), records.map(record => verifyRecord(record)))
  })
})

import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import {
  ALERT_MAX_BYTES, RECORD_MAX_BYTES, checkForkEvidence, decodeRecord, describeFork, forkFields, signRecord,
  toEvidence, verifyRecord
} from '../../../src/records/index.ts'
import type { AlertBody, ForkPair } from '../../../src/records/index.ts'
import { alertBody, eventOfSize, forkOf, reportAt } from '../../utils/alerts.ts'

const FLEET = 'test-fleet'

describe('fork evidence', () => {
  const subject = generateKey()
  const reporter = generateKey()
  const pair = forkOf(FLEET, subject)

  it('accepts two records at one seq', () => {
    const checked = checkForkEvidence(alertBody(FLEET, reporter, pair))
    assert.equal(checked.ok, true, checked.ok ? '' : checked.reason)
    assert.deepEqual(checked.ok ? checked.records.map(record => record.id) : [], pair.map(record => record.id))
  })

  it('accepts a broken link', () => {
    const first = reportAt(FLEET, subject, 1, null)
    const second = reportAt(FLEET, subject, 2, 'rep_' + 'c'.repeat(52))
    const checked = checkForkEvidence(alertBody(FLEET, reporter, [first, second]))
    assert.equal(checked.ok, true, checked.ok ? '' : checked.reason)
  })

  it('decodes to records that verify', () => {
    const checked = checkForkEvidence(alertBody(FLEET, reporter, pair))
    for (const record of checked.ok ? checked.records : []) {
      assert.equal(verifyRecord(record).ok, true)
    }
  })

  const other = generateKey()
  const cases: Array<{ name: string, code: string, change: (body: AlertBody) => void }> = [
    { name: 'an undecodable record', code: 'ERR_EVIDENCE_SCHEMA', change: body => { body.evidence[1].body.seq = 'one' } },
    { name: 'a record of an unknown field', code: 'ERR_EVIDENCE_SCHEMA', change: body => { body.evidence[0].body.extra = 1 } },
    {
      name: 'a record by another author',
      code: 'ERR_EVIDENCE_AUTHOR',
      change: body => {
        const record = reportAt(FLEET, other, 1, null)
        body.evidence[1] = toEvidence(record)
        body.records[1] = record.id
      }
    },
    { name: 'another subject', code: 'ERR_EVIDENCE_AUTHOR', change: body => { body.subject = other.id } },
    {
      name: 'records of another fleet',
      code: 'ERR_EVIDENCE_FLEET',
      change: body => {
        const [first, second] = forkOf('other-fleet', subject)
        body.evidence = [toEvidence(first), toEvidence(second)]
        body.records = [first.id, second.id]
      }
    },
    { name: 'another subject seq', code: 'ERR_EVIDENCE_SEQ', change: body => { body.subjectSeq = 2 } },
    {
      name: 'a record two positions on',
      code: 'ERR_EVIDENCE_SEQ',
      change: body => {
        const record = reportAt(FLEET, subject, 3, 'rep_' + 'd'.repeat(52))
        body.evidence[1] = toEvidence(record)
        body.records[1] = record.id
      }
    },
    {
      name: 'a next record that links',
      code: 'ERR_EVIDENCE_SEQ',
      change: body => {
        const record = reportAt(FLEET, subject, 2, body.records[0])
        body.evidence[1] = toEvidence(record)
        body.records[1] = record.id
      }
    },
    {
      name: 'one record twice',
      code: 'ERR_EVIDENCE_SAME',
      change: body => {
        body.evidence[1] = body.evidence[0]
        body.records[1] = body.records[0]
      }
    },
    { name: 'ids in another order', code: 'ERR_EVIDENCE_IDS', change: body => { body.records.reverse() } },
    { name: 'an id of another record', code: 'ERR_EVIDENCE_IDS', change: body => { body.records[1] = 'rep_' + 'e'.repeat(52) } }
  ]

  for (const testCase of cases) {
    it(`rejects ${testCase.name}`, () => {
      const body = structuredClone(alertBody(FLEET, reporter, pair))
      testCase.change(body)
      const checked = checkForkEvidence(body)
      assert.equal(checked.ok, false, 'expected the evidence to be rejected')
      assert.equal(checked.ok ? '' : checked.code, testCase.code, checked.ok ? '' : checked.reason)
    })
  }

  it('rejects an evidence record over the record limit', () => {
    const big = eventOfSize(FLEET, subject, 1, RECORD_MAX_BYTES + 10, 'big')
    const body = alertBody(FLEET, reporter, pair)
    body.evidence[1] = toEvidence(big)
    body.records[1] = big.id
    const checked = checkForkEvidence(body)
    assert.equal(checked.ok ? '' : checked.code, 'ERR_EVIDENCE_TOO_LARGE')
  })

  it('leaves signatures to the caller', () => {
    const forged = signRecord('report', pair[1].body, [other])
    const body = alertBody(FLEET, reporter, [pair[0], forged])
    const checked = checkForkEvidence(body)
    assert.equal(checked.ok, true, checked.ok ? '' : checked.reason)
    assert.equal(checked.ok && verifyRecord(checked.records[1]).ok, false)
  })
})

describe('fork fields', () => {
  const subject = generateKey()

  it('orders a broken link by seq', () => {
    const first = reportAt(FLEET, subject, 4, 'rep_' + 'f'.repeat(52))
    const second = reportAt(FLEET, subject, 5, 'rep_' + 'g'.repeat(52))
    const fields = forkFields(second, first)
    assert.equal(fields?.subjectSeq, 4)
    assert.deepEqual(fields?.records, [first.id, second.id])
  })

  it('returns null for a linked pair', () => {
    const first = reportAt(FLEET, subject, 1, null)
    const second = reportAt(FLEET, subject, 2, first.id)
    assert.equal(forkFields(first, second), null)
  })

  it('returns null for an oversized record', () => {
    const first = eventOfSize(FLEET, subject, 1, RECORD_MAX_BYTES + 10, 'a')
    const second = reportAt(FLEET, subject, 1, null)
    assert.equal(forkFields(first, second), null)
  })

  it('describes the fork as the store does', () => {
    const pair: ForkPair = forkOf(FLEET, subject)
    assert.equal(describeFork(pair), 'two records at seq 1')
  })
})

describe('alert size', function () {
  this.timeout(60_000)

  it('fits two records of the record limit', () => {
    const fleet = 'f'.repeat(64)
    const subject = generateKey()
    const reporter = generateKey()
    const pair: ForkPair = [
      eventOfSize(fleet, subject, Number.MAX_SAFE_INTEGER, RECORD_MAX_BYTES, 'first'),
      eventOfSize(fleet, subject, Number.MAX_SAFE_INTEGER, RECORD_MAX_BYTES, 'second')
    ]
    const body = { ...alertBody(fleet, reporter, pair), seq: Number.MAX_SAFE_INTEGER, prev: 'alr_' + 'h'.repeat(52) }
    const alert = signRecord('alert', body, [reporter])

    assert.ok(alert.bytes.byteLength <= ALERT_MAX_BYTES, `${alert.bytes.byteLength} bytes`)
    const decoded = decodeRecord(alert.bytes)
    assert.equal(decoded.ok, true, decoded.ok ? '' : decoded.error.message)
  })

  it('rejects an alert over its limit', () => {
    const bytes = new Uint8Array(ALERT_MAX_BYTES + 1)
    const decoded = decodeRecord(bytes)
    assert.equal(decoded.ok ? '' : decoded.error.code, 'ERR_RECORD_TOO_LARGE')
  })

  it('rejects another type over the record limit', () => {
    const event = eventOfSize(FLEET, generateKey(), 1, RECORD_MAX_BYTES + 1, 'big')
    const decoded = decodeRecord(event.bytes)
    assert.equal(decoded.ok ? '' : decoded.error.code, 'ERR_RECORD_TOO_LARGE')
  })
})

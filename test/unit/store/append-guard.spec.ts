import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import type { AppendGuard, RecordStore } from '../../../src/store/index.ts'
import { reportBody } from './records.ts'
import { TempStores } from './temp-store.ts'

/** Creates a guard that holds appends until `open` and lists the seqs it saw appended. */
function gate (): { guard: AppendGuard, open: () => void, appended: number[] } {
  const opened = Promise.withResolvers<void>()
  const appended: number[] = []
  const guard: AppendGuard = {
    beforeAppend: async () => { await opened.promise },
    afterAppend: async (record: SignedRecord) => { appended.push(record.seq) }
  }
  return { guard, open: () => { opened.resolve() }, appended }
}

describe('append guard', () => {
  const temp = new TempStores()
  let store: RecordStore

  beforeEach(async () => { store = await temp.open() })
  afterEach(async () => { await temp.cleanup() })

  it('holds appends in order', async () => {
    const key = generateKey()
    const { guard, open } = gate()
    store.guardAppends(key.id, guard)
    const appends = ['1.0.0', '1.0.1', '1.0.2'].map(async version => await store.append('report', reportBody(0, version), key))
    // Gives an append that the guard failed to hold the time to reach the store.
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(store.feed(key.id).last, 0)

    open()
    const records = await Promise.all(appends)
    assert.deepEqual(records.map(record => record.seq), [1, 2, 3])
    assert.deepEqual(records.map(record => record.body.agentVersion), ['1.0.0', '1.0.1', '1.0.2'])
  })

  it('fails an append before signing', async () => {
    const key = generateKey()
    store.guardAppends(key.id, {
      beforeAppend: async () => { throw new Error('not now') },
      afterAppend: async () => {}
    })
    await assert.rejects(store.append('report', reportBody(0), key), { message: 'not now' })
    assert.equal(store.feed(key.id).last, 0)
  })

  it('runs afterAppend before append resolves', async () => {
    const key = generateKey()
    const { guard, open, appended } = gate()
    store.guardAppends(key.id, guard)
    open()
    const record = await store.append('report', reportBody(0), key)
    assert.deepEqual(appended, [record.seq])
  })

  it('keeps a record when afterAppend fails', async () => {
    const key = generateKey()
    store.guardAppends(key.id, {
      beforeAppend: async () => {},
      afterAppend: async () => { throw new Error('disk full') }
    })
    const record = await store.append('report', reportBody(0), key)
    assert.equal(await store.has(record.id), true)
  })

  it('guards one key only', async () => {
    const guarded = generateKey()
    const other = generateKey()
    store.guardAppends(guarded.id, gate().guard)
    const record = await store.append('report', reportBody(0), other)
    assert.equal(record.seq, 1)
  })

  it('stops guarding after removal', async () => {
    const key = generateKey()
    store.guardAppends(key.id, gate().guard)
    store.guardAppends(key.id, undefined)
    const record = await store.append('report', reportBody(0), key)
    assert.equal(record.seq, 1)
  })
})

import assert from 'node:assert/strict'
import { Level } from 'level'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { forkOf, signAlert } from '../../utils/alerts.ts'
import { FLEET, metaAt } from './records.ts'
import { TempStores } from './temp-store.ts'

/** Signs an alert by `reporter` about a fork of `subject` at `seq` of the reporter's feed. */
function alertAt (reporter: SigningKey, subject: SigningKey, seq = 1, prev: string | null = null): SignedRecord<'alert'> {
  return signAlert(FLEET, reporter, forkOf(FLEET, subject), body => {
    body.seq = seq
    body.prev = prev
  })
}

describe('alert index', () => {
  const stores = new TempStores()
  afterEach(async () => { await stores.cleanup() })

  const reporter = generateKey()
  const other = generateKey()
  const subject = generateKey()

  it('lists a stored alert', async () => {
    const store = await stores.open()
    assert.equal(store.hasAlertAbout(reporter.id, subject.id), false)
    await store.put(alertAt(reporter, subject), metaAt(0))
    assert.equal(store.hasAlertAbout(reporter.id, subject.id), true)
    assert.equal(store.hasAlertAbout(reporter.id, other.id), false)
    assert.equal(store.hasAlertAbout(other.id, subject.id), false)
  })

  it('lists two authors about one subject', async () => {
    const store = await stores.open()
    await store.put(alertAt(reporter, subject), metaAt(0))
    await store.put(alertAt(other, subject), metaAt(0))
    assert.equal(store.hasAlertAbout(reporter.id, subject.id), true)
    assert.equal(store.hasAlertAbout(other.id, subject.id), true)
  })

  it('survives reopening', async () => {
    const folder = await stores.folder()
    const first = await stores.open(folder)
    await first.put(alertAt(reporter, subject), metaAt(0))
    await first.close()
    const reopened = await stores.open(folder)
    assert.equal(reopened.hasAlertAbout(reporter.id, subject.id), true)
  })

  it('fills itself for a store without it', async () => {
    const folder = await stores.folder()
    const first = await stores.open(folder)
    await first.put(alertAt(reporter, subject), metaAt(0))
    await first.close()

    // A store written before the index existed has neither its entries nor its marker.
    const db = new Level<string, string>(folder)
    await db.sublevel('alerts-by-subject').clear()
    await db.sublevel('system').del('alert-index')
    await db.close()

    const reopened = await stores.open(folder)
    assert.equal(reopened.hasAlertAbout(reporter.id, subject.id), true)
  })
})

import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout } from 'node:timers/promises'
import { Level } from 'level'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { openTables } from '../../../src/store/tables.ts'
import type { Database, Tables } from '../../../src/store/tables.ts'
import { GROUP_MAX_RECORDS, Writer } from '../../../src/store/writer.ts'
import { FeedSigner, metaAt, reportBody } from './records.ts'

describe('Writer', () => {
  let folder: string
  let db: Database
  let tables: Tables

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-writer-'))
    db = new Level<string, string>(folder)
    await db.open()
    tables = await openTables(db)
  })

  afterEach(async () => {
    await db.close()
    await rm(folder, { recursive: true, force: true })
  })

  /** Wraps the database so that its first batch write fails, as on a full disk. */
  function failingOnce (): Database {
    let failed = false
    return new Proxy(db, {
      get (target, property) {
        if (property === 'batch' && !failed) {
          return async () => {
            failed = true
            // Fails late, so that the next group is prepared while this write is in flight.
            await setTimeout(100)
            throw new Error('disk full')
          }
        }
        const value = Reflect.get(target, property, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
  }

  it('prepares the next group again after a failed write', async () => {
    const writer = new Writer({ db: failingOnce(), tables, log: silentLogger(), afterCommit: () => {} })
    const feed = new FeedSigner(generateKey())
    const records = Array.from({ length: GROUP_MAX_RECORDS + 1 }, (_, i) => feed.sign('report', reportBody(i)))

    const results = await Promise.allSettled(records.map(async record => await writer.put(record, metaAt(0))))

    const rejected = results.filter(result => result.status === 'rejected').length
    assert.equal(rejected, GROUP_MAX_RECORDS)
    assert.deepEqual(results.at(-1), { status: 'fulfilled', value: { status: 'stored' } })
    assert.deepEqual(tables.feeds.memory?.get(feed.key.id), { floor: 1, head: 0, last: GROUP_MAX_RECORDS + 1 })
    assert.equal(await tables.records.sublevel.has(records[0].id), false)
    assert.equal(tables.gardens.memory?.get(feed.key.id)?.report, records.at(-1)?.id)
  })

  it('runs an exclusive job after earlier writes are durable', async () => {
    const writer = new Writer({ db, tables, log: silentLogger(), afterCommit: () => {} })
    const feed = new FeedSigner(generateKey())
    const records = Array.from({ length: 3 }, (_, i) => feed.sign('report', reportBody(i)))

    const puts = records.map(async record => await writer.put(record, metaAt(0)))
    const stored = await writer.exclusive(async () => await tables.records.sublevel.hasMany(records.map(record => record.id)))

    assert.deepEqual(stored, [true, true, true])
    await Promise.all(puts)
  })
})

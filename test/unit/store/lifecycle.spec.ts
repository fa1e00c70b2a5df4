import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { Level } from 'level'
import { generateKey } from '../../../src/keys/index.ts'
import { RecordStore, STORE_SCHEMA_VERSION, StoreLockedError, StoreVersionError } from '../../../src/store/index.ts'
import { FeedSigner, metaAt, reportBody } from './records.ts'
import { TempStores } from './temp-store.ts'

/** Runs `change` on the raw database of a closed store. */
async function editRaw (folder: string, change: (db: Level<string, string>) => Promise<void>): Promise<void> {
  const db = new Level<string, string>(folder)
  await db.open()
  try {
    await change(db)
  } finally {
    await db.close()
  }
}

describe('RecordStore lifecycle', () => {
  const temp = new TempStores()

  afterEach(async () => {
    await temp.cleanup()
  })

  describe('schema version', () => {
    it('rejects another version', async () => {
      const folder = await temp.folder()
      await (await RecordStore.open(folder)).close()
      await editRaw(folder, async db => { await db.put('!system!schema-version', '999') })

      const opening = RecordStore.open(folder)

      await assert.rejects(opening, StoreVersionError)
      await assert.rejects(opening, { code: 'ERR_STORE_VERSION' })
      await assert.rejects(opening, (err: Error) => err.message.includes('999') && err.message.includes(`version ${STORE_SCHEMA_VERSION}`))
    })

    it('rejects a database without a version', async () => {
      const folder = await temp.folder()
      await editRaw(folder, async db => { await db.put('other', 'data') })

      await assert.rejects(RecordStore.open(folder), (err: StoreVersionError) => err.found === undefined)
    })

    it('releases the folder after a rejected open', async () => {
      const folder = await temp.folder()
      await editRaw(folder, async db => { await db.put('!system!schema-version', '999') })
      await assert.rejects(RecordStore.open(folder), StoreVersionError)

      await editRaw(folder, async db => { await db.put('!system!schema-version', STORE_SCHEMA_VERSION) })
      await temp.open(folder)
    })
  })

  describe('lock', () => {
    it('rejects a second open of one folder', async () => {
      const folder = await temp.folder()
      await temp.open(folder)

      const opening = RecordStore.open(folder)

      await assert.rejects(opening, StoreLockedError)
      await assert.rejects(opening, (err: Error) => err.message.includes(folder))
    })

    it('names the folder that another process holds', async () => {
      const folder = await temp.folder()
      const holder = spawn(process.execPath, ['--input-type=module', '-e', `
        import { Level } from 'level'
        const db = new Level(${JSON.stringify(folder)})
        await db.open()
        process.stdout.write('open\\n')
        process.stdin.on('end', () => { db.close().then(() => process.exit(0)) })
        process.stdin.resume()
      `], { stdio: ['pipe', 'pipe', 'inherit'] })
      try {
        await once(holder.stdout, 'data')

        await assert.rejects(RecordStore.open(folder), (err: StoreLockedError) =>
          err.code === 'ERR_STORE_LOCKED' && err.message.includes(folder))
      } finally {
        holder.stdin.end()
        await once(holder, 'exit')
      }
    })

    it('opens again after close', async () => {
      const folder = await temp.folder()
      await (await RecordStore.open(folder)).close()

      await temp.open(folder)
    })
  })

  describe('corrupt values', () => {
    it('skips a record whose bytes do not decode', async () => {
      const folder = await temp.folder()
      const feed = new FeedSigner(generateKey())
      const records = [0, 1000].map(offsetMs => feed.sign('report', reportBody(offsetMs)))
      const first = await RecordStore.open(folder)
      await first.putMany(records.map(record => ({ record, meta: metaAt(0) })))
      await first.close()
      await editRaw(folder, async db => { await db.put(`!records!${records[0].id}`, '{"type":') })

      const store = await temp.open(folder)

      assert.equal(await store.get(records[0].id), undefined)
      assert.deepEqual((await store.range(feed.key.id, 1, 10)).map(record => record.id), [records[1].id])
    })

    it('skips a record whose bytes belong to another id', async () => {
      const folder = await temp.folder()
      const feed = new FeedSigner(generateKey())
      const records = [0, 1000].map(offsetMs => feed.sign('report', reportBody(offsetMs)))
      const first = await RecordStore.open(folder)
      await first.putMany(records.map(record => ({ record, meta: metaAt(0) })))
      await first.close()
      await editRaw(folder, async db => {
        await db.put(`!records!${records[0].id}`, Buffer.from(records[1].bytes).toString())
      })

      const store = await temp.open(folder)

      assert.equal(await store.get(records[0].id), undefined)
    })

    it('skips a corrupt summary', async () => {
      const folder = await temp.folder()
      const feed = new FeedSigner(generateKey())
      const first = await RecordStore.open(folder)
      await first.put(feed.sign('report', reportBody(0)), metaAt(0))
      await first.close()
      await editRaw(folder, async db => { await db.put(`!gardens!${feed.key.id}`, 'not json') })

      const store = await temp.open(folder)

      assert.deepEqual(await store.gardens(), [])
      assert.equal((await store.put(feed.sign('report', reportBody(1000)), metaAt(0))).status, 'stored')
      assert.equal((await store.garden(feed.key.id))?.agentVersion, '1.0.0')
    })
  })
})

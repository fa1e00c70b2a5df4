import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'
import { readFeedMark } from '../../../src/garden/feed-mark.ts'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { runCli } from './run-cli.ts'
import type { CliRun } from './run-cli.ts'

interface Setup {
  folder: string
  config: string
  admin: SigningKey
  markFile: string
}

/** Writes the config of an admin node with one admin key, its root and its node key into a new folder. */
async function setUp (): Promise<Setup> {
  const { folder, admin, config } = await writeAdminFolder('sower-admin-feed-')
  const configFile = join(folder, 'config.json')
  await writeFile(configFile, JSON.stringify(config))
  return { folder, config: configFile, admin, markFile: join(folder, 'admin.pem.feed-head') }
}

async function enroll (setup: Setup, name: string): Promise<CliRun> {
  return await runCli(['enroll', generateKey().id, '--name', name, '--config', setup.config])
}

/** Returns the certificate id that `sower enroll` printed. */
function certificateOf (run: CliRun): string {
  const id = /certificate (cert_\w+)/.exec(run.out)?.[1]
  assert.ok(id != null, `no certificate in: ${run.out}${run.err}`)
  return id
}

async function loseStore (setup: Setup): Promise<void> {
  await rm(join(setup.folder, 'data', 'records'), { recursive: true, force: true })
}

/** Opens the admin node's store, runs `read` on it and closes it again. */
async function withStore<T> (setup: Setup, read: (store: RecordStore) => Promise<T>): Promise<T> {
  const store = await RecordStore.open(join(setup.folder, 'data', 'records'))
  try {
    return await read(store)
  } finally {
    await store.close()
  }
}

describe('admin feed head mark', function () {
  this.timeout(30_000)
  let setup: Setup

  beforeEach(async () => { setup = await setUp() })
  afterEach(async () => { await rm(setup.folder, { recursive: true, force: true }) })

  it('is written by enroll', async () => {
    const run = await enroll(setup, 'web-1')

    assert.equal(run.status, EXIT.ok, run.err)
    const mark = await readFeedMark(setup.markFile)
    assert.equal(mark?.author, setup.admin.id)
    assert.equal(mark?.seq, 1)
    assert.equal(mark?.record, certificateOf(run))
  })

  it('stops enroll after a lost store', async () => {
    await enroll(setup, 'web-1')
    await enroll(setup, 'web-2')
    await loseStore(setup)

    const run = await enroll(setup, 'web-3')

    assert.equal(run.status, EXIT.unavailable)
    assert.match(run.err, new RegExp(`the feed of admin key ${setup.admin.id} is missing seq 1 to 2: the feed head mark .*admin\\.pem\\.feed-head`))
    assert.match(run.err, /the record store of this node has none of them/)
    assert.match(run.err, /run `sower node` with this config where it reaches a member/)
    assert.match(run.err, /`sower bundle export --out FILE` on such a member and `sower bundle import FILE` here/)
    assert.equal((await readFeedMark(setup.markFile))?.seq, 2)
    assert.equal(await withStore(setup, async store => store.feed(setup.admin.id).last), 0)
  })

  it('names one missing record', async () => {
    await enroll(setup, 'web-1')
    const bundle = join(setup.folder, 'old.bundle')
    assert.equal((await runCli(['bundle', 'export', '--out', bundle, '--config', setup.config])).status, EXIT.ok)
    await enroll(setup, 'web-2')
    await loseStore(setup)
    assert.equal((await runCli(['bundle', 'import', bundle, '--config', setup.config])).status, EXIT.ok)

    const run = await enroll(setup, 'web-3')

    assert.equal(run.status, EXIT.unavailable)
    assert.match(run.err, /is missing seq 2: /)
    assert.match(run.err, /has only up to seq 1,/)
  })

  it('lets enroll continue after an import', async () => {
    await enroll(setup, 'web-1')
    const second = certificateOf(await enroll(setup, 'web-2'))
    const bundle = join(setup.folder, 'all.bundle')
    assert.equal((await runCli(['bundle', 'export', '--out', bundle, '--config', setup.config])).status, EXIT.ok)
    await loseStore(setup)
    assert.equal((await runCli(['bundle', 'import', bundle, '--config', setup.config])).status, EXIT.ok)

    const run = await enroll(setup, 'web-3')

    assert.equal(run.status, EXIT.ok, run.err)
    const third = await withStore(setup, async store => await store.getBySeq(setup.admin.id, 3))
    assert.equal(third?.id, certificateOf(run))
    assert.equal(third?.prev, second)
    assert.equal((await readFeedMark(setup.markFile))?.seq, 3)
  })

  it('ignores a mark of another key', async () => {
    await writeFile(setup.markFile, JSON.stringify({
      author: generateKey().id,
      seq: 9,
      record: `cert_${'a'.repeat(52)}`,
      writtenAt: new Date().toISOString()
    }))

    const run = await enroll(setup, 'web-1')

    assert.equal(run.status, EXIT.ok, run.err)
    assert.equal((await readFeedMark(setup.markFile))?.author, setup.admin.id)
    assert.equal((await readFeedMark(setup.markFile))?.seq, 1)
  })
})

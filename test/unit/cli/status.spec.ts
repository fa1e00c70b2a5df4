import assert from 'node:assert/strict'
import { readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'
import { parseConfig } from '../../../src/config/index.ts'
import { Garden, feedMarkPath, readFeedMark } from '../../../src/garden/index.ts'
import type { FeedMarkCheck } from '../../../src/garden/index.ts'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { waitUntil } from '../network/helpers.ts'
import { runCli } from './run-cli.ts'

interface Setup {
  folder: string
  config: string
  admin: SigningKey
  nodeMark: string
  adminMark: string
}

async function setUp (): Promise<Setup> {
  const { folder, admin, config } = await writeAdminFolder('sower-status-')
  const configFile = join(folder, 'config.json')
  await writeFile(configFile, JSON.stringify(config))
  return { folder, config: configFile, admin, nodeMark: join(folder, 'node.pem.feed-head'), adminMark: join(folder, 'admin.pem.feed-head') }
}

async function status (setup: Setup, ...args: string[]): Promise<string> {
  const run = await runCli(['status', ...args, '--config', setup.config])
  assert.equal(run.status, EXIT.ok, run.err)
  return run.out
}

async function enroll (setup: Setup, name: string): Promise<void> {
  const run = await runCli(['enroll', generateKey().id, '--name', name, '--config', setup.config])
  assert.equal(run.status, EXIT.ok, run.err)
}

async function loseStore (setup: Setup): Promise<void> {
  await rm(join(setup.folder, 'data', 'records'), { recursive: true, force: true })
}

/** Runs the node of `setup` until it has signed its first report and written the mark of it beside its key. */
async function signFirstReport (setup: Setup): Promise<void> {
  const config = parseConfig(await readConfig(setup), setup.config)
  const garden = new Garden(config, { logger: silentLogger(), control: false, ownFeed: { waitMs: 200 } })
  try {
    await garden.start()
    await waitUntil(async () => (await readFeedMark(setup.nodeMark))?.seq === 1, 10_000, 'the mark of the first report')
  } finally {
    await garden.stop()
  }
}

async function readConfig (setup: Setup): Promise<Record<string, unknown>> {
  return JSON.parse(await readFile(setup.config, 'utf8')) as Record<string, unknown>
}

describe('status of feed head marks', function () {
  this.timeout(30_000)
  let setup: Setup

  beforeEach(async () => { setup = await setUp() })
  afterEach(async () => { await rm(setup.folder, { recursive: true, force: true }) })

  it('shows feeds without marks', async () => {
    const out = await status(setup)

    assert.match(out, /^own feed complete \(no record stored, no feed head mark\)$/m)
    assert.match(out, new RegExp(`^admin key ops \\(${setup.admin.id}\\) complete \\(no record stored, no feed head mark\\)$`, 'm'))
  })

  it('shows a complete admin feed', async () => {
    await enroll(setup, 'web-1')
    await enroll(setup, 'web-2')

    const out = await status(setup)

    assert.match(out, new RegExp(`^admin key ops \\(${setup.admin.id}\\) complete \\(stored up to seq 2, mark at seq 2\\)$`, 'm'))
  })

  it('shows an admin feed behind its mark', async () => {
    await enroll(setup, 'web-1')
    await enroll(setup, 'web-2')
    await loseStore(setup)

    const out = await status(setup)

    const line = out.split('\n').find(candidate => candidate.startsWith('admin key ops'))
    assert.ok(line != null, out)
    assert.match(line, /behind its feed head mark \(no record stored, mark at seq 2\): /)
    assert.match(line, new RegExp(`the feed of admin key ${setup.admin.id} is missing seq 1 to 2: the feed head mark .*admin\\.pem\\.feed-head`))
    assert.match(line, /so this node signs nothing with this key until the records are back/)
    assert.match(line, /`sower bundle export --out FILE` on such a member and `sower bundle import FILE` here/)
    assert.doesNotMatch(line, /run this command again/)
  })

  it('shows the own feed of a stopped garden', async () => {
    await signFirstReport(setup)

    const out = await status(setup)

    assert.match(out, /^own feed complete \(stored up to seq 1, mark at seq 1\)$/m)
  })

  it('shows a stopped garden behind its mark', async () => {
    await signFirstReport(setup)
    await loseStore(setup)

    const out = await status(setup)

    const line = out.split('\n').find(candidate => candidate.startsWith('own feed'))
    assert.ok(line != null, out)
    assert.match(line, /^own feed behind its feed head mark \(no record stored, mark at seq 1\): /)
    assert.match(line, /the feed of this node \(12D3KooW\w+\) is missing seq 1: the feed head mark .*node\.pem\.feed-head/)
    assert.match(line, /so once started, the node signs nothing and deploys nothing until the records come back/)
    assert.match(line, /Start it where it reaches a member that holds them, or run `sower bundle export --out FILE`/)
    assert.doesNotMatch(line, /It keeps syncing/)
  })

  it('names a mark of another key', async () => {
    await enroll(setup, 'web-1')
    const other = generateKey().id
    await writeFile(setup.adminMark, JSON.stringify({ author: other, seq: 9, record: `cert_${'a'.repeat(52)}`, writtenAt: new Date().toISOString() }))

    const out = await status(setup)

    const line = out.split('\n').find(candidate => candidate.startsWith('admin key ops'))
    assert.ok(line != null, out)
    assert.match(line, /complete \(stored up to seq 1, no feed head mark\): /)
    assert.match(line, new RegExp(`belongs to key ${other}, not ${setup.admin.id}, so it is ignored`))
  })

  it('names an unreadable mark', async () => {
    await writeFile(setup.nodeMark, 'not json')

    const out = await status(setup)

    assert.match(out, /^own feed complete \(no record stored, no feed head mark\): the feed head mark .*node\.pem\.feed-head is not JSON: .*so it is ignored/m)
  })

  it('lists the marks in JSON', async () => {
    await enroll(setup, 'web-1')
    await loseStore(setup)

    const printed = JSON.parse(await status(setup, '--json')) as { ownFeed: unknown, feedMarks: FeedMarkCheck[] }

    assert.equal(printed.ownFeed, null)
    assert.deepEqual(printed.feedMarks.map(check => [check.feed, check.markSeq, check.storedSeq, check.complete]), [
      ['own', null, 0, true],
      ['admin', 1, 0, false]
    ])
    assert.equal(printed.feedMarks[1].author, setup.admin.id)
    assert.equal(printed.feedMarks[1].markFile, feedMarkPath(join(setup.folder, 'admin.pem')))
    assert.match(printed.feedMarks[1].detail ?? '', /is missing seq 1: /)
  })

  it('shows both feeds of a running node', async () => {
    await enroll(setup, 'web-1')
    const config = parseConfig(await readConfig(setup), setup.config)
    const garden = new Garden(config, { logger: silentLogger() })
    await garden.start()
    try {
      const out = await status(setup)

      assert.match(out, /node running/)
      assert.match(out, /^own feed waiting for a first sync \(no record stored, no feed head mark\): this node signs no report/m)
      assert.match(out, new RegExp(`^admin key ops \\(${setup.admin.id}\\) complete \\(stored up to seq 1, mark at seq 1\\)$`, 'm'))
      assert.equal(out.match(/^own feed/gm)?.length, 1)
    } finally {
      await garden.stop()
    }
  })
})

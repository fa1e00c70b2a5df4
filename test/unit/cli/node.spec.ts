import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EXIT, main } from '../../../src/cli/index.ts'
import { writeFeedMark } from '../../../src/garden/feed-mark.ts'
import { OWN_FEED_WAIT_MS } from '../../../src/garden/index.ts'
import { readKeyFile } from '../../../src/keys/index.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { waitUntil } from '../network/helpers.ts'

interface ReadyOwnFeed {
  state: string
  label: string
  storedSeq: number
  markSeq: number | null
  waitEndsAt: string | null
  detail: string | null
}

/** Runs `sower node` in this process until its ready line, stops it, and returns that line. */
async function readyLine (configFile: string): Promise<Record<string, unknown>> {
  let out = ''
  const stop = new AbortController()
  const previousLevel = process.env.SOWER_LOG_LEVEL
  process.env.SOWER_LOG_LEVEL = 'silent'
  try {
    const running = main(['node', '--config', configFile], {
      io: { out: text => { out += text }, err: () => {}, isTty: false },
      env: {},
      signal: stop.signal
    })
    await waitUntil(() => out.includes('\n'), 20_000, 'the ready line')
    stop.abort('test done')
    assert.equal(await running, EXIT.ok)
  } finally {
    if (previousLevel == null) {
      delete process.env.SOWER_LOG_LEVEL
    } else {
      process.env.SOWER_LOG_LEVEL = previousLevel
    }
  }
  return JSON.parse(out.split('\n')[0]) as Record<string, unknown>
}

describe('sower node ready line', function () {
  this.timeout(30_000)
  let folder: string
  let configFile: string

  beforeEach(async () => {
    const written = await writeAdminFolder('sower-node-')
    folder = written.folder
    configFile = join(folder, 'config.json')
    await writeFile(configFile, JSON.stringify(written.config))
  })
  afterEach(async () => { await rm(folder, { recursive: true, force: true }) })

  it('shows the wait of a new node', async () => {
    const startedMs = Date.now()
    const line = await readyLine(configFile)

    assert.equal(line.event, 'ready')
    const ownFeed = line.ownFeed as ReadyOwnFeed
    assert.equal(ownFeed.state, 'waiting')
    assert.equal(ownFeed.label, 'waiting for a first sync')
    assert.equal(ownFeed.storedSeq, 0)
    assert.equal(ownFeed.markSeq, null)
    assert.ok(Date.parse(ownFeed.waitEndsAt ?? '') >= startedMs + OWN_FEED_WAIT_MS, ownFeed.waitEndsAt ?? 'no waitEndsAt')
    assert.match(ownFeed.detail ?? '', /^this node signs no report, event or alert, and starts no deployment, until it has synced/)
  })

  it('shows the mark of its key', async () => {
    const nodeKey = await readKeyFile(join(folder, 'node.pem'))
    await writeFeedMark(join(folder, 'node.pem.feed-head'), {
      author: nodeKey.id, seq: 4, record: `rep_${'a'.repeat(52)}`, writtenAt: new Date().toISOString()
    })

    const line = await readyLine(configFile)

    const ownFeed = line.ownFeed as ReadyOwnFeed
    assert.equal(ownFeed.state, 'waiting')
    assert.equal(ownFeed.storedSeq, 0)
    assert.equal(ownFeed.markSeq, 4)
  })
})

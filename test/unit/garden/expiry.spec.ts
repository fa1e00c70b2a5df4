import assert from 'node:assert/strict'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pino } from 'pino'
import { parseConfig } from '../../../src/config/index.ts'
import type { Config } from '../../../src/config/index.ts'
import { Garden, openStoreOnly, toEnvelope } from '../../../src/garden/index.ts'
import { generateKey, readKeyFile } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { writeAdminFolder } from '../../utils/admin-folder.ts'
import { DAY_MS } from '../../utils/fleet.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { firstRoot, nextRoot } from '../../utils/roots.ts'
import { runCli } from '../cli/run-cli.ts'
import { waitUntil } from '../network/helpers.ts'

interface Setup {
  folder: string
  config: Config
  peer: string
  admin: SigningKey
  root: SignedRecord<'root'>
}

/** Writes a node whose root expires in a year and whose certificate expires in `certificateDays` days. */
async function setUp (certificateDays: number): Promise<Setup> {
  const { folder, admin, config: fields } = await writeAdminFolder('sower-expiry-', { scopes: [{ name: 'root' }, { name: 'enroll' }] })
  const nowMs = Date.now()
  const root = firstRoot({
    fleet: 'unit', admins: [{ name: 'ops', key: admin.id, scopes: [{ name: 'root' }, { name: 'enroll' }] }], threshold: 1, nowMs
  }, [admin])
  await writeFile(join(folder, 'root.json'), JSON.stringify(toEnvelope(root)))
  const file = join(folder, 'config.json')
  await writeFile(file, JSON.stringify(fields))
  const config = parseConfig(fields, file)
  const peer = (await readKeyFile(config.nodeKey)).id

  const local = await openStoreOnly(config, silentLogger())
  try {
    const expiresAt = new Date(nowMs + certificateDays * DAY_MS).toISOString()
    await local.api.sign({ type: 'certificate', body: { peer, name: 'web-1', roles: ['garden'], tags: ['eu'], expiresAt } })
  } finally {
    await local.close()
  }
  return { folder, config, peer, admin, root }
}

/** Parses the JSON log lines that a garden wrote to `lines`. */
function logEntries (lines: string[]): Array<{ item?: string, msg: string }> {
  return lines.map(line => JSON.parse(line) as { item?: string, msg: string })
}

describe('expiry warnings', () => {
  let setup: Setup | undefined
  let garden: Garden | undefined

  afterEach(async () => {
    await garden?.stop()
    garden = undefined
    if (setup != null) {
      await rm(setup.folder, { recursive: true, force: true })
    }
    setup = undefined
  })

  const cases = [
    { name: 'warns 10 days before', certificateDays: 10, warns: true },
    { name: 'stays quiet 60 days before', certificateDays: 60, warns: false }
  ]
  for (const { name, certificateDays, warns } of cases) {
    it(name, async () => {
      setup = await setUp(certificateDays)
      const lines: string[] = []
      const logger = pino({ level: 'warn' }, { write (line: string) { lines.push(line) } })
      garden = new Garden(setup.config, { logger })
      await garden.start()

      const warnings = lines.map(line => JSON.parse(line) as { item?: string, msg: string }).filter(entry => entry.item != null)
      const status = await runCli(['status', '--config', setup.config.file])
      assert.equal(status.status, 0, status.err)
      if (warns) {
        assert.deepEqual(warnings.map(warning => warning.item), ['certificate'])
        assert.match(warnings[0].msg, /the certificate of this node expires at \d{4}-\d\d-\d\dT/)
        assert.ok(warnings[0].msg.includes(`\`sower enroll ${setup.peer} --name web-1 --tag eu --expires 1y\``), warnings[0].msg)
        assert.match(status.out, /warning: the certificate of this node expires at .* `sower enroll /)
      } else {
        assert.deepEqual(warnings, [])
        assert.doesNotMatch(status.out, /warning:/)
      }
    })
  }

  it('carries the expiry times in status --json', async () => {
    setup = await setUp(10)
    garden = new Garden(setup.config, { logger: silentLogger() })
    await garden.start()
    const run = await runCli(['status', '--json', '--config', setup.config.file])
    assert.equal(run.status, 0, run.err)
    const json = JSON.parse(run.out) as { rootExpiresAt: string, certificateExpiresAt: string | null }
    assert.equal(json.rootExpiresAt, garden.node.trust.root.body.expiresAt)
    assert.equal(json.certificateExpiresAt, garden.node.trust.certificatesOf(setup.peer)[0].body.expiresAt)
  })

  it('warns of the root by the garden clock', async () => {
    setup = await setUp(400)
    const lines: string[] = []
    const logger = pino({ level: 'warn' }, { write (line: string) { lines.push(line) } })
    const nowMs = Date.now() + 340 * DAY_MS
    garden = new Garden(setup.config, { logger, nowMs: () => nowMs })
    await garden.start()
    const items = lines.map(line => (JSON.parse(line) as { item?: string }).item).filter(item => item != null)
    assert.deepEqual(items, ['root'])
    await garden.stop()
    await garden.stop()
  })

  it('starts with an expired root and recovers by root publish', async () => {
    setup = await setUp(800)
    const lines: string[] = []
    const logger = pino({ level: 'info' }, { write (line: string) { lines.push(line) } })
    const nowMs = Date.now() + 400 * DAY_MS
    const clock = { nowMs: () => nowMs }
    garden = new Garden(setup.config, { logger, ...clock, ownFeed: { waitMs: 0 } })
    await garden.start()
    assert.equal(garden.node.trust.rootExpired, true)
    const warning = logEntries(lines).find(entry => entry.item === 'root')
    assert.match(warning?.msg ?? '', /^root version 1 expired at \d{4}-\d\d-\d\dT.*`sower root publish ROOT_FILE`/)

    await waitUntil(() => logEntries(lines).some(entry => entry.msg.includes('deployment engine waits for a root version')),
      10_000, 'deployment engine waiting')
    const status = await runCli(['status', '--config', setup.config.file], clock)
    assert.equal(status.status, 0, status.err)
    assert.match(status.out, /warning: root version 1 expired at .* `sower root publish ROOT_FILE`/)
    const json = await runCli(['status', '--json', '--config', setup.config.file], clock)
    assert.equal((JSON.parse(json.out) as { rootExpired: boolean }).rootExpired, true)
    assert.equal(await ownReports(garden, setup.peer), 0)

    const next = nextRoot(setup.root, { fleet: 'unit', admins: setup.root.body.admins, threshold: 1, nowMs }, [setup.admin])
    const nextFile = join(setup.folder, 'root-2.json')
    await writeFile(nextFile, JSON.stringify(toEnvelope(next)))
    const published = await runCli(['root', 'publish', nextFile, '--config', setup.config.file], clock)
    assert.equal(published.status, 0, published.err)
    assert.equal(garden.node.trust.rootExpired, false)
    const running = garden
    const peer = setup.peer
    await waitUntil(async () => await ownReports(running, peer) > 0, 10_000, 'own report signed')
  })

  it('takes a root published while stopped', async () => {
    const admin = generateKey()
    const nowMs = Date.now()
    const rootInit = { fleet: 'unit', admins: [{ name: 'ops', key: admin.id, scopes: [{ name: 'root' as const }] }], threshold: 1 }
    const expired = firstRoot({ ...rootInit, nowMs: nowMs - 400 * DAY_MS }, [admin])
    const { folder, config: fields } = await writeAdminFolder('sower-expired-', { root: expired, admin })
    const file = join(folder, 'config.json')
    await writeFile(file, JSON.stringify(fields))
    setup = { folder, config: parseConfig(fields, file), peer: '', admin, root: expired }

    const before = await runCli(['status', '--config', file])
    assert.equal(before.status, 0, before.err)
    assert.match(before.out, /warning: root version 1 expired at .* `sower root publish ROOT_FILE`/)

    const next = nextRoot(expired, { ...rootInit, nowMs }, [admin])
    const nextFile = join(folder, 'root-2.json')
    await writeFile(nextFile, JSON.stringify(toEnvelope(next)))
    const published = await runCli(['root', 'publish', nextFile, '--config', file])
    assert.equal(published.status, 0, published.err)
    assert.match(published.out, /the node is not running/)

    const after = await runCli(['status', '--json', '--config', file])
    assert.equal(after.status, 0, after.err)
    const json = JSON.parse(after.out) as { rootVersion: number, rootExpired: boolean }
    assert.equal(json.rootVersion, 2)
    assert.equal(json.rootExpired, false)
  })
})

async function ownReports (garden: Garden, peer: string): Promise<number> {
  let count = 0
  for await (const record of garden.store.listByType('report')) {
    if (record.author === peer) {
      count++
    }
  }
  return count
}

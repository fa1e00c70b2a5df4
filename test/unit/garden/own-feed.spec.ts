import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pino } from 'pino'
import type { Logger } from 'pino'
import { FeedMarkError, readFeedMark, writeFeedMark } from '../../../src/garden/feed-mark.ts'
import { OwnFeedGuard, judgeOwnFeed } from '../../../src/garden/own-feed.ts'
import type { OwnFeedFacts, OwnFeedGuardInit } from '../../../src/garden/own-feed.ts'
import type { SyncEvent } from '../../../src/network/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { reportAt } from '../../utils/alerts.ts'
import { createTestFleet, iso } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'
import { NodeSet, report, waitForEvent, waitUntil } from '../network/helpers.ts'
import type { RunningNode } from '../network/helpers.ts'

interface LogLine {
  level: number
  msg: string
  [field: string]: unknown
}

const ERROR_LEVEL = 50

/** Creates a logger that keeps every line it writes, parsed, in `lines`. */
function recordingLogger (): { logger: Logger, lines: LogLine[] } {
  const lines: LogLine[] = []
  const logger = pino({ level: 'info' }, { write (line: string) { lines.push(JSON.parse(line) as LogLine) } })
  return { logger, lines }
}

async function appendReport (node: RunningNode, fleet: TestFleet, agentVersion = '1.0.0'): Promise<SignedRecord<'report'>> {
  return await node.store.append('report', {
    fleet: fleet.fleet,
    issuedAt: iso(Date.now()),
    agentVersion,
    addresses: [],
    subscriptions: [],
    profiles: []
  }, node.member.key)
}

/** Signs `count` reports of `member` as one feed from seq 1. */
function reportChain (member: TestMember, fleet: TestFleet, count: number): Array<SignedRecord<'report'>> {
  const chain: Array<SignedRecord<'report'>> = []
  for (let seq = 1; seq <= count; seq++) {
    chain.push(report(member, fleet, seq, chain.at(-1)?.id ?? null))
  }
  return chain
}

describe('judgeOwnFeed', () => {
  const cases: Array<[string, OwnFeedFacts, string]> = [
    ['new garden before any sync', { storedSeq: 0, markSeq: null, synced: false, waitOver: false }, 'waiting'],
    ['new garden after a sync', { storedSeq: 0, markSeq: null, synced: true, waitOver: false }, 'ready'],
    ['new garden after the wait', { storedSeq: 0, markSeq: null, synced: false, waitOver: true }, 'ready'],
    ['intact store before any sync', { storedSeq: 7, markSeq: 7, synced: false, waitOver: false }, 'waiting'],
    ['intact store after the wait', { storedSeq: 7, markSeq: 7, synced: false, waitOver: true }, 'ready'],
    ['store past its mark after a sync', { storedSeq: 9, markSeq: 7, synced: true, waitOver: false }, 'ready'],
    ['lost store after a sync without its records', { storedSeq: 0, markSeq: 7, synced: true, waitOver: false }, 'waiting'],
    ['lost store after the wait', { storedSeq: 0, markSeq: 7, synced: true, waitOver: true }, 'behind'],
    ['old store after the wait', { storedSeq: 5, markSeq: 7, synced: false, waitOver: true }, 'behind'],
    ['restored store after the wait', { storedSeq: 7, markSeq: 7, synced: true, waitOver: true }, 'ready']
  ]
  for (const [name, facts, expected] of cases) {
    it(name, () => {
      assert.equal(judgeOwnFeed(facts), expected)
    })
  }
})

describe('feed head mark', () => {
  let folder: string

  beforeEach(async () => { folder = await mkdtemp(join(tmpdir(), 'sower-mark-')) })
  afterEach(async () => { await rm(folder, { recursive: true, force: true }) })

  it('reads what it wrote', async () => {
    const path = join(folder, 'node.pem.feed-head')
    const author = createTestFleet({ members: 1 }).members[0].key.id
    const mark = { author, seq: 12, record: `rep_${'a'.repeat(52)}`, writtenAt: '2026-01-02T03:04:05.678Z' }
    await writeFeedMark(path, mark)
    assert.deepEqual(await readFeedMark(path), mark)
  })

  it('returns undefined without a file', async () => {
    assert.equal(await readFeedMark(join(folder, 'missing')), undefined)
  })

  it('rejects an invalid file', async () => {
    const path = join(folder, 'node.pem.feed-head')
    await writeFile(path, '{"seq":0}')
    await assert.rejects(readFeedMark(path), (err: unknown) => {
      assert.ok(err instanceof FeedMarkError)
      assert.match(err.message, /invalid feed head mark .*node\.pem\.feed-head: author: /)
      return true
    })
  })
})

describe('own feed guard', function () {
  this.timeout(30_000)
  const nodes = new NodeSet()
  const guards: OwnFeedGuard[] = []
  let folder: string

  beforeEach(async () => { folder = await mkdtemp(join(tmpdir(), 'sower-own-feed-')) })

  afterEach(async () => {
    await Promise.all(guards.splice(0).map(async guard => { await guard.stop() }))
    await nodes.stopAll()
    await rm(folder, { recursive: true, force: true })
  })

  /** Creates a node of `member` with a guard on its store, started before the node as the garden does. */
  async function startGuarded (fleet: TestFleet, member: TestMember, init: Partial<OwnFeedGuardInit> & { bootstrap?: string[], dir?: string, logger?: Logger } = {}): Promise<{ node: RunningNode, guard: OwnFeedGuard }> {
    const { bootstrap, dir, logger, ...guardInit } = init
    const node = await nodes.create(fleet, member, {
      certificates: fleet.members.map(other => other.certificate),
      ...(bootstrap == null ? {} : { bootstrap }),
      ...(dir == null ? {} : { dir })
    })
    const guard = new OwnFeedGuard({ store: node.store, node: node.node, author: member.key.id, logger: logger ?? pino({ level: 'silent' }) }, {
      markFile: join(folder, `${member.name}.pem.feed-head`),
      waitMs: 20_000,
      ...guardInit
    })
    await guard.start()
    guards.push(guard)
    await node.node.start()
    return { node, guard }
  }

  async function stopGuarded ({ node, guard }: { node: RunningNode, guard: OwnFeedGuard }): Promise<void> {
    await guard.stop()
    await node.node.stop()
    await node.store.close()
  }

  it('continues after a lost store', async () => {
    const fleet = createTestFleet({ members: 2 })
    const [gardenMember, peerMember] = fleet.members
    const peer = await nodes.start(fleet, peerMember, { certificates: fleet.members.map(member => member.certificate) })
    const first = await startGuarded(fleet, gardenMember, { bootstrap: peer.node.getMultiaddrs() })
    await first.guard.ready()
    const old: Array<SignedRecord<'report'>> = []
    for (let i = 0; i < 3; i++) {
      old.push(await appendReport(first.node, fleet))
    }
    await peer.node.syncWith(gardenMember.key.id)
    assert.equal(await peer.store.has(old[2].id), true)
    await stopGuarded(first)
    await rm(join(first.node.dir, 'db'), { recursive: true, force: true })

    const second = await startGuarded(fleet, gardenMember, { bootstrap: peer.node.getMultiaddrs(), dir: first.node.dir })
    assert.equal(second.guard.state, 'waiting')
    const appends = ['2.0.0', '2.0.1', '2.0.2'].map(async version => await appendReport(second.node, fleet, version))
    const records = await Promise.all(appends)

    assert.deepEqual(records.map(record => record.seq), [4, 5, 6])
    assert.deepEqual(records.map(record => record.body.agentVersion), ['2.0.0', '2.0.1', '2.0.2'])
    assert.equal(records[0].prev, old[2].id)
    assert.equal(records[1].prev, records[0].id)
    await peer.node.syncWith(gardenMember.key.id)
    assert.equal(await peer.store.has(records[2].id), true)
    assert.equal(peer.store.isRefused(gardenMember.key.id), false)
    assert.equal(second.node.store.isRefused(gardenMember.key.id), false)
    assert.equal((await readFeedMark(join(folder, `${gardenMember.name}.pem.feed-head`)))?.seq, 6)
  })

  it('appends after the wait without peers', async () => {
    const fleet = createTestFleet({ members: 1 })
    const startedMs = performance.now()
    const { node, guard } = await startGuarded(fleet, fleet.members[0], { waitMs: 300 })
    assert.equal(guard.state, 'waiting')
    const record = await appendReport(node, fleet)
    const elapsedMs = performance.now() - startedMs
    // libuv measures timers in whole milliseconds, so the wait may end a fraction early on this clock.
    assert.ok(elapsedMs >= 299, `appended after ${elapsedMs} ms`)
    assert.equal(record.seq, 1)
    assert.equal(guard.state, 'ready')
    assert.equal((await readFeedMark(join(folder, `${fleet.members[0].name}.pem.feed-head`)))?.record, record.id)
  })

  it('stays read-only below its mark', async () => {
    const fleet = createTestFleet({ members: 2 })
    const member = fleet.members[0]
    const markFile = join(folder, `${member.name}.pem.feed-head`)
    const chain = reportChain(member, fleet, 3)
    await writeFeedMark(markFile, { author: member.key.id, seq: 3, record: chain[2].id, writtenAt: iso(Date.now()) })
    const { logger, lines } = recordingLogger()
    const { node, guard } = await startGuarded(fleet, member, { waitMs: 300, logger })
    const waiting = appendReport(node, fleet)

    await assert.rejects(waiting, { code: 'ERR_OWN_FEED_BEHIND', message: /missing seq 1 to 3/ })
    await assert.rejects(appendReport(node, fleet), { code: 'ERR_OWN_FEED_BEHIND' })
    assert.equal(guard.state, 'behind')
    assert.equal(node.store.feed(member.key.id).last, 0)
    const error = lines.find(line => line.level === ERROR_LEVEL)
    assert.match(error?.msg ?? '', /missing seq 1 to 3: the feed head mark .*feed-head shows that its key signed them/)
    assert.match(error?.msg ?? '', /`sower bundle import FILE`/)
    assert.match(error?.msg ?? '', /`sower keygen --out FILE`/)
    assert.match(guard.status().detail ?? '', /missing seq 1 to 3/)
  })

  it('resumes when records come back', async () => {
    const fleet = createTestFleet({ members: 2 })
    const [member, peerMember] = fleet.members
    const chain = reportChain(member, fleet, 3)
    const peer = await nodes.start(fleet, peerMember, { certificates: fleet.members.map(other => other.certificate) })
    for (const record of chain) {
      await peer.store.put(record, { via: 'local', receivedAt: iso(Date.now()) })
    }
    await writeFeedMark(join(folder, `${member.name}.pem.feed-head`), { author: member.key.id, seq: 3, record: chain[2].id, writtenAt: iso(Date.now()) })
    const { node, guard } = await startGuarded(fleet, member, { waitMs: 300 })
    await waitUntil(() => guard.state === 'behind', 5_000, 'behind state')

    await node.node.dial(peer.node.getMultiaddrs()[0])
    await guard.ready()
    const record = await appendReport(node, fleet)
    assert.equal(record.seq, 4)
    assert.equal(record.prev, chain[2].id)
  })

  it('logs a fork of its own key', async () => {
    const fleet = createTestFleet({ members: 2 })
    const [member, peerMember] = fleet.members
    const peer = await nodes.start(fleet, peerMember, { certificates: fleet.members.map(other => other.certificate) })
    // The other machine signed two records, which the peer has; this one signs its own first record.
    for (const record of reportChain(member, fleet, 2)) {
      await peer.store.put(record, { via: 'local', receivedAt: iso(Date.now()) })
    }
    const { logger, lines } = recordingLogger()
    const { node, guard } = await startGuarded(fleet, member, { waitMs: 300, logger })
    const own = await appendReport(node, fleet, '9.9.9')
    assert.equal(own.seq, 1)

    const forked = waitForEvent(node.store, 'fork')
    await node.node.dial(peer.node.getMultiaddrs()[0])
    await forked
    assert.equal(guard.state, 'forked')
    const error = lines.find(line => line.level === ERROR_LEVEL)
    assert.match(error?.msg ?? '', new RegExp(`key ${member.key.id} signed two histories of its feed \\(record at seq 2 does not link to the stored record at seq 1`))
    assert.match(error?.msg ?? '', /another machine runs with the same key/)
    assert.match(error?.msg ?? '', /`sower enroll NEW_KEY_ID --name NAME`/)
    assert.match(error?.msg ?? '', new RegExp(`\`sower revoke ${member.key.id} --reason "forked key"\``))
    await assert.rejects(appendReport(node, fleet), { code: 'ERR_OWN_FEED_FORKED' })
  })

  it('alerts after a sync that forks', async () => {
    const fleet = createTestFleet({ members: 3 })
    const [member, peerMember, subjectMember] = fleet.members
    const subject = subjectMember.key
    const peer = await nodes.start(fleet, peerMember, { certificates: fleet.members.map(other => other.certificate) })
    const first = reportAt(fleet.fleet, subject, 1, null, '6.6.6')
    for (const record of [first, reportAt(fleet.fleet, subject, 2, first.id, '6.6.6')]) {
      await peer.store.put(record, { via: 'local', receivedAt: iso(Date.now()) })
    }
    const waitMs = 20_000
    const { node, guard } = await startGuarded(fleet, member, { waitMs })
    await node.store.put(reportAt(fleet.fleet, subject, 1, null, '1.0.0'), { via: 'local', receivedAt: iso(Date.now()) })
    const order: string[] = []
    node.node.on('sync', () => { order.push('sync') })
    node.node.on('alert', () => { order.push('alert') })
    const synced = waitForEvent<SyncEvent>(node.node, 'sync')
    const alerted = waitForEvent<SignedRecord<'alert'>>(node.node, 'alert')
    const startedMs = performance.now()

    await node.node.dial(peer.node.getMultiaddrs()[0])
    const sync = await synced
    const alert = await alerted

    assert.ok(performance.now() - startedMs < waitMs / 2, `alert after ${performance.now() - startedMs} ms`)
    assert.equal(sync.received, 1)
    assert.deepEqual(order, ['sync', 'alert'])
    assert.equal(alert.body.subject, subject.id)
    assert.equal(alert.seq, 1)
    assert.equal(guard.state, 'ready')
    assert.equal((await readFeedMark(join(folder, `${member.name}.pem.feed-head`)))?.record, alert.id)
    // The alert goes out by gossip; a sync brings it when the peer had not subscribed yet.
    await peer.node.syncWith(member.key.id)
    assert.equal(await peer.store.has(alert.id), true)
  })
})

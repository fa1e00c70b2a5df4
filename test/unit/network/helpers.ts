import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { EventEmitter } from 'node:events'
import { createLogger, silentLogger } from '../../../src/logger.ts'
import { FleetNode } from '../../../src/network/index.ts'
import type { FleetNodeInit } from '../../../src/network/index.ts'
import { signRecord } from '../../../src/records/index.ts'
import type { DeployIntentBody, SignedRecord } from '../../../src/records/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { iso } from '../../utils/fleet.ts'
import type { TestFleet, TestMember } from '../../utils/fleet.ts'

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

export interface RunningNode {
  node: FleetNode
  store: RecordStore
  member: TestMember
  dir: string
}

/** Starts and tracks nodes so that `stopAll` in afterEach stops every one. */
export class NodeSet {
  readonly nodes: RunningNode[] = []
  readonly #dirs: string[] = []

  async create (fleet: TestFleet, member: TestMember, init: Partial<FleetNodeInit> & { certificates?: SignedRecord[], dir?: string } = {}): Promise<RunningNode> {
    const dir = init.dir ?? await mkdtemp(join(tmpdir(), 'sower-net-'))
    this.#dirs.push(dir)
    const store = await RecordStore.open(join(dir, 'db'))
    for (const record of init.certificates ?? [member.certificate]) {
      await store.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    }
    const node = new FleetNode({ store, nodeKey: member.key, logger: process.env.SOWER_TEST_LOG != null ? createLogger(member.name) : silentLogger() }, {
      root: fleet.root,
      listenAddresses: LOOPBACK,
      syncIntervalMs: 0,
      ...init
    })
    const running = { node, store, member, dir }
    this.nodes.push(running)
    return running
  }

  async start (fleet: TestFleet, member: TestMember, init: Parameters<NodeSet['create']>[2] = {}): Promise<RunningNode> {
    const running = await this.create(fleet, member, init)
    await running.node.start()
    return running
  }

  async stopAll (): Promise<void> {
    await Promise.all(this.nodes.map(async ({ node, store }) => {
      await node.stop()
      await store.close()
    }))
    this.nodes.length = 0
    await Promise.all(this.#dirs.splice(0).map(async dir => { await rm(dir, { recursive: true, force: true }) }))
  }
}

/** Resolves with the first event of `name` whose payload passes `predicate`. */
export async function waitForEvent<T> (emitter: EventEmitter<any>, name: string, predicate: (value: T) => boolean = () => true,
  timeoutMs = 10_000): Promise<T> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(name, listener)
      reject(new Error(`no ${name} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (value: T): void => {
      if (predicate(value)) {
        clearTimeout(timer)
        emitter.off(name, listener)
        resolve(value)
      }
    }
    emitter.on(name, listener)
  })
}

/** Resolves with the detail of the first libp2p event of `name` whose detail passes `predicate`. */
export async function waitForLibp2pEvent<T> (target: EventTarget, name: string,
  predicate: (detail: T) => boolean = () => true, timeoutMs = 10_000): Promise<T> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(name, listener)
      reject(new Error(`no ${name} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (event: Event): void => {
      const detail = (event as CustomEvent<T>).detail
      if (predicate(detail)) {
        clearTimeout(timer)
        target.removeEventListener(name, listener)
        resolve(detail)
      }
    }
    target.addEventListener(name, listener)
  })
}

/** Matches the error of a stream that the other side reset or closed, as opposed to a read that timed out. */
export function isReset (err: Error): boolean {
  return err.name !== 'AbortError' && err.name !== 'TimeoutError'
}

/** Polls `check` until it returns true; for conditions with no event to await. */
export async function waitUntil (check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

const STORE_PATH = '/nix/store/0c7jx3sb4w0l0k7y8b6y9n4b4p7m5f2a-hello-2.12'
const NAR_HASH = 'sha256:1b4sb93wp679q4zx9k1ignby1yna3z7c4c2ri3wphylbc2dwsys0'

/** Signs the admin's next deploy intent, advancing the fleet's admin feed. */
export function signIntent (fleet: TestFleet, overrides: Partial<DeployIntentBody> = {}, nowMs = Date.now()): SignedRecord<'intent'> {
  const body: DeployIntentBody = {
    fleet: fleet.fleet,
    author: fleet.admin.id,
    seq: fleet.adminFeed.seq + 1,
    prev: fleet.adminFeed.prev,
    issuedAt: iso(nowMs),
    expiresAt: iso(nowMs + 3_600_000),
    targets: ['*'],
    action: 'deploy',
    sequence: fleet.adminFeed.seq + 1,
    releases: [{
      seed: 'hello',
      type: 'service',
      storePath: STORE_PATH,
      narHash: NAR_HASH,
      narSize: 1024,
      manifest: [{ path: STORE_PATH, narHash: NAR_HASH, narSize: 1024, references: [] }]
    }],
    ...overrides
  }
  const record = signRecord('intent', body, [fleet.admin])
  fleet.adminFeed.seq = body.seq
  fleet.adminFeed.prev = record.id
  return record
}

/** Signs the admin's next revocation of `peer`, advancing the fleet's admin feed. */
export function signRevocation (fleet: TestFleet, peer: string, reason = 'key lost'): SignedRecord<'revocation'> {
  const record = signRecord('revocation', {
    fleet: fleet.fleet,
    author: fleet.admin.id,
    seq: fleet.adminFeed.seq + 1,
    prev: fleet.adminFeed.prev,
    issuedAt: iso(Date.now()),
    peer,
    reason
  }, [fleet.admin])
  fleet.adminFeed.seq++
  fleet.adminFeed.prev = record.id
  return record
}

/**
 * Waits until `node` has every peer in `peers` as a control topic
 * subscriber. A record published before that reaches them only by a later sync.
 */
export async function gossipReady (node: RunningNode, peers: RunningNode[]): Promise<void> {
  const pubsub = (node.node.libp2p as any).services.pubsub
  const topic = node.node.protocols.topics.control
  await waitUntil(() => {
    const subscribers = new Set(pubsub.getSubscribers(topic).map(String))
    return peers.every(peer => subscribers.has(peer.member.key.id))
  }, 10_000, 'gossip subscriptions')
}

/** Signs an empty report of `member` at position `seq` of its feed. */
export function report (member: TestMember, fleet: TestFleet, seq = 1, prev: string | null = null): SignedRecord<'report'> {
  return signRecord('report', {
    fleet: fleet.fleet,
    author: member.key.id,
    seq,
    prev,
    issuedAt: iso(Date.now()),
    agentVersion: '0.1.0',
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [member.key])
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import type { SigningKey } from '../../src/keys/index.ts'
import { deploymentId, signRecord } from '../../src/records/index.ts'
import type { EventBody, RecordType, Release, ReportBody, SignedRecord } from '../../src/records/index.ts'
import { RecordStore } from '../../src/store/index.ts'
import type { StoredMeta } from '../../src/store/index.ts'
import { createTestFleet, iso } from './fleet.ts'
import type { TestFleet, TestMember } from './fleet.ts'

/*
 * Real signed records in a real LevelDB store, for the web view's tests:
 * each garden signs its own reports and events in its own feed, and the
 * fleet's admin signs certificates and intents in the admin feed.
 */

/** Position of the next record in one author's feed. */
interface FeedState {
  seq: number
  prev: string | null
}

export interface FeedSigner {
  key: SigningKey
  /** Signs the next record of this feed; `issuedAt` defaults to the signer's clock. */
  sign: <T extends RecordType>(type: T, body: Record<string, unknown> & { issuedAt?: string }) => SignedRecord<T>
}

export function feedSigner (fleet: string, key: SigningKey, state: FeedState, nowMs: () => number): FeedSigner {
  return {
    key,
    sign (type, body) {
      const full = { fleet, author: key.id, seq: state.seq + 1, prev: state.prev, issuedAt: iso(nowMs()), ...body }
      const record = signRecord(type, full as any, [key])
      state.seq = full.seq
      state.prev = record.id
      return record
    }
  }
}

const NIX_BASE32 = '0123456789abcdfghijklmnpqrsvwxyz'

function nixHash (seed: string, length: number): string {
  const digest = createHash('sha256').update(seed).digest()
  let out = ''
  for (let i = 0; i < length; i++) out += NIX_BASE32[digest[i % digest.length] % 32]
  return out
}

/** A release of `seed` whose store path and NAR hash are derived from `version`. */
export function testRelease (seed: string, version = '1', type: Release['type'] = 'service'): Release {
  const storePath = `/nix/store/${nixHash(`${seed}-${version}`, 32)}-${seed}-${version}`
  const narHash = `sha256:${nixHash(`nar-${seed}-${version}`, 52)}`
  const narSize = 1024 * 1024
  return { seed, type, storePath, narHash, narSize, manifest: [{ path: storePath, narHash, narSize, references: [] }] }
}

export interface GardenFeed extends FeedSigner {
  member: TestMember
}

export interface FleetStore {
  dir: string
  store: RecordStore
  fleet: TestFleet
  admin: FeedSigner
  gardens: GardenFeed[]
  /** Stores records as received by sync, in order. */
  put: (...records: SignedRecord[]) => Promise<void>
  /** Enrolls a garden: signs its certificate and stores it. */
  enroll: (name: string, tags?: string[]) => Promise<GardenFeed>
  /** A report of `garden` with one subscription and one profile per seed. */
  report: (garden: GardenFeed, init?: Partial<ReportBody>) => SignedRecord<'report'>
  /** A deploy intent signed by the admin. */
  intent: (seeds: string[], targets?: string[], sequence?: number) => SignedRecord<'intent'>
  /** An event of `garden` working on `intent`'s first seed. */
  event: (garden: GardenFeed, intent: SignedRecord<'intent'>, kind: EventBody['kind'], init?: Partial<EventBody>) => SignedRecord<'event'>
  /** Current time of the fixture's clock. */
  nowMs: () => number
  close: () => Promise<void>
}

/** Opens a store in a temporary folder and stores a fleet's root. */
export async function openFleetStore (options: { fleet?: string, startMs?: number } = {}): Promise<FleetStore> {
  const dir = await mkdtemp(join(tmpdir(), 'sower-web-'))
  const store = await RecordStore.open(join(dir, 'db'))
  let clockMs = options.startMs ?? Date.now() - 60 * 60 * 1000
  // Every signed record gets a later time, so feeds and timelines have a strict order.
  const nowMs = (): number => (clockMs += 1000)
  const fleet = createTestFleet({ fleet: options.fleet ?? 'web-fleet', nowMs: clockMs })
  const admin = feedSigner(fleet.fleet, fleet.admin, fleet.adminFeed, nowMs)
  const gardens: GardenFeed[] = []
  const seqs = new Map<string, number>()

  const put = async (...records: SignedRecord[]): Promise<void> => {
    for (const record of records) {
      const meta: StoredMeta = { via: 'sync', receivedAt: iso(Date.now()) }
      const result = await store.put(record, meta)
      if (result.status !== 'stored') throw new Error(`storing ${record.id} returned ${result.status}`)
    }
  }

  const fixture: FleetStore = {
    dir,
    store,
    fleet,
    admin,
    gardens,
    put,
    nowMs,
    async enroll (name, tags = []) {
      const member = fleet.enroll(name, { tags, issuedAt: iso(nowMs()) })
      await put(member.certificate)
      const garden = { ...feedSigner(fleet.fleet, member.key, { seq: 0, prev: null }, nowMs), member }
      gardens.push(garden)
      return garden
    },
    report (garden, init = {}) {
      return garden.sign('report', {
        agentVersion: '0.1.0',
        addresses: ['/ip4/127.0.0.1/tcp/4001'],
        subscriptions: [{
          name: 'web',
          seed: 'web',
          type: 'service',
          profile: '/nix/var/nix/profiles/sower/web',
          policy: { realtime: { actions: ['stage', 'activate'], triggers: ['realtime'] } }
        }],
        profiles: [{
          seed: 'web',
          profile: '/nix/var/nix/profiles/sower/web',
          generations: [
            { number: 1, storePath: testRelease('web', '1').storePath, date: iso(nowMs()), current: false },
            { number: 2, storePath: testRelease('web', '2').storePath, date: iso(nowMs()), current: true }
          ],
          drift: [1]
        }],
        ...init
      })
    },
    intent (seeds, targets = ['*'], sequence) {
      const seed = seeds[0]
      const next = sequence ?? (seqs.get(seed) ?? 0) + 1
      seqs.set(seed, next)
      return admin.sign('intent', {
        expiresAt: iso(nowMs() + 24 * 60 * 60 * 1000),
        targets,
        action: 'deploy',
        sequence: next,
        releases: seeds.map(name => testRelease(name, String(next)))
      })
    },
    event (garden, intent, kind, init = {}) {
      const seed = (intent.body as { releases: Release[] }).releases[0].seed
      return garden.sign('event', {
        deployment: deploymentId(intent.id, seed, garden.key.id),
        intent: intent.id,
        seed,
        kind,
        ...init
      })
    },
    async close () {
      await store.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  await put(fleet.root)
  return fixture
}

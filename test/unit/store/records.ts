import { deploymentId, signRecord } from '../../../src/records/index.ts'
import type {
  BodyTypes, DeployIntentBody, DeploymentResult, EventBody, EventKind, RecordType, ReportBody, SignedRecord
} from '../../../src/records/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import type { AppendBody, StoredMeta } from '../../../src/store/index.ts'
import { iso } from '../../utils/fleet.ts'

/** A fixed start time, so that tests that compare views do not depend on the clock. */
export const T0_MS = Date.parse('2026-01-01T00:00:00.000Z')
export const FLEET = 'test-fleet'

const STORE_HASH = '0123456789abcdfghijklmnpqrsvwxyz'
const NAR_HASH = 'sha256:' + '0123456789abcdfghijklmnpqrsvwxyz'.repeat(2).slice(0, 52)

export function at (offsetMs: number): string {
  return iso(T0_MS + offsetMs)
}

export function metaAt (offsetMs: number, via: StoredMeta['via'] = 'gossip'): StoredMeta {
  return { via, receivedAt: at(offsetMs) }
}

/** Signs records into one author's feed, filling seq and prev. */
export class FeedSigner {
  readonly key: SigningKey
  seq = 0
  prev: string | null = null

  constructor (key: SigningKey) {
    this.key = key
  }

  sign<T extends RecordType> (type: T, body: AppendBody<T>): SignedRecord<T> {
    const record = signRecord(type, { ...body, author: this.key.id, seq: this.seq + 1, prev: this.prev } as unknown as BodyTypes[T], [this.key])
    this.seq = record.seq
    this.prev = record.id
    return record
  }

  /** Signs a record at an explicit position, to build forks. */
  signAt<T extends RecordType> (type: T, body: AppendBody<T>, seq: number, prev: string | null): SignedRecord<T> {
    return signRecord(type, { ...body, author: this.key.id, seq, prev } as unknown as BodyTypes[T], [this.key])
  }
}

export function reportBody (offsetMs: number, agentVersion = '1.0.0', addresses: string[] = []): AppendBody<'report'> {
  const body: Omit<ReportBody, 'author' | 'seq' | 'prev'> = {
    fleet: FLEET,
    issuedAt: at(offsetMs),
    agentVersion,
    addresses,
    subscriptions: [],
    profiles: []
  }
  return body
}

export function deployBody (offsetMs: number, seeds: string[], sequence = 1): AppendBody<'intent'> {
  const body: Omit<DeployIntentBody, 'author' | 'seq' | 'prev'> = {
    fleet: FLEET,
    issuedAt: at(offsetMs),
    expiresAt: at(offsetMs + 86_400_000),
    targets: ['*'],
    action: 'deploy',
    sequence,
    releases: seeds.map(seed => {
      const storePath = `/nix/store/${STORE_HASH}-${seed}`
      return {
        seed,
        type: 'service' as const,
        storePath,
        narHash: NAR_HASH,
        narSize: 1024,
        manifest: [{ path: storePath, narHash: NAR_HASH, narSize: 1024, references: [] }]
      }
    })
  }
  return body
}

export interface EventInit {
  intent: string
  seed: string
  garden: string
  kind: EventKind
  offsetMs: number
  result?: DeploymentResult
  trigger?: EventBody['trigger']
  detail?: EventBody['detail']
}

export function eventBody (init: EventInit): AppendBody<'event'> {
  const body: Omit<EventBody, 'author' | 'seq' | 'prev'> = {
    fleet: FLEET,
    issuedAt: at(init.offsetMs),
    deployment: deploymentId(init.intent, init.seed, init.garden),
    intent: init.intent,
    seed: init.seed,
    kind: init.kind
  }
  if (init.result != null) {
    body.result = init.result
  }
  if (init.trigger != null) {
    body.trigger = init.trigger
  }
  if (init.detail != null) {
    body.detail = init.detail
  }
  return body
}

/** Returns a small deterministic PRNG (mulberry32), so that shuffled orders repeat. */
export function seededRandom (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export function shuffled<T> (items: T[], random: () => number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    const swap = copy[i]
    copy[i] = copy[j]
    copy[j] = swap
  }
  return copy
}

import type { BodyTypes, ForkPair, RecordType, SignedRecord } from '../records/index.ts'

export type ReceivedVia = 'local' | 'gossip' | 'sync' | 'bundle'

/** How and when this node received a record. */
export interface StoredMeta {
  via: ReceivedVia
  /** UTC ISO 8601 time. */
  receivedAt: string
  /** Peer id of the node that sent it. */
  from?: string
}

export type PutResult =
  | { status: 'stored' }
  /** The same id is already stored, or the record lies below its author's floor (compacted). */
  | { status: 'duplicate' }
  /** Another record has this author and seq, or a prev link is broken: both are kept as evidence. */
  | { status: 'fork', existing: string }
  /** The author is refused because of an earlier fork. */
  | { status: 'refused', reason: string }

/** Two records that prove that an author signed two histories. */
export interface ForkEvidence {
  author: string
  /** Feed position of the record that was received second. */
  seq: number
  /** The stored record, then the one that conflicts with it. */
  records: [string, string]
  reason: string
  detectedAt: string
  /** The alert that proved the fork, when another node detected it and this node learned it from the alert. */
  alert?: string
  /** Author of that alert. */
  reportedBy?: string
}

/** A fork that an alert proved, with records whose signatures the caller verified. */
export interface ReportedFork {
  /** The two records, the lower seq first. */
  records: ForkPair
  alert: string
  reportedBy: string
}

export interface RecordStoreEvents {
  /** A record was stored and its batch is durable. */
  record: [SignedRecord, StoredMeta]
  /** A fork was detected and its evidence is durable; the author is refused from now on. */
  fork: [ForkEvidence]
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

/** A body without its feed position, which `append` fills in. */
export type AppendBody<T extends RecordType> = DistributiveOmit<BodyTypes[T], 'author' | 'seq' | 'prev'>

export interface CompactionLimits {
  /** Drop reports, events and alerts issued more than this long ago. */
  maxAgeMs?: number
  /** Keep at most this many of the newest feed positions per author; alerts are dropped by age only. */
  maxRecordsPerAuthor?: number
}

export interface ListOptions {
  /** Only records issued at or after this UTC ISO time. */
  sinceIso?: string
  limit?: number
  /** Newest first. */
  reverse?: boolean
}

export interface DeploymentQuery {
  garden?: string
  intent?: string
  limit?: number
}

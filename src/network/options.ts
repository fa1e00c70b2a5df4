import type { RecordType, SignedRecord } from '../records/index.ts'

/** Bytes of one hello exchange in each direction, records included. */
export const HELLO_MAX_BYTES = 64 * 1024
export const HELLO_TIMEOUT_MS = 5_000
/** Records one hello may carry: own certificates, roots and certificates for the caller. */
export const HELLO_MAX_RECORDS = 32
/** Time a peer without a valid certificate may stay connected. */
export const MEMBERSHIP_GRACE_MS = 10_000

export const SYNC_INTERVAL_MS = 30_000
export const SYNC_BATCH_MAX_RECORDS = 256
export const SYNC_BATCH_MAX_BYTES = 1024 * 1024
/** Time allowed for each frame of a sync exchange to arrive. */
export const SYNC_READ_TIMEOUT_MS = 10_000
/** Request frames are small: per-author cursors only. */
export const SYNC_REQUEST_MAX_BYTES = 256 * 1024
/** Authors one sync request may name; the caller splits its cursors into requests of at most this many. */
export const SYNC_REQUEST_MAX_AUTHORS = 4096
/** Rounds of one sync session; a longer catch-up continues in the next session. */
export const SYNC_MAX_ROUNDS = 1024
/**
 * Bytes of sync batches one peer may draw at once, and the rate at which
 * that allowance refills. A report is about 420 bytes with its length
 * prefix, so the catch-up on 10,000 reports in scripts/bench-network.ts
 * (about 1.5 s) draws about 4 MiB, and the burst covers a catch-up on about
 * 160,000 reports with no wait. The caller ingests those reports at about 6,700 a second, or
 * 2.7 MiB/s, so past the burst the refill still outpaces an honest caller
 * on small records. A member that replays low cursors draws at most
 * 64 MiB + 4 MiB/s × t, instead of about 10 MB/s in each of 4 parallel
 * sessions.
 * NOTE: the ingest rate is from one run of scripts/bench-network.ts; a
 * slower caller only makes the budget looser for it.
 */
export const SYNC_BUDGET_BURST_BYTES = 64 * 1024 * 1024
export const SYNC_BUDGET_REFILL_BYTES_PER_SEC = 4 * 1024 * 1024
/**
 * Peers whose partly used sync allowance a node tracks at once. A bucket is
 * dropped once it has refilled (16 s after its last batch with the defaults),
 * and past this count the least recently charged peer's bucket is dropped.
 */
export const SYNC_BUDGET_MAX_PEERS = 1024

/** Redial delays after the first, second, ... failure; later failures double up to the cap. */
export const REDIAL_DELAYS_MS = [200, 500, 1_000, 2_000]
export const REDIAL_MAX_DELAY_MS = 30_000
/** Time one redial attempt may take, DHT lookup included. */
export const DIAL_TIMEOUT_MS = 5_000
/** Members the redial loop keeps connections to, beside the bootstrap addresses. */
export const REDIAL_MAX_MEMBERS = 32

/**
 * Loopback only. In libp2p 3 the allow list skips every inbound check
 * (pending connections, per-host rate limit, max connections) and pruning,
 * so a LAN host on it could open connections until memory runs out.
 */
export const LOOPBACK_ALLOW_LIST = [
  '/ip4/127.0.0.0/ipcidr/8',
  '/ip6/::1/ipcidr/128'
]
/** Inbound connections per second from one host outside the allow list (libp2p 3 defaults to 5), for many gardens behind one NAT. */
export const INBOUND_CONNECTIONS_PER_HOST_PER_SEC = 100

/**
 * Interval of libp2p's liveness ping on every connection; libp2p 3
 * defaults to 10 s. Each ping opens a stream on both sides. At 10 s the
 * pings took about half the idle CPU of 50 gardens on one host.
 * A dead connection is still closed within this interval plus the ping
 * timeout.
 */
export const CONNECTION_PING_INTERVAL_MS = 30_000

export const DEFAULT_LISTEN_ADDRESSES = ['/ip4/0.0.0.0/tcp/0']

export interface FleetNodeInit {
  /** Root pinned in the node's config; the node trusts newer versions only through the chain. */
  root: SignedRecord<'root'>
  /** @default ['/ip4/0.0.0.0/tcp/0'] */
  listenAddresses?: string[]
  /** Multiaddrs with `/p2p/<peer id>` dialled at start and redialled while disconnected. @default [] */
  bootstrap?: string[]
  /** @default 10_000 */
  membershipGraceMs?: number
  /** @default 5_000 */
  helloTimeoutMs?: number
  /** @default 65_536 */
  helloMaxBytes?: number
  /** Interval of the sync with a random member; 0 disables it. @default 30_000 */
  syncIntervalMs?: number
  /** @default 256 */
  syncBatchMaxRecords?: number
  /** @default 1_048_576 */
  syncBatchMaxBytes?: number
  /** @default 10_000 */
  syncReadTimeoutMs?: number
  /** Authors one sync request may name, sent and accepted; at most the protocol's 4_096. @default 4_096 */
  syncRequestMaxAuthors?: number
  /** Bytes of sync batches one peer may draw before the refill rate applies. @default 67_108_864 */
  syncBudgetBurstBytes?: number
  /** Bytes per second by which each peer's sync allowance refills. @default 4_194_304 */
  syncBudgetRefillBytesPerSec?: number
  /** @default [200, 500, 1_000, 2_000] */
  redialDelaysMs?: number[]
  /** @default 30_000 */
  redialMaxDelayMs?: number
  /** @default 32 */
  redialMaxMembers?: number
  /** Multiaddr CIDRs exempt from every inbound connection limit and from pruning. @default loopback */
  allowList?: string[]
  /** @default 50 */
  inboundConnectionsPerHostPerSec?: number
  /** Clock used for freshness and membership; tests pass a fixed one. @default Date.now */
  nowMs?: () => number
}

export type ResolvedInit = Required<FleetNodeInit>

export function resolveInit (init: FleetNodeInit): ResolvedInit {
  return {
    root: init.root,
    listenAddresses: init.listenAddresses ?? DEFAULT_LISTEN_ADDRESSES,
    bootstrap: init.bootstrap ?? [],
    membershipGraceMs: init.membershipGraceMs ?? MEMBERSHIP_GRACE_MS,
    helloTimeoutMs: init.helloTimeoutMs ?? HELLO_TIMEOUT_MS,
    helloMaxBytes: init.helloMaxBytes ?? HELLO_MAX_BYTES,
    syncIntervalMs: init.syncIntervalMs ?? SYNC_INTERVAL_MS,
    syncBatchMaxRecords: init.syncBatchMaxRecords ?? SYNC_BATCH_MAX_RECORDS,
    syncBatchMaxBytes: init.syncBatchMaxBytes ?? SYNC_BATCH_MAX_BYTES,
    syncReadTimeoutMs: init.syncReadTimeoutMs ?? SYNC_READ_TIMEOUT_MS,
    syncRequestMaxAuthors: Math.min(init.syncRequestMaxAuthors ?? SYNC_REQUEST_MAX_AUTHORS, SYNC_REQUEST_MAX_AUTHORS),
    syncBudgetBurstBytes: init.syncBudgetBurstBytes ?? SYNC_BUDGET_BURST_BYTES,
    syncBudgetRefillBytesPerSec: init.syncBudgetRefillBytesPerSec ?? SYNC_BUDGET_REFILL_BYTES_PER_SEC,
    redialDelaysMs: init.redialDelaysMs ?? REDIAL_DELAYS_MS,
    redialMaxDelayMs: init.redialMaxDelayMs ?? REDIAL_MAX_DELAY_MS,
    redialMaxMembers: init.redialMaxMembers ?? REDIAL_MAX_MEMBERS,
    allowList: init.allowList ?? LOOPBACK_ALLOW_LIST,
    inboundConnectionsPerHostPerSec: init.inboundConnectionsPerHostPerSec ?? INBOUND_CONNECTIONS_PER_HOST_PER_SEC,
    nowMs: init.nowMs ?? Date.now
  }
}

/** Protocol ids and gossip topics of one fleet; no two fleets share any of them. */
export interface FleetProtocols {
  hello: string
  sync: string
  kad: string
  topics: Record<'control' | 'report' | 'event', string>
}

export function fleetProtocols (fleet: string): FleetProtocols {
  return {
    hello: `/sower/${fleet}/hello/1.0.0`,
    sync: `/sower/${fleet}/sync/1.0.0`,
    kad: `/sower/${fleet}/kad/1.0.0`,
    topics: {
      control: `/sower/${fleet}/control/1`,
      report: `/sower/${fleet}/report/1`,
      event: `/sower/${fleet}/event/1`
    }
  }
}

/** The topic each record type travels on. Alerts are about trust, so they share the control topic. */
export const TOPIC_OF_TYPE: Record<RecordType, 'control' | 'report' | 'event'> = {
  root: 'control',
  certificate: 'control',
  revocation: 'control',
  intent: 'control',
  alert: 'control',
  report: 'report',
  event: 'event'
}

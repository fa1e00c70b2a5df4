export interface SyncBudgetInit {
  /** Bytes a peer may draw at once after it has been idle. */
  burstBytes: number
  /** Bytes per second added back to each peer's allowance, up to `burstBytes`. */
  refillBytesPerSec: number
  /** Peers whose allowance is tracked at once. Past it, the least recently charged peer is dropped. */
  maxPeers: number
  /** Monotonic clock in milliseconds, which tests replace. @default performance.now */
  nowMs?: () => number
}

interface Bucket {
  tokens: number
  updatedMs: number
}

/**
 * Limits what the sync server sends to each peer: one session at a time,
 * and bytes through a token bucket keyed by peer id. A bucket may go below
 * zero, because a batch is charged after it is sent, so a peer draws at
 * most one batch more than its allowance. A bucket that has refilled to
 * `burstBytes` is the same as no bucket and is dropped.
 */
export class SyncBudget {
  readonly #init: Required<SyncBudgetInit>
  readonly #buckets = new Map<string, Bucket>()
  readonly #serving = new Set<string>()

  constructor (init: SyncBudgetInit) {
    this.#init = { nowMs: () => performance.now(), ...init }
  }

  /** Claims the session slot of `peer`, or returns false while another session with it runs. */
  beginSession (peer: string): boolean {
    if (this.#serving.has(peer)) {
      return false
    }
    this.#serving.add(peer)
    this.#dropFullBuckets()
    return true
  }

  endSession (peer: string): void {
    this.#serving.delete(peer)
  }

  /** Whether `peer` may be sent another batch now. */
  hasTokens (peer: string): boolean {
    return this.tokens(peer) > 0
  }

  /** Bytes `peer` may draw now, negative after a batch that went past its allowance. */
  tokens (peer: string): number {
    const bucket = this.#buckets.get(peer)
    return bucket == null ? this.#init.burstBytes : this.#refilled(bucket, this.#init.nowMs())
  }

  /** Takes `bytes` sent to `peer` from its allowance. */
  charge (peer: string, bytes: number): void {
    const nowMs = this.#init.nowMs()
    const bucket = this.#buckets.get(peer)
    const tokens = bucket == null ? this.#init.burstBytes : this.#refilled(bucket, nowMs)
    // Inserted again so that the map iterates from the least recently charged peer.
    this.#buckets.delete(peer)
    this.#buckets.set(peer, { tokens: tokens - bytes, updatedMs: nowMs })
    if (this.#buckets.size > this.#init.maxPeers) {
      this.#dropFullBuckets()
    }
    for (const oldest of this.#buckets.keys()) {
      if (this.#buckets.size <= this.#init.maxPeers) {
        break
      }
      this.#buckets.delete(oldest)
    }
  }

  /** Number of peers with a partly used allowance, for tests and diagnostics. */
  get trackedPeers (): number {
    return this.#buckets.size
  }

  #refilled (bucket: Bucket, nowMs: number): number {
    const elapsedSec = Math.max(0, nowMs - bucket.updatedMs) / 1000
    return Math.min(this.#init.burstBytes, bucket.tokens + elapsedSec * this.#init.refillBytesPerSec)
  }

  #dropFullBuckets (): void {
    const nowMs = this.#init.nowMs()
    for (const [peer, bucket] of this.#buckets) {
      if (this.#refilled(bucket, nowMs) >= this.#init.burstBytes) {
        this.#buckets.delete(peer)
      }
    }
  }
}

import type { StageOutcome, StageProgress } from '../deploy/stager.ts'
import type { Logger } from '../logger.ts'
import { indexManifest, sortByReferences } from '../nix/index.ts'
import type { ManifestEntry, StoreBackend } from '../nix/index.ts'
import type { Release } from '../records/index.ts'
import { PathsNotProvidedError } from './errors.ts'
import type { SourceAttempt } from './errors.ts'
import { batchManifest, nextBatch, sumNarBytes } from './plan.ts'
import type { BatchLimits } from './plan.ts'

/** Minimum time between two progress reports, except the one after each batch. */
const PROGRESS_INTERVAL_MS = 200

/** A batch that a source is about to send: the entries its stream contains, in order. */
export interface BatchOffer {
  entries: ManifestEntry[]
  /** Export-format stream of exactly `entries`. */
  stream: AsyncIterable<Uint8Array>
  /** Releases the stream: with an error after a failed import, without one after a successful import. */
  close: (error?: Error) => Promise<void>
}

/** A peer or binary cache that serves batches of store paths. */
export interface BatchSource {
  label: string
  kind: 'peer' | 'cache'
  /** Returns the part of `batch` this source can send, with its stream, or null when it has none of it. */
  offer: (batch: ManifestEntry[], signal: AbortSignal) => Promise<BatchOffer | null>
}

export interface StageJobInit extends BatchLimits {
  release: Release
  backend: StoreBackend
  stallTimeoutMs: number
  signal: AbortSignal
  onProgress?: (progress: StageProgress) => void
  logger: Logger
}

/**
 * One staging run of a release: which manifest paths are still missing,
 * which sources failed and why, and progress in bytes. Paths arrive in
 * batches, and each batch is verified against the release's manifest and
 * imported whole, so a source that fails mid-way loses only its current
 * batch.
 */
export class StageJob {
  readonly release: Release
  readonly bytesExpected: number
  readonly signal: AbortSignal
  readonly #entries: Map<string, ManifestEntry>
  readonly #init: StageJobInit
  readonly #attempts = new Map<string, SourceAttempt>()
  readonly #bytesBySource = new Map<string, { kind: 'peer' | 'cache', bytes: number }>()
  readonly #presentAtStart: ManifestEntry[]
  #missing: ManifestEntry[]
  #missingSet: Set<string>
  #importedNarBytes = 0
  #lastProgressMs = 0

  private constructor (init: StageJobInit, entries: Map<string, ManifestEntry>, ordered: ManifestEntry[], valid: Set<string>) {
    this.release = init.release
    this.signal = init.signal
    this.#init = init
    this.#entries = entries
    this.#missing = ordered.filter(entry => !valid.has(entry.path))
    this.#missingSet = new Set(this.missingPaths)
    this.#presentAtStart = ordered.filter(entry => valid.has(entry.path))
    this.bytesExpected = sumNarBytes(this.#missing)
  }

  /** Checks the release's manifest and finds which of its paths the store lacks. */
  static async create (init: StageJobInit): Promise<StageJob> {
    const entries = indexManifest(init.release.manifest)
    const order = sortByReferences(entries.keys(), path => entries.get(path)?.references ?? [])
    const ordered = order.map(path => entries.get(path) as ManifestEntry)
    const valid = new Set(await init.backend.queryValidPaths(order))
    return new StageJob(init, entries, ordered, valid)
  }

  get done (): boolean {
    return this.#missing.length === 0
  }

  get missingPaths (): string[] {
    return this.#missing.map(entry => entry.path)
  }

  isMissing (path: string): boolean {
    return this.#missingSet.has(path)
  }

  /** Manifest entries that were valid before this run began. */
  get presentAtStart (): readonly ManifestEntry[] {
    return this.#presentAtStart
  }

  get attempts (): SourceAttempt[] {
    return [...this.#attempts.values()]
  }

  /** Sources that failed for a reason other than being busy or lacking paths; they are not asked again. */
  hasFailed (label: string): boolean {
    const code = this.#attempts.get(label)?.code
    return code !== undefined && code !== 'ERR_PROVIDER_BUSY' && code !== 'ERR_PATHS_NOT_PROVIDED'
  }

  /**
   * Fetches batches from `source` until nothing is missing. Raises the
   * first error of the source, or PathsNotProvidedError when it lacks some
   * of the missing paths.
   */
  async drain (source: BatchSource): Promise<void> {
    const lacking = new Set<string>()
    while (true) {
      const batch = nextBatch(this.#missing.filter(entry => !lacking.has(entry.path)), this.#init)
      if (batch.length === 0) {
        break
      }
      const offer = await source.offer(batch, this.signal)
      const offered = new Set(offer?.entries.map(entry => entry.path))
      for (const entry of batch) {
        if (!offered.has(entry.path)) {
          lacking.add(entry.path)
        }
      }
      if (offer !== null && offer.entries.length > 0) {
        await this.#importOffer(source, offer)
      }
    }
    if (!this.done) {
      throw new PathsNotProvidedError(`${source.label} lacks ${this.#missing.length} of the store paths still missing`)
    }
  }

  /**
   * Records why a source failed; a later failure of the same source
   * replaces the earlier one. Errors without a string `code` (libp2p's
   * stream errors, for one) get ERR_TRANSFER_FAILED and keep their name in
   * the reason.
   */
  recordFailure (source: Pick<BatchSource, 'label' | 'kind'>, error: unknown): SourceAttempt {
    const code = (error as { code?: unknown } | undefined)?.code
    const message = error instanceof Error ? error.message : String(error)
    const attempt: SourceAttempt = typeof code === 'string'
      ? { source: source.label, kind: source.kind, code, reason: message }
      : { source: source.label, kind: source.kind, code: 'ERR_TRANSFER_FAILED', reason: `${(error as Error)?.name ?? 'Error'}: ${message}` }
    this.#attempts.set(source.label, attempt)
    return attempt
  }

  /** Returns how the run ended: the source that delivered the most bytes names it. */
  outcome (): StageOutcome {
    let best: { label: string, kind: 'peer' | 'cache', bytes: number } | undefined
    let total = 0
    for (const [label, { kind, bytes }] of this.#bytesBySource) {
      total += bytes
      if (best === undefined || bytes > best.bytes) {
        best = { label, kind, bytes }
      }
    }
    if (best === undefined) {
      return { source: 'present', bytes: 0 }
    }
    return best.kind === 'peer' ? { source: 'peer', peer: best.label, bytes: total } : { source: 'cache', bytes: total }
  }

  async #importOffer (source: BatchSource, offer: BatchOffer): Promise<void> {
    const offeredNarBytes = sumNarBytes(offer.entries)
    let result
    try {
      result = await this.#init.backend.importVerified(offer.stream, batchManifest(offer.entries, this.#entries), {
        idleTimeoutMs: this.#init.stallTimeoutMs,
        signal: this.signal,
        onProgress: progress => { this.#report(source.label, Math.min(progress.bytesReceived, offeredNarBytes), false) }
      })
    } catch (error) {
      await offer.close(error as Error)
      throw error
    }
    await offer.close()
    const imported = new Set(offer.entries.map(entry => entry.path))
    this.#missing = this.#missing.filter(entry => !imported.has(entry.path))
    this.#missingSet = new Set(this.missingPaths)
    this.#importedNarBytes += offeredNarBytes
    const counted = this.#bytesBySource.get(source.label) ?? { kind: source.kind, bytes: 0 }
    counted.bytes += result.bytesReceived
    this.#bytesBySource.set(source.label, counted)
    this.#init.logger.debug({ storePath: this.release.storePath, source: source.label, paths: offer.entries.length, bytes: result.bytesReceived },
      'closure batch imported')
    this.#report(source.label, 0, true)
  }

  /**
   * Reports the NAR bytes of imported paths plus those of the batch in
   * flight. The count drops back when a source fails mid-batch, because
   * that batch is requested again from the next source.
   */
  #report (source: string, inFlightBytes: number, force: boolean): void {
    const now = Date.now()
    if (this.#init.onProgress === undefined || (!force && now - this.#lastProgressMs < PROGRESS_INTERVAL_MS)) {
      return
    }
    this.#lastProgressMs = now
    this.#init.onProgress({
      bytesReceived: Math.min(this.#importedNarBytes + inFlightBytes, this.bytesExpected),
      bytesExpected: this.bytesExpected,
      source
    })
  }
}

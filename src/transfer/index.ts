import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Stager, StageOptions, StageOutcome } from '../deploy/stager.ts'
import type { Logger } from '../logger.ts'
import type { StoreBackend } from '../nix/index.ts'
import type { FleetNode } from '../network/index.ts'
import type { Release } from '../records/index.ts'
import { BinaryCache } from './binary-cache.ts'
import { ClosureUnavailableError, PathsNotProvidedError, TransferNotStartedError, TransferStoppedError } from './errors.ts'
import type { SourceAttempt } from './errors.ts'
import { resolveTransferInit } from './options.ts'
import type { ClosureTransferInit, ResolvedTransferInit } from './options.ts'
import { PeerSource } from './peer-source.ts'
import type { PeerSourceInit } from './peer-source.ts'
import { closureProtocol } from './protocol.ts'
import { probePeers } from './providers.ts'
import type { HolderSearchInit } from './providers.ts'
import { ClosureServer } from './serve.ts'
import { StageJob } from './stage-job.ts'
import type { BatchSource } from './stage-job.ts'

export * from './errors.ts'
export * from './options.ts'
export { closureProtocol, CLOSURE_FRAME_MAX_BYTES, CLOSURE_REQUEST_MAX_PATHS } from './protocol.ts'
export type { ClosureHeader, ClosureRequest } from './protocol.ts'
export { parseNarInfo } from './narinfo.ts'
export type { NarInfo } from './narinfo.ts'

export interface ClosureTransferComponents {
  /** A started fleet node: the closure protocol is registered on it at start(). */
  node: FleetNode
  backend: StoreBackend
  logger: Logger
}

/** A source that failed during one staging run, which then went on with the next source. */
export interface SourceFailedEvent extends SourceAttempt {
  storePath: string
}

export interface ClosureTransferEvents {
  'source-failed': [SourceFailedEvent]
}

/**
 * Moves closures between gardens. It serves the closures in the local
 * store to members over `/sower/<fleet>/closure/1.0.0`, and stages a
 * release by fetching the missing paths of its manifest from peers that
 * have the closure (fastest reply first), then from binary caches. Every
 * batch is verified against the signed manifest before it enters the
 * store. A source that sends bad data, stalls or leaves is dropped for the
 * run, and the next one continues with the paths still missing. After a
 * run, the garden announces itself in the DHT as a provider.
 */
export class ClosureTransfer extends EventEmitter<ClosureTransferEvents> implements Stager {
  readonly protocol: string
  readonly #components: ClosureTransferComponents
  readonly #init: ResolvedTransferInit
  readonly #log: Logger
  readonly #server: ClosureServer
  readonly #runs = new Set<AbortController>()
  readonly #announcements = new Map<string, Promise<void>>()
  #lifetime = new AbortController()
  #started = false

  constructor (components: ClosureTransferComponents, init: ClosureTransferInit = {}) {
    super()
    this.#components = components
    this.#init = resolveTransferInit(init, components.node.fleet)
    this.#log = components.logger
    this.protocol = closureProtocol(this.#init.fleet)
    this.#server = new ClosureServer(components, this.#init)
  }

  get started (): boolean {
    return this.#started
  }

  /** Closure exports this garden is serving now. */
  get activeServes (): number {
    return this.#server.activeServes
  }

  /** Registers the closure protocol and announces the closures of the configured profiles. */
  async start (): Promise<void> {
    if (this.#started) {
      return
    }
    this.#lifetime = new AbortController()
    this.#server.start()
    await this.#components.node.handle(this.protocol, async (stream, connection) => {
      await this.#server.handle(stream, connection)
    })
    this.#started = true
    this.#announceProfiles().catch((error: unknown) => {
      this.#log.warn({ err: (error as Error).message }, 'announcing profile closures failed')
    })
    this.#log.info({ protocol: this.protocol, caches: this.#init.binaryCaches.length }, 'closure transfer started')
  }

  /** Cancels running stage calls and serves, and unregisters the protocol. */
  async stop (): Promise<void> {
    if (!this.#started) {
      return
    }
    this.#started = false
    this.#lifetime.abort()
    for (const run of this.#runs) {
      run.abort(new TransferStoppedError())
    }
    this.#server.stop()
    if (this.#components.node.started) {
      await this.#components.node.unhandle(this.protocol)
    }
    await Promise.allSettled(this.#announcements.values())
    this.#log.info({ protocol: this.protocol }, 'closure transfer stopped')
  }

  /**
   * Makes every path of the release's manifest valid in the local store.
   * Raises ClosureUnavailableError (code ERR_CLOSURE_UNAVAILABLE) listing
   * every source tried when some paths remain missing, and the signal's
   * reason when it aborts.
   */
  async stage (release: Release, options: StageOptions = {}): Promise<StageOutcome> {
    if (!this.#started) {
      throw new TransferNotStartedError()
    }
    const run = new AbortController()
    const signal = options.signal === undefined ? run.signal : AbortSignal.any([options.signal, run.signal])
    this.#runs.add(run)
    const startedAt = performance.now()
    try {
      signal.throwIfAborted()
      const job = await StageJob.create({
        release,
        backend: this.#components.backend,
        stallTimeoutMs: this.#init.stallTimeoutMs,
        batchMaxPaths: this.#init.batchMaxPaths,
        batchMaxBytes: this.#init.batchMaxBytes,
        signal,
        onProgress: options.onProgress,
        logger: this.#log
      })
      if (!job.done) {
        this.#log.info({ storePath: release.storePath, paths: job.missingPaths.length, bytes: job.bytesExpected }, 'staging closure')
        await this.#fetchFromPeers(job)
        await this.#fetchFromCaches(job)
      }
      if (!job.done) {
        throw new ClosureUnavailableError(release.storePath, job.missingPaths, job.attempts)
      }
      await this.#checkPresentPaths(job)
      this.#announce(release.storePath)
      const outcome = job.outcome()
      this.#log.info({ storePath: release.storePath, ...outcome, durationMs: Math.round(performance.now() - startedAt) }, 'closure staged')
      return outcome
    } finally {
      this.#runs.delete(run)
    }
  }

  /**
   * Probes peers in rounds. A round goes through the holders in the order
   * their replies arrive. Holders that were busy are probed again in the
   * next round, after a delay that grows with each round, together with
   * any peer that became a holder meanwhile.
   */
  async #fetchFromPeers (job: StageJob): Promise<void> {
    for (let round = 0; round <= this.#init.busyRetries && !job.done; round++) {
      if (round > 0) {
        await sleep(this.#init.busyRetryDelayMs * round, undefined, { signal: job.signal })
      }
      const busy = await this.#fetchRound(job)
      if (!busy) {
        return
      }
    }
  }

  /** Runs one round of probing and fetching; returns whether some holder was busy. */
  async #fetchRound (job: StageJob): Promise<boolean> {
    const storePath = job.release.storePath
    let busy = false
    for await (const reply of probePeers(this.#searchInit(), storePath, peer => job.hasFailed(peer), job.signal)) {
      job.signal.throwIfAborted()
      const source = { label: reply.peer, kind: 'peer' as const }
      if ('error' in reply) {
        this.#sourceFailed(job, source, reply.error)
      } else if (!reply.hasClosure) {
        this.#sourceFailed(job, source, new PathsNotProvidedError(`peer ${reply.peer} does not have ${storePath}`))
      } else {
        const failure = await this.#drain(job, new PeerSource(reply.peer, this.#peerInit()))
        if (failure === null) {
          return false
        }
        busy ||= failure.code === 'ERR_PROVIDER_BUSY'
      }
    }
    return busy
  }

  async #fetchFromCaches (job: StageJob): Promise<void> {
    for (const url of this.#init.binaryCaches) {
      if (job.done) {
        return
      }
      const cache = new BinaryCache(url, {
        requestTimeoutMs: this.#init.cacheRequestTimeoutMs,
        isMissing: path => job.isMissing(path)
      })
      await this.#drain(job, cache)
    }
  }

  /** Fetches what `source` has of the missing paths; returns its failure, or null once nothing is missing. */
  async #drain (job: StageJob, source: BatchSource): Promise<SourceAttempt | null> {
    try {
      await job.drain(source)
      return null
    } catch (error) {
      job.signal.throwIfAborted()
      return this.#sourceFailed(job, source, error)
    }
  }

  #sourceFailed (job: StageJob, source: Pick<BatchSource, 'label' | 'kind'>, error: unknown): SourceAttempt {
    const attempt = job.recordFailure(source, error)
    const fields = { storePath: job.release.storePath, source: source.label, code: attempt.code, err: attempt.reason }
    if (attempt.code === 'ERR_PATHS_NOT_PROVIDED' || attempt.code === 'ERR_PROVIDER_BUSY') {
      this.#log.debug(fields, 'closure source cannot serve now')
    } else {
      this.#log.warn(fields, 'closure source failed; trying the next one')
    }
    this.emit('source-failed', { storePath: job.release.storePath, ...attempt })
    return attempt
  }

  /**
   * Checks the paths that were valid before the run against the manifest:
   * a path the store already had under the same name but with other
   * contents cannot be replaced, so the release cannot be staged here.
   */
  async #checkPresentPaths (job: StageJob): Promise<void> {
    if (job.presentAtStart.length === 0) {
      return
    }
    const recorded = new Map((await this.#components.backend.queryClosure(job.release.storePath)).map(entry => [entry.path, entry]))
    const differing = job.presentAtStart.filter(entry => {
      const local = recorded.get(entry.path)
      return local === undefined || local.narHash !== entry.narHash || local.narSize !== entry.narSize
    })
    if (differing.length > 0) {
      throw new ClosureUnavailableError(job.release.storePath, differing.map(entry => entry.path), job.attempts,
        'the local copies differ from the signed manifest')
    }
  }

  /** Announces in the DHT, in the background, that this garden can serve the closure. */
  #announce (storePath: string): void {
    if (this.#announcements.has(storePath) || !this.#started) {
      return
    }
    const announcement = this.#components.node.provide(storePath, { signal: this.#lifetime.signal })
      .catch((error: unknown) => {
        if (!this.#lifetime.signal.aborted) {
          this.#log.info({ storePath, err: (error as Error).message }, 'announcing closure provider failed')
        }
      })
      .finally(() => { this.#announcements.delete(storePath) })
    this.#announcements.set(storePath, announcement)
  }

  async #announceProfiles (): Promise<void> {
    for (const profile of this.#init.profiles) {
      const current = await this.#components.backend.currentGeneration(profile)
      if (current !== null && await this.#components.backend.isValid(current.storePath)) {
        this.#announce(current.storePath)
      }
    }
  }

  #peerInit (): PeerSourceInit {
    return {
      node: this.#components.node,
      protocol: this.protocol,
      dialTimeoutMs: this.#init.dialTimeoutMs,
      stallTimeoutMs: this.#init.stallTimeoutMs
    }
  }

  #searchInit (): HolderSearchInit {
    return {
      ...this.#peerInit(),
      findProvidersTimeoutMs: this.#init.findProvidersTimeoutMs,
      providersMax: this.#init.providersMax,
      logger: this.#log
    }
  }
}

import type { StoreBackend } from '../nix/types.ts'
import type { Release } from '../records/schemas.ts'
import { ClosureUnavailableError } from './errors.ts'

export { ClosureUnavailableError } from './errors.ts'

/** Progress of one staging run, reported as bytes arrive. */
export interface StageProgress {
  bytesReceived: number
  /** Sum of the NAR sizes of the manifest paths that were missing when staging began. */
  bytesExpected: number
  /** Origin of the bytes, e.g. a peer id or a cache URL. */
  source: string
}

/** Source from which a release became valid in the local store. */
export interface StageOutcome {
  source: 'present' | 'peer' | 'cache'
  /** Peer id that served the closure, for `source: 'peer'`. */
  peer?: string
  /** Bytes transferred, 0 when every path was already present. */
  bytes: number
}

export interface StageOptions {
  onProgress?: (progress: StageProgress) => void
  signal?: AbortSignal
}

/**
 * Makes a release's closure valid in the local store. Implementations check
 * every received path against `release.manifest` (through
 * `StoreBackend.importVerified`) before anything enters the store, and are
 * idempotent: staging a release that is already present returns at once.
 */
export interface Stager {
  /** Makes every path of the release's manifest valid in the local store, verified against it. */
  stage: (release: Release, options: StageOptions) => Promise<StageOutcome>
}

/**
 * Stages only releases whose closures are already in the local store, and
 * checks the NAR hash and size that the store recorded for each path
 * against the signed manifest. Raises ClosureUnavailableError otherwise.
 */
export class LocalStager implements Stager {
  readonly #backend: StoreBackend

  constructor (backend: StoreBackend) {
    this.#backend = backend
  }

  async stage (release: Release, options: StageOptions = {}): Promise<StageOutcome> {
    options.signal?.throwIfAborted()
    const paths = release.manifest.map(entry => entry.path)
    const valid = new Set(await this.#backend.queryValidPaths(paths))
    const missing = paths.filter(path => !valid.has(path))
    if (missing.length > 0) {
      throw new ClosureUnavailableError(release.storePath, missing, 'it is not in the local store')
    }

    const recorded = new Map((await this.#backend.queryClosure(release.storePath)).map(entry => [entry.path, entry]))
    const differing = release.manifest.filter(entry => {
      const local = recorded.get(entry.path)
      return local === undefined || local.narHash !== entry.narHash || local.narSize !== entry.narSize
    })
    if (differing.length > 0) {
      throw new ClosureUnavailableError(release.storePath, differing.map(entry => entry.path),
        'the local copies differ from the signed manifest')
    }
    return { source: 'present', bytes: 0 }
  }
}

import { InvalidInputError } from '../errors.ts'

/** Time without a byte from a source after which it counts as stalled and the next source takes over. */
export const STALL_TIMEOUT_MS = 30_000
/** Closure exports this garden serves at once. Further export requests get a "busy" reply. */
export const MAX_CONCURRENT_SERVES = 4
/** Store paths requested from a source in one batch. A batch is imported whole or not at all. */
export const BATCH_MAX_PATHS = 256
/** NAR bytes requested in one batch, unless a single path is larger. */
export const BATCH_MAX_BYTES = 128 * 1024 * 1024
/** Time to open a stream to a peer, dial included. */
export const DIAL_TIMEOUT_MS = 10_000
/** Time the DHT lookup for providers of a closure may take. */
export const FIND_PROVIDERS_TIMEOUT_MS = 10_000
/** Peers asked whether they hold a closure, per staging run. */
export const PROVIDERS_MAX = 16
/** Extra rounds that probe providers again after one of them replied "busy". */
export const BUSY_RETRIES = 3
/** Wait before the first renewed round of busy providers; round n waits n times as long. */
export const BUSY_RETRY_DELAY_MS = 2_000
/** Time a binary cache may take until its response to one request starts. */
export const CACHE_REQUEST_TIMEOUT_MS = 15_000
/** Binary caches one garden may list. */
export const BINARY_CACHES_MAX = 16

const CACHE_SCHEMES = new Set(['http:', 'https:', 'file:'])

export interface ClosureTransferInit {
  /** Fleet whose closure protocol this garden speaks. @default the node's fleet */
  fleet?: string
  /** Binary cache URLs (`http://`, `https://` or `file://`), tried in order after peers. @default [] */
  binaryCaches?: string[]
  /** @default STALL_TIMEOUT_MS */
  stallTimeoutMs?: number
  /** @default MAX_CONCURRENT_SERVES */
  maxConcurrentServes?: number
  /** @default BATCH_MAX_PATHS */
  batchMaxPaths?: number
  /** @default BATCH_MAX_BYTES */
  batchMaxBytes?: number
  /** @default DIAL_TIMEOUT_MS */
  dialTimeoutMs?: number
  /** @default FIND_PROVIDERS_TIMEOUT_MS */
  findProvidersTimeoutMs?: number
  /** @default PROVIDERS_MAX */
  providersMax?: number
  /** @default BUSY_RETRIES */
  busyRetries?: number
  /** @default BUSY_RETRY_DELAY_MS */
  busyRetryDelayMs?: number
  /** @default CACHE_REQUEST_TIMEOUT_MS */
  cacheRequestTimeoutMs?: number
  /**
   * Profiles whose current generations this garden announces in the DHT at
   * start, so peers can fetch those closures from it. @default []
   */
  profiles?: string[]
}

export type ResolvedTransferInit = Required<ClosureTransferInit>

/** Fills in the defaults and checks every value, or raises InvalidInputError naming the first bad one. */
export function resolveTransferInit (init: ClosureTransferInit, nodeFleet: string): ResolvedTransferInit {
  const fleet = init.fleet ?? nodeFleet
  if (fleet !== nodeFleet) {
    throw new InvalidInputError(`closure transfer fleet ${fleet} differs from the node's fleet ${nodeFleet}`)
  }
  const resolved: ResolvedTransferInit = {
    fleet,
    binaryCaches: (init.binaryCaches ?? []).map(checkCacheUrl),
    stallTimeoutMs: positive('stallTimeoutMs', init.stallTimeoutMs ?? STALL_TIMEOUT_MS),
    maxConcurrentServes: positive('maxConcurrentServes', init.maxConcurrentServes ?? MAX_CONCURRENT_SERVES),
    batchMaxPaths: positive('batchMaxPaths', init.batchMaxPaths ?? BATCH_MAX_PATHS),
    batchMaxBytes: positive('batchMaxBytes', init.batchMaxBytes ?? BATCH_MAX_BYTES),
    dialTimeoutMs: positive('dialTimeoutMs', init.dialTimeoutMs ?? DIAL_TIMEOUT_MS),
    findProvidersTimeoutMs: positive('findProvidersTimeoutMs', init.findProvidersTimeoutMs ?? FIND_PROVIDERS_TIMEOUT_MS),
    providersMax: positive('providersMax', init.providersMax ?? PROVIDERS_MAX),
    busyRetries: nonNegative('busyRetries', init.busyRetries ?? BUSY_RETRIES),
    busyRetryDelayMs: nonNegative('busyRetryDelayMs', init.busyRetryDelayMs ?? BUSY_RETRY_DELAY_MS),
    cacheRequestTimeoutMs: positive('cacheRequestTimeoutMs', init.cacheRequestTimeoutMs ?? CACHE_REQUEST_TIMEOUT_MS),
    profiles: [...(init.profiles ?? [])]
  }
  if (resolved.binaryCaches.length > BINARY_CACHES_MAX) {
    throw new InvalidInputError(`${resolved.binaryCaches.length} binary caches configured, more than the limit of ${BINARY_CACHES_MAX}`)
  }
  return resolved
}

/** Returns the cache URL without a trailing slash, or raises when it is not an http, https or file URL. */
function checkCacheUrl (text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new InvalidInputError(`binary cache ${JSON.stringify(text)} is not a URL`)
  }
  if (!CACHE_SCHEMES.has(url.protocol)) {
    throw new InvalidInputError(`binary cache ${text} has scheme ${url.protocol}; use http://, https:// or file://`)
  }
  return text.replace(/\/+$/, '')
}

function positive (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new InvalidInputError(`closure transfer ${name} must be a positive integer, not ${value}`)
  }
  return value
}

function nonNegative (name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInputError(`closure transfer ${name} must be an integer of at least 0, not ${value}`)
  }
  return value
}

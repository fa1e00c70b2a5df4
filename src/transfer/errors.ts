import { ClosureUnavailableError as StagerClosureUnavailableError } from '../deploy/stager.ts'
import { SowerError } from '../errors.ts'

/** Length at which one source's failure reason is cut in the error message. */
const REASON_SHOWN_MAX_CHARS = 300

/** One source that a staging run tried, and why it did not complete the closure. */
export interface SourceAttempt {
  /** Peer id, or binary cache URL. */
  source: string
  kind: 'peer' | 'cache'
  /** Stable code of the failure, e.g. ERR_NAR_HASH_MISMATCH or ERR_STREAM_TIMEOUT. */
  code: string
  reason: string
}

/**
 * The stager's ClosureUnavailableError with the list of sources tried. Its
 * message names the store path and every source with its failure, so a
 * deployment event can show it as it is.
 */
export class ClosureUnavailableError extends StagerClosureUnavailableError {
  readonly attempts: SourceAttempt[]

  constructor (storePath: string, missing: string[], attempts: SourceAttempt[], detail = describeAttempts(attempts)) {
    super(storePath, missing, detail)
    this.attempts = attempts
  }
}

/** A peer that has every serving slot taken; it is asked again after the other peers. */
export class ProviderBusyError extends SowerError {
  constructor (peer: string) {
    super(`peer ${peer} is serving its maximum number of closure streams`, 'ERR_PROVIDER_BUSY')
  }
}

/** A source that lacks some or all of the store paths still missing. */
export class PathsNotProvidedError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_PATHS_NOT_PROVIDED')
  }
}

/** A peer or cache whose reply breaks the closure protocol or the binary cache format. */
export class TransferProtocolError extends SowerError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_TRANSFER_PROTOCOL', options)
  }
}

/** A binary cache NAR in a compression that this reader cannot decode. */
export class UnsupportedCompressionError extends SowerError {
  constructor (cache: string, compression: string) {
    super(
      `binary cache ${cache} serves NARs with compression ${compression}, which is not supported: ` +
      'serve it with compression none, xz, zstd, br or gzip',
      'ERR_UNSUPPORTED_COMPRESSION'
    )
  }
}

/** A staging run cut short because the closure transfer stopped. */
export class TransferStoppedError extends SowerError {
  constructor () {
    super('closure transfer stopped while staging', 'ERR_TRANSFER_STOPPED')
  }
}

/** A closure transfer used before start() or after stop(). */
export class TransferNotStartedError extends SowerError {
  constructor () {
    super('the closure transfer is not started; start the fleet node, then call start()', 'ERR_NOT_STARTED')
  }
}

function describeAttempts (attempts: SourceAttempt[]): string {
  if (attempts.length === 0) {
    return 'no peer provides it and no binary cache is configured'
  }
  return 'sources tried: ' + attempts.map(attempt => {
    const reason = attempt.reason.length > REASON_SHOWN_MAX_CHARS
      ? `${attempt.reason.slice(0, REASON_SHOWN_MAX_CHARS)}...`
      : attempt.reason
    return `${attempt.kind} ${attempt.source}: ${reason}`
  }).join('; ')
}

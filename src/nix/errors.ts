import { SowerError } from '../errors.ts'

/** A string that is not a store path (`/nix/store/<hash>-<name>`) or a store path name. */
export class InvalidStorePathError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_STORE_PATH')
  }
}

/** A store path that the store does not contain (it is not valid there). */
export class PathNotValidError extends SowerError {
  readonly path: string

  constructor (path: string, storeRoot: string) {
    super(
      `store path ${path} is not valid in the store at ${storeRoot}: import or build it first`,
      'ERR_PATH_NOT_VALID'
    )
    this.path = path
  }
}

/** A manifest whose entries are malformed, duplicated or not closed under references. */
export class InvalidManifestError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_MANIFEST')
  }
}

/** A build specification (name, entries, references) that cannot be built. */
export class InvalidPathSpecError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_PATH_SPEC')
  }
}

export interface NixCommandErrorInit {
  command: string
  exitCode: number | null
  signal: string | null
  stderrTail: string
  /** Replaces the default reason, which describes the exit code or signal. */
  reason?: string
}

/** A Nix command that failed. `stderrTail` contains the end of its stderr. */
export class NixCommandError extends SowerError {
  readonly command: string
  readonly exitCode: number | null
  readonly signal: string | null
  readonly stderrTail: string

  constructor (init: NixCommandErrorInit, code = 'ERR_NIX_COMMAND_FAILED', options?: ErrorOptions) {
    const reason = init.reason ?? describeExit(init.exitCode, init.signal)
    const detail = failureLine(init.stderrTail)
    super(`${init.command} ${reason}${detail === '' ? '' : `: ${detail}`}`, code, options)
    this.command = init.command
    this.exitCode = init.exitCode
    this.signal = init.signal
    this.stderrTail = init.stderrTail
  }
}

/** A Nix command that exited with status 0 but printed output that cannot be read. */
export class NixOutputError extends NixCommandError {
  constructor (command: string, problem: string, output = '') {
    super({ command, exitCode: 0, signal: null, stderrTail: output, reason: problem }, 'ERR_NIX_OUTPUT')
  }
}

/** A Nix command that ran past its time limit and was killed. */
export class NixCommandTimeoutError extends NixCommandError {
  readonly timeoutMs: number

  constructor (init: { command: string, stderrTail: string, timeoutMs: number }) {
    super({
      ...init,
      exitCode: null,
      signal: 'SIGTERM',
      reason: `timed out after ${init.timeoutMs} ms`
    }, 'ERR_NIX_COMMAND_TIMEOUT')
    this.timeoutMs = init.timeoutMs
  }
}

interface NarMismatch {
  path: string
  expectedHash: string
  actualHash: string
  expectedSize: number
  actualSize: number
}

/** A received NAR whose hash or size differs from the manifest entry of its path. */
export class NarHashMismatchError extends SowerError {
  readonly path: string
  readonly expectedHash: string
  readonly actualHash: string
  readonly expectedSize: number
  readonly actualSize: number

  constructor (init: NarMismatch) {
    super(
      `NAR of ${init.path} does not match the manifest: expected ${init.expectedHash} ` +
      `(${init.expectedSize} bytes), received ${init.actualHash} (${init.actualSize} bytes)`,
      'ERR_NAR_HASH_MISMATCH'
    )
    this.path = init.path
    this.expectedHash = init.expectedHash
    this.actualHash = init.actualHash
    this.expectedSize = init.expectedSize
    this.actualSize = init.actualSize
  }
}

/** A received store path that the manifest does not list. */
export class PathNotInManifestError extends SowerError {
  readonly path: string

  constructor (path: string) {
    super(`received store path ${path} is not in the manifest`, 'ERR_PATH_NOT_IN_MANIFEST')
    this.path = path
  }
}

/** A received store path whose references differ from its manifest entry. */
export class ReferencesMismatchError extends SowerError {
  readonly path: string

  constructor (path: string, expected: string[], actual: string[]) {
    super(
      `references of ${path} do not match the manifest: expected [${expected.join(', ')}], ` +
      `received [${actual.join(', ')}]`,
      'ERR_REFERENCES_MISMATCH'
    )
    this.path = path
  }
}

/** Manifest paths that are neither in the received stream nor valid in the store. */
export class ClosureIncompleteError extends SowerError {
  readonly missing: string[]

  constructor (message: string, missing: string[]) {
    super(message, 'ERR_CLOSURE_INCOMPLETE')
    this.missing = missing
  }
}

/** A `nix-store --export` stream that breaks the framing around its NARs. */
export class MalformedExportError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_MALFORMED_EXPORT')
  }
}

/** A NAR that breaks the archive format or this module's limits on names and depth. */
export class MalformedNarError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_MALFORMED_NAR')
  }
}

/** A stream that delivered more bytes than the reader allows. */
export class StreamTooLargeError extends SowerError {
  readonly limitBytes: number

  constructor (message: string, limitBytes: number) {
    super(message, 'ERR_STREAM_TOO_LARGE')
    this.limitBytes = limitBytes
  }
}

/** A stream that delivered no bytes within the idle timeout. */
export class StreamTimeoutError extends SowerError {
  readonly timeoutMs: number

  constructor (timeoutMs: number) {
    super(`no data received for ${timeoutMs} ms`, 'ERR_STREAM_TIMEOUT')
    this.timeoutMs = timeoutMs
  }
}

/** A store path whose contents no longer hash to the NAR hash recorded for it. */
export class StorePathCorruptError extends SowerError {
  readonly path: string

  constructor (path: string, recordedHash: string, actualHash: string) {
    super(
      `contents of ${path} changed: recorded NAR hash ${recordedHash}, now ${actualHash}. ` +
      'Import the path again from a peer',
      'ERR_STORE_PATH_CORRUPT'
    )
    this.path = path
  }
}

/** A profile generation number that does not exist. */
export class GenerationNotFoundError extends SowerError {
  readonly profile: string
  readonly generation: number

  constructor (profile: string, generation: number) {
    super(`profile ${profile} has no generation ${generation}`, 'ERR_GENERATION_NOT_FOUND')
    this.profile = profile
    this.generation = generation
  }
}

/** A rollback on a profile whose current generation is its oldest, or which has none. */
export class NoPreviousGenerationError extends SowerError {
  readonly profile: string

  constructor (profile: string, current: number | null) {
    const detail = current === null ? 'has no current generation' : `has no generation older than ${current}`
    super(`cannot roll back profile ${profile}: it ${detail}`, 'ERR_NO_PREVIOUS_GENERATION')
    this.profile = profile
  }
}

function describeExit (exitCode: number | null, signal: string | null): string {
  if (signal !== null) {
    return `was killed by ${signal}`
  }
  return `failed with exit code ${exitCode ?? 'unknown'}`
}

/** Picks the line that explains a failure: Nix's last `error:` line, else the last line. */
function failureLine (text: string): string {
  const lines = text.split('\n').map(line => line.trim()).filter(line => line !== '')
  return lines.findLast(line => line.startsWith('error:')) ?? lines.at(-1) ?? ''
}

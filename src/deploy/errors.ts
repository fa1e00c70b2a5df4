import { SowerError } from '../errors.ts'

/** A release whose closure no configured source can make valid in the local store. */
export class ClosureUnavailableError extends SowerError {
  readonly storePath: string
  /** Manifest paths that are still not valid in the local store. */
  readonly missing: string[]

  constructor (storePath: string, missing: string[], detail = 'no source has it') {
    super(
      `closure of ${storePath} is not available: ${missing.length} path(s) missing (${detail}). ` +
      'Copy the closure to this store or make a peer or binary cache provide it',
      'ERR_CLOSURE_UNAVAILABLE'
    )
    this.storePath = storePath
    this.missing = missing
  }
}

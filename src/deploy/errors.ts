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

/** A job whose intent or release is missing from the record store, so the engine cannot stage it. */
export class IntentNotStoredError extends SowerError {
  readonly intent: string

  constructor (intent: string, detail: string) {
    super(`intent ${intent} ${detail}: store the intent before handing it to the deployment engine`, 'ERR_INTENT_NOT_STORED')
    this.intent = intent
  }
}

/** The reason for aborting a job's running step: a cancel or a newer intent, or the engine stopping. */
export class DeploymentInterruptedError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_DEPLOYMENT_INTERRUPTED')
  }
}

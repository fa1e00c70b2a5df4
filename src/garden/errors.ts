import { SowerError } from '../errors.ts'

/** A garden, intent, deployment or subscription that this node does not know. */
export class NotFoundError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_NOT_FOUND')
  }
}

/** None of this node's admin keys may sign the record. */
export class NoAdminKeyError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_NO_ADMIN_KEY')
  }
}

/** The control socket of a running node could not be used. */
export class ControlError extends SowerError {
  constructor (message: string, code = 'ERR_CONTROL', options?: ErrorOptions) {
    super(message, code, options)
  }
}

/** A bundle file that is not a Sower bundle, is truncated, or belongs to another fleet. */
export class BundleError extends SowerError {
  constructor (message: string, code = 'ERR_BUNDLE_FORMAT') {
    super(message, code)
  }
}

/** An error raised inside a running node and passed back over its control socket. */
export class RemoteError extends SowerError {}

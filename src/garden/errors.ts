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

/** The store has fewer records of this node's feed than its key signed, so appending would fork the feed. */
export class OwnFeedBehindError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_OWN_FEED_BEHIND')
  }
}

/** The fleet has two histories of this node's key, so every node rejects its records. */
export class OwnFeedForkedError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_OWN_FEED_FORKED')
  }
}

/** The node stopped before an append by its own key could be signed. */
export class OwnFeedStoppedError extends SowerError {
  constructor (author: string) {
    super(`the node stopped before it could sign the next record of ${author}; nothing was signed`, 'ERR_OWN_FEED_STOPPED')
  }
}

/** The store has fewer records of an admin key's feed than the key signed, so signing would fork the feed. */
export class AdminFeedBehindError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_ADMIN_FEED_BEHIND')
  }
}

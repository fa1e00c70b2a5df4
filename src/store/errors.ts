import { SowerError } from '../errors.ts'

/** The database folder was written by a different store schema. */
export class StoreVersionError extends SowerError {
  readonly found: string | undefined
  readonly expected: string

  constructor (path: string, found: string | undefined, expected: string) {
    const what = found == null ? 'no schema version' : `schema version ${found}`
    super(`record store ${path} has ${what}, but this sower expects schema version ${expected}; ` +
      'run the sower release that wrote it, or move the folder away so that the node starts empty ' +
      'and syncs its history from its peers again', 'ERR_STORE_VERSION')
    this.found = found
    this.expected = expected
  }
}

/** Another process, or another store in this process, has the database open. */
export class StoreLockedError extends SowerError {
  constructor (path: string, options?: ErrorOptions) {
    super(`record store ${path} is in use: its LevelDB lock (${path}/LOCK) is held by another process ` +
      'or by another store in this process; ' +
      'stop the other sower node or give this one another data folder', 'ERR_STORE_LOCKED', options)
  }
}

/** LevelDB could not open the folder for a reason other than its lock. */
export class StoreOpenError extends SowerError {
  constructor (path: string, options?: ErrorOptions) {
    const cause = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super(`cannot open record store ${path}${cause}`, 'ERR_STORE_OPEN', options)
  }
}

/** A call on a store after `close()`. */
export class StoreClosedError extends SowerError {
  constructor (path: string) {
    super(`record store ${path} is closed`, 'ERR_STORE_CLOSED')
  }
}

/** `append` could not add a record to the local feed. */
export class StoreAppendError extends SowerError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_STORE_APPEND', options)
  }
}

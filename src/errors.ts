/**
 * Base class for every error that Sower raises on purpose. The `code` is
 * stable: the CLI maps it to an exit status, the JSON API and the web view
 * show it, and tests match on it.
 */
export class SowerError extends Error {
  readonly code: string

  constructor (message: string, code: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}

/** A file, key or value that a user supplied could not be used. */
export class InvalidInputError extends SowerError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_INVALID_INPUT', options)
  }
}

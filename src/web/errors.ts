import { SowerError } from '../errors.ts'

/** Options of the web view that cannot be used, e.g. a public address without a token. */
export class WebViewConfigError extends SowerError {}

/** An error the web view sends as a status code and `{ error: { code, message } }`. */
export class HttpError extends SowerError {
  readonly statusCode: number

  constructor (statusCode: number, code: string, message: string) {
    super(message, code)
    this.statusCode = statusCode
  }
}

export function notFound (what: string): HttpError {
  return new HttpError(404, 'ERR_NOT_FOUND', `${what} not found`)
}

/** Creates the 400 error for a path segment that is not an id of the expected form. */
export function invalidId (value: string, expected: string): HttpError {
  const shown = value.length > 80 ? `${value.slice(0, 80)}...` : value
  return new HttpError(400, 'ERR_INVALID_ID', `invalid id "${shown}": expected ${expected}`)
}

import { SowerError } from '../errors.ts'

/** A command line that names a wrong value or misses one. */
export class UsageError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_USAGE')
  }
}

/** A duration or time that cannot be read, such as `--expires 3x`. */
export class InvalidDurationError extends SowerError {
  constructor (value: string) {
    super(`invalid duration "${value}": use a number and a unit (s, m, h, d, w, y), e.g. 30m, 12h, 90d or 1y, ` +
      'or a UTC time such as 2027-01-31T00:00:00Z', 'ERR_INVALID_DURATION')
  }
}

/** A key given to `root sign` that is no root admin of the root or of its previous version. */
export class NotRootSignerError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_UNKNOWN_SIGNER')
  }
}

/** A target selector that matches no form, or a bare word that names no garden or tag. */
export class InvalidSelectorError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INVALID_SELECTOR')
  }
}

/** An `--admin` value that does not follow `NAME=KEY:SCOPES[:seeds=...][:tags=...]`. */
export class InvalidAdminSpecError extends SowerError {
  constructor (value: string, problem: string) {
    super(`invalid --admin "${value}": ${problem}; expected NAME=KEY:SCOPE[,SCOPE...][:seeds=A,B][:tags=X,Y], ` +
      'e.g. alice=keys/alice.pem:root,enroll,deploy', 'ERR_INVALID_ADMIN_SPEC')
  }
}

/** At least one target ended its deployment other than in success. */
export class DeploymentFailedError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_DEPLOYMENT_FAILED')
  }
}

/** Work that did not finish within its `--timeout`. */
export class CommandTimeoutError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_TIMEOUT')
  }
}

/** Work that SIGINT or SIGTERM stopped. */
export class InterruptedError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_INTERRUPTED')
  }
}

/**
 * Exit statuses of the `sower` command, listed in docs/OPERATIONS.md.
 * Scripts may rely on them: they only ever gain new values.
 */
export const EXIT = {
  ok: 0,
  /** An error that Sower did not expect: a bug or an unusual host problem. */
  unexpected: 1,
  /** Invalid command line: unknown option, missing argument, malformed value. */
  usage: 2,
  /** A file or value could not be used: config, key, record, bundle or policy. */
  invalidInput: 3,
  /** The fleet's trust rejected the work: scope, signature, root chain, revocation. */
  rejected: 4,
  /** A garden, intent, deployment, subscription or store path does not exist. */
  notFound: 5,
  /** The node, its store or Nix could not be reached or used. */
  unavailable: 6,
  /** A deployment ended other than in success on at least one garden. */
  deploymentFailed: 7,
  /** The work did not finish within its timeout. */
  timeout: 8,
  /** Stopped by SIGINT (Ctrl-C), as shells report it. */
  interrupted: 130
} as const

export type ExitStatus = typeof EXIT[keyof typeof EXIT]

const EXACT: Record<string, ExitStatus> = {
  ERR_USAGE: EXIT.usage,
  ERR_INVALID_SELECTOR: EXIT.usage,
  ERR_INVALID_DURATION: EXIT.usage,
  ERR_INVALID_ADMIN_SPEC: EXIT.usage,
  ERR_CONFIG: EXIT.invalidInput,
  ERR_INVALID_INPUT: EXIT.invalidInput,
  ERR_POLICY_INVALID: EXIT.invalidInput,
  ERR_POLICY_ARGUMENT: EXIT.invalidInput,
  ERR_INVALID_KEY_ID: EXIT.invalidInput,
  ERR_INVALID_STORE_PATH: EXIT.invalidInput,
  ERR_NOT_FOUND: EXIT.notFound,
  ERR_PATH_NOT_VALID: EXIT.notFound,
  ERR_NO_ADMIN_KEY: EXIT.rejected,
  ERR_SIGNATURE: EXIT.rejected,
  ERR_SCOPE: EXIT.rejected,
  ERR_SCOPE_LIMIT: EXIT.rejected,
  ERR_UNKNOWN_SIGNER: EXIT.rejected,
  ERR_NOT_ADMIN_RECORD: EXIT.rejected,
  ERR_WRONG_FLEET: EXIT.rejected,
  ERR_DEPLOYMENT_ID: EXIT.rejected,
  ERR_REVOKED: EXIT.rejected,
  ERR_NO_CERTIFICATE: EXIT.rejected,
  ERR_CERTIFICATE_EXPIRED: EXIT.rejected,
  ERR_NOT_MEMBER: EXIT.rejected,
  ERR_AUTHOR_REFUSED: EXIT.rejected,
  ERR_FORK: EXIT.rejected,
  ERR_EXPIRED: EXIT.rejected,
  ERR_FROM_FUTURE: EXIT.rejected,
  ERR_SEQUENCE: EXIT.rejected,
  ERR_STORE_LOCKED: EXIT.unavailable,
  ERR_STORE_OPEN: EXIT.unavailable,
  ERR_STORE_VERSION: EXIT.unavailable,
  ERR_STORE_CLOSED: EXIT.unavailable,
  ERR_ADMIN_FEED_BEHIND: EXIT.unavailable,
  ERR_NODE_UNREACHABLE: EXIT.unavailable,
  ERR_CONTROL: EXIT.unavailable,
  ERR_CLOSURE_UNAVAILABLE: EXIT.unavailable,
  ERR_DEPLOYMENT_FAILED: EXIT.deploymentFailed,
  ERR_TIMEOUT: EXIT.timeout,
  ERR_INTERRUPTED: EXIT.interrupted
}

const PREFIXES: Array<[string, ExitStatus]> = [
  ['ERR_KEY_', EXIT.invalidInput],
  ['ERR_RECORD_', EXIT.invalidInput],
  ['ERR_BUNDLE_', EXIT.invalidInput],
  ['ERR_INVALID_', EXIT.invalidInput],
  ['ERR_WEB_', EXIT.invalidInput],
  ['ERR_ROOT_', EXIT.rejected],
  ['ERR_NIX_', EXIT.unavailable],
  ['ERR_STORE_', EXIT.unavailable],
  ['ERR_OWN_FEED_', EXIT.unavailable]
]

/** Returns the exit status for a `SowerError` code; unknown codes are unexpected. */
export function exitStatusFor (code: string): ExitStatus {
  const exact = EXACT[code]
  if (exact != null) {
    return exact
  }
  return PREFIXES.find(([prefix]) => code.startsWith(prefix))?.[1] ?? EXIT.unexpected
}

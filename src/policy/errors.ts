import { SowerError } from '../errors.ts'

/** One problem in a policy document, at a path such as `policy.nightly.window.zone`. */
export interface PolicyIssue {
  path: Array<string | number>
  message: string
}

/**
 * A policy, rule or shorthand field is invalid. `issues` lists every problem
 * with its path, and the message repeats them one per line.
 */
export class PolicyError extends SowerError {
  readonly issues: PolicyIssue[]

  constructor (issues: PolicyIssue[], options?: ErrorOptions) {
    const lines = issues.map(issue => `${formatPath(issue.path)}: ${issue.message}`)
    super(`invalid policy:\n${lines.join('\n')}`, 'ERR_POLICY_INVALID', options)
    this.issues = issues
  }
}

/** A policy function received an argument it cannot use, such as an unknown zone or trigger. */
export class PolicyArgumentError extends SowerError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_POLICY_ARGUMENT', options)
  }
}

/** Formats a path as `policy.nightly.window.zone`, with list indexes as `policy[2]`. */
export function formatPath (path: ReadonlyArray<string | number>): string {
  let text = ''
  for (const segment of path) {
    if (typeof segment === 'number') {
      text += `[${segment}]`
    } else {
      text += text === '' ? segment : `.${segment}`
    }
  }
  return text === '' ? '(root)' : text
}

#!/usr/bin/env node
// This entry file must parse and run on old Node.js versions, so that they
// reach the version check. So it has no static imports, and its newest syntax
// is top-level await (Node.js 14.8). The CLI itself loads after the check.

/** Oldest Node.js release that runs Sower, as in package.json's engines. */
const NODE_MIN_VERSION = '22.18.0'

/** Exit status for a Node.js that is too old: EXIT.unavailable of exit-codes.ts. */
const EXIT_UNAVAILABLE = 6

/** Returns whether a `major.minor.patch` version is at least `minimum`. */
function isNodeVersionSupported (version: string, minimum = NODE_MIN_VERSION): boolean {
  const found = version.split('.').map(Number)
  const needed = minimum.split('.').map(Number)
  for (let i = 0; i < needed.length; i++) {
    const part = found[i] ?? 0
    if (part !== needed[i]) {
      return part > needed[i]
    }
  }
  return true
}

if (!isNodeVersionSupported(process.versions.node)) {
  process.stderr.write(`error: sower needs Node.js ${NODE_MIN_VERSION} or newer, but this is Node.js ` +
    `${process.versions.node} (${process.execPath}). Install a newer Node.js, or run \`npx sower\` ` +
    '(or `npm start`) in the repository, which use the Node.js pinned in its package.json.\n')
  process.exit(EXIT_UNAVAILABLE)
}
await import('./run.ts')

import { SowerError } from '../errors.ts'
import { verifyRecord } from '../records/index.ts'
import type { RootBody, SignedRecord } from '../records/index.ts'

/** Versions one walk of the root chain may advance; a longer gap needs several walks. */
export const ROOT_CHAIN_MAX_STEPS = 128

/** A root version that cannot be trusted, with the reason. */
export class RootChainError extends SowerError {
  constructor (message: string, code = 'ERR_ROOT_CHAIN') {
    super(message, code)
  }
}

export type RootRecord = SignedRecord<'root'>

/** Keys of a root version that carry the `root` scope. */
export function rootKeys (root: RootBody): Set<string> {
  return new Set(root.admins
    .filter(admin => admin.scopes.some(scope => scope.name === 'root'))
    .map(admin => admin.key))
}

function countSigners (signers: Set<string>, keys: Set<string>): number {
  let count = 0
  for (const key of signers) {
    if (keys.has(key)) {
      count++
    }
  }
  return count
}

/**
 * Checks a root that is trusted by pinning: its own root keys must reach its
 * threshold and it must not have expired at `nowMs`.
 */
export function verifyPinnedRoot (root: RootRecord, nowMs: number): void {
  verifyPinnedSignatures(root)
  checkNotExpired(root, nowMs)
}

/**
 * Checks that the signatures of a pinned root's own root keys reach its
 * threshold, whatever its expiry. A node whose pinned root has expired
 * still walks the chain from it, because the root keys of an expired
 * version can sign its successor.
 */
export function verifyPinnedSignatures (root: RootRecord): void {
  const verified = verifyRecord(root)
  if (!verified.ok) {
    throw new RootChainError(`root version ${root.body.version}: ${verified.reason}`, 'ERR_ROOT_SIGNATURE')
  }
  const own = countSigners(verified.signers, rootKeys(root.body))
  if (own < root.body.threshold) {
    throw new RootChainError(`root version ${root.body.version} has ${own} of the ${root.body.threshold} signatures its own root keys must give`, 'ERR_ROOT_THRESHOLD')
  }
}

/** Tells whether `root` has expired at `nowMs`. A root expires at its `expiresAt` exactly. */
export function isRootExpired (root: RootRecord, nowMs: number): boolean {
  return Date.parse(root.body.expiresAt) <= nowMs
}

/**
 * Says that a node's current root has expired, what that means for the node
 * and how an operator recovers it.
 */
export function rootExpiredMessage (root: Pick<RootBody, 'version' | 'expiresAt'>): string {
  return `root version ${root.version} expired at ${root.expiresAt}, so this node treats no peer as a member ` +
    'and accepts nothing but newer root versions: bring it in reach of a member that has a newer root version, ' +
    'or give it the newer root file with `sower root publish ROOT_FILE` (or set `root` in its config to that file)'
}

function checkNotExpired (root: RootRecord, nowMs: number): void {
  if (isRootExpired(root, nowMs)) {
    throw new RootChainError(`root version ${root.body.version} expired at ${root.body.expiresAt}; sign a new version with \`sower root rotate\``, 'ERR_ROOT_EXPIRED')
  }
}

/**
 * Checks that `next` may follow `current`: the next version number, a link
 * to `current`, the same fleet, and a threshold of signatures from both the
 * previous version's root keys and its own. Expiry is not checked here,
 * because an intermediate version may have expired since it was replaced.
 */
export function verifyRootStep (current: RootRecord, next: RootRecord): void {
  const version = next.body.version
  if (version !== current.body.version + 1) {
    throw new RootChainError(`root version ${version} cannot follow version ${current.body.version}; versions advance one at a time`, 'ERR_ROOT_VERSION')
  }
  if (next.body.prev !== current.id || next.body.fleet !== current.body.fleet) {
    throw new RootChainError(`root version ${version} does not extend root ${current.id} of fleet ${current.body.fleet}`, 'ERR_ROOT_LINK')
  }
  const verified = verifyRecord(next)
  if (!verified.ok) {
    throw new RootChainError(`root version ${version}: ${verified.reason}`, 'ERR_ROOT_SIGNATURE')
  }
  const previous = countSigners(verified.signers, rootKeys(current.body))
  if (previous < current.body.threshold) {
    throw new RootChainError(`root version ${version} has ${previous} of the ${current.body.threshold} signatures that version ${current.body.version}'s root keys must give`, 'ERR_ROOT_THRESHOLD')
  }
  const own = countSigners(verified.signers, rootKeys(next.body))
  if (own < next.body.threshold) {
    throw new RootChainError(`root version ${version} has ${own} of the ${next.body.threshold} signatures its own root keys must give`, 'ERR_ROOT_THRESHOLD')
  }
}

/**
 * Walks from a trusted root through `candidates` (any order, duplicates and
 * unrelated versions allowed) one version at a time and returns the newest
 * trusted version. It stops at the first missing version, and throws when a
 * present next version is invalid or when the newest version has expired.
 */
export function walkRootChain (trusted: RootRecord, candidates: RootRecord[], nowMs: number,
  maxSteps = ROOT_CHAIN_MAX_STEPS): RootRecord {
  const byVersion = new Map<number, RootRecord[]>()
  for (const candidate of candidates) {
    const list = byVersion.get(candidate.body.version) ?? []
    list.push(candidate)
    byVersion.set(candidate.body.version, list)
  }
  let current = trusted
  for (let step = 0; step < maxSteps; step++) {
    const nexts = byVersion.get(current.body.version + 1)
    if (nexts == null) {
      break
    }
    current = pickNext(current, nexts, byVersion.get(current.body.version + 2) ?? [])
  }
  checkNotExpired(current, nowMs)
  return current
}

/**
 * Returns the first valid candidate, trying first those that a candidate of
 * the version after links to. Copies of one root body with different sets
 * of signatures are all valid, but only the one that the next version's
 * `prev` names leads further.
 */
function pickNext (current: RootRecord, nexts: RootRecord[], successors: RootRecord[]): RootRecord {
  const linked = new Set(successors.map(successor => successor.body.prev))
  const ordered = [...nexts.filter(next => linked.has(next.id)), ...nexts.filter(next => !linked.has(next.id))]
  let lastError: unknown
  for (const next of ordered) {
    try {
      verifyRootStep(current, next)
      return next
    } catch (err) {
      lastError = err
    }
  }
  throw lastError
}

import { InvalidStorePathError } from './errors.ts'
import { sha256, toNixBase32 } from './hash.ts'

/**
 * The logical store directory. A chroot store (`--store DIR`) keeps its files
 * under `DIR/nix/store` but still names its paths `/nix/store/...`.
 */
export const NIX_STORE_DIR = '/nix/store'

/** Length of the base-32 hash part of a store path (160 bits). */
export const STORE_PATH_HASH_CHARS = 32

/** Longest store path name that Nix 2.8 accepts. */
export const STORE_PATH_NAME_MAX_CHARS = 211

const STORE_PATH_HASH_BYTES = 20
const HASH_PART_PATTERN = /^[0123456789abcdfghijklmnpqrsvwxyz]{32}$/
const NAME_PATTERN = /^[A-Za-z0-9+\-._?=]+$/

/**
 * Checks a store path name: 1 to 211 characters from `A-Za-z0-9+-._?=`,
 * not starting with a period. Returns the reason it is invalid, or null.
 */
export function storePathNameProblem (name: string): string | null {
  if (name.length === 0) {
    return 'it is empty'
  }
  if (name.length > STORE_PATH_NAME_MAX_CHARS) {
    return `it is longer than ${STORE_PATH_NAME_MAX_CHARS} characters`
  }
  if (name.startsWith('.')) {
    return 'it starts with a period'
  }
  if (!NAME_PATTERN.test(name)) {
    return 'it contains a character outside A-Z a-z 0-9 + - . _ ? ='
  }
  return null
}

/** Raises InvalidStorePathError unless `name` is a valid store path name. */
export function assertStorePathName (name: string): void {
  const problem = storePathNameProblem(name)
  if (problem !== null) {
    throw new InvalidStorePathError(`invalid store path name "${name}": ${problem}`)
  }
}

/** Returns whether `path` is a well-formed `/nix/store/<hash>-<name>` path. */
export function isStorePath (path: string): boolean {
  const base = storePathBaseName(path)
  if (base === null) {
    return false
  }
  return HASH_PART_PATTERN.test(base.slice(0, STORE_PATH_HASH_CHARS)) &&
    base[STORE_PATH_HASH_CHARS] === '-' &&
    storePathNameProblem(base.slice(STORE_PATH_HASH_CHARS + 1)) === null
}

/** Raises InvalidStorePathError unless `path` is a well-formed store path. */
export function assertStorePath (path: string): void {
  if (!isStorePath(path)) {
    throw new InvalidStorePathError(`invalid store path "${path}": expected ${NIX_STORE_DIR}/<32-char hash>-<name>`)
  }
}

/** Returns `<hash>-<name>` of a well-formed store path. */
export function baseNameOf (path: string): string {
  assertStorePath(path)
  return path.slice(NIX_STORE_DIR.length + 1)
}

/** Returns the 32-character hash part of a well-formed store path. */
export function hashPartOf (path: string): string {
  return baseNameOf(path).slice(0, STORE_PATH_HASH_CHARS)
}

/** Returns the name part of a well-formed store path. */
export function nameOf (path: string): string {
  return baseNameOf(path).slice(STORE_PATH_HASH_CHARS + 1)
}

/**
 * Computes a store path the way Nix's `makeStorePath` does: the first 160
 * bits of sha256("<type>:sha256:<hex digest>:/nix/store:<name>"), folded by
 * XOR and printed in Nix base-32.
 */
export function makeStorePath (type: string, digest: Uint8Array, name: string): string {
  assertStorePathName(name)
  const hex = Buffer.from(digest).toString('hex')
  const fingerprint = `${type}:sha256:${hex}:${NIX_STORE_DIR}:${name}`
  return `${NIX_STORE_DIR}/${toNixBase32(compressHash(sha256(fingerprint)))}-${name}`
}

/**
 * Computes the content-addressed path of a file tree with the given NAR
 * digest and references, as Nix does for recursive sha256 paths (type
 * `source`, e.g. `nix-store --add`). A path cannot refer to itself here.
 */
export function makeSourcePath (narDigest: Uint8Array, name: string, references: readonly string[] = []): string {
  const sorted = [...references].sort()
  for (const reference of sorted) {
    assertStorePath(reference)
  }
  const type = ['source', ...sorted].join(':')
  return makeStorePath(type, narDigest, name)
}

function storePathBaseName (path: string): string | null {
  if (!path.startsWith(`${NIX_STORE_DIR}/`)) {
    return null
  }
  const base = path.slice(NIX_STORE_DIR.length + 1)
  return base.length > STORE_PATH_HASH_CHARS + 1 ? base : null
}

/** Folds a digest into 20 bytes by XOR, as Nix's `compressHash` does. */
function compressHash (digest: Uint8Array): Uint8Array {
  const folded = new Uint8Array(STORE_PATH_HASH_BYTES)
  for (let i = 0; i < digest.length; i++) {
    folded[i % STORE_PATH_HASH_BYTES] ^= digest[i]
  }
  return folded
}

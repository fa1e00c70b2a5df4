import { lstat, readlink } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { InvalidInputError } from '../errors.ts'
import { NIX_STORE_DIR, PathNotValidError, isStorePath } from '../nix/index.ts'
import type { StoreBackend } from '../nix/index.ts'
import { describeIssues, releaseSchema } from '../records/index.ts'
import type { Release, SeedType } from '../records/index.ts'

/** Symlinks followed from a `./result` link to its store path. */
const LINK_HOPS_MAX = 40
const STORE_PREFIX = `${NIX_STORE_DIR}/`

/**
 * Returns the top-level store path that `input` names: a store path (or a
 * file inside one), a link such as the `./result` that `nix build` writes,
 * or the real location of a path in a separate store root. Throws
 * `InvalidInputError` when none of these leads to a store path.
 */
export async function resolveStorePath (input: string, backend: StoreBackend): Promise<string> {
  let current = input
  for (let hop = 0; hop <= LINK_HOPS_MAX; hop++) {
    const storePath = topLevelStorePath(current) ?? topLevelStorePath(stripStoreRoot(resolve(current), backend))
    if (storePath != null) {
      return storePath
    }
    const info = await lstat(current).catch(() => null)
    if (info == null || !info.isSymbolicLink()) {
      break
    }
    current = resolve(dirname(resolve(current)), await readlink(current))
  }
  throw new InvalidInputError(`"${input}" is neither a store path nor a link to one; ` +
    'pass the ./result link that nix build wrote, or a /nix/store/<hash>-<name> path')
}

function topLevelStorePath (path: string): string | null {
  if (!path.startsWith(STORE_PREFIX)) {
    return null
  }
  const base = path.slice(STORE_PREFIX.length).split('/')[0]
  const candidate = STORE_PREFIX + base
  return isStorePath(candidate) ? candidate : null
}

function stripStoreRoot (path: string, backend: StoreBackend): string {
  const root = backend.storeRoot.replace(/\/+$/, '')
  return root !== '' && path.startsWith(`${root}${STORE_PREFIX}`) ? path.slice(root.length) : path
}

export interface ReleaseInit {
  seed: string
  type: SeedType
  storePath: string
}

/**
 * Builds the signed part of a deployment from a valid store path: the
 * closure's manifest from the backend and, for a `system` seed, its kernel
 * and initrd. Throws `PathNotValidError` when the store does not have the path.
 */
export async function buildRelease (backend: StoreBackend, init: ReleaseInit): Promise<Release> {
  if (!(await backend.isValid(init.storePath))) {
    throw new PathNotValidError(init.storePath, backend.storeRoot)
  }
  const manifest = await backend.queryClosure(init.storePath)
  const top = manifest.find(entry => entry.path === init.storePath)
  if (top == null) {
    throw new InvalidInputError(`the closure of ${init.storePath} does not list the path itself`)
  }
  const release: Release = {
    seed: init.seed,
    type: init.type,
    storePath: init.storePath,
    narHash: top.narHash,
    narSize: top.narSize,
    manifest: manifest.map(entry => ({ ...entry, references: [...entry.references] }))
  }
  if (init.type === 'system') {
    const boot = await backend.bootFiles(init.storePath)
    if (boot.kernel != null && boot.initrd != null) {
      release.boot = { kernel: boot.kernel, initrd: boot.initrd }
    }
  }
  const parsed = releaseSchema.safeParse(release)
  if (!parsed.success) {
    throw new InvalidInputError(`cannot sign a release of ${init.storePath}: ${describeIssues(parsed.error)}`)
  }
  return parsed.data
}

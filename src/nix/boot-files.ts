import { lstat, readlink } from 'node:fs/promises'
import { posix } from 'node:path'
import { assertStorePath, NIX_STORE_DIR } from './store-path.ts'
import type { BootFiles } from './types.ts'

/** Maximum number of symlinks followed when resolving `kernel` or `initrd`. */
const SYMLINK_HOPS_MAX = 16

/**
 * Reads the `kernel` and `initrd` entries of a NixOS system path. `realPath`
 * maps a path under /nix/store to where its files are on this machine.
 */
export async function readBootFiles (systemPath: string, realPath: (storePath: string) => string): Promise<BootFiles> {
  assertStorePath(systemPath)
  return {
    kernel: await resolveEntry(`${systemPath}/kernel`, realPath),
    initrd: await resolveEntry(`${systemPath}/initrd`, realPath)
  }
}

/** Returns whether switching from `current` to `next` changes the kernel or initrd, so it needs a reboot. */
export function needsReboot (current: BootFiles, next: BootFiles): boolean {
  return current.kernel !== next.kernel || current.initrd !== next.initrd
}

/**
 * Follows symlinks from `logicalPath` while they stay in the store and
 * returns the last path reached, or null when the entry does not exist.
 */
async function resolveEntry (logicalPath: string, realPath: (storePath: string) => string): Promise<string | null> {
  let current = logicalPath
  for (let hop = 0; hop < SYMLINK_HOPS_MAX; hop++) {
    if (!current.startsWith(`${NIX_STORE_DIR}/`)) {
      return current
    }
    const stat = await lstatOrNull(realPath(current))
    if (stat === null) {
      return hop === 0 ? null : current
    }
    if (!stat.isSymbolicLink()) {
      return current
    }
    const target = await readlink(realPath(current))
    current = posix.resolve(posix.dirname(current), target)
  }
  return current
}

async function lstatOrNull (path: string): Promise<Awaited<ReturnType<typeof lstat>> | null> {
  try {
    return await lstat(path)
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return null
    }
    throw error
  }
}

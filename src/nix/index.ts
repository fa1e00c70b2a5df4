import { join } from 'node:path'
import { runCommand } from './run-command.ts'

/** Time allowed for `nix-store --version` when probing for Nix. */
const PROBE_TIMEOUT_MS = 10_000

/**
 * Returns whether `nix-store` runs on this host (from `nixBinDir`, or PATH
 * when absent). Callers without Nix use the plain backend instead.
 */
export async function hasNix (nixBinDir?: string): Promise<boolean> {
  return (await nixVersion(nixBinDir)) !== null
}

/** Returns the version that `nix-store --version` prints (e.g. `2.8.0`), or null when it does not run. */
export async function nixVersion (nixBinDir?: string): Promise<string | null> {
  const program = nixBinDir === undefined ? 'nix-store' : join(nixBinDir, 'nix-store')
  try {
    const { stdout } = await runCommand(program, ['--version'], { timeoutMs: PROBE_TIMEOUT_MS })
    return /([0-9]+\.[0-9]+(?:\.[0-9]+)?)/.exec(stdout)?.[1] ?? null
  } catch {
    return null
  }
}

export { NixStore, NIX_COMMAND_TIMEOUT_MS, NIX_TRANSFER_TIMEOUT_MS, parseDumpDb } from './nix-store.ts'
export type { NixStoreInit } from './nix-store.ts'
export { PlainStore } from './plain-store.ts'
export type { PathInfo, PlainStoreInit } from './plain-store.ts'
export { buildServiceClosure, buildSystemClosure, NIX_BUILD_EXPRESSION } from './closure-builder.ts'
export type { ServiceClosure, ServiceClosureInit, SystemClosure, SystemClosureInit } from './closure-builder.ts'
export { needsReboot, readBootFiles } from './boot-files.ts'
export {
  dumpNar, hashPath, parseNar, unpackNar, NAR_DEPTH_MAX, NAR_NAME_MAX_BYTES, NAR_SYMLINK_TARGET_MAX_BYTES
} from './nar.ts'
export type { NarDigest, NarSink } from './nar.ts'
export { encodeExport, readExport, EXPORT_MAGIC } from './export-format.ts'
export type { ExportedPath, ExportItem } from './export-format.ts'
export { indexManifest, sortByReferences, MANIFEST_MAX_ENTRIES } from './manifest.ts'
export { formatNarHash, fromNixBase32, normaliseNarHash, parseNarHash, toNixBase32 } from './hash.ts'
export {
  assertStorePath, hashPartOf, isStorePath, makeSourcePath, makeStorePath, nameOf, NIX_STORE_DIR
} from './store-path.ts'
export { removeTree } from './fs-utils.ts'
export { READ_IDLE_TIMEOUT_MS } from './byte-reader.ts'
export * from './errors.ts'
export type * from './types.ts'

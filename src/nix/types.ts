import type { Readable } from 'node:stream'

/** One store path of a closure, as Nix records it. */
export interface ManifestEntry {
  /** `/nix/store/<hash>-<name>` */
  path: string
  /** sha256 of the path's NAR, as `sha256:<base32>` (the form `nix-store --query --hash` prints). */
  narHash: string
  /** Size of the path's NAR in bytes. */
  narSize: number
  /** Store paths this path refers to, sorted. The list may include the path itself. */
  references: string[]
}

/** Every path of a closure, dependencies before the paths that refer to them, ties broken by path. */
export type Manifest = ManifestEntry[]

/** Progress of a verified import, reported once per received chunk. */
export interface ImportProgress {
  /** Bytes of the export stream received so far. */
  bytesReceived: number
  /** Sum of the NAR sizes of manifest paths that were not yet valid in the store. */
  narBytesExpected: number
  /** Store paths received and verified so far. */
  pathsVerified: number
}

export interface ImportOptions {
  onProgress?: (progress: ImportProgress) => void
  /** Maximum wait for the next chunk of the stream, in milliseconds. @default 60000 */
  idleTimeoutMs?: number
  /** Aborts the import. Nothing is added to the store unless every path was verified. */
  signal?: AbortSignal
}

export interface ImportResult {
  /** Store paths read from the stream, in stream order (already valid ones included). */
  received: string[]
  /** Bytes of the export stream consumed. */
  bytesReceived: number
}

/** One generation of a profile: `<profile>-<number>-link`. */
export interface Generation {
  number: number
  storePath: string
  /** Creation time of the generation link, ISO 8601 in UTC with whole seconds. */
  date: string
  /** Whether the profile link points at this generation. */
  current: boolean
}

/**
 * Boot-relevant files of a NixOS system path. Each is the store path that
 * the `kernel` or `initrd` symlink resolves to, or the entry's own path when
 * it is a regular file. A missing entry is null.
 */
export interface BootFiles {
  kernel: string | null
  initrd: string | null
}

/** A file to create in a built store path. */
export type EntrySpec =
  | { text: string, executable?: boolean }
  | { symlink: string }
  | { file: string, executable?: boolean }

/**
 * A store path to build from entries. Text must not contain NUL bytes.
 * `references` lists store paths that the entries may mention. Like Nix,
 * a backend keeps only those whose hash part occurs in the contents.
 */
export interface PathSpec {
  /** Store path name, e.g. `web-service-1.0`. */
  name: string
  /** Entries keyed by relative path, e.g. `bin/switch-to-configuration`. */
  entries: Record<string, EntrySpec>
  references?: string[]
}

/** A store of Nix closures: the real Nix store or the plain-files backend. */
export interface StoreBackend {
  readonly kind: 'nix' | 'plain'
  /** Directory that contains `nix/store` and everything else of this store. */
  readonly storeRoot: string

  /** Maps a store path to where its files are on this machine. */
  realPath: (storePath: string) => string
  isValid: (storePath: string) => Promise<boolean>
  /** Returns the subset of `storePaths` that is valid, in input order. */
  queryValidPaths: (storePaths: readonly string[]) => Promise<string[]>
  /** Returns the manifest of the closure of `storePath`. */
  queryClosure: (storePath: string) => Promise<Manifest>

  /** Streams the given paths in `nix-store --export` format, dependencies first. */
  exportPaths: (storePaths: readonly string[]) => Readable
  /**
   * Reads an export stream, checks every path against `manifest` and adds
   * the paths to the store only after all of them were verified.
   */
  importVerified: (
    source: AsyncIterable<Uint8Array>,
    manifest: Manifest,
    options?: ImportOptions
  ) => Promise<ImportResult>

  /** Adds a file or folder as a content-addressed path, like `nix-store --add`. */
  addFiles: (fsPath: string, name?: string) => Promise<string>
  /** Builds one store path from a specification and returns it. */
  buildPath: (spec: PathSpec) => Promise<string>

  /** Makes `storePath` the profile's new current generation and returns that generation. */
  setProfile: (profile: string, storePath: string) => Promise<Generation>
  listGenerations: (profile: string) => Promise<Generation[]>
  currentGeneration: (profile: string) => Promise<Generation | null>
  switchGeneration: (profile: string, number: number) => Promise<Generation>
  /** Switches to the newest generation older than the current one. */
  rollback: (profile: string) => Promise<Generation>

  bootFiles: (systemPath: string) => Promise<BootFiles>
}

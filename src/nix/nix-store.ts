import { mkdirSync } from 'node:fs'
import { mkdir, mkdtemp, open, truncate, writeFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import type { Readable } from 'node:stream'
import { readBootFiles } from './boot-files.ts'
import { NIX_BUILD_EXPRESSION, nixBuildInput, planPath } from './closure-builder.ts'
import { NixCommandError, NixOutputError, PathNotValidError } from './errors.ts'
import { removeTree, writeFully } from './fs-utils.ts'
import { formatNarHash } from './hash.ts'
import { verifyExportStream } from './import-verifier.ts'
import { sortByReferences } from './manifest.ts'
import { discardSink } from './nar.ts'
import * as profiles from './profiles.ts'
import { runCommand, streamCommand } from './run-command.ts'
import type { RunResult } from './run-command.ts'
import { assertStorePath, assertStorePathName, isStorePath } from './store-path.ts'
import type {
  BootFiles, Generation, ImportOptions, ImportResult, Manifest, ManifestEntry, PathSpec, StoreBackend
} from './types.ts'

/** Time limit of a query or profile command. */
export const NIX_COMMAND_TIMEOUT_MS = 60_000
/** Time limit of an export, import or build. */
export const NIX_TRANSFER_TIMEOUT_MS = 30 * 60_000
/** Store paths passed to one command, which keeps argument lists far below the kernel's limit. */
const PATHS_PER_COMMAND_MAX = 1000
/** Variables removed from the environment of Nix commands: another store, search path or user configuration. */
const UNSET_VARIABLES = [
  'NIX_REMOTE', 'NIX_PATH', 'NIX_USER_CONF_FILES', 'XDG_CONFIG_HOME', 'XDG_CONFIG_DIRS', 'XDG_CACHE_HOME'
]

/**
 * Host folders that `buildPath` builds can read inside their chroot: the
 * builder `/bin/sh` and coreutils with their libraries. A trailing `?` makes a
 * folder optional, so hosts without `/lib64` still build.
 */
const BUILD_SANDBOX_PATHS = ['/bin', '/usr', '/lib', '/lib64', '/lib32', '/libx32'].map(path => `${path}?`)

export interface NixStoreInit {
  /** Root of the chroot store: Nix keeps its files in `<storeRoot>/nix/store`. */
  storeRoot: string
  /** Folder with `nix-store`, `nix-env`, `nix-build` and `nix`. Without it, they are found on PATH. */
  nixBinDir?: string
  /** @default NIX_COMMAND_TIMEOUT_MS */
  commandTimeoutMs?: number
  /** @default NIX_TRANSFER_TIMEOUT_MS */
  transferTimeoutMs?: number
}

type NixProgram = 'nix-store' | 'nix-env' | 'nix-build' | 'nix'

/**
 * The real Nix store of one garden, as a chroot store at `storeRoot`. Every
 * command gets `--store <storeRoot>` and runs offline (no substituters).
 * Paths keep their `/nix/store/...` names, and their files are under
 * `<storeRoot>/nix/store`.
 */
export class NixStore implements StoreBackend {
  readonly kind = 'nix'
  readonly storeRoot: string
  readonly #nixBinDir: string | undefined
  readonly #commandTimeoutMs: number
  readonly #transferTimeoutMs: number
  readonly #tmpDir: string

  constructor (init: NixStoreInit) {
    this.storeRoot = resolve(init.storeRoot)
    this.#nixBinDir = init.nixBinDir
    this.#commandTimeoutMs = init.commandTimeoutMs ?? NIX_COMMAND_TIMEOUT_MS
    this.#transferTimeoutMs = init.transferTimeoutMs ?? NIX_TRANSFER_TIMEOUT_MS
    this.#tmpDir = join(this.storeRoot, 'tmp')
  }

  realPath (storePath: string): string {
    assertStorePath(storePath)
    return this.storeRoot + storePath
  }

  async isValid (storePath: string): Promise<boolean> {
    return (await this.queryValidPaths([storePath])).length === 1
  }

  async queryValidPaths (storePaths: readonly string[]): Promise<string[]> {
    storePaths.forEach(assertStorePath)
    const invalid = new Set<string>()
    for (const batch of batches(storePaths)) {
      const { stdout } = await this.#run('nix-store', ['--check-validity', '--print-invalid', ...batch])
      for (const line of lines(stdout)) {
        invalid.add(line)
      }
    }
    return storePaths.filter(path => !invalid.has(path))
  }

  /**
   * Returns the closure of `storePath` from `nix-store --query --requisites`
   * and the path details from `nix-store --dump-db`, ordered like the plain
   * backend orders it (dependencies first, then by path).
   */
  async queryClosure (storePath: string): Promise<Manifest> {
    assertStorePath(storePath)
    let requisites: string[]
    try {
      requisites = lines((await this.#run('nix-store', ['--query', '--requisites', storePath])).stdout)
    } catch (error) {
      throw await this.#explainInvalid(error, storePath)
    }
    const entries = new Map<string, ManifestEntry>()
    for (const batch of batches(requisites)) {
      for (const entry of parseDumpDb((await this.#run('nix-store', ['--dump-db', ...batch])).stdout)) {
        entries.set(entry.path, entry)
      }
    }
    const missing = requisites.find(path => !entries.has(path))
    if (missing !== undefined) {
      throw new NixOutputError('nix-store --dump-db', `printed no record for ${missing}`)
    }
    const sorted = sortByReferences(requisites, path => entries.get(path)?.references ?? [])
    return sorted.map(path => entries.get(path) as ManifestEntry)
  }

  exportPaths (storePaths: readonly string[]): Readable {
    storePaths.forEach(assertStorePath)
    mkdirSync(this.#tmpDir, { recursive: true })
    return streamCommand(this.#program('nix-store'), ['--export', ...storePaths, ...this.#commonArgs()], {
      timeoutMs: this.#transferTimeoutMs,
      env: this.#env()
    })
  }

  /**
   * Verifies an export stream while spooling it to `<storeRoot>/tmp`, and
   * passes the spooled stream to `nix-store --import` only when every path
   * matched the manifest. The spool is removed in every case.
   */
  async importVerified (
    source: AsyncIterable<Uint8Array>,
    manifest: Manifest,
    options: ImportOptions = {}
  ): Promise<ImportResult> {
    await mkdir(this.#tmpDir, { recursive: true })
    const spoolDir = await mkdtemp(join(this.#tmpDir, 'import-'))
    const spoolPath = join(spoolDir, 'export')
    let spool: FileHandle | undefined = await open(spoolPath, 'wx', 0o600)
    try {
      const verified = await verifyExportStream({
        ...options,
        source,
        manifest,
        queryValidPaths: async paths => await this.queryValidPaths(paths),
        narSink: () => discardSink,
        onChunk: async chunk => {
          if (spool !== undefined) {
            await writeFully(spool, chunk)
          }
        }
      })
      await spool.close()
      spool = undefined
      await truncate(spoolPath, verified.bytesConsumed)
      await this.#importSpool(spoolPath)
      return { received: verified.paths.map(exported => exported.path), bytesReceived: verified.bytesConsumed }
    } finally {
      await spool?.close()
      await removeTree(spoolDir)
    }
  }

  async addFiles (fsPath: string, name?: string): Promise<string> {
    const source = resolve(fsPath)
    if (name === undefined || name === basename(source)) {
      assertStorePathName(basename(source))
      return singleStorePath('nix-store --add', (await this.#run('nix-store', ['--add', source])).stdout)
    }
    assertStorePathName(name)
    const args = ['--extra-experimental-features', 'nix-command', 'store', 'add-path', '--name', name, source]
    return singleStorePath('nix store add-path', (await this.#run('nix', args)).stdout)
  }

  /**
   * Builds a spec with `nix-build` and NIX_BUILD_EXPRESSION. A chroot store
   * always builds inside a chroot in Nix 2.8, even with `sandbox = false`,
   * so the builder can read only BUILD_SANDBOX_PATHS of the host.
   */
  async buildPath (spec: PathSpec): Promise<string> {
    const plan = await planPath(spec)
    const valid = new Set(await this.queryValidPaths(plan.references))
    const missing = plan.references.find(reference => !valid.has(reference))
    if (missing !== undefined) {
      throw new PathNotValidError(missing, this.storeRoot)
    }
    await mkdir(this.#tmpDir, { recursive: true })
    const buildDir = await mkdtemp(join(this.#tmpDir, 'build-'))
    try {
      const specFile = join(buildDir, 'spec.json')
      await writeFile(specFile, nixBuildInput(plan))
      const args = [
        '--no-out-link', '--expr', NIX_BUILD_EXPRESSION, '--argstr', 'specFile', specFile,
        '--option', 'sandbox', 'false', '--option', 'sandbox-paths', BUILD_SANDBOX_PATHS.join(' ')
      ]
      return singleStorePath('nix-build', (await this.#run('nix-build', args, this.#transferTimeoutMs)).stdout)
    } finally {
      await removeTree(buildDir)
    }
  }

  async setProfile (profile: string, storePath: string): Promise<Generation> {
    if (!(await this.isValid(storePath))) {
      throw new PathNotValidError(storePath, this.storeRoot)
    }
    await mkdir(resolve(profile, '..'), { recursive: true })
    await this.#run('nix-env', ['--profile', resolve(profile), '--set', storePath])
    return await this.#requireCurrent(profile)
  }

  async listGenerations (profile: string): Promise<Generation[]> {
    return await profiles.listGenerations(profile)
  }

  async currentGeneration (profile: string): Promise<Generation | null> {
    return await profiles.currentGeneration(profile)
  }

  async switchGeneration (profile: string, number: number): Promise<Generation> {
    await profiles.findGeneration(profile, number)
    await this.#run('nix-env', ['--profile', resolve(profile), '--switch-generation', String(number)])
    return await this.#requireCurrent(profile)
  }

  async rollback (profile: string): Promise<Generation> {
    await profiles.previousGeneration(profile)
    await this.#run('nix-env', ['--profile', resolve(profile), '--rollback'])
    return await this.#requireCurrent(profile)
  }

  async bootFiles (systemPath: string): Promise<BootFiles> {
    return await readBootFiles(systemPath, path => this.storeRoot + path)
  }

  /** Returns `nix-store --query --hash` for a valid path: its NAR hash as Nix records it. */
  async queryNarHash (storePath: string): Promise<string> {
    assertStorePath(storePath)
    return lines((await this.#run('nix-store', ['--query', '--hash', storePath])).stdout)[0]
  }

  async #importSpool (spoolPath: string): Promise<void> {
    const input = await open(spoolPath, 'r')
    try {
      await this.#run('nix-store', ['--import'], this.#transferTimeoutMs, input.fd)
    } finally {
      await input.close()
    }
  }

  async #requireCurrent (profile: string): Promise<Generation> {
    const current = await profiles.currentGeneration(profile)
    if (current === null) {
      throw new NixOutputError('nix-env', `left profile ${profile} without a current generation`)
    }
    return current
  }

  async #explainInvalid (error: unknown, storePath: string): Promise<unknown> {
    if (error instanceof NixCommandError && !(await this.isValid(storePath))) {
      return new PathNotValidError(storePath, this.storeRoot)
    }
    return error
  }

  async #run (
    program: NixProgram,
    args: string[],
    timeoutMs = this.#commandTimeoutMs,
    stdinFd?: number
  ): Promise<RunResult> {
    await mkdir(this.#tmpDir, { recursive: true })
    const init = { timeoutMs, env: this.#env(), stdinFd }
    return await runCommand(this.#program(program), [...args, ...this.#commonArgs()], init)
  }

  #program (program: NixProgram): string {
    return this.#nixBinDir === undefined ? program : join(this.#nixBinDir, program)
  }

  /** Arguments of every command: the chroot store, and no binary caches, so nothing goes online. */
  #commonArgs (): string[] {
    return ['--store', this.storeRoot, '--option', 'substituters', '']
  }

  /**
   * Environment of every command. HOME and TMPDIR point into the store root
   * because `nix-env` creates `~/.nix-defexpr` and builds put their folders
   * in TMPDIR. So Nix reads the system's nix.conf but not the user's.
   */
  #env (): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(this.storeRoot, 'home'), TMPDIR: this.#tmpDir }
    for (const name of UNSET_VARIABLES) {
      delete env[name]
    }
    return env
  }
}

/**
 * Parses `nix-store --dump-db` output: per path its name, NAR hash in hex,
 * NAR size, deriver (an empty line when unknown), the number of references
 * and the references, one per line.
 */
export function parseDumpDb (text: string): ManifestEntry[] {
  const rows = text.split('\n')
  const entries: ManifestEntry[] = []
  let row = 0
  while (row < rows.length && rows[row] !== '') {
    const path = rows[row]
    const hexHash = rows[row + 1] ?? ''
    const narSize = Number(rows[row + 2])
    const count = Number(rows[row + 4])
    const references = rows.slice(row + 5, row + 5 + count).sort()
    const readable = isStorePath(path) && /^[0-9a-f]{64}$/.test(hexHash) && Number.isSafeInteger(narSize) &&
      Number.isSafeInteger(count) && references.length === count && references.every(isStorePath)
    if (!readable) {
      throw new NixOutputError('nix-store --dump-db', `printed an unreadable record at line ${row + 1}`)
    }
    entries.push({ path, narHash: formatNarHash(Buffer.from(hexHash, 'hex')), narSize, references })
    row += 5 + count
  }
  return entries
}

function singleStorePath (command: string, stdout: string): string {
  const path = lines(stdout).at(-1) ?? ''
  if (!isStorePath(path)) {
    throw new NixOutputError(command, 'printed no store path', stdout)
  }
  return path
}

function lines (text: string): string[] {
  return text.split('\n').filter(line => line !== '')
}

function * batches<T> (items: readonly T[]): Generator<T[]> {
  for (let start = 0; start < items.length; start += PATHS_PER_COMMAND_MAX) {
    yield items.slice(start, start + PATHS_PER_COMMAND_MAX)
  }
}

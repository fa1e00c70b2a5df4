import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rename, stat } from 'node:fs/promises'
import { basename, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { readBootFiles } from './boot-files.ts'
import { planPath, writePlan } from './closure-builder.ts'
import { PathNotValidError, StorePathCorruptError } from './errors.ts'
import { encodeExport } from './export-format.ts'
import type { ExportItem } from './export-format.ts'
import { makeFoldersReadOnly, removeTree, writeFileAtomic } from './fs-utils.ts'
import { formatNarHash, parseNarHash } from './hash.ts'
import { verifyExportStream } from './import-verifier.ts'
import { sortByReferences } from './manifest.ts'
import { dumpNar, unpackNar, unpackSink } from './nar.ts'
import type { NarDigest } from './nar.ts'
import * as profiles from './profiles.ts'
import { ReferenceScanner } from './reference-scanner.ts'
import { assertStorePath, assertStorePathName, baseNameOf, makeSourcePath } from './store-path.ts'
import type { BootFiles, Generation, ImportOptions, ImportResult, Manifest, PathSpec, StoreBackend } from './types.ts'

/** Record the plain backend keeps for each valid store path. */
export interface PathInfo {
  path: string
  narHash: string
  narSize: number
  references: string[]
  deriver: string | null
  /** Content address, `fixed:r:sha256:<base32>`, for paths this backend added itself. */
  ca: string | null
  /** ISO 8601 time in UTC at which the path became valid. */
  registrationTime: string
}

export interface PlainStoreInit {
  /** Folder that contains `nix/store`, the path database and temporary files. */
  storeRoot: string
}

/**
 * A store for hosts without Nix, laid out like a chroot store: the files of
 * `/nix/store/<hash>-<name>` live in `<storeRoot>/nix/store/<hash>-<name>`,
 * and a path is valid once `<storeRoot>/nix/var/sower/valid/<hash>-<name>.json`
 * exists, which is written last. It exchanges closures with Nix in
 * `nix-store --export` format and keeps profiles in Nix's layout.
 *
 * NOTE: it has no garbage collector, and profile changes and commits of
 * one path are serialised only within one process.
 */
export class PlainStore implements StoreBackend {
  readonly kind = 'plain'
  readonly storeRoot: string
  readonly #validDir: string
  readonly #tmpDir: string
  readonly #locks = new Map<string, Promise<unknown>>()

  constructor (init: PlainStoreInit) {
    this.storeRoot = resolve(init.storeRoot)
    this.#validDir = join(this.storeRoot, 'nix', 'var', 'sower', 'valid')
    this.#tmpDir = join(this.storeRoot, 'tmp')
  }

  realPath (storePath: string): string {
    assertStorePath(storePath)
    return this.storeRoot + storePath
  }

  async isValid (storePath: string): Promise<boolean> {
    assertStorePath(storePath)
    try {
      await stat(this.#infoPath(storePath))
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return false
      }
      throw error
    }
  }

  async queryValidPaths (storePaths: readonly string[]): Promise<string[]> {
    const valid: string[] = []
    for (const storePath of storePaths) {
      if (await this.isValid(storePath)) {
        valid.push(storePath)
      }
    }
    return valid
  }

  /** Returns the recorded information of a valid path, or raises PathNotValidError. */
  async queryPathInfo (storePath: string): Promise<PathInfo> {
    assertStorePath(storePath)
    try {
      return JSON.parse(await readFile(this.#infoPath(storePath), 'utf8')) as PathInfo
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new PathNotValidError(storePath, this.storeRoot)
      }
      throw error
    }
  }

  async queryClosure (storePath: string): Promise<Manifest> {
    const infos = await this.#closureInfos([storePath])
    return sortByReferences(infos.keys(), path => infos.get(path)?.references ?? []).map(path => {
      const info = infos.get(path) as PathInfo
      return { path, narHash: info.narHash, narSize: info.narSize, references: [...info.references] }
    })
  }

  exportPaths (storePaths: readonly string[]): Readable {
    storePaths.forEach(assertStorePath)
    return Readable.from(encodeExport(this.#exportItems([...storePaths])), { objectMode: false })
  }

  async importVerified (
    source: AsyncIterable<Uint8Array>,
    manifest: Manifest,
    options: ImportOptions = {}
  ): Promise<ImportResult> {
    await mkdir(this.#tmpDir, { recursive: true })
    const staging = await mkdtemp(join(this.#tmpDir, 'import-'))
    try {
      const verified = await verifyExportStream({
        ...options,
        source,
        manifest,
        queryValidPaths: async paths => await this.queryValidPaths(paths),
        narSink: index => unpackSink(join(staging, String(index)))
      })
      for (const exported of verified.paths) {
        await this.#commit(join(staging, String(exported.index)), {
          path: exported.path,
          narHash: exported.narHash,
          narSize: exported.narSize,
          references: [...exported.references].sort(),
          deriver: exported.deriver,
          ca: null,
          registrationTime: new Date().toISOString()
        })
      }
      return { received: verified.paths.map(exported => exported.path), bytesReceived: verified.bytesConsumed }
    } finally {
      await removeTree(staging)
    }
  }

  async addFiles (fsPath: string, name = basename(resolve(fsPath))): Promise<string> {
    assertStorePathName(name)
    return await this.#withStaging(async tree => {
      const digest = await unpackNar(dumpNar(resolve(fsPath)), tree, { idleTimeoutMs: 0 })
      return await this.#commitContentAddressed(tree, name, digest, [])
    })
  }

  async buildPath (spec: PathSpec): Promise<string> {
    const plan = await planPath(spec)
    const missing = (await this.#missingPaths(plan.references))[0]
    if (missing !== undefined) {
      throw new PathNotValidError(missing, this.storeRoot)
    }
    return await this.#withStaging(async tree => {
      await writePlan(plan, tree)
      const hash = createHash('sha256')
      const scanner = new ReferenceScanner(plan.references)
      let narSize = 0
      for await (const chunk of dumpNar(tree)) {
        hash.update(chunk)
        scanner.update(chunk)
        narSize += chunk.length
      }
      const digest = { narHash: formatNarHash(hash.digest()), narSize }
      return await this.#commitContentAddressed(tree, plan.name, digest, scanner.found())
    })
  }

  async setProfile (profile: string, storePath: string): Promise<Generation> {
    if (!(await this.isValid(storePath))) {
      throw new PathNotValidError(storePath, this.storeRoot)
    }
    return await this.#withProfileLock(profile, async () => await profiles.createGeneration(profile, storePath))
  }

  async listGenerations (profile: string): Promise<Generation[]> {
    return await profiles.listGenerations(profile)
  }

  async currentGeneration (profile: string): Promise<Generation | null> {
    return await profiles.currentGeneration(profile)
  }

  async switchGeneration (profile: string, number: number): Promise<Generation> {
    return await this.#withProfileLock(profile, async () => await profiles.switchToGeneration(profile, number))
  }

  async rollback (profile: string): Promise<Generation> {
    return await this.#withProfileLock(profile, async () => {
      const previous = await profiles.previousGeneration(profile)
      return await profiles.switchToGeneration(profile, previous.number)
    })
  }

  async bootFiles (systemPath: string): Promise<BootFiles> {
    return await readBootFiles(systemPath, path => this.storeRoot + path)
  }

  #infoPath (storePath: string): string {
    return join(this.#validDir, `${baseNameOf(storePath)}.json`)
  }

  async #missingPaths (storePaths: readonly string[]): Promise<string[]> {
    const valid = new Set(await this.queryValidPaths(storePaths))
    return storePaths.filter(path => !valid.has(path))
  }

  async #closureInfos (roots: string[]): Promise<Map<string, PathInfo>> {
    const infos = new Map<string, PathInfo>()
    const queue = [...roots]
    for (let path = queue.pop(); path !== undefined; path = queue.pop()) {
      if (!infos.has(path)) {
        const info = await this.queryPathInfo(path)
        infos.set(path, info)
        queue.push(...info.references)
      }
    }
    return infos
  }

  async * #exportItems (storePaths: string[]): AsyncGenerator<ExportItem> {
    const infos = new Map<string, PathInfo>()
    for (const storePath of storePaths) {
      infos.set(storePath, await this.queryPathInfo(storePath))
    }
    for (const path of sortByReferences(infos.keys(), path => infos.get(path)?.references ?? [])) {
      const info = infos.get(path) as PathInfo
      yield { path, references: info.references, deriver: info.deriver, nar: this.#checkedNar(info) }
    }
  }

  /** Streams the NAR of a path and raises StorePathCorruptError at its end if it no longer matches. */
  async * #checkedNar (info: PathInfo): AsyncGenerator<Buffer> {
    const hash = createHash('sha256')
    for await (const chunk of dumpNar(this.realPath(info.path))) {
      hash.update(chunk)
      yield chunk
    }
    const actual = formatNarHash(hash.digest())
    if (actual !== info.narHash) {
      throw new StorePathCorruptError(info.path, info.narHash, actual)
    }
  }

  async #commitContentAddressed (tree: string, name: string, digest: NarDigest, references: string[]): Promise<string> {
    const { narHash, narSize } = digest
    const path = makeSourcePath(parseNarHash(narHash) as Uint8Array, name, references)
    await this.#commit(tree, {
      path,
      narHash,
      narSize,
      references,
      deriver: null,
      ca: `fixed:r:${narHash}`,
      registrationTime: new Date().toISOString()
    })
    return path
  }

  /**
   * Moves a staged tree to its store location and records the path as
   * valid. A leftover tree from an interrupted commit is replaced, and an
   * already valid path is kept as it is.
   */
  async #commit (tree: string, info: PathInfo): Promise<void> {
    await this.#withLock(`path:${info.path}`, async () => {
      if (await this.isValid(info.path)) {
        return
      }
      const target = this.realPath(info.path)
      await mkdir(join(this.storeRoot, 'nix', 'store'), { recursive: true })
      await mkdir(this.#validDir, { recursive: true })
      await removeTree(target)
      await rename(tree, target)
      await makeFoldersReadOnly(target)
      await writeFileAtomic(this.#infoPath(info.path), `${JSON.stringify(info, null, 2)}\n`)
    })
  }

  async #withStaging<T> (work: (tree: string) => Promise<T>): Promise<T> {
    await mkdir(this.#tmpDir, { recursive: true })
    const staging = await mkdtemp(join(this.#tmpDir, 'add-'))
    try {
      return await work(join(staging, 'tree'))
    } finally {
      await removeTree(staging)
    }
  }

  async #withProfileLock<T> (profile: string, work: () => Promise<T>): Promise<T> {
    return await this.#withLock(`profile:${resolve(profile)}`, work)
  }

  /** Runs `work` after every earlier call with the same key has settled. */
  async #withLock<T> (key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(key) ?? Promise.resolve()
    const next = previous.then(work, work)
    const settled = next.catch(() => {})
    this.#locks.set(key, settled)
    try {
      return await next
    } finally {
      if (this.#locks.get(key) === settled) {
        this.#locks.delete(key)
      }
    }
  }
}

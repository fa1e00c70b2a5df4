import { lstat, mkdir, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join, resolve } from 'node:path'
import { GenerationNotFoundError, NoPreviousGenerationError } from './errors.ts'
import type { Generation } from './types.ts'

/**
 * Profiles laid out as Nix lays them out: `<profile>-<N>-link` points at a
 * store path, and `<profile>` is a relative symlink to the current
 * generation link. The links live in the real file system even for a
 * chroot store, so their targets (`/nix/store/...`) dangle there.
 */

/** Reads the generations of a profile, oldest first. A missing profile has none. */
export async function listGenerations (profile: string): Promise<Generation[]> {
  const directory = dirname(resolve(profile))
  const pattern = new RegExp(`^${escapeRegExp(basename(profile))}-([0-9]+)-link$`)
  let names: string[]
  try {
    names = await readdir(directory)
  } catch (error) {
    if (isNotFound(error)) {
      return []
    }
    throw error
  }
  const currentLink = await readCurrentLink(profile)
  const generations: Generation[] = []
  for (const name of names) {
    const match = pattern.exec(name)
    const number = match === null ? Number.NaN : Number(match[1])
    if (!Number.isSafeInteger(number)) {
      continue
    }
    const linkPath = join(directory, name)
    const stat = await lstat(linkPath)
    if (!stat.isSymbolicLink()) {
      continue
    }
    generations.push({
      number,
      storePath: await readlink(linkPath),
      date: toIsoSeconds(stat.mtimeMs),
      current: currentLink === linkPath
    })
  }
  return generations.sort((a, b) => a.number - b.number)
}

/** Returns the generation the profile points at, or null. */
export async function currentGeneration (profile: string): Promise<Generation | null> {
  return (await listGenerations(profile)).find(generation => generation.current) ?? null
}

/** Returns the newest generation older than the current one, or raises NoPreviousGenerationError. */
export async function previousGeneration (profile: string): Promise<Generation> {
  const generations = await listGenerations(profile)
  const current = generations.find(generation => generation.current)
  const older = current === undefined
    ? undefined
    : generations.findLast(generation => generation.number < current.number)
  if (older === undefined) {
    throw new NoPreviousGenerationError(profile, current?.number ?? null)
  }
  return older
}

/** Returns generation `number` of the profile, or raises GenerationNotFoundError. */
export async function findGeneration (profile: string, number: number): Promise<Generation> {
  const generation = (await listGenerations(profile)).find(candidate => candidate.number === number)
  if (generation === undefined) {
    throw new GenerationNotFoundError(profile, number)
  }
  return generation
}

/**
 * Adds a generation for `storePath` and makes it current, as `nix-env
 * --set` does in Nix 2.8: when the newest generation already points at
 * `storePath`, that generation becomes current and no new one is made.
 */
export async function createGeneration (profile: string, storePath: string): Promise<Generation> {
  await mkdir(dirname(resolve(profile)), { recursive: true })
  const newest = (await listGenerations(profile)).at(-1)
  let number = (newest?.number ?? 0) + 1
  if (newest !== undefined && newest.storePath === storePath) {
    number = newest.number
  } else {
    await symlink(storePath, generationLink(profile, number))
  }
  return await switchToGeneration(profile, number)
}

/** Points the profile at generation `number` by replacing its symlink atomically. */
export async function switchToGeneration (profile: string, number: number): Promise<Generation> {
  await findGeneration(profile, number)
  const temporary = join(dirname(resolve(profile)), `.${basename(profile)}.tmp-${randomBytes(6).toString('hex')}`)
  await symlink(basename(generationLink(profile, number)), temporary)
  try {
    await rename(temporary, profile)
  } catch (error) {
    await unlink(temporary).catch(() => {})
    throw error
  }
  return await findGeneration(profile, number)
}

/** Path of the link of generation `number`: `<profile>-<number>-link`. */
export function generationLink (profile: string, number: number): string {
  return `${resolve(profile)}-${number}-link`
}

async function readCurrentLink (profile: string): Promise<string | null> {
  try {
    return resolve(dirname(resolve(profile)), await readlink(profile))
  } catch (error) {
    if (isNotFound(error) || (error as NodeJS.ErrnoException).code === 'EINVAL') {
      return null
    }
    throw error
  }
}

function toIsoSeconds (milliseconds: number): string {
  return new Date(Math.floor(milliseconds / 1000) * 1000).toISOString().replace('.000Z', 'Z')
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

function isNotFound (error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT'
}

import { InvalidManifestError } from './errors.ts'
import { normaliseNarHash } from './hash.ts'
import { isStorePath } from './store-path.ts'
import type { Manifest, ManifestEntry } from './types.ts'

/** Maximum number of paths in a manifest. A NixOS system closure has a few thousand (an estimate). */
export const MANIFEST_MAX_ENTRIES = 100_000

/**
 * Checks a manifest and returns its entries by path, with hashes rewritten
 * as `sha256:<base32>` and references sorted. Every reference must be an
 * entry of the manifest, so the manifest describes a whole closure.
 */
export function indexManifest (manifest: Manifest): Map<string, ManifestEntry> {
  if (!Array.isArray(manifest)) {
    throw new InvalidManifestError('manifest is not an array of entries')
  }
  if (manifest.length > MANIFEST_MAX_ENTRIES) {
    throw new InvalidManifestError(
      `manifest lists ${manifest.length} paths, more than the limit of ${MANIFEST_MAX_ENTRIES}`
    )
  }
  const entries = new Map<string, ManifestEntry>()
  for (const entry of manifest) {
    const normalised = normaliseEntry(entry)
    if (entries.has(normalised.path)) {
      throw new InvalidManifestError(`manifest lists ${normalised.path} twice`)
    }
    entries.set(normalised.path, normalised)
  }
  for (const entry of entries.values()) {
    const outside = entry.references.find(reference => !entries.has(reference))
    if (outside !== undefined) {
      throw new InvalidManifestError(
        `manifest entry ${entry.path} refers to ${outside}, which the manifest does not list`
      )
    }
  }
  return entries
}

/**
 * Orders `paths` so that every path comes after the paths it refers to,
 * breaking ties by path, so one closure always gives one order. References
 * outside `paths` and self-references are ignored.
 */
export function sortByReferences (
  paths: Iterable<string>,
  referencesOf: (path: string) => readonly string[]
): string[] {
  const members = new Set([...paths].sort())
  const state = new Map<string, 'visiting' | 'done'>()
  const sorted: string[] = []
  for (const root of members) {
    if (state.has(root)) {
      continue
    }
    const stack: Array<{ path: string, next: number, references: readonly string[] }> = []
    const enter = (path: string): void => {
      state.set(path, 'visiting')
      stack.push({ path, next: 0, references: [...referencesOf(path)].sort() })
    }
    enter(root)
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]
      const reference = frame.references[frame.next++]
      if (reference === undefined) {
        state.set(frame.path, 'done')
        sorted.push(frame.path)
        stack.pop()
      } else if (reference !== frame.path && members.has(reference)) {
        const seen = state.get(reference)
        if (seen === 'visiting') {
          throw new InvalidManifestError(`references form a cycle through ${reference}`)
        }
        if (seen === undefined) {
          enter(reference)
        }
      }
    }
  }
  return sorted
}

function normaliseEntry (entry: ManifestEntry): ManifestEntry {
  if (typeof entry !== 'object' || entry === null) {
    throw new InvalidManifestError('manifest entry is not an object')
  }
  if (typeof entry.path !== 'string' || !isStorePath(entry.path)) {
    throw new InvalidManifestError(`manifest entry has invalid store path ${JSON.stringify(entry.path)}`)
  }
  if (typeof entry.narHash !== 'string') {
    throw new InvalidManifestError(`manifest entry ${entry.path} has no NAR hash`)
  }
  if (!Number.isSafeInteger(entry.narSize) || entry.narSize <= 0) {
    throw new InvalidManifestError(`manifest entry ${entry.path} has invalid NAR size ${JSON.stringify(entry.narSize)}`)
  }
  const referencesValid = Array.isArray(entry.references) &&
    entry.references.every(reference => typeof reference === 'string' && isStorePath(reference))
  if (!referencesValid) {
    throw new InvalidManifestError(`manifest entry ${entry.path} has invalid references`)
  }
  const references = [...new Set(entry.references)].sort()
  if (references.length !== entry.references.length) {
    throw new InvalidManifestError(`manifest entry ${entry.path} lists a reference twice`)
  }
  return { path: entry.path, narHash: normaliseNarHash(entry.narHash), narSize: entry.narSize, references }
}

import type { Manifest, ManifestEntry } from '../nix/index.ts'

/** Limits of one batch: a batch is requested from one source and imported whole. */
export interface BatchLimits {
  batchMaxPaths: number
  batchMaxBytes: number
}

/**
 * Returns the first batch of `missing` (in manifest order): at most
 * `batchMaxPaths` paths and `batchMaxBytes` NAR bytes, and always at least
 * one path even when that path alone is larger.
 */
export function nextBatch (missing: readonly ManifestEntry[], limits: BatchLimits): ManifestEntry[] {
  const batch: ManifestEntry[] = []
  let bytes = 0
  for (const entry of missing) {
    const full = batch.length >= limits.batchMaxPaths || (batch.length > 0 && bytes + entry.narSize > limits.batchMaxBytes)
    if (full) {
      break
    }
    batch.push(entry)
    bytes += entry.narSize
  }
  return batch
}

/**
 * Returns the entries of `offered` that can be imported now: those whose
 * references are each either not missing (so valid in the store) or an
 * offered path that can be imported. `offered` must be in manifest order.
 */
export function importable (offered: readonly ManifestEntry[], isMissing: (path: string) => boolean): ManifestEntry[] {
  const usable = new Set<string>()
  const result: ManifestEntry[] = []
  for (const entry of offered) {
    const ready = entry.references.every(reference =>
      reference === entry.path || !isMissing(reference) || usable.has(reference))
    if (ready) {
      usable.add(entry.path)
      result.push(entry)
    }
  }
  return result
}

/**
 * Returns the manifest to verify one batch against: the batch and every
 * path it refers to, directly or not. StoreBackend.importVerified requires
 * a manifest closed under references, and checks that each listed path is
 * either in the stream or already valid, so paths outside the batch must
 * be valid before the batch is imported.
 */
export function batchManifest (batch: readonly ManifestEntry[], entries: ReadonlyMap<string, ManifestEntry>): Manifest {
  const closure = new Map<string, ManifestEntry>()
  const queue = [...batch]
  for (let entry = queue.pop(); entry !== undefined; entry = queue.pop()) {
    if (closure.has(entry.path)) {
      continue
    }
    closure.set(entry.path, entry)
    for (const reference of entry.references) {
      const referenced = entries.get(reference)
      if (referenced !== undefined && !closure.has(reference)) {
        queue.push(referenced)
      }
    }
  }
  return [...closure.values()]
}

export function sumNarBytes (entries: readonly ManifestEntry[]): number {
  return entries.reduce((total, entry) => total + entry.narSize, 0)
}

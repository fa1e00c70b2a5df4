import { ByteReader } from './byte-reader.ts'
import {
  ClosureIncompleteError, MalformedExportError, NarHashMismatchError, PathNotInManifestError, ReferencesMismatchError
} from './errors.ts'
import { readExport } from './export-format.ts'
import type { ExportedPath } from './export-format.ts'
import { indexManifest } from './manifest.ts'
import type { NarSink } from './nar.ts'
import type { ImportOptions, Manifest, ManifestEntry } from './types.ts'

/** Maximum framing bytes per path besides references: flags, marker, path, deriver and legacy signature. */
const FRAMING_MAX_BYTES_PER_PATH = 8 + 8 + (8 + 512) + 8 + (8 + 512) + 8 + (8 + 4096)
const MISSING_PATHS_SHOWN_MAX = 5

export interface VerifyInit extends ImportOptions {
  source: AsyncIterable<Uint8Array>
  manifest: Manifest
  /** Returns which of the given paths the target store already contains. */
  queryValidPaths: (paths: readonly string[]) => Promise<string[]>
  /** Returns the sink for the NAR of the `index`-th path in the stream. */
  narSink: (index: number) => NarSink
  /** Receives every chunk of the stream as it arrives, e.g. to spool it. */
  onChunk?: (chunk: Buffer) => Promise<void>
}

export interface VerifiedStream {
  /** Paths of the stream in order, each checked against the manifest. */
  paths: ExportedPath[]
  /** Bytes of the stream up to and including its end marker. */
  bytesConsumed: number
  bytesReceived: number
}

/**
 * Reads an export stream and checks it against a manifest: every path must
 * be listed, have the listed NAR hash, size and references, appear once,
 * and follow its references unless the store already has them. At the end,
 * every manifest path must have been received or be valid already. Raises
 * on the first violation, so a caller that adds paths only after this
 * resolves never adds an unverified one.
 */
export async function verifyExportStream (init: VerifyInit): Promise<VerifiedStream> {
  const entries = indexManifest(init.manifest)
  const alreadyValid = new Set(await init.queryValidPaths([...entries.keys()]))
  const progress = {
    bytesReceived: 0,
    narBytesExpected: sumNarBytes([...entries.values()].filter(entry => !alreadyValid.has(entry.path))),
    pathsVerified: 0
  }
  const reader = new ByteReader(init.source, {
    idleTimeoutMs: init.idleTimeoutMs,
    signal: init.signal,
    onChunk: async chunk => {
      progress.bytesReceived += chunk.length
      await init.onChunk?.(chunk)
      init.onProgress?.({ ...progress })
    }
  })
  reader.limit = streamLimitBytes(entries)
  reader.limitLabel = 'export stream'

  const received: ExportedPath[] = []
  const seen = new Set<string>()
  try {
    await readExport(reader, {
      narSink: init.narSink,
      narMaxBytes: Math.max(0, ...[...entries.values()].map(entry => entry.narSize)),
      onPath: exported => {
        checkAgainstManifest(exported, entries.get(exported.path), seen, alreadyValid)
        seen.add(exported.path)
        received.push(exported)
        progress.pathsVerified++
        init.onProgress?.({ ...progress })
      }
    })
  } catch (error) {
    reader.close()
    destroySource(init.source)
    throw error
  }
  checkComplete(entries, seen, alreadyValid)
  return { paths: received, bytesConsumed: reader.position, bytesReceived: progress.bytesReceived }
}

function checkAgainstManifest (
  exported: ExportedPath,
  entry: ManifestEntry | undefined,
  seen: Set<string>,
  alreadyValid: Set<string>
): void {
  if (entry === undefined) {
    throw new PathNotInManifestError(exported.path)
  }
  if (seen.has(exported.path)) {
    throw new MalformedExportError(`export stream contains ${exported.path} twice`)
  }
  if (exported.narHash !== entry.narHash || exported.narSize !== entry.narSize) {
    throw new NarHashMismatchError({
      path: exported.path,
      expectedHash: entry.narHash,
      actualHash: exported.narHash,
      expectedSize: entry.narSize,
      actualSize: exported.narSize
    })
  }
  const references = [...exported.references].sort()
  if (references.join('\n') !== entry.references.join('\n')) {
    throw new ReferencesMismatchError(exported.path, entry.references, references)
  }
  for (const reference of references) {
    if (reference !== exported.path && !seen.has(reference) && !alreadyValid.has(reference)) {
      throw new ClosureIncompleteError(
        `${exported.path} refers to ${reference}, which is neither earlier in the stream nor valid in the store`,
        [reference]
      )
    }
  }
}

function checkComplete (entries: Map<string, ManifestEntry>, seen: Set<string>, alreadyValid: Set<string>): void {
  const missing = [...entries.keys()].filter(path => !seen.has(path) && !alreadyValid.has(path))
  if (missing.length > 0) {
    const shown = missing.slice(0, MISSING_PATHS_SHOWN_MAX).join(', ')
    const more = missing.length > MISSING_PATHS_SHOWN_MAX ? ` and ${missing.length - MISSING_PATHS_SHOWN_MAX} more` : ''
    throw new ClosureIncompleteError(
      `export stream lacks ${missing.length} manifest paths that the store does not have: ${shown}${more}`,
      missing
    )
  }
}

/** Returns the maximum stream size a manifest allows: its NARs, the framing of each path and the end marker. */
function streamLimitBytes (entries: Map<string, ManifestEntry>): number {
  let total = 8
  for (const entry of entries.values()) {
    total += entry.narSize + FRAMING_MAX_BYTES_PER_PATH + entry.references.length * (8 + 512)
  }
  return total
}

function sumNarBytes (entries: ManifestEntry[]): number {
  return entries.reduce((total, entry) => total + entry.narSize, 0)
}

function destroySource (source: AsyncIterable<Uint8Array>): void {
  const destroy = (source as { destroy?: unknown }).destroy
  if (typeof destroy === 'function') {
    destroy.call(source)
  }
}

import { createReadStream } from 'node:fs'
import { open, rename, rm } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { Logger } from '../logger.ts'
import { judgeRecord } from '../network/index.ts'
import type { Ingest, IngestResult, TrustState } from '../network/index.ts'
import type { Manifest, StoreBackend } from '../nix/index.ts'
import { RECORD_MAX_BYTES, decodeRecord } from '../records/index.ts'
import type { RecordType, SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { BundleError } from './errors.ts'

/*
 * A bundle is a text file of JSON lines. It starts with a header and has one
 * line per record (the record's canonical envelope). Optional closure
 * sections carry a closure's `nix-store --export` stream in base64 lines.
 * An end line with the counts comes last, so a truncated file is detected.
 * docs/OPERATIONS.md describes the format.
 */

export const BUNDLE_FORMAT = 'sower-bundle'
export const BUNDLE_VERSION = 1
/** Bytes of export stream per base64 line: 48 KiB, 64 KiB of text. */
const CHUNK_BYTES = 48 * 1024
/** Maximum line length read: a record of `RECORD_MAX_BYTES` with its wrapper, with room to spare. */
const LINE_MAX_BYTES = 2 * RECORD_MAX_BYTES + 1024
/** Codes of records that a later record of the same bundle may make judgeable. */
const RETRY_CODES = new Set(['ERR_NO_CERTIFICATE', 'ERR_ROOT_GAP'])
/** Types in the order they are written, so that trust comes before what it admits. */
const TYPE_ORDER: RecordType[] = ['root', 'certificate', 'revocation', 'intent', 'report', 'event', 'alert']
/** Types that `since` never filters: without them, the receiving node cannot judge the rest. */
const ALWAYS_EXPORTED = new Set<RecordType>(['root', 'certificate', 'revocation'])

export interface BundleParts {
  store: RecordStore
  trust: TrustState
  ingest: Ingest
  backend: StoreBackend
  logger: Logger
}

export interface BundleExportOptions {
  /** Only intents, reports, events and alerts issued at or after this UTC ISO time. */
  sinceIso?: string
  /** Adds the closures of the exported deploy intents that the local store holds. */
  withClosures?: boolean
}

export interface BundleExportSummary {
  file: string
  records: number
  closures: number
  closureBytes: number
  /** Store paths of releases whose closures the local store lacks, so they were left out. */
  closuresMissing: string[]
}

export interface BundleImportSummary {
  file: string
  records: number
  accepted: number
  known: number
  /** Records not stored, with the reason, at most `REPORTED_PROBLEMS_MAX`. */
  problems: Array<{ id: string | null, code: string, reason: string }>
  rejected: number
  ignored: number
  closuresImported: string[]
  closuresPresent: string[]
  /** Closures skipped because no signed intent of this node lists their manifest. */
  closuresUnsigned: string[]
}

const REPORTED_PROBLEMS_MAX = 20

/** Writes the node's records (and closures) into a new bundle file. */
export async function exportBundle (parts: BundleParts, file: string, options: BundleExportOptions = {}): Promise<BundleExportSummary> {
  const partial = `${file}.partial`
  const handle = await createExclusive(file, partial)
  const summary: BundleExportSummary = { file, records: 0, closures: 0, closureBytes: 0, closuresMissing: [] }
  try {
    await writeLine(handle, { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, fleet: parts.trust.fleet, createdAt: new Date().toISOString() })
    const intents: Array<SignedRecord<'intent'>> = []
    for (const type of TYPE_ORDER) {
      const sinceIso = ALWAYS_EXPORTED.has(type) ? undefined : options.sinceIso
      for await (const record of parts.store.listByType(type, sinceIso == null ? {} : { sinceIso })) {
        await handle.write(`{"record":${new TextDecoder().decode(record.bytes)}}\n`)
        summary.records++
        if (record.type === 'intent') {
          intents.push(record as SignedRecord<'intent'>)
        }
      }
    }
    if (options.withClosures === true) {
      await writeClosures(parts, handle, intents, summary)
    }
    await writeLine(handle, { end: true, records: summary.records, closures: summary.closures })
    await handle.sync()
    await handle.close()
    await rename(partial, file)
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(partial, { force: true })
    throw err
  }
  parts.logger.info({ file, records: summary.records, closures: summary.closures }, 'bundle exported')
  return summary
}

/** Writes given records into a new bundle file, e.g. one certificate to carry to an air-gapped garden. */
export async function writeRecordsBundle (file: string, fleet: string, records: SignedRecord[]): Promise<void> {
  const partial = `${file}.partial`
  const handle = await createExclusive(file, partial)
  try {
    await writeLine(handle, { format: BUNDLE_FORMAT, version: BUNDLE_VERSION, fleet, createdAt: new Date().toISOString() })
    for (const record of records) {
      await handle.write(`{"record":${new TextDecoder().decode(record.bytes)}}\n`)
    }
    await writeLine(handle, { end: true, records: records.length, closures: 0 })
    await handle.sync()
    await handle.close()
    await rename(partial, file)
  } catch (err) {
    await handle.close().catch(() => {})
    await rm(partial, { force: true })
    throw err
  }
}

async function createExclusive (file: string, partial: string): Promise<FileHandle> {
  const exists = await open(file, 'r').then(async handle => { await handle.close(); return true }, () => false)
  if (exists) {
    throw new BundleError(`bundle file ${file} already exists; choose another path or remove it first`, 'ERR_BUNDLE_EXISTS')
  }
  try {
    return await open(partial, 'w', 0o600)
  } catch (err) {
    throw new BundleError(`cannot create bundle file ${partial}: ${(err as Error).message}`, 'ERR_BUNDLE_WRITE')
  }
}

async function writeLine (handle: FileHandle, value: unknown): Promise<void> {
  await handle.write(`${JSON.stringify(value)}\n`)
}

async function writeClosures (parts: BundleParts, handle: FileHandle, intents: Array<SignedRecord<'intent'>>,
  summary: BundleExportSummary): Promise<void> {
  const done = new Set<string>()
  for (const intent of intents) {
    if (intent.body.action !== 'deploy') {
      continue
    }
    for (const release of intent.body.releases) {
      if (done.has(release.storePath)) {
        continue
      }
      done.add(release.storePath)
      const paths = release.manifest.map(entry => entry.path)
      const valid = await parts.backend.queryValidPaths(paths)
      if (valid.length !== paths.length) {
        summary.closuresMissing.push(release.storePath)
        continue
      }
      summary.closureBytes += await writeClosure(parts.backend, handle, release.storePath, paths)
      summary.closures++
    }
  }
}

async function writeClosure (backend: StoreBackend, handle: FileHandle, storePath: string, paths: string[]): Promise<number> {
  await writeLine(handle, { closure: storePath, paths: paths.length })
  let bytes = 0
  let pending = Buffer.alloc(0)
  for await (const chunk of backend.exportPaths(paths)) {
    pending = Buffer.concat([pending, chunk as Buffer])
    while (pending.length >= CHUNK_BYTES) {
      await writeLine(handle, { chunk: pending.subarray(0, CHUNK_BYTES).toString('base64') })
      pending = pending.subarray(CHUNK_BYTES)
    }
    bytes += (chunk as Buffer).length
  }
  if (pending.length > 0) {
    await writeLine(handle, { chunk: pending.toString('base64') })
  }
  await writeLine(handle, { closureEnd: storePath, bytes })
  return bytes
}

/**
 * Imports a bundle. Every record goes through the node's ingest pipeline,
 * the checks that gossip and sync apply, with via `bundle`. A closure is
 * imported only when a signed deploy intent lists its manifest, and is
 * verified against that manifest before it enters the store. Intents are
 * ingested last, after the closures, so that a garden's deployment finds
 * its closure present instead of failing to stage it.
 */
export async function importBundle (parts: BundleParts, file: string): Promise<BundleImportSummary> {
  const run: ImportRun = { parts, file, summary: emptyImportSummary(file), retry: [], intents: [] }
  const lines = readLines(file)
  readHeader(file, await lines.next(), parts.trust.fleet)
  const ended = await importSections(run, lines)

  await retryPending(parts, run.summary, run.retry)
  for (const bytes of run.intents) {
    await importRecord(parts, bytes, run.summary, run.retry)
  }
  await retryPending(parts, run.summary, run.retry)
  if (!ended) {
    throw new BundleError(`bundle ${file} ends without its end line: it is truncated; ${run.summary.accepted} records were imported`,
      'ERR_BUNDLE_TRUNCATED')
  }
  parts.logger.info({ file, records: run.summary.records, accepted: run.summary.accepted, rejected: run.summary.rejected }, 'bundle imported')
  return run.summary
}

/** State of one import: records waiting for a retry, and intents held back until the closures are in. */
interface ImportRun {
  parts: BundleParts
  file: string
  summary: BundleImportSummary
  retry: Uint8Array[]
  intents: Uint8Array[]
  manifests?: Map<string, Manifest>
}

function emptyImportSummary (file: string): BundleImportSummary {
  return {
    file,
    records: 0,
    accepted: 0,
    known: 0,
    rejected: 0,
    ignored: 0,
    problems: [],
    closuresImported: [],
    closuresPresent: [],
    closuresUnsigned: []
  }
}

/** Imports the lines after the header and returns whether the end line was reached. */
async function importSections (run: ImportRun, lines: AsyncGenerator<string>): Promise<boolean> {
  const { parts, file, summary } = run
  for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
    const line = parseLine(file, next.value)
    if (line.record != null) {
      const bytes = new TextEncoder().encode(JSON.stringify(line.record))
      if ((line.record as { type?: unknown }).type === 'intent') {
        run.intents.push(bytes)
      } else {
        await importRecord(parts, bytes, summary, run.retry)
      }
    } else if (typeof line.closure === 'string') {
      await retryPending(parts, summary, run.retry)
      run.manifests ??= await signedManifests(parts, run.intents)
      await importClosure(parts, line.closure, run.manifests.get(line.closure), lines, summary)
    } else if (line.end === true) {
      return true
    } else if (line.chunk == null && line.closureEnd == null) {
      // Chunk and end lines out of a section are the rest of a closure whose import stopped reading early.
      throw new BundleError(`bundle ${file} has an unknown line: ${next.value.slice(0, 80)}`)
    }
  }
  return false
}

function readHeader (file: string, first: IteratorResult<string>, fleet: string): void {
  let header: Record<string, any> | null = null
  try {
    header = first.done === true ? null : parseLine(file, first.value)
  } catch {
    header = null
  }
  if (header?.format !== BUNDLE_FORMAT) {
    throw new BundleError(`${file} is not a Sower bundle: its first line is not a bundle header`)
  }
  if (header.version !== BUNDLE_VERSION) {
    throw new BundleError(`bundle ${file} has format version ${String(header.version)}; this sower reads version ${BUNDLE_VERSION}`)
  }
  if (header.fleet !== fleet) {
    throw new BundleError(`bundle ${file} belongs to fleet ${String(header.fleet)}, not to this node's fleet ${fleet}`, 'ERR_BUNDLE_FLEET')
  }
}

function parseLine (file: string, text: string): Record<string, any> {
  try {
    const value = JSON.parse(text)
    if (value != null && typeof value === 'object' && !Array.isArray(value)) {
      return value
    }
  } catch {}
  throw new BundleError(`bundle ${file} has a line that is not a JSON object: ${text.slice(0, 80)}`)
}

async function importRecord (parts: BundleParts, bytes: Uint8Array, summary: BundleImportSummary, retry: Uint8Array[]): Promise<void> {
  summary.records++
  const outcome = await parts.ingest(bytes, { via: 'bundle' })
  if (outcome.action === 'ignore' && RETRY_CODES.has(outcome.code)) {
    retry.push(bytes)
    return
  }
  count(summary, outcome)
}

/** Ingests again the records that waited for a later record, until a pass stores none. */
async function retryPending (parts: BundleParts, summary: BundleImportSummary, retry: Uint8Array[]): Promise<void> {
  let progress = true
  while (progress && retry.length > 0) {
    progress = false
    const waiting = retry.splice(0)
    const outcomes: IngestResult[] = []
    for (const bytes of waiting) {
      const outcome = await parts.ingest(bytes, { via: 'bundle' })
      if (outcome.action === 'accept') {
        progress = true
      }
      outcomes.push(outcome)
    }
    outcomes.forEach((outcome, index) => {
      if (progress && outcome.action === 'ignore' && RETRY_CODES.has(outcome.code)) {
        retry.push(waiting[index])
      } else {
        count(summary, outcome)
      }
    })
  }
}

function count (summary: BundleImportSummary, outcome: IngestResult): void {
  if (outcome.action === 'accept') {
    summary.accepted++
    return
  }
  if (outcome.code === 'ERR_KNOWN') {
    summary.known++
    return
  }
  if (outcome.action === 'reject') {
    summary.rejected++
  } else {
    summary.ignored++
  }
  if (summary.problems.length < REPORTED_PROBLEMS_MAX) {
    summary.problems.push({ id: outcome.record?.id ?? null, code: outcome.code, reason: outcome.reason })
  }
}

/**
 * Manifests of every release of the stored deploy intents and of the
 * bundle's intents that pass the checks of the ingest pipeline, by store path.
 */
async function signedManifests (parts: BundleParts, pending: Uint8Array[]): Promise<Map<string, Manifest>> {
  const manifests = new Map<string, Manifest>()
  const add = (record: SignedRecord): void => {
    const body = (record as SignedRecord<'intent'>).body
    if (body.action === 'deploy') {
      for (const release of body.releases) {
        manifests.set(release.storePath, release.manifest)
      }
    }
  }
  for await (const record of parts.store.listByType('intent')) {
    add(record)
  }
  for (const bytes of pending) {
    const decoded = decodeRecord(bytes)
    if (decoded.ok && decoded.record.type === 'intent' && judgeRecord(parts.trust, decoded.record, Date.now()) == null) {
      add(decoded.record)
    }
  }
  return manifests
}

async function importClosure (parts: BundleParts, storePath: string, manifest: Manifest | undefined,
  lines: AsyncGenerator<string>, summary: BundleImportSummary): Promise<void> {
  const chunks = closureChunks(storePath, lines)
  if (manifest == null) {
    parts.logger.warn({ storePath }, 'bundle closure skipped: no signed intent lists its manifest')
    summary.closuresUnsigned.push(storePath)
    await drain(chunks)
    return
  }
  const paths = manifest.map(entry => entry.path)
  if ((await parts.backend.queryValidPaths(paths)).length === paths.length) {
    summary.closuresPresent.push(storePath)
    await drain(chunks)
    return
  }
  try {
    await parts.backend.importVerified(chunks, manifest)
  } finally {
    await drain(chunks)
  }
  summary.closuresImported.push(storePath)
}

async function * closureChunks (storePath: string, lines: AsyncGenerator<string>): AsyncGenerator<Uint8Array> {
  for (let next = await lines.next(); next.done !== true; next = await lines.next()) {
    const line = JSON.parse(next.value) as { chunk?: unknown, closureEnd?: unknown }
    if (typeof line.chunk === 'string') {
      yield Buffer.from(line.chunk, 'base64')
    } else if (line.closureEnd === storePath) {
      return
    } else {
      throw new BundleError(`bundle closure ${storePath} has an unexpected line`)
    }
  }
  throw new BundleError(`bundle closure ${storePath} has no end line: the file is truncated`, 'ERR_BUNDLE_TRUNCATED')
}

async function drain (chunks: AsyncGenerator<Uint8Array>): Promise<void> {
  let next = await chunks.next()
  while (next.done !== true) {
    next = await chunks.next()
  }
}

/** Yields the lines of a file without their newline; a line longer than `LINE_MAX_BYTES` raises. */
async function * readLines (file: string): AsyncGenerator<string> {
  let pending = ''
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 256 * 1024 })
  try {
    for await (const chunk of stream) {
      pending += chunk as string
      let newline = pending.indexOf('\n')
      while (newline !== -1) {
        yield pending.slice(0, newline)
        pending = pending.slice(newline + 1)
        newline = pending.indexOf('\n')
      }
      if (pending.length > LINE_MAX_BYTES) {
        throw new BundleError(`bundle ${file} has a line longer than ${LINE_MAX_BYTES} bytes`)
      }
    }
  } catch (err) {
    if (err instanceof BundleError) {
      throw err
    }
    throw new BundleError(`cannot read bundle ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'ERR_BUNDLE_READ')
  } finally {
    stream.destroy()
  }
  if (pending.length > 0) {
    yield pending
  }
}

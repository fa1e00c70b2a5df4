import { createReadStream } from 'node:fs'
import { readFile, stat } from 'node:fs/promises'
import { Readable, Transform, pipeline } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { createBrotliDecompress, createGunzip, createZstdDecompress } from 'node:zlib'
import xzDecompress from 'xz-decompress'
import { encodeExport, hashPartOf } from '../nix/index.ts'
import type { ExportItem, ManifestEntry } from '../nix/index.ts'
import { TransferProtocolError, UnsupportedCompressionError } from './errors.ts'
import { NARINFO_MAX_BYTES, parseNarInfo } from './narinfo.ts'
import type { NarInfo } from './narinfo.ts'
import { importable } from './plan.ts'
import type { BatchOffer, BatchSource } from './stage-job.ts'

/** `.narinfo` requests one batch runs at once. */
const NARINFO_CONCURRENCY = 8

/**
 * Decoders by the `Compression` field of a `.narinfo`. Each takes the NAR
 * file as read from the cache, and its URL for messages. `zstd`, `br` and
 * `gzip` use Node's zlib, and `xz` (the default of `nix copy` and of
 * cache.nixos.org) uses xz-decompress. NOTE: other compressions that `nix
 * copy` (Nix 2.8.0) writes, such as `bzip2`, `lz4` and `lzip`, have no
 * decoder here, so a cache that uses one must be written again.
 */
const DECODERS: Record<string, (file: Readable, what: string) => AsyncIterable<Buffer>> = {
  none: file => file,
  zstd: file => pipeline(file, createZstdDecompress(), () => {}),
  br: file => pipeline(file, createBrotliDecompress(), () => {}),
  gzip: file => pipeline(file, createGunzip(), () => {}),
  xz: decodeXz
}

/**
 * Meanings of the `enum xz_ret` codes of xz-embedded, which xz-decompress
 * reports as "get_next_output failed with error code N".
 */
const XZ_FAILURES: Record<string, string> = {
  2: 'unsupported integrity check (XZ_UNSUPPORTED_CHECK)',
  3: 'out of memory (XZ_MEM_ERROR)',
  4: 'dictionary larger than 64 MiB (XZ_MEMLIMIT_ERROR)',
  5: 'not in xz format (XZ_FORMAT_ERROR)',
  6: 'unsupported xz options (XZ_OPTIONS_ERROR)',
  7: 'corrupt data or failed integrity check (XZ_DATA_ERROR)',
  8: 'data ends early or is followed by other bytes (XZ_BUF_ERROR)'
}

export interface BinaryCacheInit {
  /** Time one request may take until the response starts. */
  requestTimeoutMs: number
  /**
   * Returns whether a manifest path is still missing from the local store,
   * so only paths whose references are present or offered are imported.
   */
  isMissing: (path: string) => boolean
}

/**
 * A minimal reader of a Nix binary cache over http(s) or from a folder
 * (`file://`): `<url>/<hash part>.narinfo`, then the NAR file it names.
 * A path is offered only when its narinfo agrees with the manifest entry
 * (NAR hash, size and references). The NAR bytes themselves are checked
 * by the import, so neither the cache nor its signing key needs trust.
 */
export class BinaryCache implements BatchSource {
  readonly label: string
  readonly kind = 'cache'
  readonly #base: URL
  readonly #init: BinaryCacheInit

  constructor (url: string, init: BinaryCacheInit) {
    this.label = url
    this.#base = new URL(`${url}/`)
    this.#init = init
  }

  async offer (batch: ManifestEntry[], signal: AbortSignal): Promise<BatchOffer | null> {
    const infos = await this.#narInfos(batch, signal)
    const found = batch.filter(entry => infos.has(entry.path))
    const entries = importable(found, this.#init.isMissing)
    if (entries.length === 0) {
      return null
    }
    // Aborting the downloads lets a stalled NAR request end, because destroying the stream alone waits for it.
    const downloads = new AbortController()
    const downloadSignal = AbortSignal.any([signal, downloads.signal])
    const items = entries.map(entry => this.#exportItem(entry, infos.get(entry.path) as NarInfo, downloadSignal))
    const stream = Readable.from(encodeExport(items), { objectMode: false })
    return {
      entries,
      stream,
      close: async () => {
        downloads.abort()
        stream.destroy()
      }
    }
  }

  /** Fetches the narinfo of every batch path and checks it; paths the cache lacks are left out. */
  async #narInfos (batch: ManifestEntry[], signal: AbortSignal): Promise<Map<string, NarInfo>> {
    const infos = new Map<string, NarInfo>()
    for (let start = 0; start < batch.length; start += NARINFO_CONCURRENCY) {
      const slice = batch.slice(start, start + NARINFO_CONCURRENCY)
      const fetched = await Promise.all(slice.map(async entry => await this.#narInfo(entry, signal)))
      fetched.forEach((info, index) => {
        if (info !== null) {
          infos.set(slice[index].path, info)
        }
      })
    }
    return infos
  }

  async #narInfo (entry: ManifestEntry, signal: AbortSignal): Promise<NarInfo | null> {
    const name = `${hashPartOf(entry.path)}.narinfo`
    const bytes = await this.#read(name, NARINFO_MAX_BYTES, signal)
    if (bytes === null) {
      return null
    }
    const info = parseNarInfo(bytes.toString('utf8'), `${this.label}/${name}`)
    checkAgainstManifest(info, entry, `${this.label}/${name}`)
    if (!Object.hasOwn(DECODERS, info.compression)) {
      throw new UnsupportedCompressionError(this.label, info.compression)
    }
    return info
  }

  #exportItem (entry: ManifestEntry, info: NarInfo, signal: AbortSignal): ExportItem {
    return { path: entry.path, references: entry.references, deriver: info.deriver, nar: this.#nar(info, signal) }
  }

  /** Streams a NAR file, decompressed, and checks the file size the narinfo states. */
  async * #nar (info: NarInfo, signal: AbortSignal): AsyncGenerator<Buffer> {
    const url = this.#resolve(info.url)
    const body = await this.#open(url, signal)
    if (body === null) {
      throw new TransferProtocolError(`${url} is listed in the narinfo of ${info.storePath} but not found`)
    }
    const file: Readable = pipeline(body, limitBytes(info.fileSize, url.href), () => {})
    try {
      yield * DECODERS[info.compression](file, url.href)
    } finally {
      body.destroy()
      file.destroy()
    }
  }

  /** Reads a small file of the cache whole, or returns null when the cache does not have it. */
  async #read (name: string, maxBytes: number, signal: AbortSignal): Promise<Buffer | null> {
    const url = this.#resolve(name)
    if (url.protocol === 'file:') {
      const path = fileURLToPath(url)
      const info = await stat(path).catch(() => null)
      if (info === null) {
        return null
      }
      checkSize(info.size, maxBytes, url.href)
      return await readFile(path, { signal })
    }
    const response = await this.#fetch(url, signal)
    if (response === null) {
      return null
    }
    checkSize(Number(response.headers.get('content-length') ?? 0), maxBytes, url.href)
    const chunks: Buffer[] = []
    let total = 0
    for await (const chunk of Readable.fromWeb(response.body as never) as AsyncIterable<Buffer>) {
      total += chunk.length
      checkSize(total, maxBytes, url.href)
      chunks.push(chunk)
    }
    return Buffer.concat(chunks)
  }

  async #open (url: URL, signal: AbortSignal): Promise<Readable | null> {
    if (url.protocol === 'file:') {
      const path = fileURLToPath(url)
      return (await stat(path).catch(() => null)) === null ? null : createReadStream(path, { signal })
    }
    const response = await this.#fetch(url, signal)
    return response === null ? null : Readable.fromWeb(response.body as never)
  }

  /** GETs a URL; resolves with null on 404 and raises on any other failure or after the request timeout. */
  async #fetch (url: URL, signal: AbortSignal): Promise<Response | null> {
    const timer = new AbortController()
    const timeout = setTimeout(() => { timer.abort() }, this.#init.requestTimeoutMs)
    let response: Response
    try {
      response = await fetch(url, { signal: AbortSignal.any([signal, timer.signal]) })
    } catch (error) {
      signal.throwIfAborted()
      const reason = timer.signal.aborted ? `no response within ${this.#init.requestTimeoutMs} ms` : describeFetchError(error)
      throw new TransferProtocolError(`cannot fetch ${url.href}: ${reason}`, { cause: error })
    } finally {
      clearTimeout(timeout)
    }
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel()
      return null
    }
    if (!response.ok || response.body === null) {
      await response.body?.cancel()
      throw new TransferProtocolError(`cannot fetch ${url.href}: HTTP ${response.status}`)
    }
    return response
  }

  /** Resolves a location from the cache against its URL, and refuses one that leaves the cache. */
  #resolve (location: string): URL {
    const url = new URL(location, this.#base)
    if (url.origin !== this.#base.origin || !url.pathname.startsWith(this.#base.pathname)) {
      throw new TransferProtocolError(`binary cache ${this.label} points outside itself: ${location}`)
    }
    return url
  }
}

function checkAgainstManifest (info: NarInfo, entry: ManifestEntry, source: string): void {
  const problems: string[] = []
  if (info.storePath !== entry.path) {
    problems.push(`StorePath is ${info.storePath}`)
  }
  if (info.narHash !== entry.narHash || info.narSize !== entry.narSize) {
    problems.push(`NAR is ${info.narHash} (${info.narSize} bytes), the manifest expects ${entry.narHash} (${entry.narSize} bytes)`)
  }
  if (info.references.join(' ') !== [...entry.references].sort().join(' ')) {
    problems.push('references differ from the manifest')
  }
  if (problems.length > 0) {
    throw new TransferProtocolError(`${source} does not match the manifest entry of ${entry.path}: ${problems.join('; ')}`)
  }
}

function checkSize (bytes: number, maxBytes: number, what: string): void {
  if (bytes > maxBytes) {
    throw new TransferProtocolError(`${what} is larger than the limit of ${maxBytes} bytes`)
  }
}

/** Passes bytes through and raises once more than `maxBytes` went by (no limit when null). */
function limitBytes (maxBytes: number | null, what: string): Transform {
  let total = 0
  return new Transform({
    transform (chunk: Buffer, _encoding, callback) {
      total += chunk.length
      if (maxBytes !== null && total > maxBytes) {
        callback(new TransferProtocolError(`${what} is longer than the FileSize of ${maxBytes} bytes in its narinfo`))
        return
      }
      callback(null, chunk)
    }
  })
}

/**
 * Decodes an xz file with xz-decompress 0.2.3, which runs xz-embedded
 * built to WebAssembly. It reads files of several blocks or of several
 * concatenated streams and verifies each block's CRC32 or CRC64 (`nix
 * copy` writes CRC64). It rejects a SHA-256 check, BCJ filters, legacy
 * `.lzma` files and a dictionary over 64 MiB, the size of xz's largest
 * preset. It returns at most 64 KiB per step and reads input only as its
 * output is read, so memory stays bounded. Its WebAssembly memory, up to
 * about 64 MiB for the dictionary, is kept for the life of the process.
 *
 * NOTE: xz-decompress decodes one xz file at a time in the whole process.
 * Another one waits, reading nothing, until the first ends, fails or is
 * cancelled, so two staging runs that read xz NARs at once take turns
 * per NAR. A wait longer than `stallTimeoutMs` fails the waiting cache
 * with ERR_STREAM_TIMEOUT.
 */
async function * decodeXz (file: Readable, what: string): AsyncGenerator<Buffer> {
  // @types/node types the global ReadableStream apart from that of node:stream/web, but both are the same class.
  const decoded = Readable.fromWeb(new xzDecompress.XzReadableStream(Readable.toWeb(file) as never) as never)
  try {
    yield * decoded
  } catch (error) {
    // The decoder passes on an error of its input as it is, so only its own failures are described here.
    throw file.errored ?? new TransferProtocolError(`${what} is not a valid xz file: ${describeXzError(error)}`, { cause: error })
  }
}

function describeXzError (error: unknown): string {
  const message = (error as Error).message
  const code = /error code (\d+)$/.exec(message)?.[1]
  return (code === undefined ? undefined : XZ_FAILURES[code]) ?? message
}

function describeFetchError (error: unknown): string {
  const cause = (error as { cause?: { code?: string, message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}

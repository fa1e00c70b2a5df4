import { createHash, randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createReadStream } from 'node:fs'
import { mkdir, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, normalize } from 'node:path'
import { Readable } from 'node:stream'
import { zstdCompressSync } from 'node:zlib'
import { buildServiceClosure, dumpNar, formatNarHash, hashPartOf, toNixBase32 } from '../../../src/nix/index.ts'
import type { Manifest, StoreBackend } from '../../../src/nix/index.ts'
import type { Release } from '../../../src/records/index.ts'

/** Bytes that open the blob file of the sample closure, so a test can find and change them in a stream. */
export const BLOB_MARKER = 'SOWER-BLOB-MARKER'

/**
 * Builds the sample release in `store`: an `app` path that refers to a
 * service closure (two paths) and to a blob path holding `blobBytes` of
 * random data, four paths in all.
 */
export async function buildSampleRelease (store: StoreBackend, scratchDir: string, blobBytes = 512 * 1024): Promise<Release> {
  const blobFile = join(scratchDir, 'blob.bin')
  await writeFile(blobFile, Buffer.concat([Buffer.from(BLOB_MARKER), randomBytes(blobBytes)]))
  const blob = await store.buildPath({ name: 'blob-1.0', entries: { 'data.bin': { file: blobFile } } })
  const service = await buildServiceClosure(store, { name: 'web', version: '1.0', settings: { port: 8080 } })
  const app = await store.buildPath({
    name: 'app-1.0',
    references: [blob, service.path],
    entries: { blob: { symlink: blob }, service: { symlink: service.path } }
  })
  return await releaseOf(store, app)
}

/** Returns a release of the closure of `storePath` as the store records it. */
export async function releaseOf (store: StoreBackend, storePath: string): Promise<Release> {
  const manifest = await store.queryClosure(storePath)
  const root = manifest.find(entry => entry.path === storePath)
  if (root === undefined) {
    throw new Error(`closure of ${storePath} lacks the path itself`)
  }
  return { seed: 'web', type: 'service', storePath, narHash: root.narHash, narSize: root.narSize, manifest }
}

/**
 * Returns a backend that behaves like `target` except for `overrides`.
 * Methods are bound to `target`, whose private fields a proxy cannot reach.
 */
export function wrapBackend (target: StoreBackend, overrides: Partial<StoreBackend>): StoreBackend {
  return new Proxy(target, {
    get (object, key) {
      if (key in overrides) {
        return overrides[key as keyof StoreBackend]
      }
      const value = Reflect.get(object, key, object)
      return typeof value === 'function' ? value.bind(object) : value
    }
  })
}

/** Serves export streams with one bit flipped in the first occurrence of BLOB_MARKER. */
export function tamperedExports (target: StoreBackend): StoreBackend {
  return wrapBackend(target, {
    exportPaths: paths => Readable.from(flipMarker(target.exportPaths(paths)))
  })
}

async function * flipMarker (source: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const bytes = Buffer.concat(await collect(source))
  const at = bytes.indexOf(BLOB_MARKER)
  if (at >= 0) {
    bytes[at] ^= 0x01
  }
  yield bytes
}

/** One export stream a wrapped backend was asked for. */
export interface ExportCall {
  paths: string[]
  atMs: number
}

/**
 * Serves the first `fullExports` export streams whole, then sends half of
 * each later stream and stops sending until `released` aborts. `calls`
 * receives every export.
 */
export function stallingExports (target: StoreBackend, init: { fullExports: number, released: AbortSignal, calls: ExportCall[] }): StoreBackend {
  return wrapBackend(target, {
    exportPaths: paths => {
      init.calls.push({ paths: [...paths], atMs: Date.now() })
      const stall = init.calls.length > init.fullExports
      return Readable.from(stall ? halfThenStall(target.exportPaths(paths), init.released) : target.exportPaths(paths))
    }
  })
}

async function * halfThenStall (source: AsyncIterable<Uint8Array>, released: AbortSignal): AsyncGenerator<Buffer> {
  const bytes = Buffer.concat(await collect(source))
  yield bytes.subarray(0, Math.floor(bytes.length / 2))
  if (!released.aborted) {
    await once(released, 'abort')
  }
}

/** Serves export streams in `chunkBytes` pieces with `delayMs` between them. */
export function slowExports (target: StoreBackend, chunkBytes: number, delayMs: number): StoreBackend {
  return wrapBackend(target, {
    exportPaths: paths => Readable.from(throttle(target.exportPaths(paths), chunkBytes, delayMs))
  })
}

async function * throttle (source: AsyncIterable<Uint8Array>, chunkBytes: number, delayMs: number): AsyncGenerator<Buffer> {
  const bytes = Buffer.concat(await collect(source))
  for (let offset = 0; offset < bytes.length; offset += chunkBytes) {
    await new Promise(resolve => setTimeout(resolve, delayMs))
    yield bytes.subarray(offset, offset + chunkBytes)
  }
}

/**
 * Delays the first validity query by `delayMs`. A holder runs its first
 * query for the first probe, so its reply arrives after the other holders'.
 */
export function slowFirstQuery (target: StoreBackend, delayMs: number): StoreBackend {
  let first = true
  return wrapBackend(target, {
    queryValidPaths: async paths => {
      if (first) {
        first = false
        await new Promise(resolve => setTimeout(resolve, delayMs))
      }
      return await target.queryValidPaths(paths)
    }
  })
}

/** Starts reading each import stream `delayMs` late, as a store busy with other work would. */
export function lateImports (target: StoreBackend, delayMs: number): StoreBackend {
  return wrapBackend(target, {
    importVerified: async (source, manifest, options) => {
      await new Promise(resolve => setTimeout(resolve, delayMs))
      return await target.importVerified(source, manifest, options)
    }
  })
}

/** Records every export stream in `calls`. */
export function recordedExports (target: StoreBackend, calls: ExportCall[]): StoreBackend {
  return wrapBackend(target, {
    exportPaths: paths => {
      calls.push({ paths: [...paths], atMs: Date.now() })
      return target.exportPaths(paths)
    }
  })
}

async function collect (source: AsyncIterable<Uint8Array>): Promise<Buffer[]> {
  const chunks: Buffer[] = []
  for await (const chunk of source) {
    chunks.push(Buffer.from(chunk))
  }
  return chunks
}

/**
 * Writes a Nix binary cache of `manifest`'s paths into `dir` as Nix 2.8
 * lays one out: `<hash part>.narinfo` and `nar/<file hash>.nar[.zst]`.
 * `claimCompression` writes another Compression field than the one used.
 */
export async function writeBinaryCache (store: StoreBackend, manifest: Manifest, dir: string,
  options: { compression: 'none' | 'zstd', claimCompression?: string }): Promise<void> {
  await mkdir(join(dir, 'nar'), { recursive: true })
  await writeFile(join(dir, 'nix-cache-info'), 'StoreDir: /nix/store\nWantMassQuery: 1\nPriority: 40\n')
  for (const entry of manifest) {
    const nar = Buffer.concat(await collect(dumpNar(store.realPath(entry.path))))
    const file = options.compression === 'zstd' ? zstdCompressSync(nar) : nar
    const fileHash = toNixBase32(createHash('sha256').update(file).digest())
    const narName = `nar/${fileHash}.nar${options.compression === 'zstd' ? '.zst' : ''}`
    await writeFile(join(dir, narName), file)
    const lines = [
      `StorePath: ${entry.path}`,
      `URL: ${narName}`,
      `Compression: ${options.claimCompression ?? options.compression}`,
      `FileHash: sha256:${fileHash}`,
      `FileSize: ${file.length}`,
      `NarHash: ${formatNarHash(createHash('sha256').update(nar).digest())}`,
      `NarSize: ${nar.length}`,
      `References: ${entry.references.map(reference => reference.slice('/nix/store/'.length)).join(' ')}`
    ]
    await writeFile(join(dir, `${hashPartOf(entry.path)}.narinfo`), `${lines.join('\n')}\n`)
  }
}

/**
 * Serves the files of `dir` over HTTP on 127.0.0.1 and records the request
 * paths. With `stallNars`, NAR files stop after half their bytes and the
 * response stays open until `close`.
 */
export async function serveFolder (dir: string, options: { stallNars?: boolean } = {}):
Promise<{ url: string, requests: string[], close: () => Promise<void> }> {
  const requests: string[] = []
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://127.0.0.1').pathname))
    requests.push(path)
    const file = join(dir, path)
    stat(file).then(info => {
      if (!info.isFile() || !file.startsWith(dir)) {
        throw new Error('not a file')
      }
      response.writeHead(200, { 'content-length': info.size })
      if (options.stallNars === true && path.startsWith('/nar/')) {
        createReadStream(file, { end: Math.floor(info.size / 2) }).on('data', chunk => response.write(chunk))
      } else {
        createReadStream(file).pipe(response)
      }
    }).catch(() => {
      response.writeHead(404).end()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections()
      await new Promise(resolve => server.close(resolve))
    }
  }
}

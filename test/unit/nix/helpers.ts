import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { removeTree } from '../../../src/nix/fs-utils.ts'

/** Temporary folders made by a test, removed by `removeAll` in afterEach. */
export class TempFolders {
  readonly #paths: string[] = []

  async make (label: string): Promise<string> {
    const path = await mkdtemp(join(tmpdir(), `sower-nix-${label}-`))
    this.#paths.push(path)
    return path
  }

  async removeAll (): Promise<void> {
    for (const path of this.#paths.splice(0)) {
      await removeTree(path)
    }
  }
}

/** Reads a stream to its end. */
export async function collect (stream: Readable | AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of stream) {
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks)
}

/** Returns a copy of `bytes` with the first occurrence of `needle` changed in its first byte. */
export function flipByteOf (bytes: Buffer, needle: string): Buffer {
  const at = bytes.indexOf(needle)
  if (at < 0) {
    throw new Error(`"${needle}" does not occur in the stream`)
  }
  const copy = Buffer.from(bytes)
  copy[at] ^= 0x01
  return copy
}

/** Lists the entries of a folder, or an empty list when it does not exist. */
export async function listFolder (path: string): Promise<string[]> {
  return await readdir(path).catch(() => [])
}

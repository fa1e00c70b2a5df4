import { randomBytes } from 'node:crypto'
import { chmod, lstat, readdir, rename, rm, writeFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'

/**
 * Removes a tree that may contain read-only folders, as store paths do
 * (Nix makes them 0555, which stops a non-root owner from deleting their
 * entries). A missing tree is fine.
 */
export async function removeTree (path: string): Promise<void> {
  await makeTreeWritable(path)
  await rm(path, { recursive: true, force: true })
}

/** Makes every folder of a tree read-only (0555), bottom up, as Nix does with store paths. */
export async function makeFoldersReadOnly (path: string): Promise<void> {
  const stat = await lstat(path)
  if (!stat.isDirectory()) {
    return
  }
  for (const name of await readdir(path)) {
    await makeFoldersReadOnly(join(path, name))
  }
  await chmod(path, 0o555)
}

/** Writes all of `bytes` at the handle's position, repeating short writes. */
export async function writeFully (handle: FileHandle, bytes: Uint8Array): Promise<void> {
  let offset = 0
  while (offset < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, offset, bytes.length - offset)
    offset += bytesWritten
  }
}

/** Writes a file through a temporary name and a rename, so readers see the old or the new content. */
export async function writeFileAtomic (path: string, data: string): Promise<void> {
  const temporary = `${path}.tmp-${randomBytes(6).toString('hex')}`
  try {
    await writeFile(temporary, data, { flag: 'wx' })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw error
  }
}

async function makeTreeWritable (path: string): Promise<void> {
  let stat
  try {
    stat = await lstat(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return
    }
    throw error
  }
  if (!stat.isDirectory()) {
    return
  }
  await chmod(path, 0o755)
  for (const name of await readdir(path)) {
    await makeTreeWritable(join(path, name))
  }
}

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RecordStore } from '../../../src/store/index.ts'

/** Opens a real record store in a new temporary directory; `close` removes it. */
export async function openTestStore (dir?: string): Promise<{ store: RecordStore, dir: string, close: () => Promise<void> }> {
  const path = dir ?? await mkdtemp(join(tmpdir(), 'sower-store-'))
  const store = await RecordStore.open(join(path, 'db'))
  return {
    store,
    dir: path,
    close: async () => {
      await store.close()
      if (dir == null) {
        await rm(path, { recursive: true, force: true })
      }
    }
  }
}

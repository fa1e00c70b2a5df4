import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { RecordStore } from '../../../src/store/index.ts'

/** Stores in temporary folders; `cleanup` closes them and removes the folders. */
export class TempStores {
  readonly #folders: string[] = []
  readonly #stores: RecordStore[] = []

  async folder (): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'sower-store-'))
    this.#folders.push(folder)
    return folder
  }

  /** Opens a store in `folder`, or in a new temporary folder. */
  async open (folder?: string): Promise<RecordStore> {
    const store = await RecordStore.open(folder ?? await this.folder())
    this.#stores.push(store)
    return store
  }

  async cleanup (): Promise<void> {
    await Promise.all(this.#stores.splice(0).map(async store => { await store.close() }))
    await Promise.all(this.#folders.splice(0).map(async folder => { await rm(folder, { recursive: true, force: true }) }))
  }
}

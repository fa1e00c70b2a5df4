import type { GardenSummary, RecordStore } from '../store/index.ts'
import { replaceSorted, sortedGardens } from './table/index.ts'
import type { ColumnKey, SortDirection, SortedGardens } from './table/index.ts'

/** Changed gardens beyond this many reload the whole list instead of patching it one garden at a time. */
export const CHANGED_GARDENS_MAX = 256

/**
 * The garden list and its sorted orders, kept current one garden at a
 * time. A stored record marks its garden changed; the next read fetches
 * that garden's summary and moves it within every cached order, so a page
 * after a change costs a scan and a binary search instead of a full sort.
 */
export class GardenCache {
  readonly #store: Pick<RecordStore, 'gardens' | 'garden'>
  #gardens: Map<string, GardenSummary> | undefined
  readonly #sorted = new Map<string, SortedGardens>()
  readonly #changed = new Set<string>()
  #reloadAll = false
  /** Reads and applies changes one at a time, so no two patch the caches at once. */
  #queue: Promise<void> = Promise.resolve()
  #version = 0

  constructor (store: Pick<RecordStore, 'gardens' | 'garden'>) {
    this.#store = store
  }

  /** Grows whenever the cached gardens change, so derived caches know when to rebuild. */
  get version (): number {
    return this.#version
  }

  /** Marks a garden changed; the next read brings it up to date. */
  changed (peer: string): void {
    if (this.#changed.size >= CHANGED_GARDENS_MAX) {
      this.#reloadAll = true
    } else {
      this.#changed.add(peer)
    }
  }

  /** Every garden, with the version it belongs to. */
  async snapshot (): Promise<{ version: number, gardens: GardenSummary[] }> {
    await this.#sync()
    return { version: this.#version, gardens: [...(this.#gardens as Map<string, GardenSummary>).values()] }
  }

  async sorted (sort: ColumnKey, dir: SortDirection): Promise<SortedGardens> {
    await this.#sync()
    const key = `${sort}:${dir}`
    let sorted = this.#sorted.get(key)
    if (sorted == null) {
      sorted = sortedGardens((this.#gardens as Map<string, GardenSummary>).values(), sort, dir)
      this.#sorted.set(key, sorted)
    }
    return sorted
  }

  async #sync (): Promise<void> {
    const next = this.#queue.then(async () => { await this.#apply() }, async () => { await this.#apply() })
    this.#queue = next
    await next
  }

  async #apply (): Promise<void> {
    if (this.#gardens == null || this.#reloadAll) {
      await this.#reload()
      return
    }
    if (this.#changed.size === 0) return
    const peers = [...this.#changed]
    this.#changed.clear()
    let summaries: Array<GardenSummary | undefined>
    try {
      summaries = await Promise.all(peers.map(async peer => await this.#store.garden(peer)))
    } catch (err) {
      this.#reloadAll = true
      throw err
    }
    peers.forEach((peer, index) => { this.#replace(peer, summaries[index]) })
    this.#version++
  }

  async #reload (): Promise<void> {
    this.#reloadAll = false
    this.#changed.clear()
    const gardens = await this.#store.gardens()
    this.#gardens = new Map(gardens.map(garden => [garden.peer, garden]))
    this.#sorted.clear()
    this.#version++
  }

  #replace (peer: string, garden: GardenSummary | undefined): void {
    const gardens = this.#gardens as Map<string, GardenSummary>
    if (garden == null) {
      gardens.delete(peer)
    } else {
      gardens.set(peer, garden)
    }
    for (const sorted of this.#sorted.values()) {
      replaceSorted(sorted, peer, garden)
    }
  }
}

import { hashPartOf, STORE_PATH_HASH_CHARS } from './store-path.ts'

/**
 * Finds which candidate store paths a byte stream mentions, the way Nix
 * scans a build output for references: a candidate counts when its
 * 32-character hash part occurs anywhere in the bytes, also across chunks.
 */
export class ReferenceScanner {
  readonly #pending = new Map<string, Buffer>()
  readonly #found = new Set<string>()
  #carry = Buffer.alloc(0)

  constructor (candidates: Iterable<string>) {
    for (const candidate of candidates) {
      this.#pending.set(candidate, Buffer.from(hashPartOf(candidate)))
    }
  }

  update (chunk: Buffer): void {
    if (this.#pending.size === 0) {
      return
    }
    const window = Buffer.concat([this.#carry, chunk])
    for (const [candidate, hashPart] of this.#pending) {
      if (window.includes(hashPart)) {
        this.#found.add(candidate)
        this.#pending.delete(candidate)
      }
    }
    this.#carry = window.subarray(Math.max(0, window.length - (STORE_PATH_HASH_CHARS - 1)))
  }

  /** Candidates seen so far, sorted. */
  found (): string[] {
    return [...this.#found].sort()
  }
}

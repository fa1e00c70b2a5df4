import { StreamTimeoutError, StreamTooLargeError } from './errors.ts'

/** Idle time after which a reader gives up on its source, unless configured otherwise. */
export const READ_IDLE_TIMEOUT_MS = 60_000

const EMPTY = Buffer.alloc(0)

export interface ByteReaderInit {
  /** Maximum wait for the next chunk; 0 waits forever. @default READ_IDLE_TIMEOUT_MS */
  idleTimeoutMs?: number
  /** Aborts a pending read with the signal's reason. */
  signal?: AbortSignal
  /** Called with every chunk as it arrives from the source, before it is parsed. */
  onChunk?: (chunk: Buffer) => void | Promise<void>
}

/**
 * Pull-based reader over an async byte source with exact-length reads, an
 * idle timeout per chunk, an absolute byte limit and a hook that receives every
 * consumed byte (used to hash a NAR while it streams).
 */
export class ByteReader {
  /** Called with each consumed byte range, in order and exactly once. */
  onConsume: ((bytes: Buffer) => void) | undefined
  /** Position past which a read raises StreamTooLargeError. */
  limit = Number.POSITIVE_INFINITY
  /** Names what the limit bounds in the error message, e.g. `export stream`. */
  limitLabel = 'stream'

  readonly #iterator: AsyncIterator<Uint8Array>
  readonly #idleTimeoutMs: number
  readonly #signal: AbortSignal | undefined
  readonly #onChunk: ((chunk: Buffer) => void | Promise<void>) | undefined
  #chunk: Buffer = EMPTY
  #offset = 0
  #position = 0
  #ended = false

  constructor (source: AsyncIterable<Uint8Array>, init: ByteReaderInit = {}) {
    this.#iterator = source[Symbol.asyncIterator]()
    this.#idleTimeoutMs = init.idleTimeoutMs ?? READ_IDLE_TIMEOUT_MS
    this.#signal = init.signal
    this.#onChunk = init.onChunk
  }

  /** Bytes consumed so far. */
  get position (): number {
    return this.#position
  }

  /** Reads exactly `length` bytes, or raises on end of stream. */
  async readExact (length: number): Promise<Buffer> {
    const parts: Buffer[] = []
    for await (const part of this.readStream(length)) {
      parts.push(part)
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts)
  }

  /** Yields exactly `length` bytes in pieces as they arrive, without copying them. */
  async * readStream (length: number): AsyncGenerator<Buffer> {
    if (this.#position + length > this.limit) {
      throw new StreamTooLargeError(`${this.limitLabel} is longer than its limit of ${this.limit} bytes`, this.limit)
    }
    let remaining = length
    while (remaining > 0) {
      if (this.#offset === this.#chunk.length && !(await this.#fill())) {
        throw new EndOfStreamError(remaining)
      }
      const take = Math.min(remaining, this.#chunk.length - this.#offset)
      const piece = this.#chunk.subarray(this.#offset, this.#offset + take)
      this.#offset += take
      this.#position += take
      remaining -= take
      this.onConsume?.(piece)
      yield piece
    }
  }

  /**
   * Asks the source to stop, for a reader that is abandoned before its end.
   * It does not wait: an async generator queues `return()` behind a pending
   * `next()`, so the owner of a stalled source must also destroy it.
   */
  close (): void {
    if (!this.#ended) {
      this.#ended = true
      this.#iterator.return?.().catch(() => {})
    }
  }

  async #fill (): Promise<boolean> {
    while (!this.#ended) {
      const result = await this.#next()
      if (result.done === true) {
        this.#ended = true
        return false
      }
      if (result.value.length > 0) {
        this.#chunk = Buffer.isBuffer(result.value)
          ? result.value
          : Buffer.from(result.value.buffer, result.value.byteOffset, result.value.byteLength)
        this.#offset = 0
        await this.#onChunk?.(this.#chunk)
        return true
      }
    }
    return false
  }

  async #next (): Promise<IteratorResult<Uint8Array>> {
    this.#signal?.throwIfAborted()
    const pending = [this.#iterator.next()]
    const cleanups: Array<() => void> = []
    if (this.#idleTimeoutMs > 0) {
      pending.push(new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new StreamTimeoutError(this.#idleTimeoutMs)) }, this.#idleTimeoutMs)
        cleanups.push(() => { clearTimeout(timer) })
      }))
    }
    if (this.#signal !== undefined) {
      const signal = this.#signal
      pending.push(new Promise((resolve, reject) => {
        const onAbort = (): void => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
        cleanups.push(() => { signal.removeEventListener('abort', onAbort) })
      }))
    }
    try {
      return await Promise.race(pending)
    } catch (error) {
      this.close()
      throw error
    } finally {
      for (const cleanup of cleanups) {
        cleanup()
      }
    }
  }
}

/** The source ended while `missingBytes` more bytes were expected. */
export class EndOfStreamError extends Error {
  readonly missingBytes: number

  constructor (missingBytes: number) {
    super(`stream ended ${missingBytes} bytes early`)
    this.name = 'EndOfStreamError'
    this.missingBytes = missingBytes
  }
}

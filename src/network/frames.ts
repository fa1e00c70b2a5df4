import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import type { z } from 'zod'
import { SowerError } from '../errors.ts'
import { describeIssues } from '../records/index.ts'

/** A peer sent a frame that is too large, late, malformed or beyond its budget. */
export class ProtocolError extends SowerError {
  constructor (message: string, code = 'ERR_PROTOCOL', options?: ErrorOptions) {
    super(message, code, options)
  }
}

export interface FrameStreamInit {
  /** Largest single frame accepted. */
  maxFrameBytes: number
  /** Time each read may take. */
  readTimeoutMs: number
  /** Bytes all reads together may take; the rest of the exchange is refused. @default Infinity */
  maxTotalBytes?: number
  /** Aborts every pending read and write, e.g. when the node stops. */
  signal?: AbortSignal
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Length-prefixed frames over a libp2p stream, with a size cap per frame,
 * a total budget and a timeout per read, checked before anything is parsed.
 */
export class FrameStream {
  readonly #lp
  readonly #init: FrameStreamInit
  #readBytes = 0

  constructor (stream: Stream, init: FrameStreamInit) {
    this.#lp = lpStream(stream, { maxDataLength: init.maxFrameBytes })
    this.#init = init
  }

  async read (): Promise<Uint8Array> {
    const controller = new AbortController()
    const timer = setTimeout(() => { controller.abort() }, this.#init.readTimeoutMs)
    const signal = this.#init.signal == null ? controller.signal : AbortSignal.any([controller.signal, this.#init.signal])
    let frame
    try {
      frame = await this.#lp.read({ signal })
    } catch (err) {
      if (controller.signal.aborted) {
        throw new ProtocolError(`no frame within ${this.#init.readTimeoutMs} ms`, 'ERR_TIMEOUT', { cause: err })
      }
      throw new ProtocolError(`cannot read frame: ${(err as Error).message}`, 'ERR_PROTOCOL', { cause: err })
    } finally {
      clearTimeout(timer)
    }
    this.#readBytes += frame.byteLength
    if (this.#readBytes > (this.#init.maxTotalBytes ?? Infinity)) {
      throw new ProtocolError(`exchange exceeds ${this.#init.maxTotalBytes} bytes`, 'ERR_TOO_LARGE')
    }
    return frame.subarray()
  }

  /** Reads one JSON frame and validates it against `schema`. */
  async readJson<T> (schema: z.ZodType<T>): Promise<T> {
    const frame = await this.read()
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(frame))
    } catch (err) {
      throw new ProtocolError('frame is not UTF-8 JSON', 'ERR_PROTOCOL', { cause: err })
    }
    const parsed = schema.safeParse(json)
    if (!parsed.success) {
      throw new ProtocolError(`invalid frame: ${describeIssues(parsed.error)}`)
    }
    return parsed.data
  }

  /** Starts a new byte budget, e.g. for the next batch of a sync session. */
  resetBudget (): void {
    this.#readBytes = 0
  }

  /** Reads `count` raw record frames that follow a batch header. */
  async readRecords (count: number): Promise<Uint8Array[]> {
    const records: Uint8Array[] = []
    for (let i = 0; i < count; i++) {
      records.push(await this.read())
    }
    return records
  }

  async write (frame: Uint8Array): Promise<void> {
    await this.#lp.write(frame, { signal: this.#init.signal })
  }

  async writeJson (value: unknown): Promise<void> {
    await this.write(encoder.encode(JSON.stringify(value)))
  }

  /** Writes several frames in one buffer, e.g. a batch header with its records. */
  async writeMany (frames: Uint8Array[]): Promise<void> {
    await this.#lp.writeV(frames, { signal: this.#init.signal })
  }
}

/**
 * Runs `fn` with a signal that aborts after `timeoutMs` or with `signal`.
 * The timer is cleared when `fn` settles, so no handle outlives the call.
 */
export async function withTimeout<T> (signal: AbortSignal, timeoutMs: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new ProtocolError(`timed out after ${timeoutMs} ms`, 'ERR_TIMEOUT')) }, timeoutMs)
  try {
    return await fn(AbortSignal.any([signal, controller.signal]))
  } finally {
    clearTimeout(timer)
  }
}

export function encodeJson (value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

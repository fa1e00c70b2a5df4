import type { Connection, Stream } from '@libp2p/interface'
import type { Logger } from '../logger.ts'
import type { StoreBackend } from '../nix/index.ts'
import { TransferProtocolError } from './errors.ts'
import { closureRequestSchema, frameStream, readFrame, writeFrame } from './protocol.ts'
import type { ClosureRequest } from './protocol.ts'
import { sendAll } from './stream-io.ts'

/** Time a caller has to send its request frame after opening the stream. */
export const REQUEST_TIMEOUT_MS = 10_000

export interface ClosureServerComponents {
  backend: StoreBackend
  logger: Logger
}

export interface ClosureServerInit {
  maxConcurrentServes: number
  /** Time the caller may take no bytes before the serve is aborted. */
  stallTimeoutMs: number
}

/**
 * The serving side of the closure protocol: replies which requested paths
 * are valid here and streams them in export format. Queries always get a
 * reply, and exports beyond `maxConcurrentServes` get a "busy" header.
 */
export class ClosureServer {
  readonly #backend: StoreBackend
  readonly #log: Logger
  readonly #init: ClosureServerInit
  readonly #streams = new Set<Stream>()
  #controller = new AbortController()
  #exporting = 0

  constructor (components: ClosureServerComponents, init: ClosureServerInit) {
    this.#backend = components.backend
    this.#log = components.logger
    this.#init = init
  }

  /** Exports running now. */
  get activeServes (): number {
    return this.#exporting
  }

  start (): void {
    this.#controller = new AbortController()
  }

  /** Aborts every open stream, which also stops the exports feeding them. */
  stop (): void {
    this.#controller.abort()
    for (const stream of this.#streams) {
      stream.abort(new TransferProtocolError('closure server stopped'))
    }
    this.#streams.clear()
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    this.#streams.add(stream)
    try {
      await this.#serve(stream, peer)
    } catch (error) {
      if (!this.#controller.signal.aborted) {
        this.#log.info({ peer, err: (error as Error).message }, 'closure serve failed')
      }
      stream.abort(error as Error)
    } finally {
      this.#streams.delete(stream)
    }
  }

  async #serve (stream: Stream, peer: string): Promise<void> {
    const signal = this.#controller.signal
    const frames = frameStream(stream)
    let request: ClosureRequest
    try {
      request = await readFrame(frames, closureRequestSchema, REQUEST_TIMEOUT_MS, signal)
    } catch (error) {
      if (error instanceof TransferProtocolError) {
        await writeFrame(frames, { status: 'invalid', reason: error.message.slice(0, 1024) }, signal)
        await stream.close({ signal })
      }
      throw error
    }
    if (request.export && this.#exporting >= this.#init.maxConcurrentServes) {
      await writeFrame(frames, { status: 'busy' }, signal)
      await stream.close({ signal })
      this.#log.debug({ peer, active: this.#exporting }, 'closure export rejected as busy')
      return
    }
    if (!request.export) {
      await writeFrame(frames, { status: 'ok', paths: await this.#validPaths(request.paths) }, signal)
      await stream.close({ signal })
      return
    }
    this.#exporting++
    try {
      await this.#export(frames, stream, request.paths, peer)
    } finally {
      this.#exporting--
    }
  }

  async #export (frames: ReturnType<typeof frameStream>, stream: Stream, requested: string[], peer: string): Promise<void> {
    const signal = this.#controller.signal
    const paths = await this.#validPaths(requested)
    await writeFrame(frames, { status: 'ok', paths }, signal)
    const raw = frames.unwrap()
    if (paths.length > 0) {
      const source = this.#backend.exportPaths(paths)
      const closed = new AbortController()
      const onClose = (): void => { closed.abort(new TransferProtocolError(`peer ${peer} closed the closure stream`)) }
      raw.addEventListener('close', onClose)
      try {
        const startedAt = performance.now()
        const bytes = await sendAll(raw, source, this.#init.stallTimeoutMs, AbortSignal.any([signal, closed.signal]))
        this.#log.debug({ peer, paths: paths.length, bytes, durationMs: Math.round(performance.now() - startedAt) }, 'closure batch served')
      } finally {
        raw.removeEventListener('close', onClose)
        source.destroy()
      }
    }
    await raw.close({ signal })
  }

  async #validPaths (requested: string[]): Promise<string[]> {
    const unique = [...new Set(requested)]
    return await this.#backend.queryValidPaths(unique)
  }
}

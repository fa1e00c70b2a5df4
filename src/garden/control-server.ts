import { createConnection, createServer } from 'node:net'
import type { Server, Socket } from 'node:net'
import { chmod, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SowerError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import { NODE_API_METHODS } from './api.ts'
import type { NodeApi } from './api.ts'
import { ControlError } from './errors.ts'

/** File name of the control socket in a node's data folder. */
export const CONTROL_SOCKET_NAME = 'control.sock'
/** Maximum request line length; a bundle path or a signed record with its manifest fits easily. */
export const CONTROL_REQUEST_MAX_BYTES = 4 * 1024 * 1024
/** Time a client may take to send its request line; the work that follows has no limit. */
export const CONTROL_REQUEST_TIMEOUT_MS = 10_000
/** Maximum socket path length on Linux: `sun_path` is 108 bytes, including its NUL. */
const SOCKET_PATH_MAX_BYTES = 107

export function controlSocketPath (dataDir: string): string {
  return join(dataDir, CONTROL_SOCKET_NAME)
}

/** One request: a `NodeApi` method and its parameters, as one JSON line. */
export interface ControlRequest {
  method: string
  params?: Record<string, unknown>
}

/** One response line: the result, or the error with its stable code. */
export type ControlResponse =
  | { ok: true, result: unknown }
  | { ok: false, error: { code: string, message: string } }

/**
 * Serves a node's `NodeApi` on a Unix socket with mode 0600, so only the
 * user that runs the node (and root) can use it. Each connection carries
 * one request line and gets one response line.
 */
export class ControlServer {
  readonly path: string
  readonly #api: NodeApi
  readonly #log: Logger
  readonly #sockets = new Set<Socket>()
  #server?: Server

  constructor (components: { api: NodeApi, logger: Logger }, init: { path: string }) {
    this.#api = components.api
    this.#log = components.logger
    this.path = init.path
  }

  async start (): Promise<void> {
    if (this.#server != null) {
      return
    }
    if (Buffer.byteLength(this.path) > SOCKET_PATH_MAX_BYTES) {
      throw new ControlError(`control socket path ${this.path} is longer than ${SOCKET_PATH_MAX_BYTES} bytes; choose a shorter dataDir`)
    }
    await removeStaleSocket(this.path)
    const server = createServer(socket => { this.#serve(socket) })
    const umask = process.umask(0o177)
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(this.path, () => { server.off('error', reject); resolve() })
      })
    } finally {
      process.umask(umask)
    }
    await chmod(this.path, 0o600)
    this.#server = server
    this.#log.info({ path: this.path }, 'control socket listening')
  }

  async stop (): Promise<void> {
    const server = this.#server
    if (server == null) {
      return
    }
    this.#server = undefined
    for (const socket of this.#sockets) {
      socket.destroy()
    }
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await rm(this.path, { force: true })
    this.#log.info({ path: this.path }, 'control socket closed')
  }

  #serve (socket: Socket): void {
    this.#sockets.add(socket)
    socket.once('close', () => { this.#sockets.delete(socket) })
    socket.on('error', err => { this.#log.debug({ err }, 'control connection failed') })
    let buffered = ''
    socket.setEncoding('utf8')
    socket.setTimeout(CONTROL_REQUEST_TIMEOUT_MS, () => {
      this.#log.debug('control connection sent no request in time; closing it')
      socket.destroy()
    })
    socket.on('data', (chunk: string) => {
      buffered += chunk
      const newline = buffered.indexOf('\n')
      if (newline === -1 && buffered.length <= CONTROL_REQUEST_MAX_BYTES) {
        return
      }
      socket.setTimeout(0)
      socket.removeAllListeners('data')
      const line = newline === -1 ? null : buffered.slice(0, newline)
      this.#answer(line).then(response => {
        socket.end(`${JSON.stringify(response)}\n`)
      }, err => {
        this.#log.error({ err }, 'control response failed')
        socket.destroy()
      })
    })
  }

  async #answer (line: string | null): Promise<ControlResponse> {
    if (line == null) {
      return failure('ERR_CONTROL', `request longer than ${CONTROL_REQUEST_MAX_BYTES} bytes`)
    }
    let request: ControlRequest
    try {
      request = JSON.parse(line)
    } catch {
      return failure('ERR_CONTROL', 'request is not a JSON line')
    }
    if (!(NODE_API_METHODS as readonly string[]).includes(request.method)) {
      return failure('ERR_CONTROL', `unknown method ${String(request.method)}`)
    }
    try {
      const method = this.#api[request.method as keyof NodeApi] as (params: unknown) => Promise<unknown>
      const result = await method.call(this.#api, request.params ?? {})
      return { ok: true, result: result ?? null }
    } catch (err) {
      if (err instanceof SowerError) {
        this.#log.info({ method: request.method, code: err.code, err: err.message }, 'control request failed')
        return failure(err.code, err.message)
      }
      this.#log.error({ err, method: request.method }, 'control request raised an unexpected error')
      return failure('ERR_INTERNAL', (err as Error).message)
    }
  }
}

function failure (code: string, message: string): ControlResponse {
  return { ok: false, error: { code, message } }
}

/** Removes a socket file that no process listens on, as a node that crashed leaves it. */
async function removeStaleSocket (path: string): Promise<void> {
  const state = await new Promise<'live' | 'stale' | 'absent'>(resolve => {
    const socket = createConnection(path)
    socket.once('connect', () => { socket.destroy(); resolve('live') })
    socket.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code === 'ENOENT' ? 'absent' : 'stale') })
  })
  if (state === 'live') {
    throw new ControlError(`another process serves the control socket ${path}; stop that node or give this one another dataDir`)
  }
  if (state === 'stale') {
    await rm(path, { force: true })
  }
}

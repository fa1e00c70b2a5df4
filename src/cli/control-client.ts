import { createConnection } from 'node:net'
import { NODE_API_METHODS } from '../garden/api.ts'
import type { NodeApi } from '../garden/api.ts'
import type { ControlResponse } from '../garden/control-server.ts'
import { ControlError, RemoteError } from '../garden/errors.ts'

/** Time to connect to a control socket; a live node accepts at once. */
const CONNECT_TIMEOUT_MS = 2_000
/** Maximum length of a response line. */
const RESPONSE_MAX_BYTES = 64 * 1024 * 1024

/**
 * Returns a `NodeApi` that forwards each call to the node listening on
 * `path`, or null when no node listens there (no socket file, or a stale
 * one). Errors that the node raises come back with their code.
 */
export async function connectControl (path: string): Promise<NodeApi | null> {
  const alive = await new Promise<boolean>((resolve, reject) => {
    const socket = createConnection(path)
    const timer = setTimeout(() => { socket.destroy(); resolve(false) }, CONNECT_TIMEOUT_MS)
    socket.once('connect', () => { clearTimeout(timer); socket.destroy(); resolve(true) })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'EACCES') {
        reject(new ControlError(`permission denied on the control socket ${path}: run the command as the user ` +
          'that runs the node, e.g. with sudo', 'ERR_CONTROL', { cause: err }))
        return
      }
      resolve(false)
    })
  })
  if (!alive) {
    return null
  }
  const api: Record<string, (params: unknown) => Promise<unknown>> = {}
  for (const method of NODE_API_METHODS) {
    api[method] = async (params: unknown) => await callControl(path, method, params)
  }
  return api as unknown as NodeApi
}

/** Sends one request to a node's control socket and returns its result. */
export async function callControl (path: string, method: string, params: unknown): Promise<unknown> {
  const response = await new Promise<ControlResponse>((resolve, reject) => {
    const socket = createConnection(path)
    let text = ''
    socket.setEncoding('utf8')
    socket.once('connect', () => { socket.write(`${JSON.stringify({ method, params: params ?? {} })}\n`) })
    socket.on('data', (chunk: string) => {
      text += chunk
      if (text.length > RESPONSE_MAX_BYTES) {
        socket.destroy()
        reject(new ControlError(`response of the node at ${path} exceeds ${RESPONSE_MAX_BYTES} bytes`))
      }
    })
    socket.once('error', err => {
      reject(new ControlError(`cannot reach the node at ${path}: ${(err as NodeJS.ErrnoException).code ?? err.message}; ` +
        'is `sower node` still running?', 'ERR_NODE_UNREACHABLE', { cause: err }))
    })
    socket.once('end', () => {
      try {
        resolve(JSON.parse(text))
      } catch {
        reject(new ControlError(`the node at ${path} closed the connection without a complete response`, 'ERR_NODE_UNREACHABLE'))
      }
    })
  })
  if (!response.ok) {
    throw new RemoteError(response.error.message, response.error.code)
  }
  return response.result
}

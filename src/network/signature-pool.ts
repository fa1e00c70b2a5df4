import { availableParallelism } from 'node:os'
import { extname } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { publicKeyFromId, verifySignature } from '../keys/index.ts'
import type { Logger } from '../logger.ts'

/** One ed25519 signature to verify. */
export interface SignatureCheck {
  /** Peer id of the signing key. */
  key: string
  message: Uint8Array
  signature: Uint8Array
}

/**
 * A chunk of checks as a worker receives it. Keys are the JWK `x` values of
 * the public keys (empty for an id that is no ed25519 key), and each
 * message is followed by its signature in `data`.
 */
export interface SignatureJob {
  id: number
  keys: string[]
  /** Per check: the offset of its message in `data`, the message length and the signature length. */
  offsets: Uint32Array
  data: ArrayBuffer
}

export interface SignatureJobResult {
  id: number
  /** 1 for a signature that verifies, 0 otherwise, in the order of the job's checks. */
  valid: Uint8Array
}

export interface SignaturePoolInit {
  /** Worker threads. @default availableParallelism() - 1, one per core beside the main thread */
  workers?: number
  /** Checks that one thread takes from a batch at a time. @default 32 */
  chunkChecks?: number
  /** Batches with fewer checks are verified on the calling thread, where no message round trip is needed. @default 64 */
  minParallelChecks?: number
  /** Time without a batch after which the workers end, to free their memory. @default 60_000 */
  workerIdleMs?: number
  logger: Logger
}

const CHUNK_CHECKS = 32
const MIN_PARALLEL_CHECKS = 64
const WORKER_IDLE_MS = 60_000
const KEY_CACHE_MAX_KEYS = 4096

/** The worker module beside this one: `.ts` when run from source, `.js` when built. */
const WORKER_URL = new URL(`./signature-worker${extname(fileURLToPath(import.meta.url))}`, import.meta.url)

/**
 * Verifies ed25519 signatures in batches with worker threads. The calling
 * thread takes chunks of a batch too, and yields to the event loop between
 * chunks so that network reads go on. Workers start at the first large
 * batch after `start`, and end at `stop` or when no batch came for
 * `workerIdleMs`. Before `start`, after `stop` and for small batches, every
 * signature is verified on the calling thread. A worker that fails is
 * replaced, and its chunk is verified on the calling thread.
 */
export class SignaturePool {
  readonly #size: number
  readonly #chunkChecks: number
  readonly #minParallelChecks: number
  readonly #workerIdleMs: number
  readonly #log: Logger
  readonly #workers: PoolWorker[] = []
  readonly #jwkKeys = new Map<string, string>()
  #started = false
  /** Batches on the workers now; the idle timer runs only while there are none. */
  #running = 0
  #idleTimer: ReturnType<typeof setTimeout> | undefined

  constructor (init: SignaturePoolInit) {
    this.#size = Math.max(0, init.workers ?? availableParallelism() - 1)
    this.#chunkChecks = Math.max(1, init.chunkChecks ?? CHUNK_CHECKS)
    this.#minParallelChecks = init.minParallelChecks ?? MIN_PARALLEL_CHECKS
    this.#workerIdleMs = init.workerIdleMs ?? WORKER_IDLE_MS
    this.#log = init.logger
  }

  start (): void {
    this.#started = true
  }

  /** Ends every worker. Batches in flight finish on the calling thread. */
  async stop (): Promise<void> {
    this.#started = false
    await this.#endWorkers()
  }

  /** Worker threads running now. */
  get workers (): number {
    return this.#workers.length
  }

  async #endWorkers (): Promise<void> {
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    await Promise.all(this.#workers.splice(0).map(async worker => { await worker.terminate() }))
  }

  /** Returns, per check and in order, whether its signature verifies. */
  async verify (checks: SignatureCheck[]): Promise<boolean[]> {
    if (!this.#started || this.#size === 0 || checks.length < this.#minParallelChecks) {
      return checks.map(verifyHere)
    }
    this.#spawn()
    this.#running++
    try {
      return await this.#verifyInParallel(checks)
    } finally {
      this.#running--
      this.#armIdleTimer()
    }
  }

  async #verifyInParallel (checks: SignatureCheck[]): Promise<boolean[]> {
    const valid = new Array<boolean>(checks.length)
    let next = 0
    const take = (): [number, number] | undefined => {
      if (next >= checks.length) {
        return undefined
      }
      const start = next
      next = Math.min(start + this.#chunkChecks, checks.length)
      return [start, next]
    }
    const onWorker = async (worker: PoolWorker): Promise<void> => {
      for (let chunk = take(); chunk != null; chunk = take()) {
        await this.#verifyOnWorker(worker, checks, chunk, valid)
      }
    }
    const onThisThread = async (): Promise<void> => {
      for (let chunk = take(); chunk != null; chunk = take()) {
        verifyRange(checks, chunk, valid)
        await yieldToEventLoop()
      }
    }
    await Promise.all([...this.#workers.map(onWorker), onThisThread()])
    return valid
  }

  #armIdleTimer (): void {
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    if (this.#running > 0 || this.#workers.length === 0) {
      return
    }
    this.#idleTimer = setTimeout(() => {
      this.#endWorkers().catch(err => { this.#log.error({ err }, 'ending idle signature workers failed') })
    }, this.#workerIdleMs)
    this.#idleTimer.unref()
  }

  #spawn (): void {
    clearTimeout(this.#idleTimer)
    this.#idleTimer = undefined
    for (let i = this.#workers.length; i < this.#size; i++) {
      this.#workers.push(new PoolWorker(WORKER_URL))
    }
  }

  async #verifyOnWorker (worker: PoolWorker, checks: SignatureCheck[], [start, end]: [number, number], valid: boolean[]): Promise<void> {
    let flags: Uint8Array
    try {
      flags = await worker.run(this.#job(checks, start, end))
    } catch (err) {
      this.#retire(worker, err)
      verifyRange(checks, [start, end], valid)
      return
    }
    for (let i = start; i < end; i++) {
      valid[i] = flags[i - start] === 1
    }
  }

  #retire (worker: PoolWorker, err: unknown): void {
    const index = this.#workers.indexOf(worker)
    if (index < 0) {
      return
    }
    this.#workers.splice(index, 1)
    this.#log.error({ err }, 'signature worker failed, so the main thread verifies its signatures')
    worker.terminate().catch(() => {})
  }

  #job (checks: SignatureCheck[], start: number, end: number): SignatureJob {
    const count = end - start
    let size = 0
    for (let i = start; i < end; i++) {
      size += checks[i].message.byteLength + checks[i].signature.byteLength
    }
    const data = new ArrayBuffer(size)
    const bytes = new Uint8Array(data)
    const offsets = new Uint32Array(count * 3)
    const keys: string[] = []
    let offset = 0
    for (let i = 0; i < count; i++) {
      const { key, message, signature } = checks[start + i]
      keys.push(this.#jwkKey(key))
      offsets.set([offset, message.byteLength, signature.byteLength], i * 3)
      bytes.set(message, offset)
      bytes.set(signature, offset + message.byteLength)
      offset += message.byteLength + signature.byteLength
    }
    return { id: 0, keys, offsets, data }
  }

  /** The JWK `x` of a peer id's public key, or '' when the id is no ed25519 key. */
  #jwkKey (id: string): string {
    let x = this.#jwkKeys.get(id)
    if (x == null) {
      try {
        x = publicKeyFromId(id).export({ format: 'jwk' }).x ?? ''
      } catch {
        x = ''
      }
      if (this.#jwkKeys.size >= KEY_CACHE_MAX_KEYS) {
        this.#jwkKeys.clear()
      }
      this.#jwkKeys.set(id, x)
    }
    return x
  }
}

function verifyHere (check: SignatureCheck): boolean {
  return verifySignature(check.key, check.message, check.signature)
}

function verifyRange (checks: SignatureCheck[], [start, end]: [number, number], valid: boolean[]): void {
  for (let i = start; i < end; i++) {
    valid[i] = verifyHere(checks[i])
  }
}

/**
 * One worker thread with its jobs in flight. It keeps the process alive only
 * while a job is in flight, so an idle pool never delays an exit.
 */
class PoolWorker {
  readonly #worker: Worker
  readonly #pending = new Map<number, { resolve: (valid: Uint8Array) => void, reject: (err: Error) => void }>()
  #nextId = 1
  #failure: Error | undefined

  constructor (url: URL) {
    this.#worker = new Worker(url)
    this.#worker.unref()
    this.#worker.on('message', (result: SignatureJobResult) => { this.#settle(result) })
    this.#worker.on('error', err => { this.#fail(err) })
    this.#worker.on('exit', code => { this.#fail(new Error(`signature worker exited with code ${code}`)) })
  }

  async run (job: SignatureJob): Promise<Uint8Array> {
    if (this.#failure != null) {
      throw this.#failure
    }
    const id = this.#nextId++
    return await new Promise((resolve, reject) => {
      if (this.#pending.size === 0) {
        this.#worker.ref()
      }
      this.#pending.set(id, { resolve, reject })
      this.#worker.postMessage({ ...job, id }, [job.data])
    })
  }

  async terminate (): Promise<void> {
    this.#fail(new Error('signature worker stopped'))
    await this.#worker.terminate()
  }

  #settle (result: SignatureJobResult): void {
    const pending = this.#pending.get(result.id)
    this.#pending.delete(result.id)
    if (this.#pending.size === 0) {
      this.#worker.unref()
    }
    pending?.resolve(result.valid)
  }

  #fail (err: Error): void {
    this.#failure ??= err
    for (const { reject } of this.#pending.values()) {
      reject(err)
    }
    this.#pending.clear()
    this.#worker.unref()
  }
}

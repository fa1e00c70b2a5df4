import { spawn } from 'node:child_process'
import { stripControlCharacters } from '../text.ts'
import { OUTPUT_TAIL_MAX_BYTES } from './types.ts'

export { stripControlCharacters }

/** Wait between SIGTERM and SIGKILL for a command that ran out of time or was aborted. */
const KILL_GRACE_MS = 2000

export interface HostCommandOptions {
  timeoutMs: number
  /** Added to the garden's own environment. */
  env?: Record<string, string>
  /** Kills the command. The returned promise then rejects with the signal's reason. */
  signal?: AbortSignal
}

/** Outcome of a host command. */
export interface HostCommandOutcome {
  ok: boolean
  /** Exit status, or null when the command was killed or could not start. */
  exitCode: number | null
  /** Signal that ended the command, or null. */
  signal: string | null
  timedOut: boolean
  /** Last OUTPUT_TAIL_MAX_BYTES of stdout and stderr interleaved, without control characters. */
  output: string
  /** Short failure reason, or null when the command succeeded. */
  problem: string | null
}

/**
 * Runs a command from an argument array, without a shell, and resolves with
 * its outcome. A non-zero exit or a timeout is an outcome, not an error.
 * Only an abort through `signal` rejects, after the command was killed.
 */
export async function runHostCommand (argv: readonly string[], options: HostCommandOptions): Promise<HostCommandOutcome> {
  options.signal?.throwIfAborted()
  const [program, ...args] = argv
  const child = spawn(program, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const tail = new OutputTail(OUTPUT_TAIL_MAX_BYTES)
  child.stdout.on('data', (chunk: Buffer) => { tail.add(chunk) })
  child.stderr.on('data', (chunk: Buffer) => { tail.add(chunk) })

  return await new Promise((resolve, reject) => {
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    const kill = (): void => {
      child.kill('SIGTERM')
      killTimer = setTimeout(() => { child.kill('SIGKILL') }, KILL_GRACE_MS)
    }
    const timer = setTimeout(() => { timedOut = true; kill() }, options.timeoutMs)
    const onAbort = (): void => { kill() }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    const finish = (): void => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      options.signal?.removeEventListener('abort', onAbort)
    }

    child.once('error', error => {
      finish()
      resolve({ ok: false, exitCode: null, signal: null, timedOut: false, output: '', problem: `could not start ${program}: ${error.message}` })
    })
    child.once('close', (exitCode, signal) => {
      finish()
      if (options.signal?.aborted === true) {
        reject(options.signal.reason)
        return
      }
      const output = tail.text()
      resolve({ ok: exitCode === 0 && !timedOut, exitCode, signal, timedOut, output, problem: describeProblem(exitCode, signal, timedOut, options.timeoutMs) })
    })
  })
}

function describeProblem (exitCode: number | null, signal: string | null, timedOut: boolean, timeoutMs: number): string | null {
  if (timedOut) return `timed out after ${timeoutMs} ms`
  if (signal !== null) return `was killed by ${signal}`
  if (exitCode !== 0) return `exited with status ${exitCode ?? 'unknown'}`
  return null
}

/** The last bytes of a stream, decoded and cleaned when read. */
class OutputTail {
  readonly #maxBytes: number
  #bytes = Buffer.alloc(0)

  constructor (maxBytes: number) {
    this.#maxBytes = maxBytes
  }

  add (chunk: Buffer): void {
    this.#bytes = Buffer.concat([this.#bytes, chunk])
    if (this.#bytes.length > this.#maxBytes) {
      this.#bytes = this.#bytes.subarray(this.#bytes.length - this.#maxBytes)
    }
  }

  text (): string {
    return stripControlCharacters(this.#bytes.toString('utf8'))
  }
}

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { openSync, closeSync } from 'node:fs'
import { extname } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { SowerError } from '../errors.ts'

/** Time a node process may take to print its ready line. */
export const NODE_READY_TIMEOUT_MS = 60_000
/** Time a node process may take to stop after SIGTERM before it is killed. */
export const NODE_STOP_TIMEOUT_MS = 10_000

/** The `sower` entry of this installation: `bin.ts` from source, `bin.js` once built. */
export const SOWER_BIN = fileURLToPath(new URL(`../cli/bin${extname(fileURLToPath(import.meta.url))}`, import.meta.url))

/** The ready line that `sower node` prints. */
export interface ReadyLine {
  peer: string
  addresses: string[]
  web: string | null
  control: string | null
}

/** A node process that failed to start or stopped early. */
export class NodeProcessError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_DEMO_NODE')
  }
}

/**
 * One `sower node` child process. Its stdin is a pipe that it watches
 * (`--exit-on-stdin-close`), so it stops when this process dies, however
 * that happens. Its log goes to `logFile`.
 */
export class NodeProcess {
  readonly name: string
  readonly child: ChildProcess
  readonly exited: Promise<number | null>
  readonly #ready: Promise<ReadyLine>

  constructor (name: string, configFile: string, logFile: string, extraArgs: string[] = []) {
    this.name = name
    const log = openSync(logFile, 'a', 0o600)
    try {
      this.child = spawn(process.execPath, [SOWER_BIN, 'node', '--config', configFile, '--exit-on-stdin-close', ...extraArgs], {
        stdio: ['pipe', 'pipe', log],
        env: { ...process.env }
      })
    } finally {
      closeSync(log)
    }
    this.exited = new Promise(resolve => {
      this.child.once('exit', code => { resolve(code) })
      this.child.once('error', () => { resolve(null) })
    })
    this.#ready = this.#readReadyLine(logFile)
  }

  get pid (): number | undefined {
    return this.child.pid
  }

  async ready (): Promise<ReadyLine> {
    return await this.#ready
  }

  async #readReadyLine (logFile: string): Promise<ReadyLine> {
    const lines = createInterface({ input: this.child.stdout! })
    const timeout = new Promise<never>((_resolve, reject) => {
      setTimeout(() => { reject(new NodeProcessError(`node ${this.name} printed no ready line within ${NODE_READY_TIMEOUT_MS} ms; see ${logFile}`)) },
        NODE_READY_TIMEOUT_MS).unref()
    })
    const exited = this.exited.then(code => {
      throw new NodeProcessError(`node ${this.name} exited with status ${String(code)} before it was ready; see ${logFile}`)
    })
    const ready = (async () => {
      for await (const line of lines) {
        const parsed = parseJson(line)
        if (parsed?.event === 'ready') {
          return parsed as unknown as ReadyLine
        }
      }
      throw new NodeProcessError(`node ${this.name} closed its output before it was ready; see ${logFile}`)
    })()
    return await Promise.race([ready, timeout, exited])
  }

  /** Sends SIGTERM, waits for the exit, and kills the process when it takes too long. */
  async stop (): Promise<void> {
    if (this.child.exitCode != null || this.child.signalCode != null) {
      return
    }
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, NODE_STOP_TIMEOUT_MS)
    await this.exited
    clearTimeout(timer)
  }
}

function parseJson (line: string): Record<string, unknown> | null {
  try {
    const value = JSON.parse(line)
    return value != null && typeof value === 'object' ? value : null
  } catch {
    return null
  }
}

import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { PassThrough } from 'node:stream'
import type { Readable } from 'node:stream'
import { NixCommandError, NixCommandTimeoutError } from './errors.ts'

/** Bytes at the end of a command's stderr that its error keeps. */
export const STDERR_TAIL_MAX_BYTES = 8 * 1024
/** Maximum stdout of a query, in bytes. `--dump-db` of a big closure prints a few MB (an estimate). */
export const STDOUT_MAX_BYTES = 64 * 1024 * 1024
/** Wait between SIGTERM and SIGKILL for a command that ran out of time. */
const KILL_GRACE_MS = 2000
const ARGUMENTS_SHOWN_MAX = 4

export interface RunInit {
  timeoutMs: number
  env?: NodeJS.ProcessEnv
  /** File descriptor to use as stdin. Without it, stdin is empty. */
  stdinFd?: number
}

export interface RunResult {
  stdout: string
  stderr: string
}

/** Runs a program without a shell and returns its output, or raises NixCommandError. */
export async function runCommand (file: string, args: readonly string[], init: RunInit): Promise<RunResult> {
  const child = spawn(file, args, { env: init.env, stdio: [init.stdinFd ?? 'ignore', 'pipe', 'pipe'] })
  const label = describeCommand(file, args)
  const stdout: Buffer[] = []
  let stdoutBytes = 0
  let overflow = false
  child.stdout?.on('data', (chunk: Buffer) => {
    stdoutBytes += chunk.length
    if (stdoutBytes > STDOUT_MAX_BYTES) {
      overflow = true
      child.kill('SIGKILL')
    } else {
      stdout.push(chunk)
    }
  })
  const stderr = keepTail(child)
  const exit = await waitForExit(child, label, init.timeoutMs, stderr)
  if (overflow) {
    const reason = `printed more than ${STDOUT_MAX_BYTES} bytes`
    throw new NixCommandError({ command: label, exitCode: null, signal: 'SIGKILL', stderrTail: stderr.text(), reason })
  }
  if (exit.code !== 0) {
    throw new NixCommandError({ command: label, exitCode: exit.code, signal: exit.signal, stderrTail: stderr.text() })
  }
  return { stdout: Buffer.concat(stdout).toString('utf8'), stderr: stderr.text() }
}

/**
 * Runs a program and returns its stdout as a stream. The stream ends when
 * the program exits with status 0 and fails with NixCommandError otherwise.
 * Destroying the stream kills the program.
 */
export function streamCommand (file: string, args: readonly string[], init: RunInit): Readable {
  const child = spawn(file, args, { env: init.env, stdio: ['ignore', 'pipe', 'pipe'] })
  const label = describeCommand(file, args)
  const output = new PassThrough()
  const stderr = keepTail(child)
  child.stdout?.pipe(output, { end: false })
  output.on('close', () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
    }
  })
  waitForExit(child, label, init.timeoutMs, stderr).then(exit => {
    if (exit.code === 0) {
      output.end()
    } else {
      const init = { command: label, exitCode: exit.code, signal: exit.signal, stderrTail: stderr.text() }
      output.destroy(new NixCommandError(init))
    }
  }, (error: unknown) => { output.destroy(error as Error) })
  return output
}

interface StderrTail {
  text: () => string
}

function keepTail (child: ChildProcess): StderrTail {
  let tail = Buffer.alloc(0)
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = Buffer.concat([tail, chunk])
    if (tail.length > STDERR_TAIL_MAX_BYTES) {
      tail = tail.subarray(tail.length - STDERR_TAIL_MAX_BYTES)
    }
  })
  return { text: () => tail.toString('utf8') }
}

interface ExitStatus {
  code: number | null
  signal: string | null
}

async function waitForExit (
  child: ChildProcess,
  label: string,
  timeoutMs: number,
  stderr: StderrTail
): Promise<ExitStatus> {
  return await new Promise((resolve, reject) => {
    let timedOut = false
    let killTimer: NodeJS.Timeout | undefined
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGTERM')
      killTimer = setTimeout(() => { child.kill('SIGKILL') }, KILL_GRACE_MS)
    }, timeoutMs)
    child.once('error', error => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      const reason = `could not start: ${error.message}`
      const init = { command: label, exitCode: null, signal: null, stderrTail: '', reason }
      reject(new NixCommandError(init, 'ERR_NIX_COMMAND_FAILED', { cause: error }))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      clearTimeout(killTimer)
      if (timedOut) {
        reject(new NixCommandTimeoutError({ command: label, stderrTail: stderr.text(), timeoutMs }))
      } else {
        resolve({ code, signal })
      }
    })
  })
}

/** Names a command for messages: the program and its first arguments. */
function describeCommand (file: string, args: readonly string[]): string {
  const program = file.split('/').at(-1) ?? file
  const shown = args.slice(0, ARGUMENTS_SHOWN_MAX).join(' ')
  const more = args.length > ARGUMENTS_SHOWN_MAX ? ` (+${args.length - ARGUMENTS_SHOWN_MAX} arguments)` : ''
  return `${program} ${shown}${more}`
}

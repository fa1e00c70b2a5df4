import type { Command } from 'commander'
import { runDemo } from '../../demo/index.ts'
import type { CliContext } from '../context.ts'
import { UsageError } from '../errors.ts'

const DEFAULT_DEMO_TIMEOUT_SEC = 180

function parseSeconds (value: string): number {
  const seconds = Number(value)
  if (!Number.isInteger(seconds) || seconds < 1) {
    throw new UsageError(`invalid --timeout "${value}": expected a whole number of seconds, at least 1`)
  }
  return seconds
}

export function registerDemoCommand (program: Command, context: CliContext): void {
  program.command('demo')
    .description('run a local demo fleet: an admin node and four gardens with different policies on 127.0.0.1')
    .option('--exit-when-done', 'exit 0 once every garden reached its expected end state, non-zero on anything else')
    .option('--timeout <seconds>', 'with --exit-when-done: give up after this many seconds', parseSeconds, DEFAULT_DEMO_TIMEOUT_SEC)
    .option('--keep', 'keep the workspace folder (keys, configs, stores, logs) after the demo stops')
    .addHelpText('after', `
The demo builds everything in a new folder under the system's temporary
folder, starts each node as its own process, deploys two seeds and shows
policy at work: one garden activates at once, one waits for its window, one
waits for a confirmation (which the demo then signs), and one only stages.
Without --exit-when-done it keeps running, with the web view open, until
Ctrl-C, which stops every process it started.`)
    .action(async (options: { exitWhenDone?: boolean, timeout: number, keep?: boolean }) => {
      await runDemo({
        io: context.io,
        signal: context.signal,
        exitWhenDone: options.exitWhenDone === true,
        timeoutMs: options.timeout * 1000,
        keep: options.keep === true,
        verbose: context.verbose()
      })
    })
}

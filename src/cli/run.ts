/**
 * Runs `sower` in this process: signal handling, the command, and the exit.
 * Imported by bin.ts once it has checked the Node.js version.
 */
import { main } from './index.ts'
import { EXIT } from './exit-codes.ts'

/** Time allowed for handles to close after a command finished, before the process exits anyway. */
const EXIT_GRACE_MS = 3_000

const controller = new AbortController()
let signals = 0
const onSignal = (signal: NodeJS.Signals): void => {
  signals++
  if (signals > 1) {
    process.stderr.write(`\nreceived ${signal} again: exiting without cleaning up\n`)
    process.exit(EXIT.interrupted)
  }
  controller.abort(signal)
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)

// A reader that went away, as `sower status | head` does, ends the output, not the command with a crash.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') {
    process.exit(process.exitCode ?? EXIT.ok)
  }
  throw err
})

const status = await main(process.argv.slice(2), { signal: controller.signal })
process.exitCode = status
setTimeout(() => { process.exit(status) }, EXIT_GRACE_MS).unref()

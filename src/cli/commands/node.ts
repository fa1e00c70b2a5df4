import type { Command } from 'commander'
import { loadConfig } from '../../config/index.ts'
import { createLogger } from '../../logger.ts'
import { Garden, OWN_FEED_STATE_LABELS } from '../../garden/index.ts'
import type { OwnFeedStatus } from '../../garden/index.ts'
import { configFileOf } from '../context.ts'
import type { CliContext } from '../context.ts'
import { parseDuration } from '../duration.ts'
import { println } from '../output.ts'

export function registerNodeCommand (program: Command, context: CliContext): void {
  program.command('node')
    .description('run a garden or admin node until SIGINT or SIGTERM; logs JSON to stderr and prints a ready line on stdout')
    .option('--config <file>', 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)')
    .option('--sync-interval <duration>', 'time between syncs with a random member, e.g. 30s (default 30s)')
    .option('--exit-on-stdin-close', 'stop when stdin closes, so that a supervising process that dies takes the node with it')
    .addHelpText('after', `
The ready line is one JSON object:
  {"event":"ready","peer":"12D3KooW...","fleet":"acme","addresses":["/ip4/.../p2p/..."],
   "web":"http://127.0.0.1:4711/","control":"/var/lib/sower/control.sock",
   "ownFeed":{"state":"waiting","label":"waiting for a first sync","storedSeq":3,"markSeq":3,
              "waitEndsAt":"2026-01-02T11:00:10.000Z","detail":"this node signs no report, ..."}}
ownFeed.state is waiting (for a first sync with a member), ready, behind (read-only
until the records up to its feed head mark are back) or forked; \`sower status\` shows the current state.`)
    .action(async (options: { config?: string, syncInterval?: string, exitOnStdinClose?: boolean }) => {
      const config = await loadConfig(configFileOf(context, options.config))
      const logger = createLogger('sower', context.verbose() ? 'debug' : undefined)
      const garden = new Garden(config, {
        logger,
        ...(options.syncInterval == null ? {} : { network: { syncIntervalMs: parseDuration(options.syncInterval) } })
      })
      const stopped = waitForStop(context, options.exitOnStdinClose === true)
      await garden.start()
      println(context.io, JSON.stringify({
        event: 'ready',
        peer: garden.peerId,
        fleet: config.fleet,
        addresses: garden.addresses,
        web: garden.webUrl,
        control: garden.controlPath,
        ownFeed: readyOwnFeed(garden.ownFeed)
      }))
      const reason = await stopped
      logger.info({ reason }, 'stopping the node')
      await garden.stop()
      println(context.io, JSON.stringify({ event: 'stopped', reason }))
    })
}

/** Returns the own feed's part of the ready line. */
function readyOwnFeed (status: OwnFeedStatus | null): Record<string, unknown> | null {
  if (status == null) {
    return null
  }
  const { state, storedSeq, markSeq, waitEndsAt, detail } = status
  return { state, label: OWN_FEED_STATE_LABELS[state], storedSeq, markSeq, waitEndsAt, detail }
}

/** Resolves on SIGINT or SIGTERM, or when stdin closes if `onStdinClose` is set. */
async function waitForStop (context: CliContext, onStdinClose: boolean): Promise<string> {
  return await new Promise(resolve => {
    if (context.signal.aborted) {
      resolve(String(context.signal.reason))
      return
    }
    context.signal.addEventListener('abort', () => { resolve(String(context.signal.reason)) }, { once: true })
    if (onStdinClose) {
      process.stdin.on('data', () => {})
      process.stdin.once('end', () => { resolve('stdin closed') })
      process.stdin.once('error', () => { resolve('stdin closed') })
    }
  })
}

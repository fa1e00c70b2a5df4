import type { Command } from 'commander'
import { loadConfig } from '../../config/index.ts'
import { controlSocketPath, openStoreOnly, SOWER_VERSION } from '../../garden/index.ts'
import { startWebView } from '../../web/index.ts'
import { connectControl } from '../control-client.ts'
import { commandLogger, configFileOf } from '../context.ts'
import type { CliContext } from '../context.ts'
import { UsageError } from '../errors.ts'
import { println } from '../output.ts'

function parsePort (value: string): number {
  const port = Number(value)
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new UsageError(`invalid port "${value}": expected 0 to 65535`)
  }
  return port
}

export function registerWebCommand (program: Command, context: CliContext): void {
  program.command('web')
    .description('serve the read-only web view of a node\'s data')
    .option('--config <file>', 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)')
    .option('--host <address>', 'address to bind (default: web.host of the config, 127.0.0.1)')
    .option('--port <port>', 'TCP port, 0 for a free one (default: web.port of the config)', parsePort)
    .addHelpText('after', `
When the node runs, it serves the view itself (starting it if the config
disables it) and this command prints the address and returns. When the node
is stopped, this command opens its data folder read-only and serves the
view until SIGINT or SIGTERM.`)
    .action(async (options: { config?: string, host?: string, port?: number }) => {
      const config = await loadConfig(configFileOf(context, options.config))
      const host = options.host ?? config.web.host
      const port = options.port ?? config.web.port
      const running = await connectControl(controlSocketPath(config.dataDir))
      if (running != null) {
        const { url } = await running.startWeb({ host, port })
        println(context.io, `the node serves the web view at ${url}`)
        return
      }
      const logger = commandLogger(context)
      const local = await openStoreOnly(config, logger)
      try {
        const view = await startWebView({ store: local.store, logger }, {
          host,
          port,
          ...(config.web.token == null ? {} : { token: config.web.token }),
          nodeInfo: { peer: (await local.api.info()).peer, fleet: config.fleet, version: SOWER_VERSION }
        })
        println(context.io, `web view of the stored data at ${view.url} (the node is not running); Ctrl-C stops it`)
        await new Promise<void>(resolve => {
          if (context.signal.aborted) {
            resolve()
          }
          context.signal.addEventListener('abort', () => { resolve() }, { once: true })
        })
        await view.close()
      } finally {
        await local.close()
      }
    })
}

import { loadConfig } from '../config/index.ts'
import type { Config } from '../config/index.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import type { NodeApi } from '../garden/api.ts'
import { Garden, openStoreOnly } from '../garden/index.ts'
import { controlSocketPath } from '../garden/control-server.ts'
import { connectControl } from './control-client.ts'
import type { Io } from './output.ts'

/** Config file used when a command gets no `--config` and `SOWER_CONFIG` is unset. */
export const DEFAULT_CONFIG_FILE = '/etc/sower/config.json'

/** Shared inputs of every command besides its arguments. */
export interface CliContext {
  io: Io
  env: NodeJS.ProcessEnv
  nowMs: () => number
  verbose: () => boolean
  /** Aborted on SIGINT or SIGTERM, so long commands can stop and clean up. */
  signal: AbortSignal
}

/** Route by which a command reached the node of a config. */
export type NodeAccessMode = 'control' | 'store' | 'in-process'

export interface NodeAccess {
  api: NodeApi
  config: Config
  mode: NodeAccessMode
  close: () => Promise<void>
}

export function configFileOf (context: CliContext, option: string | undefined): string {
  return option ?? context.env.SOWER_CONFIG ?? DEFAULT_CONFIG_FILE
}

/** Creates the logger for work that a command runs in its own process: warnings only, unless `--verbose`. */
export function commandLogger (context: CliContext): Logger {
  return createLogger('sower', context.verbose() ? 'info' : 'warn')
}

/**
 * Reaches the node of a config: over its control socket when the node
 * runs, else by opening its store in this process. With `network`, a node
 * that is not running is started in this process for the command's
 * duration, so that what the command publishes reaches peers and their
 * results come back.
 */
export async function openNode (context: CliContext, configFile: string | undefined,
  options: { network: boolean }): Promise<NodeAccess> {
  const config = await loadConfig(configFileOf(context, configFile))
  const api = await connectControl(controlSocketPath(config.dataDir))
  if (api != null) {
    return { api, config, mode: 'control', close: async () => {} }
  }
  const logger = commandLogger(context)
  if (options.network) {
    const garden = new Garden(config, { logger, control: false, web: false })
    await garden.start()
    return { api: garden.api, config, mode: 'in-process', close: async () => { await garden.stop() } }
  }
  const local = await openStoreOnly(config, logger)
  return { api: local.api, config, mode: 'store', close: local.close }
}

/** Runs `work` with the node of a config and closes it afterwards. */
export async function withNode<T> (context: CliContext, configFile: string | undefined, options: { network: boolean },
  work: (access: NodeAccess) => Promise<T>): Promise<T> {
  const access = await openNode(context, configFile, options)
  try {
    return await work(access)
  } finally {
    await access.close()
  }
}

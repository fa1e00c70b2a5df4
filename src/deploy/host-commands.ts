import type { DeploymentModeKind } from '../policy/index.ts'
import { DEFAULT_COMMAND_TIMEOUT_MS } from './types.ts'
import type { DeploySubscription } from './types.ts'

/** Reboots the host when a subscription sets no `commands.reboot`. */
export const DEFAULT_REBOOT_COMMAND: readonly string[] = ['systemctl', 'reboot']

/** A command to run on the host, as an argument array. */
export interface HostCommand {
  argv: readonly string[]
  env: Record<string, string>
  timeoutMs: number
}

/** Subject of a command, passed to it as `SOWER_*` environment variables. */
export interface CommandContext {
  deployment: string
  subscription: DeploySubscription
  /** Store path of the generation being activated (or restored by a rollback). */
  storePath: string
  /** Location of `storePath` on this machine, which differs from it in a store with its own root. */
  realPath: string
  generation: number | null
}

/**
 * Returns the command that activates `context.storePath` in `mode`, or null
 * for `download-only`. Defaults follow NixOS: `switch-to-configuration
 * switch|boot` of a system, `systemctl restart <subscription name>` for a
 * service, the `activate` script of a home environment. A subscription's
 * `commands.activate` replaces the system and home defaults and
 * `commands.restart` the service default. They read `SOWER_ACTION`
 * (`switch`, `boot`, `restart` or `activate`) and `SOWER_STORE_PATH`.
 */
export function activationCommand (mode: DeploymentModeKind, context: CommandContext): HostCommand | null {
  const commands = context.subscription.commands ?? {}
  switch (mode) {
    case 'download-only':
      return null
    case 'switch':
    case 'boot-and-reboot': {
      const action = mode === 'switch' ? 'switch' : 'boot'
      const argv = commands.activate ?? [`${context.realPath}/bin/switch-to-configuration`, action]
      return hostCommand(argv, context, action)
    }
    case 'restart-service':
      return hostCommand(commands.restart ?? ['systemctl', 'restart', context.subscription.name], context, 'restart')
    case 'run-activate':
      return hostCommand(commands.activate ?? [`${context.realPath}/activate`], context, 'activate')
  }
}

/** Returns the subscription's health check command, or null when it has none. */
export function healthCheckCommand (context: CommandContext): HostCommand | null {
  const argv = context.subscription.commands?.healthCheck
  return argv == null ? null : hostCommand(argv, context, 'health_check')
}

export function rebootCommand (context: CommandContext): HostCommand {
  return hostCommand(context.subscription.commands?.reboot ?? DEFAULT_REBOOT_COMMAND, context, 'reboot')
}

function hostCommand (argv: readonly string[], context: CommandContext, action: string): HostCommand {
  return {
    argv,
    timeoutMs: context.subscription.commands?.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    env: {
      SOWER_ACTION: action,
      SOWER_DEPLOYMENT: context.deployment,
      SOWER_SUBSCRIPTION: context.subscription.name,
      SOWER_SEED: context.subscription.seed,
      SOWER_PROFILE: context.subscription.profile,
      SOWER_STORE_PATH: context.storePath,
      SOWER_REAL_PATH: context.realPath,
      SOWER_GENERATION: context.generation === null ? '' : String(context.generation)
    }
  }
}

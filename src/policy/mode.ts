import { PolicyArgumentError } from './errors.ts'
import { isAction, isSeedType, type Action, type SeedType } from './types.ts'

/**
 * Mode in which a garden carries out a permitted action:
 * - `download-only`: stage the closure and change nothing else.
 * - `switch`: `switch-to-configuration switch` on the new system generation.
 * - `boot-and-reboot`: `switch-to-configuration boot`, then reboot.
 * - `restart-service`: restart the service that runs from the closure.
 * - `run-activate`: run the home environment's `activate` script.
 */
export type DeploymentMode =
  | { kind: 'download-only' }
  | { kind: 'switch' }
  | { kind: 'boot-and-reboot' }
  | { kind: 'restart-service' }
  | { kind: 'run-activate' }

export type DeploymentModeKind = DeploymentMode['kind']

export interface ModeOptions {
  /** The release changes the kernel or initrd. Required for `restart` of a `system` seed. */
  bootChanged?: boolean
}

/**
 * Returns the mode for an action on a seed type. `restart` of a `system`
 * seed reboots only when the kernel or initrd changed, and switches otherwise.
 * Throws `PolicyArgumentError` for an unknown action or seed type, or when
 * that case lacks `bootChanged`.
 */
export function modeFor (action: Action, seedType: SeedType, options: ModeOptions = {}): DeploymentMode {
  if (!isAction(action)) {
    throw new PolicyArgumentError(`unknown action "${String(action)}": use stage, activate or restart`)
  }
  if (!isSeedType(seedType)) {
    throw new PolicyArgumentError(`unknown seed type "${String(seedType)}": use system, service or home`)
  }

  if (action === 'stage') return { kind: 'download-only' }
  if (seedType === 'service') return { kind: 'restart-service' }
  if (seedType === 'home') return { kind: 'run-activate' }
  if (action === 'activate') return { kind: 'switch' }
  if (options.bootChanged === undefined) {
    throw new PolicyArgumentError('restart of a system seed needs bootChanged: whether the kernel or initrd changed')
  }
  return options.bootChanged ? { kind: 'boot-and-reboot' } : { kind: 'switch' }
}

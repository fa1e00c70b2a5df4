import { setTimeout as sleep } from 'node:timers/promises'
import type { NodeApi } from '../../garden/index.ts'
import type { DeploymentSummary } from '../../store/index.ts'
import type { CliContext } from '../context.ts'
import { formatDuration } from '../duration.ts'
import { CommandTimeoutError, DeploymentFailedError, InterruptedError } from '../errors.ts'
import { formatTable, println } from '../output.ts'
import { WAITING_STATES, deploymentState, describeDeployment, isSettled } from '../words.ts'

/** Time between two looks at the node's deployments while waiting. */
export const WAIT_POLL_INTERVAL_MS = 1_000

/** One garden that should work on one seed of an intent. */
export interface Target {
  peer: string
  name: string
  seed: string
}

export interface WaitInit {
  intent: string
  targets: Target[]
  timeoutMs: number
  /** Whether a deployment reflects the intent being waited for; a follow-up waits for a change. @default always */
  isAnswered?: (deployment: DeploymentSummary) => boolean
}

function keyOf (peer: string, seed: string): string {
  return `${peer}\n${seed}`
}

/**
 * Polls the node until every target has settled (a result, a denial, or a
 * wait for a confirmation or a window), printing each change, then prints a
 * summary per garden. Throws `DeploymentFailedError` when a target did not
 * succeed, `CommandTimeoutError` after `timeoutMs`, `InterruptedError` on a signal.
 */
export async function waitForTargets (context: CliContext, api: NodeApi, init: WaitInit): Promise<void> {
  const startedMs = context.nowMs()
  const shown = new Map<string, string>()
  let latest = new Map<string, DeploymentSummary>()
  while (true) {
    latest = await currentDeployments(api, init)
    for (const target of init.targets) {
      const deployment = latest.get(keyOf(target.peer, target.seed))
      const words = deployment == null ? 'pending' : describeDeployment(deployment)
      if (shown.get(keyOf(target.peer, target.seed)) !== words && deployment != null) {
        println(context.io, `  ${target.name}: ${target.seed}: ${words}`)
      }
      shown.set(keyOf(target.peer, target.seed), words)
    }
    const open = init.targets.filter(target => {
      const deployment = latest.get(keyOf(target.peer, target.seed))
      return deployment == null || !isSettled(deploymentState(deployment))
    })
    if (open.length === 0) {
      break
    }
    if (context.nowMs() - startedMs >= init.timeoutMs) {
      printSummary(context, init, latest)
      throw new CommandTimeoutError(`${open.length} of ${init.targets.length} target(s) did not report a result within ` +
        `${formatDuration(init.timeoutMs)}: ${open.map(target => target.name).join(', ')}; the intent stays published, ` +
        `follow it with \`sower status --intent ${init.intent}\``)
    }
    try {
      await sleep(WAIT_POLL_INTERVAL_MS, undefined, { signal: context.signal })
    } catch {
      throw new InterruptedError(`stopped waiting; the intent stays published, follow it with \`sower status --intent ${init.intent}\``)
    }
  }
  printSummary(context, init, latest)
  checkOutcome(context, init, latest)
}

async function currentDeployments (api: NodeApi, init: WaitInit): Promise<Map<string, DeploymentSummary>> {
  const byTarget = new Map<string, DeploymentSummary>()
  for (const deployment of await api.deployments({ intent: init.intent })) {
    if (init.isAnswered != null && !init.isAnswered(deployment)) {
      continue
    }
    byTarget.set(keyOf(deployment.garden, deployment.seed), deployment)
  }
  return byTarget
}

function printSummary (context: CliContext, init: WaitInit, latest: Map<string, DeploymentSummary>): void {
  println(context.io)
  const rows = init.targets.map(target => {
    const deployment = latest.get(keyOf(target.peer, target.seed))
    return [target.name, target.seed, deployment == null ? 'no report yet' : describeDeployment(deployment), deployment?.id ?? '-']
  })
  for (const line of formatTable(['garden', 'seed', 'state', 'deployment'], rows)) {
    println(context.io, line)
  }
}

function checkOutcome (context: CliContext, init: WaitInit, latest: Map<string, DeploymentSummary>): void {
  const states = init.targets.map(target => {
    const deployment = latest.get(keyOf(target.peer, target.seed))
    return { target, state: deployment == null ? 'in_progress' : deploymentState(deployment) }
  })
  const failed = states.filter(({ state }) => state !== 'success' && !WAITING_STATES.includes(state))
  const waiting = states.filter(({ state }) => WAITING_STATES.includes(state))
  if (waiting.length > 0) {
    println(context.io, `${waiting.length} target(s) wait for a confirmation or a window: ` +
      `\`sower confirm ${init.intent}\` confirms, \`sower status --intent ${init.intent}\` follows them`)
  }
  if (failed.length > 0) {
    throw new DeploymentFailedError(`${failed.length} of ${init.targets.length} target(s) did not succeed: ` +
      `${failed.map(({ target, state }) => `${target.name} (${target.seed}: ${state.replaceAll('_', ' ')})`).join(', ')}; ` +
      '`sower status --deployment DEP_ID` shows why')
  }
}

import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { connectControl } from '../cli/control-client.ts'
import { CommandTimeoutError, DeploymentFailedError, InterruptedError } from '../cli/errors.ts'
import { formatTable, println } from '../cli/output.ts'
import type { Io } from '../cli/output.ts'
import { deploymentState, describeDeployment, isSettled } from '../cli/words.ts'
import type { DeploymentState } from '../cli/words.ts'
import { buildRelease } from '../garden/index.ts'
import type { DeploymentView, NodeApi } from '../garden/index.ts'
import { nixVersion } from '../nix/index.ts'
import type { SeedType } from '../records/index.ts'
import { NodeProcess } from './processes.ts'
import type { ReadyLine } from './processes.ts'
import { SERVICE_SEED, SYSTEM_SEED, addGardens, buildSeeds, createWorkspace } from './workspace.ts'
import type { DemoGarden, DemoSeeds, DemoWorkspace } from './workspace.ts'

/** Time between two looks at the admin node's view of the deployments. */
const PROGRESS_POLL_MS = 500
/** Sync interval of the demo nodes, shorter than a real fleet's so progress shows quickly. */
const DEMO_SYNC_INTERVAL = '2s'
/** How long the demo's intents stay valid. */
const INTENT_LIFETIME_MS = 24 * 60 * 60 * 1000
/** How long the demo gardens' certificates stay valid. */
const CERTIFICATE_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000

export interface DemoInit {
  io: Io
  signal: AbortSignal
  /** Return once every garden reached its expected end state, instead of serving until a signal. */
  exitWhenDone: boolean
  timeoutMs: number
  /** Keep the workspace folder after the demo stops. */
  keep: boolean
  verbose: boolean
  nowMs?: () => number
}

/** An intent the demo published, and the seed it deploys. */
interface Published {
  id: string
  seed: string
}

/**
 * Runs the local demo fleet: builds a workspace, starts an admin node and
 * four gardens as child processes on 127.0.0.1, deploys two seeds and
 * follows the gardens until each reached the end state its policy leads to.
 * Every child is stopped before it returns or throws.
 */
export async function runDemo (init: DemoInit): Promise<void> {
  const nowMs = init.nowMs ?? Date.now
  const folder = await mkdtemp(join(tmpdir(), 'sower-demo-'))
  const processes: NodeProcess[] = []
  const io = init.io
  println(io, `sower demo: workspace ${folder}`)
  try {
    const deadlineMs = nowMs() + init.timeoutMs
    const { workspace, seeds } = await prepare(io, folder, nowMs())
    const admin = new NodeProcess('admin', workspace.adminConfigFile, workspace.adminLogFile, ['--sync-interval', DEMO_SYNC_INTERVAL])
    processes.push(admin)
    const adminReady = await admin.ready()
    println(io, `admin node ${adminReady.peer} on ${adminReady.addresses.join(' ')} (pid ${String(admin.pid)})`)
    println(io, `web view: ${adminReady.web ?? 'not started'}`)
    const api = await adminApi(adminReady)

    const gardens = await addGardens(workspace, adminReady.addresses, nowMs())
    await enroll(io, api, gardens, nowMs())
    for (const garden of gardens) {
      const child = new NodeProcess(garden.name, garden.configFile, garden.logFile, ['--sync-interval', DEMO_SYNC_INTERVAL])
      processes.push(child)
    }
    await Promise.all(processes.slice(1).map(async child => await child.ready()))
    println(io, `started ${gardens.length} gardens (pids ${processes.slice(1).map(child => String(child.pid)).join(', ')})`)
    await waitForReports(io, api, gardens, deadlineMs, init.signal, nowMs)

    const published = await publishIntents(io, api, workspace, seeds, nowMs())
    await follow(io, api, gardens, published, deadlineMs, init.signal, nowMs)
    println(io)
    println(io, 'every garden reached the end state its policy leads to')
    if (!init.exitWhenDone) {
      println(io, `web view: ${adminReady.web ?? 'not started'} (Ctrl-C stops the demo and every node it started)`)
      await untilAborted(init.signal)
      println(io, 'stopping every node of the demo')
    }
  } catch (err) {
    if (init.signal.aborted) {
      throw new InterruptedError('the demo was interrupted; every node it started is stopped')
    }
    throw err
  } finally {
    await Promise.all(processes.reverse().map(async child => { await child.stop() }))
    if (init.keep) {
      println(io, `kept the workspace ${folder}: \`sower status --config ${join(folder, 'admin', 'config.json')}\` shows the fleet`)
    } else {
      await rm(folder, { recursive: true, force: true })
    }
  }
}

async function prepare (io: Io, folder: string, nowMs: number): Promise<{ workspace: DemoWorkspace, seeds: DemoSeeds }> {
  const version = await nixVersion()
  if (version != null) {
    const workspace = await createWorkspace(folder, 'nix', nowMs)
    try {
      const seeds = await buildSeeds(workspace.adminStore)
      println(io, `Nix ${version} found: every node has its own Nix store under the workspace`)
      printSeeds(io, seeds)
      return { workspace, seeds }
    } catch (err) {
      println(io, `Nix ${version} cannot build in a store under the workspace (${(err as Error).message.split('\n')[0]}); ` +
        'using the plain-files backend instead')
      await rm(folder, { recursive: true, force: true })
      await mkdir(folder, { recursive: true, mode: 0o700 })
    }
  } else {
    println(io, 'nix-store not found on PATH: every node uses the plain-files backend, which keeps the same store layout')
  }
  const workspace = await createWorkspace(folder, 'plain', nowMs)
  const seeds = await buildSeeds(workspace.adminStore)
  printSeeds(io, seeds)
  return { workspace, seeds }
}

function printSeeds (io: Io, seeds: DemoSeeds): void {
  println(io, `built seed ${SYSTEM_SEED}: ${seeds.system}`)
  println(io, `built seed ${SERVICE_SEED}: ${seeds.service}`)
}

async function adminApi (ready: ReadyLine): Promise<NodeApi> {
  if (ready.control == null) {
    throw new Error('the admin node opened no control socket')
  }
  const api = await connectControl(ready.control)
  if (api == null) {
    throw new Error(`the admin node does not accept connections on ${ready.control}`)
  }
  return api
}

async function enroll (io: Io, api: NodeApi, gardens: DemoGarden[], nowMs: number): Promise<void> {
  const info = await api.info({})
  await api.sign({
    type: 'certificate',
    body: { peer: info.peer, name: 'admin', roles: ['admin'], tags: [], expiresAt: new Date(nowMs + CERTIFICATE_LIFETIME_MS).toISOString() }
  })
  println(io, 'enrolled the admin node itself, so that gardens accept its connections')
  for (const garden of gardens) {
    await api.sign({
      type: 'certificate',
      body: { peer: garden.key.id, name: garden.name, roles: ['garden'], tags: garden.tags, expiresAt: new Date(nowMs + CERTIFICATE_LIFETIME_MS).toISOString() }
    })
    println(io, `enrolled ${garden.name}: ${garden.role}`)
  }
}

/** Waits until every garden has sent a report, so the admin node has their subscriptions. */
async function waitForReports (io: Io, api: NodeApi, gardens: DemoGarden[], deadlineMs: number, signal: AbortSignal,
  nowMs: () => number): Promise<void> {
  const peers = new Set(gardens.map(garden => garden.key.id))
  while (true) {
    const reported = (await api.gardens({})).filter(summary => peers.has(summary.peer) && summary.report != null)
    if (reported.length === peers.size) {
      println(io, `all ${peers.size} gardens joined the fleet and reported`)
      return
    }
    if (nowMs() >= deadlineMs) {
      throw new CommandTimeoutError(`only ${reported.length} of ${peers.size} gardens reported to the admin node in time; see the node.log files`)
    }
    await sleep(PROGRESS_POLL_MS, undefined, { signal })
  }
}

async function publishIntents (io: Io, api: NodeApi, workspace: DemoWorkspace, seeds: DemoSeeds, nowMs: number): Promise<Published[]> {
  const plans: Array<{ seed: string, type: SeedType, storePath: string, target: string }> = [
    { seed: SYSTEM_SEED, type: 'system', storePath: seeds.system, target: 'tag:system' },
    { seed: SERVICE_SEED, type: 'service', storePath: seeds.service, target: 'tag:service' }
  ]
  const published: Published[] = []
  for (const plan of plans) {
    const release = await buildRelease(workspace.adminStore, plan)
    const outcome = await api.sign({
      type: 'intent',
      body: {
        action: 'deploy',
        expiresAt: new Date(nowMs + INTENT_LIFETIME_MS).toISOString(),
        targets: [plan.target],
        sequence: await api.nextSequence({ seed: plan.seed }),
        releases: [release]
      }
    })
    println(io, `published intent ${outcome.id}: ${plan.seed} to ${plan.target}, sent to ${outcome.recipients} peer(s)`)
    published.push({ id: outcome.id, seed: plan.seed })
  }
  return published
}

/**
 * Prints each garden's progress until every (garden, seed) reached its
 * expected end state, confirming the deployments that wait for one.
 */
async function follow (io: Io, api: NodeApi, gardens: DemoGarden[], published: Published[], deadlineMs: number,
  signal: AbortSignal, nowMs: () => number): Promise<void> {
  const shown = new Map<string, string>()
  const confirmed = new Set<string>()
  const width = Math.max(...gardens.map(garden => garden.name.length))
  while (true) {
    const states = await currentStates(api, gardens, published)
    for (const { garden, seed, deployment } of states) {
      const words = deployment == null ? 'pending' : describeDeployment(deployment)
      const key = `${garden.name} ${seed}`
      if (deployment != null && shown.get(key) !== words) {
        println(io, `  ${garden.name.padEnd(width)}  ${seed.padEnd(12)}  ${words}`)
        shown.set(key, words)
      }
      if (deployment != null && deploymentState(deployment) === 'confirmation_required' && garden.confirms.includes(seed) && !confirmed.has(key)) {
        confirmed.add(key)
        await confirm(io, api, garden, seed, deployment.intent, nowMs())
      }
    }
    const wrong = states.filter(entry => entry.state != null && isSettled(entry.state) && entry.state !== entry.expected &&
      !(entry.state === 'confirmation_required' && entry.garden.confirms.includes(entry.seed)))
    if (wrong.length > 0) {
      printSummary(io, states)
      throw new DeploymentFailedError(wrong.map(entry => `${entry.garden.name} ended ${entry.seed} in ${entry.state ?? 'no state'}, ` +
        `expected ${entry.expected}`).join('; ') + '; see its node.log in the workspace (run with --keep to keep it)')
    }
    if (states.every(entry => entry.state === entry.expected)) {
      printSummary(io, states)
      return
    }
    if (nowMs() >= deadlineMs) {
      printSummary(io, states)
      throw new CommandTimeoutError('the demo fleet did not reach its expected end states in time; run it with --keep and read the node.log files')
    }
    await sleep(PROGRESS_POLL_MS, undefined, { signal })
  }
}

interface TargetState {
  garden: DemoGarden
  seed: string
  expected: DeploymentState
  deployment: DeploymentView | undefined
  state: DeploymentState | null
}

async function currentStates (api: NodeApi, gardens: DemoGarden[], published: Published[]): Promise<TargetState[]> {
  const byKey = new Map<string, DeploymentView>()
  for (const intent of published) {
    for (const deployment of await api.deployments({ intent: intent.id })) {
      byKey.set(`${deployment.garden} ${deployment.seed}`, deployment)
    }
  }
  return gardens.flatMap(garden => Object.entries(garden.expected).map(([seed, expected]) => {
    const deployment = byKey.get(`${garden.key.id} ${seed}`)
    return { garden, seed, expected, deployment, state: deployment == null ? null : deploymentState(deployment) }
  }))
}

async function confirm (io: Io, api: NodeApi, garden: DemoGarden, seed: string, intent: string, nowMs: number): Promise<void> {
  const outcome = await api.sign({
    type: 'intent',
    body: { action: 'confirm', intent, seeds: [seed], targets: [`name:${garden.name}`], expiresAt: new Date(nowMs + INTENT_LIFETIME_MS).toISOString() }
  })
  println(io, `confirming ${seed} on ${garden.name}, as \`sower confirm ${intent} --seed ${seed} --to ${garden.name}\` does: ${outcome.id}`)
}

function printSummary (io: Io, states: TargetState[]): void {
  println(io)
  const rows = states.map(entry => [
    entry.garden.name, entry.seed, entry.deployment == null ? 'no report yet' : describeDeployment(entry.deployment),
    entry.expected.replaceAll('_', ' '), entry.garden.role
  ])
  for (const line of formatTable(['garden', 'seed', 'state', 'expected', 'policy'], rows)) {
    println(io, line)
  }
}

async function untilAborted (signal: AbortSignal): Promise<void> {
  if (signal.aborted) {
    return
  }
  await new Promise<void>(resolve => { signal.addEventListener('abort', () => { resolve() }, { once: true }) })
}

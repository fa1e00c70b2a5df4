import type { Command } from 'commander'
import type { FeedMarkCheck, GardenOverview, NodeApi, NodeInfo } from '../../garden/index.ts'
import { NotFoundError, OWN_FEED_STATE_LABELS, expiryWarnings } from '../../garden/index.ts'
import type { DeploymentSummary } from '../../store/index.ts'
import { withNode } from '../context.ts'
import type { CliContext, NodeAccessMode } from '../context.ts'
import { formatAgo } from '../duration.ts'
import { formatTable, printJson, println, shortPeer } from '../output.ts'
import type { Io } from '../output.ts'
import { deploymentState, describeDeployment, describeEvent } from '../words.ts'
import { resolvePeer } from './enroll.ts'

export function registerStatusCommand (program: Command, context: CliContext): void {
  program.command('status')
    .description('show the fleet, one garden, one deployment\'s timeline or one intent\'s progress')
    .argument('[garden]', 'a garden\'s name or peer id, to show that garden in detail')
    .option('--deployment <id>', 'show the timeline of deployment dep_...')
    .option('--intent <id>', 'show how far each target got with intent int_...')
    .option('--json', 'print JSON for scripts')
    .option('--config <file>', 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)')
    .action(async (garden: string | undefined, options: { deployment?: string, intent?: string, json?: boolean, config?: string }) => {
      await withNode(context, options.config, { network: false }, async ({ api, mode }) => {
        if (options.deployment != null) {
          await showDeployment(context.io, api, options.deployment, options.json === true)
        } else if (options.intent != null) {
          await showIntent(context, api, options.intent, options.json === true)
        } else if (garden != null) {
          await showGarden(context, api, garden, options.json === true)
        } else {
          await showFleet(context, api, mode, options.json === true)
        }
      })
    })
}

/** Returns the JSON form of a garden's overview that `status --json` prints. */
export function overviewJson (garden: GardenOverview): Record<string, unknown> {
  return {
    peer: garden.peer,
    name: garden.name,
    tags: garden.tags,
    roles: garden.roles,
    member: garden.member,
    revoked: garden.revoked,
    agentVersion: garden.agentVersion ?? null,
    lastSeen: garden.lastSeen ?? null,
    pending: garden.pending,
    latestResult: garden.latestResult ?? null,
    seeds: garden.seeds.map(deployment => ({ ...deployment, state: deploymentState(deployment) }))
  }
}

async function showFleet (context: CliContext, api: NodeApi, mode: NodeAccessMode, json: boolean): Promise<void> {
  const info = await api.info({})
  const overview = await api.overview({})
  if (json) {
    printJson(context.io, {
      fleet: info.fleet,
      rootVersion: info.rootVersion,
      node: info.peer,
      ownFeed: info.ownFeed,
      feedMarks: info.feedMarks,
      rootExpiresAt: info.expiries.rootExpiresAt,
      rootExpired: Date.parse(info.expiries.rootExpiresAt) <= context.nowMs(),
      certificateExpiresAt: info.expiries.certificateExpiresAt,
      gardens: overview.map(overviewJson)
    })
    return
  }
  println(context.io, `fleet ${info.fleet}, root version ${info.rootVersion}, as stored by ${shortPeer(info.peer)} (${describeMode(mode, info)})`)
  if (info.ownFeed != null) {
    println(context.io, describeOwnFeed(info.ownFeed))
  }
  for (const check of info.feedMarks) {
    println(context.io, describeFeedMark(check, info))
  }
  for (const warning of expiryWarnings(info.expiries, info.peer, context.nowMs())) {
    println(context.io, `warning: ${warning.message}`)
  }
  println(context.io)
  if (overview.length === 0) {
    println(context.io, 'no garden known yet: enroll one with `sower enroll PEER_ID --name NAME`')
    return
  }
  const nowMs = context.nowMs()
  const rows = overview.map(garden => [
    gardenLabel(garden),
    garden.agentVersion ?? '-',
    formatAgo(garden.lastSeen, nowMs),
    garden.seeds.length === 0 ? 'never deployed' : garden.seeds.map(deployment => `${deployment.seed}: ${describeDeployment(deployment)}`).join(', '),
    String(garden.pending)
  ])
  for (const line of formatTable(['garden', 'version', 'last seen', 'latest result', 'pending'], rows)) {
    println(context.io, line)
  }
}

function gardenLabel (garden: GardenOverview): string {
  if (garden.revoked) {
    return `${garden.name} (revoked)`
  }
  if (!garden.member) {
    return `${garden.name} (not a member)`
  }
  return garden.roles.includes('garden') || garden.roles.length === 0 ? garden.name : `${garden.name} (${garden.roles.join(', ')})`
}

function describeMode (mode: NodeAccessMode, info: NodeInfo): string {
  if (mode === 'control') {
    return `node running, ${info.connectedMembers} member(s) connected`
  }
  return 'node not running: this is its last stored view'
}

/** Returns the line on the running node's own feed: its state, how far the store and the mark go, and why it waits or fails. */
function describeOwnFeed (status: NonNullable<NodeInfo['ownFeed']>): string {
  const line = `own feed ${OWN_FEED_STATE_LABELS[status.state]} (${describeSeqs(status.storedSeq, status.markSeq)})`
  return status.detail == null ? line : `${line}: ${status.detail}`
}

/**
 * Returns the line on one feed head mark of a node's key files: whether the
 * store has the feed up to the mark, and the fix when it does not.
 */
function describeFeedMark (check: FeedMarkCheck, info: NodeInfo): string {
  const admin = info.admins.find(candidate => candidate.key === check.author)
  const feed = check.feed === 'own'
    ? 'own feed'
    : `admin key ${admin == null ? check.author : `${admin.name} (${check.author})`}`
  const state = check.complete ? 'complete' : 'behind its feed head mark'
  const line = `${feed} ${state} (${describeSeqs(check.storedSeq, check.markSeq)})`
  const notes = [check.markProblem, check.detail].filter(note => note != null)
  return notes.length === 0 ? line : `${line}: ${notes.join('. ')}`
}

function describeSeqs (storedSeq: number, markSeq: number | null): string {
  const stored = storedSeq === 0 ? 'no record stored' : `stored up to seq ${storedSeq}`
  return `${stored}, ${markSeq == null ? 'no feed head mark' : `mark at seq ${markSeq}`}`
}

async function showGarden (context: CliContext, api: NodeApi, garden: string, json: boolean): Promise<void> {
  const peer = resolvePeer(garden, await api.gardens({}))
  const detail = await api.garden({ peer })
  if (detail == null) {
    throw new NotFoundError(`garden ${garden} is not known to this node; \`sower status\` lists the gardens it knows`)
  }
  const deployments = await api.deployments({ garden: peer, limit: 20 })
  if (json) {
    printJson(context.io, { ...detail, deployments: deployments.map(deployment => ({ ...deployment, state: deploymentState(deployment) })) })
    return
  }
  const { summary, report } = detail
  const nowMs = context.nowMs()
  const io = context.io
  println(io, `garden ${summary.name} (${summary.peer})`)
  println(io, `  tags: ${summary.tags.join(', ') || 'none'}; roles: ${summary.roles.join(', ') || 'none'}`)
  println(io, `  membership: ${describeMembership(detail.member, detail.memberReason, summary)}`)
  println(io, `  version ${summary.agentVersion ?? 'unknown'}, last seen ${formatAgo(summary.lastSeen, nowMs)}`)
  if (summary.addresses.length > 0) {
    println(io, `  addresses: ${summary.addresses.join(' ')}`)
  }
  println(io)
  if (report == null) {
    println(io, 'no report received from this garden yet')
  } else {
    printSubscriptions(io, report)
  }
  println(io)
  printDeployments(io, deployments, nowMs)
}

function describeMembership (member: boolean, reason: string | null, summary: { revoked: boolean, revokedAt?: string, certificateExpiresAt?: string }): string {
  if (summary.revoked) {
    return `revoked at ${summary.revokedAt ?? 'unknown time'}`
  }
  if (member) {
    return `member until ${summary.certificateExpiresAt ?? 'unknown'}`
  }
  return `not a member: ${reason ?? 'unknown reason'}`
}

function printSubscriptions (io: Io, report: NonNullable<Awaited<ReturnType<NodeApi['garden']>>>['report'] & object): void {
  const rows = report.subscriptions.map(subscription => [
    subscription.name, subscription.seed, subscription.type, subscription.profile, Object.keys(subscription.policy).join(', ')
  ])
  println(io, 'subscriptions:')
  for (const line of formatTable(['name', 'seed', 'type', 'profile', 'policy rules'], rows)) {
    println(io, `  ${line}`)
  }
  for (const profile of report.profiles) {
    const generations = profile.generations.slice(-5).reverse()
      .map(generation => `${generation.number}${generation.current ? ' (current)' : ''} ${generation.storePath}`)
    println(io, `profile ${profile.profile} (${profile.seed}):`)
    for (const line of generations) {
      println(io, `  generation ${line}`)
    }
    if (profile.drift.length > 0) {
      println(io, `  generations made outside Sower: ${profile.drift.join(', ')}`)
    }
  }
}

function printDeployments (io: Io, deployments: DeploymentSummary[], nowMs: number): void {
  if (deployments.length === 0) {
    println(io, 'no deployments yet')
    return
  }
  println(io, 'deployments, newest first:')
  const rows = deployments.map(deployment => [
    deployment.id, deployment.seed, deployment.trigger ?? '-', describeDeployment(deployment), formatAgo(deployment.updatedAt, nowMs)
  ])
  for (const line of formatTable(['deployment', 'seed', 'trigger', 'state', 'updated'], rows)) {
    println(io, `  ${line}`)
  }
}

async function showDeployment (io: Io, api: NodeApi, id: string, json: boolean): Promise<void> {
  const detail = await api.deployment({ id })
  if (detail == null) {
    throw new NotFoundError(`deployment ${id} is not known to this node; \`sower status GARDEN\` lists a garden's deployments`)
  }
  if (json) {
    printJson(io, { ...detail, state: deploymentState(detail.summary) })
    return
  }
  const names = await adminNames(api)
  const { summary } = detail
  const gardens = await api.gardens({})
  const garden = gardens.find(candidate => candidate.peer === summary.garden)
  println(io, `deployment ${summary.id}`)
  println(io, `  garden ${garden?.name ?? summary.garden}, seed ${summary.seed}, intent ${summary.intent}`)
  println(io, `  state: ${describeDeployment(summary)}`)
  println(io)
  for (const event of detail.events) {
    println(io, `${event.issuedAt}  ${describeEvent(event, names)}`)
  }
}

async function adminNames (api: NodeApi): Promise<Map<string, string>> {
  const info = await api.info({})
  return new Map(info.admins.map(admin => [admin.key, `admin ${admin.name}`]))
}

async function showIntent (context: CliContext, api: NodeApi, id: string, json: boolean): Promise<void> {
  const intent = await api.intent({ id })
  if (intent == null) {
    throw new NotFoundError(`intent ${id} is not known to this node; the web view's Intents page lists the intents it stores`)
  }
  const deployments = await api.deployments({ intent: id })
  const gardens = new Map((await api.gardens({})).map(garden => [garden.peer, garden.name]))
  if (json) {
    printJson(context.io, {
      ...intent,
      deployments: deployments.map(deployment => ({ ...deployment, gardenName: gardens.get(deployment.garden) ?? null, state: deploymentState(deployment) }))
    })
    return
  }
  const body = intent.record.body as { action: string, targets: string[], issuedAt: string, expiresAt: string }
  println(context.io, `intent ${id}: ${body.action} to ${body.targets.join(' ')}, issued ${body.issuedAt}, expires ${body.expiresAt}`)
  const nowMs = context.nowMs()
  const rows = deployments.map(deployment => [
    gardens.get(deployment.garden) ?? shortPeer(deployment.garden), deployment.seed, describeDeployment(deployment),
    formatAgo(deployment.updatedAt, nowMs), deployment.id
  ])
  if (rows.length === 0) {
    println(context.io, 'no garden has reported on it yet')
    return
  }
  for (const line of formatTable(['garden', 'seed', 'state', 'updated', 'deployment'], rows)) {
    println(context.io, line)
  }
}

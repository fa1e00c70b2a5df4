import type { Command } from 'commander'
import { buildRelease, createBackend, resolveStorePath } from '../../garden/index.ts'
import type { GardenSummary, DeploymentSummary } from '../../store/index.ts'
import type { NodeApi, PublishOutcome } from '../../garden/index.ts'
import { NotFoundError } from '../../garden/index.ts'
import { SEED_TYPES, nameSchema } from '../../records/index.ts'
import type { DeployIntentBody, SeedType } from '../../records/index.ts'
import { withNode } from '../context.ts'
import type { CliContext } from '../context.ts'
import { parseDuration, parseTimeFromNow } from '../duration.ts'
import { UsageError } from '../errors.ts'
import { println } from '../output.ts'
import { resolveSelector, selectGardens } from '../selectors.ts'
import { printDelivery } from './enroll.ts'
import { waitForTargets } from './wait.ts'
import type { Target } from './wait.ts'
import { deploymentState } from '../words.ts'
import type { DeploymentState } from '../words.ts'

const DEFAULT_INTENT_EXPIRY = '7d'
const DEFAULT_TIMEOUT = '10m'
const CONFIG_HELP = 'node config with the admin keys (default: $SOWER_CONFIG or /etc/sower/config.json)'

const SELECTOR_HELP = `
Targets (--to, repeatable): * (every garden), name:GARDEN, tag:TAG, peer:PEER_ID,
a bare peer id, or a bare word, which means name:WORD when a known garden has
that name and tag:WORD when a known garden has that tag.`

function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

/** Reads `--timeout`: a duration such as `10m`, or a number of seconds. */
export function parseTimeout (value: string): number {
  return /^\d+$/.test(value.trim()) ? Number(value) * 1000 : parseDuration(value)
}

interface WaitOptions {
  wait: boolean
  timeout: string
  config?: string
  signer?: string
  expires: string
}

export function registerDeployCommands (program: Command, context: CliContext): void {
  program.command('deploy')
    .description('sign and publish an intent to deploy a store path, then wait until every target has reported')
    .argument('<seed>', 'seed name, as gardens\' subscriptions name it')
    .argument('<path>', 'the ./result link of nix build, or a /nix/store path')
    .requiredOption('--to <target>', 'target gardens, repeatable (see below)', collect)
    .requiredOption('--type <type>', `seed type: ${SEED_TYPES.join(', ')}`)
    .option('--expires <duration>', 'how long gardens may still apply the intent, e.g. 7d, or a UTC date', DEFAULT_INTENT_EXPIRY)
    .option('--no-wait', 'return after publishing, with the number of pending targets')
    .option('--timeout <duration>', 'how long to wait for the targets, e.g. 10m or 600 (seconds)', DEFAULT_TIMEOUT)
    .option('--signer <admin>', 'admin name or key id to sign with (default: the first admin key that may)')
    .option('--config <file>', CONFIG_HELP)
    .addHelpText('after', SELECTOR_HELP)
    .action(async (seed: string, path: string, options: WaitOptions & { to: string[], type: string }) => {
      checkSeed(seed)
      const type = parseSeedType(options.type)
      const timeoutMs = parseTimeout(options.timeout)
      await withNode(context, options.config, { network: options.wait }, async ({ api, config, mode }) => {
        const backend = createBackend(config.nix)
        const storePath = await resolveStorePath(path, backend)
        const release = await buildRelease(backend, { seed, type, storePath })
        const gardens = await api.gardens({})
        const targets = options.to.map(value => resolveSelector(value, gardens))
        const sequence = await api.nextSequence({ seed })
        const body = {
          action: 'deploy' as const,
          expiresAt: parseTimeFromNow(options.expires, context.nowMs()),
          targets,
          sequence,
          releases: [release]
        }
        const outcome = await api.sign({ type: 'intent', body, ...signer(options) })
        println(context.io, `published intent ${outcome.id}: ${seed} ${storePath} (sequence ${sequence}, ` +
          `${release.manifest.length} paths, ${release.narSize} bytes) to ${targets.join(' ')}`)
        printDelivery(context.io, outcome, 'intent')
        const expected = expectedTargets(gardens, targets, [seed], await subscribedSeeds(api, gardens))
        await finish(context, api, outcome, expected, { ...options, timeoutMs, inProcess: mode === 'in-process' })
      })
    })

  for (const action of ['retry', 'cancel', 'confirm'] as const) {
    program.command(action)
      .description(FOLLOW_UP_HELP[action])
      .argument('<intent>', action === 'confirm'
        ? 'id of the deploy intent (int_...), or of a deployment on this node (dep_...) to confirm as its operator'
        : 'id of the deploy intent (int_...)')
      .option('--seed <seed>', 'only this seed of the intent, repeatable (default: all its seeds)', collect, [])
      .option('--to <target>', 'only these targets, repeatable (default: the intent\'s targets)', collect, [])
      .option('--expires <duration>', 'how long gardens may still apply it, e.g. 1d, or a UTC date', DEFAULT_INTENT_EXPIRY)
      .option('--no-wait', 'return after publishing')
      .option('--timeout <duration>', 'how long to wait for the targets, e.g. 10m or 600 (seconds)', DEFAULT_TIMEOUT)
      .option('--signer <admin>', 'admin name or key id to sign with (default: the first admin key that may)')
      .option('--config <file>', CONFIG_HELP)
      .addHelpText('after', SELECTOR_HELP)
      .action(async (intent: string, options: WaitOptions & { seed: string[], to: string[] }) => {
        const timeoutMs = parseTimeout(options.timeout)
        if (action === 'confirm' && intent.startsWith('dep_')) {
          await confirmHere(context, intent, options.config)
          return
        }
        await withNode(context, options.config, { network: options.wait }, async ({ api, mode }) => {
          await followUp(context, api, action, intent, { ...options, timeoutMs, inProcess: mode === 'in-process' })
        })
      })
  }
}

const FOLLOW_UP_HELP = {
  retry: 'sign a retry of a deploy intent: gardens try again, with the user_retry trigger',
  cancel: 'sign a cancel of a deploy intent: gardens stop deployments that have not activated yet',
  confirm: 'sign a confirm of a deploy intent: gardens that wait for a confirmation go ahead'
} as const

/** Confirms a deployment of the node that the config names, as an operator on it, without a signed intent. */
async function confirmHere (context: CliContext, deployment: string, config: string | undefined): Promise<void> {
  await withNode(context, config, { network: false }, async ({ api }) => {
    const { confirmed } = await api.confirmHere({ deployment })
    if (!confirmed) {
      throw new NotFoundError(`deployment ${deployment} of this garden does not wait for a confirmation; ` +
        `\`sower status --deployment ${deployment}\` shows its state`)
    }
    println(context.io, `confirmed ${deployment} as the operator of this garden`)
  })
}

function checkSeed (seed: string): void {
  if (!nameSchema.safeParse(seed).success) {
    throw new UsageError(`invalid seed name "${seed}": use letters, digits, ".", "_" or "-", starting with a letter or digit`)
  }
}

function parseSeedType (value: string): SeedType {
  if (!(SEED_TYPES as readonly string[]).includes(value)) {
    throw new UsageError(`unknown seed type "${value}": use ${SEED_TYPES.join(', ')}`)
  }
  return value as SeedType
}

function signer (options: { signer?: string }): { signer?: string } {
  return options.signer == null ? {} : { signer: options.signer }
}

/** Seeds each garden subscribes to, from its newest report; absent for gardens without a report. */
async function subscribedSeeds (api: NodeApi, gardens: GardenSummary[]): Promise<Map<string, Set<string>>> {
  const seeds = new Map<string, Set<string>>()
  for (const garden of gardens) {
    if (garden.report == null) {
      continue
    }
    const detail = await api.garden({ peer: garden.peer })
    if (detail?.report != null) {
      seeds.set(garden.peer, new Set(detail.report.subscriptions.map(subscription => subscription.seed)))
    }
  }
  return seeds
}

/**
 * Returns the (garden, seed) pairs to wait for: member gardens that the selectors
 * match and that subscribe to the seed, or have not reported their
 * subscriptions yet.
 */
export function expectedTargets (gardens: GardenSummary[], selectors: string[], seeds: string[],
  subscribed: Map<string, Set<string>>): Target[] {
  const matched = selectGardens(gardens.filter(garden => !garden.revoked && garden.roles.includes('garden')), selectors)
  return matched.flatMap(garden => seeds
    .filter(seed => subscribed.get(garden.peer)?.has(seed) ?? true)
    .map(seed => ({ peer: garden.peer, name: garden.name, seed })))
}

interface FinishOptions {
  wait: boolean
  timeoutMs: number
  inProcess: boolean
}

async function finish (context: CliContext, api: NodeApi, outcome: PublishOutcome, expected: Target[],
  options: FinishOptions, isAnswered?: (deployment: DeploymentSummary) => boolean): Promise<void> {
  if (expected.length === 0) {
    println(context.io, 'no known member garden matches the targets and subscribes to the seed: nothing to wait for')
    return
  }
  if (!options.wait) {
    println(context.io, `${expected.length} target(s) pending; follow them with \`sower status --intent ${outcome.id}\``)
    return
  }
  if (!outcome.networked) {
    println(context.io, 'the node is not running, so no garden can report back; run `sower node` to send the intent')
    return
  }
  println(context.io, `waiting for ${expected.length} target(s), at most ${Math.round(options.timeoutMs / 1000)} s` +
    `${options.inProcess ? ' (the node runs in this command until then)' : ''}`)
  await waitForTargets(context, api, { intent: outcome.id, targets: expected, timeoutMs: options.timeoutMs, isAnswered })
}

async function followUp (context: CliContext, api: NodeApi, action: 'retry' | 'cancel' | 'confirm', intentId: string,
  options: WaitOptions & FinishOptions & { seed: string[], to: string[] }): Promise<void> {
  const found = await api.intent({ id: intentId })
  if (found == null) {
    throw new NotFoundError(`intent ${intentId} is not known to this node; \`sower status --intent ID\` shows what it stores`)
  }
  const original = found.record.body as DeployIntentBody
  if (original.action !== 'deploy') {
    throw new UsageError(`intent ${intentId} is a ${original.action}; ${action} refers to a deploy intent`)
  }
  const seeds = options.seed.length > 0 ? options.seed : original.releases.map(release => release.seed)
  const unknownSeed = seeds.find(seed => !original.releases.some(release => release.seed === seed))
  if (unknownSeed != null) {
    throw new UsageError(`intent ${intentId} has no seed ${unknownSeed}; its seeds: ${original.releases.map(release => release.seed).join(', ')}`)
  }
  const gardens = await api.gardens({})
  const targets = options.to.length > 0 ? options.to.map(value => resolveSelector(value, gardens)) : original.targets
  const before = new Map((await api.deployments({ intent: intentId })).map(deployment => [deployment.id, deployment]))
  const body = { action, intent: intentId, seeds, expiresAt: parseTimeFromNow(options.expires, context.nowMs()), targets }
  const outcome = await api.sign({ type: 'intent', body, ...signer(options) })
  println(context.io, `published ${action} ${outcome.id} of ${intentId} for ${seeds.join(', ')} to ${targets.join(' ')}`)
  printDelivery(context.io, outcome, 'intent')

  const awaited = [...before.values()].filter(deployment => seeds.includes(deployment.seed) &&
    AWAITED_STATES[action].includes(deploymentState(deployment)))
  const targetGardens = new Set(selectGardens(gardens, targets).map(garden => garden.peer))
  const expected = awaited
    .filter(deployment => targetGardens.has(deployment.garden))
    .map(deployment => ({ peer: deployment.garden, name: gardens.find(garden => garden.peer === deployment.garden)?.name ?? deployment.garden, seed: deployment.seed }))
  const isAnswered = (deployment: DeploymentSummary): boolean => {
    const previous = before.get(deployment.id)
    return previous == null || previous.updatedAt !== deployment.updatedAt || previous.lastEvent !== deployment.lastEvent
  }
  await finish(context, api, { ...outcome, id: intentId }, expected, options, isAnswered)
}

/** Deployments that a follow-up can change, by its action; the others are not waited for. */
const AWAITED_STATES: Record<'retry' | 'cancel' | 'confirm', DeploymentState[]> = {
  retry: ['failure', 'partial', 'policy_denied', 'staged_only', 'canceled', 'superseded', 'waiting_for_window', 'confirmation_required'],
  cancel: ['in_progress', 'waiting_for_window', 'confirmation_required'],
  confirm: ['confirmation_required']
}

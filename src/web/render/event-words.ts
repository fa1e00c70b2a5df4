import type { EventBody } from '../../records/index.ts'
import { formatBytes, shortId } from './format.ts'
import { actorLabel, formatWindowOpening } from './wording.ts'
import type { AdminNames } from './wording.ts'

/*
 * Sentences of a deployment's timeline. Each reads the detail fields that
 * the deployment engine records for its event kind (docs/DEPLOYMENT.md),
 * and falls back to a shorter sentence when a field is missing.
 */

/** The tone of a timeline entry, which sets its style. */
export type Tone = 'info' | 'ok' | 'failure' | 'policy' | 'confirm' | 'waiting' | 'neutral'

export interface EventDescription {
  title: string
  tone: Tone
}

type Detail = NonNullable<EventBody['detail']>

function text (detail: Detail | undefined, key: string): string | undefined {
  const value = detail?.[key]
  if (typeof value === 'string' && value !== '') return value
  if (typeof value === 'number') return String(value)
  return undefined
}

function numberOf (detail: Detail | undefined, key: string): number | undefined {
  const value = detail?.[key]
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined
}

const RECEIVED_BY_TRIGGER: Record<string, string> = {
  realtime: 'Received by gossip while online',
  poll_on_connect: 'Received by sync after connecting',
  schedule: 'Started when its window opened',
  user_retry: 'Received as a signed retry'
}

/** Arrivals named by the `reason` detail, which sets a bundle import apart from sync. */
const RECEIVED_BY_REASON: Record<string, string> = {
  gossip: 'Received by gossip while online',
  sync: 'Received by sync after connecting',
  import: 'Received in an imported bundle',
  window_opened: 'Started when its window opened',
  retry: 'Received as a signed retry'
}

function lookup (words: Record<string, string>, key: string | undefined): string | undefined {
  return key != null && Object.hasOwn(words, key) ? words[key] : undefined
}

/** `Received by gossip while online, signed by admin alice`; the policy starts a deployment when its window opens. */
function describeReceived (event: EventBody, admins: AdminNames): string {
  const arrival = lookup(RECEIVED_BY_REASON, text(event.detail, 'reason')) ??
    lookup(RECEIVED_BY_TRIGGER, event.trigger) ?? 'Received'
  const signer = event.actor != null && event.actor !== 'policy' ? actorLabel(event.actor, admins) : undefined
  const sentence = signer != null ? `${arrival}, signed by ${signer}` : arrival
  return event.detail?.expiryChecked === false
    ? `${sentence}. Its expiry was not checked, because the garden's clock is marked unreliable`
    : sentence
}

/** Returns the trigger named by the event, its detail, or the deployment. */
function triggerOf (event: EventBody, deploymentTrigger: string | undefined): string {
  return event.trigger ?? text(event.detail, 'trigger') ?? deploymentTrigger ?? 'this trigger'
}

function describePolicyEnd (event: EventBody, deploymentTrigger: string | undefined): string {
  const trigger = triggerOf(event, deploymentTrigger)
  if (event.detail?.staged === true) {
    return `Staged only: the policy permits only staging on ${trigger}, so nothing was activated`
  }
  const reason = text(event.detail, 'reason')
  return `Policy denied: ${reason ?? `no rule permits any action on ${trigger}`}`
}

function ruleSuffix (detail: Detail | undefined): string {
  const rule = text(detail, 'rule')
  return rule != null ? ` (rule ${rule})` : ''
}

function describeWaiting (event: EventBody): string {
  const opensAt = text(event.detail, 'opensAt')
  const action = text(event.detail, 'action')
  const purpose = action != null ? ` to ${action}` : ''
  if (opensAt == null) return `Waiting for the policy window to open${purpose}`
  const opening = formatWindowOpening(opensAt, text(event.detail, 'zone'))
  return `Waiting for the window opening ${opening}${purpose}${ruleSuffix(event.detail)}`
}

const ACTION_NOUNS: Record<string, string> = {
  stage: 'staging',
  activate: 'activation',
  restart: 'a restart'
}

function describeConfirmationRequired (detail: Detail | undefined): string {
  const action = text(detail, 'action')
  const before = action != null ? ` before ${lookup(ACTION_NOUNS, action) ?? action}` : ''
  const meanwhile = detail?.stageNow === true ? ', and the closure is staged meanwhile' : ''
  return `Confirmation required${before}${ruleSuffix(detail)}${meanwhile}`
}

function byActor (verb: string, event: EventBody, admins: AdminNames): string {
  const actor = actorLabel(event.actor, admins)
  return actor != null ? `${verb} by ${actor}` : verb
}

function describeStaging (detail: Detail | undefined): string {
  const received = numberOf(detail, 'bytesReceived')
  const expected = numberOf(detail, 'bytesExpected')
  if (expected == null) return 'Staging the closure'
  if (received == null || received === 0) return `Staging the closure of ${formatBytes(expected)}`
  const source = text(detail, 'source')
  const from = source != null ? ` from ${shortId(source, 24)}` : ''
  return `Staging the closure: ${formatBytes(received)} of ${formatBytes(expected)} received${from}`
}

function describeStaged (detail: Detail | undefined): string {
  const bytes = numberOf(detail, 'bytes')
  const size = bytes != null && bytes > 0 ? `, ${formatBytes(bytes)}` : ''
  switch (text(detail, 'source')) {
    case 'present': return 'Staged the closure: it was already in the local store'
    case 'peer': {
      const peer = text(detail, 'peer')
      return `Staged the closure from ${peer != null ? `peer ${shortId(peer, 16)}` : 'a peer'}${size}`
    }
    case 'cache': return `Staged the closure from a binary cache${size}`
    default: return 'Staged the closure'
  }
}

/** Words for the change each activation mode makes to the host, written after "Activating: ". */
const MODE_WORDS: Record<string, string> = {
  switch: 'switching the system configuration',
  'boot-and-reboot': 'setting the next boot entry and rebooting',
  'restart-service': 'restarting the service',
  'run-activate': 'running the activate script',
  'download-only': 'nothing, the closure is only staged'
}

function describeActivating (detail: Detail | undefined): string {
  const mode = text(detail, 'mode')
  const how = mode != null ? `: ${lookup(MODE_WORDS, mode) ?? mode}` : ''
  const previous = numberOf(detail, 'previousGeneration')
  return `Activating${how}${previous != null ? `, replacing generation ${previous}` : ''}`
}

function describeActivated (detail: Detail | undefined): string {
  const generation = text(detail, 'generation')
  const activated = generation != null ? `Activated generation ${generation}` : 'Activated'
  return detail?.reboot === true ? `${activated} as the next boot entry, and the host reboots` : activated
}

/** Names how a host command failed, in the engine's words: `timed out`, `was killed by SIGTERM`, `exited with status 1`. */
function commandProblem (detail: Detail | undefined): string | undefined {
  if (detail?.timedOut === true) return 'timed out'
  const signal = text(detail, 'signal')
  if (signal != null) return `was killed by ${signal}`
  const exitCode = numberOf(detail, 'exitCode')
  return exitCode != null && exitCode !== 0 ? `exited with status ${exitCode}` : undefined
}

function describeHealthCheck (detail: Detail | undefined): EventDescription {
  if (detail?.ok !== false) return { title: 'Health check passed', tone: 'info' }
  const problem = commandProblem(detail)
  return { title: problem != null ? `Health check failed: it ${problem}` : 'Health check failed', tone: 'failure' }
}

function describeRolledBack (detail: Detail | undefined): string {
  const generation = text(detail, 'generation')
  const rolledBack = `Rolled back to ${generation != null ? `generation ${generation}` : 'the previous generation'}`
  if (detail?.ok !== false) return rolledBack
  const problem = commandProblem(detail)
  return `${rolledBack}, but its activation command ${problem ?? 'failed'}`
}

function describeSuccess (detail: Detail | undefined): string {
  if (detail?.noop === true) return 'Finished: success, the release was already the current generation'
  if (detail?.windowSkipped === true) return 'Finished: success, and a newer intent replaces the reboot still waiting for its window'
  const generation = text(detail, 'generation')
  const current = generation != null ? `, generation ${generation} is current` : ''
  return detail?.rebooted === true ? `Finished: success after a reboot${current}` : `Finished: success${current}`
}

function describeFailure (detail: Detail | undefined): string {
  const reason = text(detail, 'reason')
  const failed = reason != null ? `Failed: ${reason}` : 'Failed'
  return detail?.rolledBack === true ? `${failed}. Rolled back to the previous generation` : failed
}

function describeResult (event: EventBody): EventDescription {
  switch (event.result) {
    case 'success': return { title: describeSuccess(event.detail), tone: 'ok' }
    case 'partial': return { title: 'Finished: partial, some seeds failed', tone: 'failure' }
    case 'canceled': return { title: 'Finished: canceled', tone: 'neutral' }
    case 'superseded': return { title: 'Finished: superseded by a newer intent', tone: 'neutral' }
    default: return { title: describeFailure(event.detail), tone: 'failure' }
  }
}

function describeRetry (event: EventBody, admins: AdminNames): string {
  const attempt = numberOf(event.detail, 'attempt')
  const requested = byActor('Retry requested', event, admins)
  return attempt != null ? `${requested}, attempt ${attempt}` : requested
}

function describeSuperseded (detail: Detail | undefined): string {
  const reason = text(detail, 'reason')
  return reason != null ? `Superseded: ${reason}` : 'Superseded by a newer intent for this seed'
}

/**
 * Describes one deployment event in plain words, e.g. "Policy denied: no
 * rule of subscription web permits any action on realtime".
 * `deploymentTrigger` names the trigger when the event itself carries none.
 */
export function describeEvent (event: EventBody, admins: AdminNames, deploymentTrigger?: string): EventDescription {
  const detail = event.detail
  switch (event.kind) {
    case 'received': return { title: describeReceived(event, admins), tone: 'info' }
    case 'policy_denied': return { title: describePolicyEnd(event, deploymentTrigger), tone: 'policy' }
    case 'waiting_for_window': return { title: describeWaiting(event), tone: 'waiting' }
    case 'confirmation_required': return { title: describeConfirmationRequired(detail), tone: 'confirm' }
    case 'confirmed': return { title: byActor('Confirmed', event, admins), tone: 'info' }
    case 'staging': return { title: describeStaging(detail), tone: 'info' }
    case 'staged': return { title: describeStaged(detail), tone: 'info' }
    case 'activating': return { title: describeActivating(detail), tone: 'info' }
    case 'activated': return { title: describeActivated(detail), tone: 'info' }
    case 'health_check': return describeHealthCheck(detail)
    case 'rolled_back': return { title: describeRolledBack(detail), tone: 'failure' }
    case 'result': return describeResult(event)
    case 'canceled': return { title: byActor('Canceled', event, admins), tone: 'neutral' }
    case 'superseded': return { title: describeSuperseded(detail), tone: 'neutral' }
    case 'retry': return { title: describeRetry(event, admins), tone: 'info' }
    default: return { title: String(event.kind), tone: 'info' }
  }
}

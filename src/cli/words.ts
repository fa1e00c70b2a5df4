import type { EventKind } from '../records/index.ts'
import type { DeploymentView, EventView } from '../garden/index.ts'

/**
 * State of a deployment as one word for scripts (`status --json`): its
 * result, `policy_denied`, `staged_only`, `confirmation_required`,
 * `waiting_for_window`, or `in_progress`.
 */
export type DeploymentState =
  | 'success' | 'partial' | 'failure' | 'canceled' | 'superseded'
  | 'policy_denied' | 'staged_only' | 'confirmation_required' | 'waiting_for_window' | 'in_progress'

/**
 * States in which a garden did what its policy permits for now: it waits
 * for a person or a window, or its policy permits staging only. They are
 * neither success nor failure.
 */
export const WAITING_STATES: readonly DeploymentState[] = ['confirmation_required', 'waiting_for_window', 'staged_only']

type StateFields = Pick<DeploymentView, 'result' | 'lastEvent' | 'policyEnd' | 'waiting' | 'stagedOnly' | 'awaitingConfirmation'>

export function deploymentState (deployment: StateFields): DeploymentState {
  if (deployment.policyEnd != null) {
    return deployment.policyEnd
  }
  // A summary stored before `policyEnd` existed still ends with its policy_denied event.
  if (deployment.lastEvent === 'policy_denied') {
    return deployment.stagedOnly === true ? 'staged_only' : 'policy_denied'
  }
  if (deployment.result != null) {
    return deployment.result
  }
  if (deployment.waiting != null) {
    return deployment.waiting.kind === 'confirmation' ? 'confirmation_required' : 'waiting_for_window'
  }
  // A summary stored before `waiting` existed leaves the wait to its events and its last event.
  if (deployment.awaitingConfirmation === true) {
    return 'confirmation_required'
  }
  if (deployment.lastEvent === 'confirmation_required' || deployment.lastEvent === 'waiting_for_window') {
    return deployment.lastEvent
  }
  return 'in_progress'
}

/** Returns whether a garden is done with a deployment for now: a result, a denial, or a wait for a person or a window. */
export function isSettled (state: DeploymentState): boolean {
  return state !== 'in_progress'
}

const STATE_WORDS: Record<DeploymentState, string> = {
  success: 'success',
  partial: 'partial',
  failure: 'failure',
  canceled: 'canceled',
  superseded: 'superseded',
  policy_denied: 'policy denied',
  staged_only: 'staged only (policy permits no activation)',
  confirmation_required: 'confirmation required',
  waiting_for_window: 'waiting for window',
  in_progress: 'in progress'
}

/** Describes the state in words for tables, with the step of one in progress. */
export function describeDeployment (deployment: StateFields): string {
  const state = deploymentState(deployment)
  if (state === 'in_progress') {
    return `in progress (${eventWords(deployment.lastEvent)})`
  }
  return STATE_WORDS[state]
}

const EVENT_WORDS: Record<EventKind, string> = {
  received: 'received',
  policy_denied: 'policy denied',
  waiting_for_window: 'waiting for window',
  confirmation_required: 'confirmation required',
  confirmed: 'confirmed',
  staging: 'staging',
  staged: 'staged',
  activating: 'activating',
  activated: 'activated',
  health_check: 'health check',
  rolled_back: 'rolled back',
  result: 'result',
  canceled: 'canceled',
  superseded: 'superseded',
  retry: 'retry'
}

export function eventWords (kind: EventKind): string {
  return EVENT_WORDS[kind] ?? kind
}

/** Names an event's step; a `policy_denied` event that marks the closure as staged reads as staged only. */
function stepWords (event: EventView): string {
  if (event.kind === 'policy_denied' && event.detail?.staged === true) {
    return 'staged only'
  }
  return eventWords(event.kind)
}

/** Describes an event for a timeline line: the step, its result and trigger, who caused it, and its details. */
export function describeEvent (event: EventView, names: ReadonlyMap<string, string>): string {
  const parts = [event.result == null ? stepWords(event) : `${stepWords(event)}: ${event.result}`]
  if (event.trigger != null) {
    parts.push(`trigger ${event.trigger}`)
  }
  if (event.actor != null) {
    parts.push(`by ${names.get(event.actor) ?? event.actor}`)
  }
  const detail = Object.entries(event.detail ?? {})
    .filter(([, value]) => value != null && value !== '')
    .map(([key, value]) => `${key}=${formatValue(value)}`)
  if (detail.length > 0) {
    parts.push(detail.join(' '))
  }
  return parts.join(', ')
}

function formatValue (value: string | number | boolean | null): string {
  const text = String(value)
  const oneLine = text.includes('\n') ? text.split('\n').filter(line => line.trim() !== '').slice(-1)[0] ?? '' : text
  return oneLine.length > 100 ? `${oneLine.slice(0, 97)}...` : oneLine
}

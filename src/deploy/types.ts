import type { CommandsConfig } from '../config/index.ts'
import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import type { StoreBackend } from '../nix/types.ts'
import type { Action, DeploymentModeKind, PolicyFields } from '../policy/index.ts'
import type { DeploymentResult, EventKind, SeedType, SignedRecord, TRIGGERS } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import type { Stager } from './stager.ts'

export type Trigger = typeof TRIGGERS[number]

/** Time between two reports when nothing changes. */
export const DEFAULT_REPORT_INTERVAL_MS = 10 * 60 * 1000
/** Wait after a change before the report is built, so a burst of changes sends one report. */
export const DEFAULT_REPORT_DELAY_MS = 500
/** Minimum time between two `staging` progress events of one deployment. */
export const DEFAULT_STAGE_PROGRESS_INTERVAL_MS = 5000
/** Time a host may take to go down after its reboot command succeeded. */
export const DEFAULT_REBOOT_WAIT_MS = 10 * 60 * 1000
/** Time each host command may run when the subscription sets no `commands.timeoutMs`. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5 * 60 * 1000
/** Bytes of a command's combined output kept in its event. */
export const OUTPUT_TAIL_MAX_BYTES = 4096
/** Generations per profile in a report, newest kept. */
export const REPORT_GENERATIONS_MAX = 256

/** One subscription as the engine uses it: the parsed config's subscription, commands optional. */
export interface DeploySubscription extends Readonly<PolicyFields> {
  readonly name: string
  readonly seed: string
  readonly type: SeedType
  /** Absolute path of the Nix profile. */
  readonly profile: string
  readonly commands?: Partial<CommandsConfig>
}

/** This garden as intents target it. */
export interface GardenIdentity {
  peer: string
  name: string
  tags: readonly string[]
  /** Listen addresses to put in reports. */
  addresses?: readonly string[]
}

export interface DeploymentEngineComponents {
  store: RecordStore
  /** This garden's key: it signs events and reports. */
  nodeKey: SigningKey
  backend: StoreBackend
  stager: Stager
  /** Sends a stored local record to the fleet, e.g. `FleetNode.publish`. */
  announce: (record: SignedRecord) => Promise<void>
  self: () => GardenIdentity
  logger: Logger
  /** Clock in milliseconds since the epoch. @default Date.now */
  now?: () => number
}

export interface DeploymentEngineInit {
  /** Fleet name written into events and reports. */
  fleet: string
  /** @default [] */
  subscriptions?: readonly DeploySubscription[]
  /** IANA zone for policy windows without one. @default 'UTC' */
  timeZone?: string
  /** Version string in reports. @default the package version */
  agentVersion?: string
  /** @default DEFAULT_REPORT_INTERVAL_MS */
  reportIntervalMs?: number
  /** @default DEFAULT_REPORT_DELAY_MS */
  reportDelayMs?: number
  /** False on a garden whose clock cannot judge intent expiry. @default true */
  clockReliable?: boolean
  /** @default DEFAULT_STAGE_PROGRESS_INTERVAL_MS */
  stageProgressIntervalMs?: number
  /** @default DEFAULT_REBOOT_WAIT_MS */
  rebootWaitMs?: number
  /**
   * Returns an id that changes on every boot of the host, or null when the
   * host has none. @default reads /proc/sys/kernel/random/boot_id
   */
  readBootId?: () => Promise<string | null>
}

/** Steps of a deployment job. The first group are open, the second are end states. */
export const OPEN_STEPS = [
  'received', 'staging', 'waiting_for_confirmation', 'waiting_for_window',
  'activating', 'health_check', 'rolling_back', 'awaiting_reboot'
] as const
export const END_STEPS = ['succeeded', 'failed', 'denied', 'staged_only', 'canceled', 'superseded'] as const
export type OpenStep = typeof OPEN_STEPS[number]
export type EndStep = typeof END_STEPS[number]
export type JobStep = OpenStep | EndStep

/**
 * Steps before a job changes the profile. A job may also wait for a window
 * after it switched, to reboot later, and `hasActivated` distinguishes the two.
 */
export const PRE_ACTIVATION_STEPS: readonly JobStep[] = ['received', 'staging', 'waiting_for_confirmation', 'waiting_for_window']
/** Steps that end a job without activating it, from which a cancel or a newer intent still gives it a result. */
export const UNRESOLVED_END_STEPS: readonly JobStep[] = ['denied', 'staged_only']

export type EventDetail = Record<string, string | number | boolean | null>

/** An event waiting to be signed and appended, numbered within its deployment from 1. */
export interface EventDraft {
  number: number
  kind: EventKind
  trigger?: Trigger
  actor?: string
  result?: DeploymentResult
  detail?: EventDetail
  issuedAt: string
}

export interface GenerationRef {
  number: number
  storePath: string
}

/**
 * One garden working on one seed of one deploy intent, as persisted. Every
 * change is written with `sync: true` before its events are appended.
 */
export interface Job {
  /** `deploymentId(intent, seed, peer)`. */
  id: string
  intent: string
  seed: string
  subscription: string
  profile: string
  seedType: SeedType
  sequence: number
  storePath: string
  /** Key id that signed the deploy intent. */
  actor: string
  trigger: Trigger
  step: JobStep
  /** The closure is valid in the local store and matches the manifest. */
  staged: boolean
  /** The action that the latest policy decision permits now, null when none. */
  action: Action | null
  /** The highest action whose activation completed, null before that or after a rollback. */
  applied: Action | null
  /** The action that a window permits later, null when the job waits for none. */
  windowAction: Action | null
  /** Name of the rule whose window the job waits for. */
  windowRule: string | null
  /** A rule without `confirm` permits staging while the job waits for a confirmation. */
  stageNow: boolean
  mode: DeploymentModeKind | null
  /** Kernel or initrd differ from the previous generation; null until staged. */
  bootChanged: boolean | null
  /** The permitted action that waits for a confirmation. */
  confirmAction: Action | null
  /** A signed confirm intent or an operator released every confirmation of this job. */
  confirmed: boolean
  /** UTC ISO time at which the awaited window opens. */
  opensAt: string | null
  /** The profile's current generation before the first activation, null when it had none. */
  previous: GenerationRef | null
  /** Generation this job made current. */
  generation: number | null
  /** Boot id when the reboot command ran. */
  bootId: string | null
  /** UTC ISO time when the reboot command succeeded. */
  rebootRequestedAt: string | null
  /** Whether the boot id changed across the reboot, null when unknown. */
  rebooted: boolean | null
  /** The host must reboot again after a rollback, because it already booted the failed generation. */
  rollbackReboot: boolean
  result: DeploymentResult | null
  /** Failure reason for the result event, or the reason the job never ran. */
  reason: string | null
  /** Stable code of a job that was rejected when it arrived, e.g. `expired`. Such a job never runs. */
  code: string | null
  /** Detail of the failed command, kept across a rollback for the result event. */
  failure: EventDetail | null
  /** Runs so far: 1, plus one per accepted retry. */
  attempts: number
  /** Events numbered so far, appended or in `outbox`. */
  eventCount: number
  outbox: EventDraft[]
  createdAt: string
  updatedAt: string
}

/** Per seed: the highest sequence applied and the highest accepted. */
export interface SeedState {
  applied: number
  /** Intent of the applied sequence. */
  appliedIntent: string | null
  highest: number
  highestIntent: string | null
}

/** Per profile: generations that deployments made or that existed when the garden first saw the profile. */
export interface ProfileState {
  known: number[]
  drift: number[]
}

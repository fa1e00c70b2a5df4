import { EventEmitter } from 'node:events'
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type { Logger } from '../logger.ts'
import { parseSubscriptionPolicy, triggerForReason } from '../policy/index.ts'
import type { DeploymentReason, Rules } from '../policy/index.ts'
import type { SignedRecord } from '../records/index.ts'
import type { StoredMeta } from '../store/index.ts'
import { DeploymentInterruptedError } from './errors.ts'
import { IntentIntake } from './intake.ts'
import { JobStore } from './job-store.ts'
import { JobJournal } from './journal.ts'
import { ProfileTracker } from './profile-tracker.ts'
import { Reporter } from './reports.ts'
import { JobRunner, isEnded } from './runner.ts'
import {
  DEFAULT_REBOOT_WAIT_MS, DEFAULT_REPORT_DELAY_MS, DEFAULT_REPORT_INTERVAL_MS, DEFAULT_STAGE_PROGRESS_INTERVAL_MS
} from './types.ts'
import type { DeploySubscription, DeploymentEngineComponents, DeploymentEngineInit, Job, Trigger } from './types.ts'

export * from './types.ts'
export { ClosureUnavailableError, DeploymentInterruptedError, IntentNotStoredError } from './errors.ts'
export { LocalStager } from './stager.ts'
export type { StageOptions, StageOutcome, StageProgress, Stager } from './stager.ts'
export { DEFAULT_REBOOT_COMMAND, activationCommand, healthCheckCommand, rebootCommand } from './host-commands.ts'
export type { CommandContext, HostCommand } from './host-commands.ts'
export { runHostCommand, stripControlCharacters } from './command.ts'
export type { HostCommandOptions, HostCommandOutcome } from './command.ts'
export type { FollowUpRequest } from './follow-ups.ts'

/** Maximum delay of a Node.js timer (2^31 - 1 ms). Later openings are reached by arming the timer again. */
const TIMER_MAX_MS = 2 ** 31 - 1
const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id'
/** Intent ids checked against the handled marks per database read at start. */
const SCAN_PAGE_INTENTS = 256

export interface DeploymentEngineEvents {
  /** A deployment event was stored in this garden's feed. */
  event: [SignedRecord<'event'>]
}

/**
 * Applies deploy intents to this garden's profiles. Each (intent, seed)
 * that a subscription of this garden matches becomes a job whose state
 * machine is persisted in the node's LevelDB and resumes from its last
 * step after a crash. Every step is a garden-signed event in this node's
 * feed, announced to the fleet. Reports go out at start, on change and
 * every `reportIntervalMs`. docs/DEPLOYMENT.md describes the rules.
 */
export class DeploymentEngine extends EventEmitter<DeploymentEngineEvents> {
  readonly #components: DeploymentEngineComponents
  readonly #subscriptions: readonly DeploySubscription[]
  /** Expanded policy rules by subscription name. */
  readonly #rules: ReadonlyMap<string, Rules>
  readonly #now: () => number
  readonly #log: Logger
  readonly #jobs: JobStore
  readonly #journal: JobJournal
  readonly #profiles: ProfileTracker
  readonly #runner: JobRunner
  readonly #intake: IntentIntake
  readonly #reporter: Reporter
  readonly #rebootWaitMs: number
  #abort = new AbortController()
  #timer: NodeJS.Timeout | undefined
  #accepting = false
  #starting: Promise<void> | undefined
  #stopping: Promise<void> | undefined

  constructor (components: DeploymentEngineComponents, init: DeploymentEngineInit) {
    super()
    this.#components = components
    this.#subscriptions = [...init.subscriptions ?? []]
    this.#rules = new Map(this.#subscriptions.map(subscription => [subscription.name, parseSubscriptionPolicy(subscription)]))
    this.#now = components.now ?? Date.now
    this.#log = components.logger.child({ component: 'deploy' })
    this.#rebootWaitMs = init.rebootWaitMs ?? DEFAULT_REBOOT_WAIT_MS
    this.#jobs = new JobStore(components.store)
    warnAboutSharedSeeds(this.#subscriptions, this.#log)

    const context = { backend: components.backend, jobs: this.#jobs, now: this.#now, log: this.#log }
    const rulesOf = (subscription: DeploySubscription): Rules => this.#rules.get(subscription.name) ?? {}
    const profiles = new ProfileTracker({ backend: components.backend, jobs: this.#jobs, log: this.#log })
    this.#profiles = profiles
    const journal = new JobJournal({
      ...context,
      store: components.store,
      nodeKey: components.nodeKey,
      fleet: init.fleet,
      announce: components.announce,
      onEvent: record => { this.emit('event', record) }
    })
    this.#journal = journal
    this.#runner = new JobRunner({
      ...context,
      journal,
      profiles,
      store: components.store,
      stager: components.stager,
      subscriptions: () => this.#subscriptions,
      rulesOf,
      timeZone: init.timeZone ?? 'UTC',
      stageProgressIntervalMs: init.stageProgressIntervalMs ?? DEFAULT_STAGE_PROGRESS_INTERVAL_MS,
      rebootWaitMs: this.#rebootWaitMs,
      readBootId: init.readBootId ?? readBootId,
      onSettled: () => { this.#settled() }
    })
    this.#intake = new IntentIntake({
      ...context,
      journal,
      store: components.store,
      runner: this.#runner,
      subscriptions: () => this.#subscriptions,
      self: components.self,
      clockReliable: init.clockReliable ?? true
    })
    this.#reporter = new Reporter({
      store: components.store,
      nodeKey: components.nodeKey,
      announce: components.announce,
      profiles,
      subscriptions: () => this.#subscriptions,
      rulesOf,
      self: components.self,
      fleet: init.fleet,
      agentVersion: init.agentVersion ?? packageVersion(),
      intervalMs: init.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS,
      delayMs: init.reportDelayMs ?? DEFAULT_REPORT_DELAY_MS,
      now: this.#now,
      log: this.#log
    })
  }

  /**
   * Loads the jobs, appends events a crash left unwritten, resumes open
   * jobs, handles every stored intent not handled yet, arms the window
   * timer and sends a report. Calling it again while started does nothing.
   */
  async start (): Promise<void> {
    // Set before any wait, so that a stop called right after this call stops the engine it starts.
    this.#starting ??= this.#startAfter(this.#stopping)
    await this.#starting
  }

  /** Starts once `stopping`, the stop before this start, has ended. */
  async #startAfter (stopping: Promise<void> | undefined): Promise<void> {
    await stopping
    await this.#startOnce()
  }

  /**
   * Interrupts running steps without recording them (they run again at the
   * next start), kills running host commands and waits for queued work to
   * finish. Calling it again while stopped does nothing.
   */
  async stop (): Promise<void> {
    const starting = this.#starting
    if (starting === undefined) {
      await this.#stopping
      return
    }
    // Cleared before any wait, so that a start called right after this call starts again once this stop ends.
    this.#starting = undefined
    this.#stopping = this.#stopAfter(starting)
    await this.#stopping
  }

  /** Stops once `starting`, the start before this stop, has settled. */
  async #stopAfter (starting: Promise<void>): Promise<void> {
    await starting.catch(() => {})
    await this.#stopOnce()
  }

  /**
   * Handles a stored intent once per garden, however often it arrives. The
   * garden calls it for every intent it stores, with the trigger of its
   * arrival (`realtime` for gossip, `poll_on_connect` for sync and bundles)
   * and optionally the reason (`import` for a bundle). Intents handed over
   * while the engine is stopped are picked up by the next `start`.
   */
  async handleIntent (record: SignedRecord<'intent'>, trigger: Trigger = 'poll_on_connect', reason?: DeploymentReason): Promise<void> {
    if (!this.#accepting) {
      this.#log.debug({ intent: record.id }, 'engine not started; the intent is handled at the next start')
      return
    }
    await this.#intake.handle(record, trigger, reason)
  }

  /** Runs the jobs whose window has opened or whose reboot wait is over by `now()`, and waits for them. */
  async tick (): Promise<void> {
    if (!this.#accepting) return
    const nowMs = this.#now()
    const work: Array<Promise<void>> = []
    for (const job of this.#jobs.jobs.values()) {
      const dueMs = this.#dueMs(job)
      if (dueMs === null || dueMs > nowMs) continue
      work.push(job.step === 'waiting_for_window'
        ? this.#runner.run(job, 'window', async signal => { await this.#runner.openWindow(job, signal) })
        : this.#runner.run(job, 'reboot wait', async signal => { await this.#runner.resume(job, signal) }))
    }
    this.#armTimer()
    await Promise.all(work)
  }

  /** Releases a job that waits for a confirmation, as an operator on this garden. Returns whether it applied. */
  async confirm (deploymentId: string, actor = 'operator'): Promise<boolean> {
    const job = this.#jobs.jobs.get(deploymentId)
    if (job === undefined || !this.#accepting) return false
    return await this.#intake.request(job, { action: 'confirm', actor, intent: null })
  }

  /** Returns a copy of every job, or of one. */
  jobs (): Job[] {
    return [...this.#jobs.jobs.values()].map(job => structuredClone(job))
  }

  job (deploymentId: string): Job | undefined {
    const job = this.#jobs.jobs.get(deploymentId)
    return job === undefined ? undefined : structuredClone(job)
  }

  /** Builds, signs, stores and announces a report now. */
  async report (): Promise<SignedRecord<'report'>> {
    return await this.#reporter.send()
  }

  /**
   * Waits until no intent, job step or report is in progress. Jobs that wait
   * for a window, confirmation or reboot count as idle, and so does a report
   * that waits for its `reportDelayMs`.
   */
  async idle (): Promise<void> {
    await this.#jobsIdle()
    await this.#reporter.idle()
  }

  /** Waits until no intent or job step is in progress. */
  async #jobsIdle (): Promise<void> {
    await this.#intake.idle()
    await this.#runner.idle()
    await this.#intake.idle()
  }

  async #startOnce (): Promise<void> {
    this.#abort = new AbortController()
    await this.#jobs.load()
    this.#runner.open(this.#abort.signal)
    await this.#recoverOutboxes()
    await this.#scanProfiles()
    this.#resumeJobs()
    this.#accepting = true
    await this.#scanIntents()
    this.#armTimer()
    this.#reporter.start()
    this.#log.info({ jobs: this.#jobs.jobs.size, subscriptions: this.#subscriptions.length }, 'deployment engine started')
  }

  async #stopOnce (): Promise<void> {
    this.#accepting = false
    clearTimeout(this.#timer)
    this.#abort.abort(new DeploymentInterruptedError('the deployment engine is stopping'))
    // Jobs settle first, so that the report on their final state is sent, not dropped.
    await this.#jobsIdle()
    await this.#reporter.stop()
    this.#log.info({ jobs: this.#jobs.jobs.size }, 'deployment engine stopped')
  }

  async #recoverOutboxes (): Promise<void> {
    for (const job of this.#jobs.jobs.values()) {
      if (job.outbox.length > 0) await this.#journal.recover(job)
    }
  }

  async #scanProfiles (): Promise<void> {
    for (const subscription of this.#subscriptions) {
      try {
        await this.#profiles.scan(subscription.profile)
      } catch (err) {
        this.#log.warn({ err, profile: subscription.profile }, 'reading the generations of a profile failed')
      }
    }
  }

  #resumeJobs (): void {
    for (const job of this.#jobs.jobs.values()) {
      if (isEnded(job.step) || job.step === 'waiting_for_window') continue
      this.#log.info({ deployment: job.id, step: job.step }, 'resuming deployment')
      this.#runner.spawn(job, 'resume', async signal => { await this.#runner.resume(job, signal) })
    }
  }

  /**
   * Hands every stored intent that was never handled to the intake, oldest
   * first. Only ids are kept while scanning, since an intent with a large
   * manifest can be close to a megabyte.
   */
  async #scanIntents (): Promise<void> {
    const unhandled: string[] = []
    let page: string[] = []
    const checkPage = async (): Promise<void> => {
      const handled = await this.#jobs.handledOf(page)
      unhandled.push(...page.filter((id, index) => !handled[index]))
      page = []
    }
    for await (const record of this.#components.store.listByType('intent')) {
      page.push(record.id)
      if (page.length >= SCAN_PAGE_INTENTS) await checkPage()
    }
    await checkPage()

    // After a lost data folder, the garden's own feed sets the seed states before any intent is handled.
    for (const id of unhandled) {
      const record = await this.#components.store.get(id) as SignedRecord<'intent'> | undefined
      if (record === undefined || this.#abort.signal.aborted) continue
      await this.#intake.restoreFromOwnFeed(record)
    }
    for (const id of unhandled) {
      const record = await this.#components.store.get(id) as SignedRecord<'intent'> | undefined
      if (record === undefined || this.#abort.signal.aborted) continue
      const reason = reasonOf(await this.#components.store.getMeta(id))
      await this.#intake.handle(record, triggerForReason(reason), reason)
    }
  }

  #settled (): void {
    this.#reporter.changed()
    this.#armTimer()
  }

  /** Arms one timer for the earliest window opening or reboot deadline. */
  #armTimer (): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (!this.#accepting) return
    let earliestMs: number | null = null
    for (const job of this.#jobs.jobs.values()) {
      const dueMs = this.#dueMs(job)
      if (dueMs !== null && (earliestMs === null || dueMs < earliestMs)) earliestMs = dueMs
    }
    if (earliestMs === null) return
    const delayMs = Math.min(Math.max(earliestMs - this.#now(), 0), TIMER_MAX_MS)
    this.#timer = setTimeout(() => {
      this.tick().catch(err => { this.#log.error({ err }, 'running due deployments failed') })
    }, delayMs)
    this.#timer.unref()
  }

  #dueMs (job: Job): number | null {
    if (job.step === 'waiting_for_window' && job.opensAt !== null) return Date.parse(job.opensAt)
    if (job.step === 'awaiting_reboot' && job.rebootRequestedAt !== null) {
      return Date.parse(job.rebootRequestedAt) + this.#rebootWaitMs
    }
    return null
  }
}

/** Maps how an intent reached the store to the reason a deployment starts: a bundle is `import`. */
function reasonOf (meta: StoredMeta | undefined): DeploymentReason {
  switch (meta?.via) {
    case 'gossip':
    case 'local': return 'gossip'
    case 'bundle': return 'import'
    default: return 'sync'
  }
}

function warnAboutSharedSeeds (subscriptions: readonly DeploySubscription[], log: Logger): void {
  const seen = new Set<string>()
  for (const subscription of subscriptions) {
    if (seen.has(subscription.seed)) {
      log.warn({ subscription: subscription.name, seed: subscription.seed },
        'another subscription deploys this seed already; intents for it use the first one')
    }
    seen.add(subscription.seed)
  }
}

/** Reads Linux's boot id, which changes on every boot; null on hosts without it. */
export async function readBootId (): Promise<string | null> {
  try {
    return (await readFile(BOOT_ID_FILE, 'utf8')).trim()
  } catch {
    return null
  }
}

function packageVersion (): string {
  try {
    return (createRequire(import.meta.url)('../../package.json') as { version: string }).version
  } catch {
    return 'unknown'
  }
}

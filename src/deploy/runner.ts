import { needsReboot } from '../nix/index.ts'
import { evaluate } from '../policy/index.ts'
import type { Action, PolicyDecision, Rules } from '../policy/index.ts'
import type { Release, SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { Activator } from './activation.ts'
import { DeploymentInterruptedError, IntentNotStoredError } from './errors.ts'
import { failJob, succeedJob, withdrawJob } from './endings.ts'
import type { JobContext } from './endings.ts'
import type { EventInput } from './journal.ts'
import type { ProfileTracker } from './profile-tracker.ts'
import type { StageProgress, Stager } from './stager.ts'
import { END_STEPS, PRE_ACTIVATION_STEPS, UNRESOLVED_END_STEPS } from './types.ts'
import type { DeploySubscription, Job, JobStep } from './types.ts'

export interface JobRunnerInit extends JobContext {
  store: RecordStore
  stager: Stager
  profiles: ProfileTracker
  subscriptions: () => readonly DeploySubscription[]
  /** Returns the expanded policy rules of a subscription. */
  rulesOf: (subscription: DeploySubscription) => Rules
  timeZone: string
  stageProgressIntervalMs: number
  rebootWaitMs: number
  readBootId: () => Promise<string | null>
  /** Called after a job's work stopped: it ended, or waits for a window, confirmation or reboot. */
  onSettled: (job: Job) => void
}

/** Returns the depth of an action for a job: staging 1, activation 2, a reboot for a changed kernel or initrd 3. */
export function actionLevel (action: Action, job: Job): number {
  if (action === 'stage') return 1
  if (action === 'activate') return 2
  return job.seedType === 'system' && job.bootChanged !== false ? 3 : 2
}

/** Returns the depth of the work a job has done, on the scale of `actionLevel`. */
export function doneLevel (job: Job): number {
  if (job.applied !== null) return actionLevel(job.applied, job)
  return job.staged ? 1 : 0
}

export function isEnded (step: JobStep): boolean {
  return (END_STEPS as readonly string[]).includes(step)
}

/** Returns whether a job made its generation current at some point of its current attempt. */
export function hasActivated (job: Job): boolean {
  return job.generation !== null
}

/** Returns whether a cancel or a newer intent can still end a job: it has not activated and has no result. */
export function isWithdrawable (job: Job): boolean {
  return !hasActivated(job) && (PRE_ACTIVATION_STEPS.includes(job.step) || UNRESOLVED_END_STEPS.includes(job.step))
}

/**
 * Runs jobs through their steps: policy, stage, activate, and the end
 * states. Work on one job runs one piece at a time in order, and work on
 * jobs of one profile takes turns at activation, so two deployments never
 * switch a profile at once.
 */
export class JobRunner {
  readonly #init: JobRunnerInit
  readonly #activator: Activator
  readonly #chains = new Map<string, Promise<void>>()
  readonly #interrupts = new Map<string, AbortController>()
  readonly #profileTurns = new Map<string, Promise<void>>()
  #engineSignal: AbortSignal = AbortSignal.abort()

  constructor (init: JobRunnerInit) {
    this.#init = init
    this.#activator = new Activator(init)
  }

  /** Accepts work until `signal` aborts, which interrupts every running step without recording it. */
  open (signal: AbortSignal): void {
    this.#engineSignal = signal
  }

  /** Waits until every queued piece of work has finished. */
  async idle (): Promise<void> {
    while (this.#chains.size > 0) {
      await Promise.allSettled([...this.#chains.values()])
    }
  }

  /** Queues `work` on a job after the work already queued for it. */
  async run (job: Job, label: string, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const previous = this.#chains.get(job.id) ?? Promise.resolve()
    const next = previous.then(async () => { await this.#runNow(job, label, work) })
    this.#chains.set(job.id, next)
    try {
      await next
    } finally {
      if (this.#chains.get(job.id) === next) this.#chains.delete(job.id)
    }
  }

  /** Queues `work` like `run` without waiting for it. */
  spawn (job: Job, label: string, work: (signal: AbortSignal) => Promise<void>): void {
    this.run(job, label, work).catch(err => {
      this.#init.log.error({ err, deployment: job.id, work: label }, 'deployment work failed')
    })
  }

  /** Stops the current work of a job before the profile changes, so a cancel or supersede can run next. */
  interrupt (job: Job): void {
    if (!isWithdrawable(job)) return
    this.#interrupts.get(job.id)?.abort(new DeploymentInterruptedError(`deployment ${job.id} was interrupted by a cancel or a newer intent`))
    this.#interrupts.delete(job.id)
  }

  async #runNow (job: Job, label: string, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    if (this.#engineSignal.aborted) return
    const interrupt = this.#interrupts.get(job.id) ?? new AbortController()
    this.#interrupts.set(job.id, interrupt)
    const signal = AbortSignal.any([this.#engineSignal, interrupt.signal])
    try {
      await work(signal)
    } catch (err) {
      if (signal.aborted) {
        this.#init.log.info({ deployment: job.id, step: job.step, work: label }, 'deployment work interrupted')
        return
      }
      await this.#failUnexpected(job, label, err)
    } finally {
      this.#init.onSettled(job)
    }
  }

  async #failUnexpected (job: Job, label: string, err: unknown): Promise<void> {
    this.#init.log.error({ err, deployment: job.id, step: job.step, work: label }, 'deployment step failed')
    if (isEnded(job.step)) return
    try {
      await failJob(this.#init, job, `${job.step} failed: ${(err as Error).message}`, { code: (err as { code?: string }).code ?? null })
    } catch (failure) {
      this.#init.log.error({ err: failure, deployment: job.id }, 'recording the failure of a deployment failed')
    }
  }

  /** Continues a job from its recorded step after a start, a timer or a follow-up. */
  async resume (job: Job, signal: AbortSignal): Promise<void> {
    const subscription = this.#subscriptionOf(job)
    if (subscription === undefined) {
      if (!isEnded(job.step)) await failJob(this.#init, job, `this garden has no subscription ${job.subscription} any more`)
      return
    }
    const activator = this.#activator
    switch (job.step) {
      case 'received': return await this.evaluate(job, signal)
      case 'staging': return await this.#carryOut(job, subscription, signal)
      case 'waiting_for_confirmation': return await this.#stageWhileWaiting(job, signal)
      case 'activating': return await this.#resumeActivation(job, signal, async () => { await activator.switchAndRun(job, subscription, signal) })
      case 'health_check': return await this.#resumeActivation(job, signal, async () => { await activator.healthCheck(job, subscription, signal) })
      case 'rolling_back': return await this.#resumeActivation(job, signal, async () => { await activator.restorePrevious(job, subscription, signal) })
      case 'awaiting_reboot': return await this.#resumeActivation(job, signal, async () => { await activator.afterReboot(job, subscription, signal) })
      default:
    }
  }

  /** Runs an activation step again in the profile's turn, then settles the job unless it ended or waits for a reboot. */
  async #resumeActivation (job: Job, signal: AbortSignal, step: () => Promise<void>): Promise<void> {
    await this.#inProfileTurn(job, signal, step)
    if (!isEnded(job.step) && job.step !== 'awaiting_reboot' && job.applied !== null) await this.settle(job)
  }

  /** Runs a job whose window has opened again with the `schedule` trigger. */
  async openWindow (job: Job, signal: AbortSignal): Promise<void> {
    if (job.step !== 'waiting_for_window' || job.opensAt === null || Date.parse(job.opensAt) > this.#init.now()) return
    await this.#init.journal.commit(job, { step: 'received', trigger: 'schedule' }, [
      { kind: 'received', trigger: 'schedule', actor: 'policy', detail: { reason: 'window_opened', opensAt: job.opensAt } }
    ])
    await this.evaluate(job, signal)
  }

  /** Evaluates the policy for the job's trigger now and carries out what it permits. */
  async evaluate (job: Job, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const subscription = this.#subscriptionOf(job)
    if (subscription === undefined) return await this.resume(job, signal)
    const decision = evaluate(this.#init.rulesOf(subscription), job.trigger, job.seedType, new Date(this.#init.now()), { zone: this.#init.timeZone })
    const done = doneLevel(job)
    if (decision.denied) {
      return job.applied !== null ? await succeedJob(this.#init, job) : await this.#deny(job, subscription, decision)
    }
    if (decision.action !== null && decision.confirm && !job.confirmed && actionLevel(decision.action, job) > done) {
      return await this.#awaitConfirmation(job, decision, signal)
    }

    const wait = decision.waitForWindow
    await this.#init.journal.commit(job, {
      action: decision.action,
      windowAction: wait?.action ?? null,
      windowRule: wait?.rule ?? null,
      opensAt: wait === null ? null : wait.opensAt.toISOString()
    })
    await this.#carryOut(job, subscription, signal)
  }

  async #carryOut (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    if (job.action !== null && !job.staged) {
      await this.stage(job, signal)
      if (isEnded(job.step)) return
    }
    if (job.seedType === 'system' && job.generation === null && job.staged) {
      job.bootChanged = await this.#bootChanged(job)
    }

    const requestedLevel = job.action === null ? 0 : actionLevel(job.action, job)
    if (requestedLevel >= 2 && requestedLevel > doneLevel(job)) {
      if (this.#isStale(job)) return await this.#supersedeStale(job)
      await this.#inProfileTurn(job, signal, async () => { await this.#activator.activate(job, subscription, signal) })
      if (isEnded(job.step) || job.step === 'awaiting_reboot') return
    }
    await this.settle(job)
  }

  /** Moves a job whose current work is done to its next wait or end state. */
  async settle (job: Job): Promise<void> {
    const windowLevel = job.windowAction === null ? 0 : actionLevel(job.windowAction, job)
    if (job.opensAt !== null && windowLevel > doneLevel(job)) {
      const zone = this.#windowZone(job)
      await this.#init.journal.commit(job, { step: 'waiting_for_window' }, [{
        kind: 'waiting_for_window',
        trigger: job.trigger,
        actor: 'policy',
        detail: { opensAt: job.opensAt, zone, action: job.windowAction, rule: job.windowRule }
      }])
      return
    }
    if (job.applied !== null) return await succeedJob(this.#init, job)
    await this.#stagedOnly(job)
  }

  /** Makes the job's closure valid in the local store through the stager, with throttled progress events. */
  async stage (job: Job, signal: AbortSignal, keepStep = false): Promise<void> {
    signal.throwIfAborted()
    const release = await this.#release(job)
    const bytesExpected = release.manifest.reduce((sum, entry) => sum + entry.narSize, 0)
    await this.#init.journal.commit(job, keepStep ? {} : { step: 'staging' }, [
      { kind: 'staging', trigger: job.trigger, actor: 'garden', detail: { storePath: job.storePath, bytesReceived: 0, bytesExpected } }
    ])

    const progress = new ProgressEvents(this.#init, job)
    let outcome
    try {
      outcome = await this.#init.stager.stage(release, { signal, onProgress: p => { progress.report(p) } })
    } catch (err) {
      if (signal.aborted) throw err
      await progress.drain()
      return await failJob(this.#init, job, `staging failed: ${(err as Error).message}`, { code: (err as { code?: string }).code ?? null })
    }
    await progress.drain()
    signal.throwIfAborted()
    await this.#init.journal.commit(job, { staged: true }, [{
      kind: 'staged',
      actor: 'garden',
      detail: { source: outcome.source, peer: outcome.peer ?? null, bytes: outcome.bytes }
    }])
  }

  /**
   * Ends a job because a newer intent for its seed arrived: as `superseded`
   * when it has not activated, as `success` when it has and only waits for
   * a window to reboot, since the newer release replaces it anyway.
   */
  async supersede (job: Job, by: string, sequence: number): Promise<void> {
    const reason = `intent ${by} with sequence ${sequence} is newer`
    if (job.step === 'waiting_for_window' && hasActivated(job)) {
      await succeedJob(this.#init, job, { windowSkipped: true, by, reason })
      return
    }
    if (!isWithdrawable(job)) return
    await withdrawJob(this.#init, job, 'superseded', {
      kind: 'superseded', trigger: job.trigger, actor: 'garden', detail: { by, sequence, reason }
    })
  }

  async #deny (job: Job, subscription: DeploySubscription, decision: PolicyDecision): Promise<void> {
    const reason = `no rule of subscription ${subscription.name} permits any action on ${job.trigger}`
    this.#init.log.info({ deployment: job.id, seed: job.seed, trigger: job.trigger }, 'policy denied the deployment')
    await this.#init.journal.commit(job, { step: 'denied', action: decision.action }, [
      { kind: 'policy_denied', trigger: job.trigger, actor: 'policy', detail: { trigger: job.trigger, reason } }
    ])
  }

  async #stagedOnly (job: Job): Promise<void> {
    const reason = `the policy permits only staging on ${job.trigger}: the closure is staged and nothing was activated`
    await this.#init.journal.commit(job, { step: 'staged_only' }, [{
      kind: 'policy_denied',
      trigger: job.trigger,
      actor: 'policy',
      detail: { trigger: job.trigger, action: 'activate', permitted: 'stage', staged: job.staged, reason }
    }])
  }

  async #awaitConfirmation (job: Job, decision: PolicyDecision, signal: AbortSignal): Promise<void> {
    const event: EventInput = {
      kind: 'confirmation_required',
      trigger: job.trigger,
      actor: 'policy',
      detail: { action: decision.action, rule: decision.rule, trigger: job.trigger, stageNow: decision.stageNow }
    }
    await this.#init.journal.commit(job, { step: 'waiting_for_confirmation', confirmAction: decision.action, stageNow: decision.stageNow }, [event])
    await this.#stageWhileWaiting(job, signal)
  }

  async #stageWhileWaiting (job: Job, signal: AbortSignal): Promise<void> {
    if (job.stageNow && !job.staged) await this.stage(job, signal, true)
  }

  /** A sequence at or below the one applied for the seed never activates, however the job got here. */
  #isStale (job: Job): boolean {
    const seed = this.#init.jobs.seed(job.seed)
    return seed.applied >= job.sequence && seed.appliedIntent !== job.intent
  }

  async #supersedeStale (job: Job): Promise<void> {
    const seed = this.#init.jobs.seed(job.seed)
    await withdrawJob(this.#init, job, 'superseded', {
      kind: 'superseded',
      trigger: job.trigger,
      actor: 'garden',
      detail: { code: 'stale_sequence', by: seed.appliedIntent, sequence: seed.applied, reason: staleReason(job, seed.applied) }
    })
  }

  async #inProfileTurn (job: Job, signal: AbortSignal, work: () => Promise<void>): Promise<void> {
    const previous = this.#profileTurns.get(job.profile) ?? Promise.resolve()
    let release = (): void => {}
    const turn = new Promise<void>(resolve => { release = resolve })
    const queued = previous.then(async () => await turn)
    this.#profileTurns.set(job.profile, queued)
    try {
      await untilAborted(previous, signal)
      await work()
    } finally {
      release()
      if (this.#profileTurns.get(job.profile) === queued) this.#profileTurns.delete(job.profile)
    }
  }

  async #bootChanged (job: Job): Promise<boolean> {
    try {
      const current = await this.#init.backend.currentGeneration(job.profile)
      const next = await this.#init.backend.bootFiles(job.storePath)
      if (current === null) return next.kernel !== null || next.initrd !== null
      return needsReboot(await this.#init.backend.bootFiles(current.storePath), next)
    } catch (err) {
      this.#init.log.warn({ err, deployment: job.id }, 'cannot compare boot files, so a reboot counts as needed')
      return true
    }
  }

  async #release (job: Job): Promise<Release> {
    const record = await this.#init.store.get(job.intent) as SignedRecord<'intent'> | undefined
    if (record === undefined) throw new IntentNotStoredError(job.intent, 'is not in the record store')
    const body = record.body
    const release = body.action === 'deploy' ? body.releases.find(candidate => candidate.seed === job.seed) : undefined
    if (release === undefined) throw new IntentNotStoredError(job.intent, `has no release of seed ${job.seed}`)
    return release
  }

  #subscriptionOf (job: Job): DeploySubscription | undefined {
    return this.#init.subscriptions().find(subscription => subscription.name === job.subscription)
  }

  #windowZone (job: Job): string {
    const subscription = this.#subscriptionOf(job)
    const rule = subscription === undefined || job.windowRule === null ? undefined : this.#init.rulesOf(subscription)[job.windowRule]
    return rule?.window?.zone ?? this.#init.timeZone
  }
}

export function staleReason (job: Pick<Job, 'sequence' | 'seed'>, applied: number): string {
  return `sequence ${job.sequence} is at or below sequence ${applied}, already applied for seed ${job.seed}`
}

/** Writes `staging` progress events, at most one per `stageProgressIntervalMs`, in order and without holding up the transfer. */
class ProgressEvents {
  readonly #init: JobRunnerInit
  readonly #job: Job
  #lastMs: number
  #writes: Promise<void> = Promise.resolve()

  constructor (init: JobRunnerInit, job: Job) {
    this.#init = init
    this.#job = job
    this.#lastMs = init.now()
  }

  report (progress: StageProgress): void {
    const nowMs = this.#init.now()
    if (nowMs - this.#lastMs < this.#init.stageProgressIntervalMs) return
    this.#lastMs = nowMs
    const detail = { storePath: this.#job.storePath, bytesReceived: progress.bytesReceived, bytesExpected: progress.bytesExpected, source: progress.source }
    this.#writes = this.#writes.then(async () => {
      await this.#init.journal.commit(this.#job, {}, [{ kind: 'staging', actor: 'garden', detail }])
    }).catch(err => { this.#init.log.warn({ err, deployment: this.#job.id }, 'recording staging progress failed') })
  }

  async drain (): Promise<void> {
    await this.#writes
  }
}

/** Waits for `promise`, or rejects with the signal's reason when it aborts first. */
async function untilAborted (promise: Promise<void>, signal: AbortSignal): Promise<void> {
  signal.throwIfAborted()
  let onAbort = (): void => {}
  const aborted = new Promise<never>((resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

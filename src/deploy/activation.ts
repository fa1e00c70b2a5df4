import { modeFor } from '../policy/index.ts'
import { runHostCommand } from './command.ts'
import type { HostCommandOutcome } from './command.ts'
import { failJob } from './endings.ts'
import type { JobContext } from './endings.ts'
import { activationCommand, healthCheckCommand, rebootCommand } from './host-commands.ts'
import type { CommandContext, HostCommand } from './host-commands.ts'
import type { ProfileTracker } from './profile-tracker.ts'
import type { DeploySubscription, EventDetail, GenerationRef, Job } from './types.ts'

export interface ActivatorInit extends JobContext {
  profiles: ProfileTracker
  readBootId: () => Promise<string | null>
  rebootWaitMs: number
}

const SUCCEEDED: HostCommandOutcome = { ok: true, exitCode: 0, signal: null, timedOut: false, output: '', problem: null }

/**
 * Activation of a staged job: new profile generation, the mode's command,
 * the health check, and on failure the rollback to the previous generation
 * with its re-activation. Each step is written before it runs, and every
 * method can run again after a crash: the profile's current generation
 * decides whether the generation still has to be set.
 */
export class Activator {
  readonly #init: ActivatorInit

  constructor (init: ActivatorInit) {
    this.#init = init
  }

  /**
   * Activates the job's permitted action. On return `applied` is set when
   * the job may finish or wait for a window. Otherwise the job has ended
   * (failed and rolled back) or waits for a reboot.
   */
  async activate (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const mode = modeFor(job.action ?? 'activate', job.seedType, { bootChanged: job.bootChanged ?? true }).kind
    const previous = job.generation === null ? await this.#currentRef(job.profile) : job.previous
    await this.#init.journal.commit(job, { step: 'activating', mode, previous }, [{
      kind: 'activating',
      trigger: job.trigger,
      actor: 'garden',
      detail: { mode, storePath: job.storePath, previousGeneration: previous?.number ?? null }
    }])
    await this.switchAndRun(job, subscription, signal)
  }

  /** Makes the job's generation current and runs the mode's command; the resume point of `activating`. */
  async switchAndRun (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    const generation = await this.#makeCurrent(job)
    await this.#init.journal.commit(job, { generation })
    const mode = job.mode ?? 'switch'
    const outcome = await this.#run(activationCommand(mode, this.#context(job, subscription, job.storePath, generation)), signal)
    if (!outcome.ok) {
      await this.#rollBack(job, subscription, `activation command ${outcome.problem ?? 'failed'}`, outcomeDetail(outcome), signal)
      return
    }

    const detail = { generation, mode, ...outcomeDetail(outcome) }
    if (mode === 'boot-and-reboot') {
      await this.#init.journal.commit(job, {}, [{ kind: 'activated', actor: 'garden', detail: { ...detail, reboot: true } }])
      await this.#reboot(job, subscription, signal)
      return
    }
    await this.#init.journal.commit(job, { applied: job.action, step: 'health_check' }, [{ kind: 'activated', actor: 'garden', detail }])
    await this.healthCheck(job, subscription, signal)
  }

  /** Runs the subscription's health check, if any, and rolls back when it fails; the resume point of `health_check`. */
  async healthCheck (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    const command = healthCheckCommand(this.#context(job, subscription, job.storePath, job.generation))
    if (command === null) return
    const outcome = await this.#run(command, signal)
    await this.#init.journal.commit(job, {}, [{ kind: 'health_check', actor: 'garden', detail: { ok: outcome.ok, ...outcomeDetail(outcome) } }])
    if (!outcome.ok) {
      await this.#rollBack(job, subscription, `health check ${outcome.problem ?? 'failed'}`, outcomeDetail(outcome), signal)
    }
  }

  /**
   * Restores the generation that was current before the job, re-activates
   * it and ends the job as failed; the resume point of `rolling_back`.
   */
  async restorePrevious (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    const reason = job.reason ?? 'activation failed'
    const previous = job.previous
    if (previous === null) {
      await failJob(this.#init, job, `${reason}; no previous generation to roll back to`, { ...job.failure, rolledBack: false })
      return
    }

    const current = await this.#init.backend.currentGeneration(job.profile)
    if (current?.number !== previous.number) {
      await this.#init.backend.switchGeneration(job.profile, previous.number)
    }
    const context = this.#context(job, subscription, previous.storePath, previous.number)
    const outcome = await this.#run(activationCommand(job.mode ?? 'switch', context), signal)
    await this.#init.journal.commit(job, {}, [{
      kind: 'rolled_back',
      actor: 'garden',
      detail: { generation: previous.number, storePath: previous.storePath, ok: outcome.ok, ...outcomeDetail(outcome) }
    }])
    await failJob(this.#init, job, reason, { ...job.failure, rolledBack: true, rollbackOk: outcome.ok })
    if (job.rollbackReboot) {
      await this.#run(rebootCommand(context), signal)
    }
  }

  /**
   * Checks a job that waits for its reboot, at start or when the wait is
   * over. After a reboot, or on a host without boot ids, the generation must
   * be current and healthy. Without a reboot the job waits out
   * `rebootWaitMs` and then rolls back.
   */
  async afterReboot (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    const bootId = await this.#init.readBootId()
    const rebooted = bootId === null || job.bootId === null ? null : bootId !== job.bootId
    if (rebooted === false) {
      await this.#handleNoReboot(job, subscription, signal)
      return
    }

    const current = await this.#init.backend.currentGeneration(job.profile)
    if (current?.number !== job.generation) {
      const reason = `generation ${job.generation ?? 'unknown'} is not current after the reboot (current: ${current?.number ?? 'none'})`
      await failJob(this.#init, job, reason, { rebooted })
      return
    }
    await this.#init.journal.commit(job, { applied: job.action, step: 'health_check', rebooted, rollbackReboot: true })
    await this.healthCheck(job, subscription, signal)
  }

  async #handleNoReboot (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    if (job.rebootRequestedAt === null) {
      // The reboot command was interrupted before it finished, so it runs again.
      await this.#reboot(job, subscription, signal)
      return
    }
    if (this.#init.now() < Date.parse(job.rebootRequestedAt) + this.#init.rebootWaitMs) return
    const reason = `the host did not reboot within ${this.#init.rebootWaitMs} ms after the reboot command`
    await this.#rollBack(job, subscription, reason, { rebooted: false }, signal)
  }

  async #reboot (job: Job, subscription: DeploySubscription, signal: AbortSignal): Promise<void> {
    const bootId = await this.#init.readBootId()
    await this.#init.journal.commit(job, { step: 'awaiting_reboot', bootId, rebootRequestedAt: null })
    const outcome = await this.#run(rebootCommand(this.#context(job, subscription, job.storePath, job.generation)), signal)
    if (!outcome.ok) {
      await this.#rollBack(job, subscription, `reboot command ${outcome.problem ?? 'failed'}`, outcomeDetail(outcome), signal)
      return
    }
    this.#init.log.info({ deployment: job.id, seed: job.seed }, 'reboot command succeeded, waiting for the host to reboot')
    await this.#init.journal.commit(job, { rebootRequestedAt: new Date(this.#init.now()).toISOString() })
  }

  async #rollBack (job: Job, subscription: DeploySubscription, reason: string, failure: EventDetail, signal: AbortSignal): Promise<void> {
    this.#init.log.warn({ deployment: job.id, seed: job.seed, reason }, 'rolling back to the previous generation')
    await this.#init.journal.commit(job, { step: 'rolling_back', reason, failure, applied: null })
    await this.restorePrevious(job, subscription, signal)
  }

  /** Sets the job's store path as the profile's generation unless it is current already. */
  async #makeCurrent (job: Job): Promise<number> {
    const current = await this.#init.backend.currentGeneration(job.profile)
    if (current !== null && current.storePath === job.storePath && (job.generation === null || current.number === job.generation)) {
      await this.#init.profiles.markKnown(job.profile, current.number)
      return current.number
    }
    const generation = await this.#init.profiles.setProfile(job.profile, job.storePath)
    return generation.number
  }

  async #currentRef (profile: string): Promise<GenerationRef | null> {
    const current = await this.#init.backend.currentGeneration(profile)
    return current === null ? null : { number: current.number, storePath: current.storePath }
  }

  async #run (command: HostCommand | null, signal: AbortSignal): Promise<HostCommandOutcome> {
    if (command === null) return SUCCEEDED
    const outcome = await runHostCommand(command.argv, { timeoutMs: command.timeoutMs, env: command.env, signal })
    this.#init.log.info({ command: command.argv[0], action: command.env.SOWER_ACTION, ok: outcome.ok, exitCode: outcome.exitCode }, 'host command finished')
    return outcome
  }

  #context (job: Job, subscription: DeploySubscription, storePath: string, generation: number | null): CommandContext {
    return { deployment: job.id, subscription, storePath, realPath: this.#init.backend.realPath(storePath), generation }
  }
}

export function outcomeDetail (outcome: HostCommandOutcome): EventDetail {
  return { exitCode: outcome.exitCode, signal: outcome.signal, timedOut: outcome.timedOut, output: outcome.output }
}

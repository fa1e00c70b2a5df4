import { withdrawJob } from './endings.ts'
import type { JobContext } from './endings.ts'
import type { JobRunner } from './runner.ts'
import { isWithdrawable } from './runner.ts'
import { PRE_ACTIVATION_STEPS } from './types.ts'
import type { Job, JobStep } from './types.ts'

/** A retry, cancel or confirm of one job. */
export interface FollowUpRequest {
  action: 'retry' | 'cancel' | 'confirm'
  /** Admin key id of a signed follow-up, or `operator` for a request made on this garden. */
  actor: string
  /** Id of the follow-up intent, or null for a request made on this garden. */
  intent: string | null
}

/** Steps from which a retry runs the job again with the `user_retry` trigger. */
const RETRY_STEPS: readonly JobStep[] = ['failed', 'denied', 'staged_only', 'waiting_for_window', 'waiting_for_confirmation']
/** Codes of jobs rejected on arrival, which no retry runs. */
const NEVER_RUN_CODES = ['type_mismatch', 'expired', 'stale_sequence', 'newer_intent_known']

/** Fields reset when a failed job runs again, so its activation starts from the profile as it is now. */
const ACTIVATION_RESET: Partial<Job> = {
  applied: null,
  generation: null,
  previous: null,
  mode: null,
  bootId: null,
  rebootRequestedAt: null,
  rebooted: null,
  rollbackReboot: false
}

/**
 * Applies retries, cancels and confirmations to jobs. Whether a request
 * applies is checked again on the job's queue, since its step may have
 * changed while the request waited there.
 */
export class FollowUps {
  readonly #init: JobContext & { runner: JobRunner }

  constructor (init: JobContext & { runner: JobRunner }) {
    this.#init = init
  }

  /**
   * Queues the request on the job and resolves with whether it applied,
   * once its event is recorded. The job then runs on after it.
   */
  async apply (job: Job, request: FollowUpRequest): Promise<boolean> {
    if (this.#rejectionOf(job, request) !== null) {
      this.#logRejection(job, request)
      return false
    }
    if (request.action === 'cancel') this.#init.runner.interrupt(job)

    const accepted = Promise.withResolvers<boolean>()
    this.#init.runner.run(job, request.action, async signal => {
      if (this.#rejectionOf(job, request) !== null) {
        this.#logRejection(job, request)
        accepted.resolve(false)
        return
      }
      await this.#accept(job, request)
      accepted.resolve(true)
      const proceed = request.action === 'retry' || (request.action === 'confirm' && job.step === 'waiting_for_confirmation')
      if (proceed) await this.#init.runner.evaluate(job, signal)
    }).catch(err => {
      this.#init.log.error({ err, deployment: job.id, action: request.action }, 'applying a follow-up failed')
    }).finally(() => { accepted.resolve(false) })
    return await accepted.promise
  }

  #rejectionOf (job: Job, request: FollowUpRequest): string | null {
    switch (request.action) {
      case 'retry': return this.#retryRejection(job)
      case 'cancel': return isWithdrawable(job) ? null : `the deployment is ${job.step} and activated or has a result`
      case 'confirm':
        if (!PRE_ACTIVATION_STEPS.includes(job.step)) return `the deployment is ${job.step}`
        return job.confirmed ? 'the deployment is confirmed already' : null
    }
  }

  #retryRejection (job: Job): string | null {
    if (!RETRY_STEPS.includes(job.step)) return `the deployment is ${job.step}`
    if (job.code !== null && NEVER_RUN_CODES.includes(job.code)) return `the intent was rejected on arrival (${job.code})`
    const seed = this.#init.jobs.seed(job.seed)
    if (seed.applied >= job.sequence && seed.appliedIntent !== job.intent) {
      return `sequence ${seed.applied} is applied for seed ${job.seed} already`
    }
    if (seed.highest > job.sequence) return `intent ${seed.highestIntent ?? 'unknown'} for seed ${job.seed} is newer`
    return null
  }

  #logRejection (job: Job, request: FollowUpRequest): void {
    const reason = this.#rejectionOf(job, request)
    this.#init.log.info({ deployment: job.id, followUp: request.intent, action: request.action, reason }, 'follow-up does not apply')
  }

  async #accept (job: Job, request: FollowUpRequest): Promise<void> {
    const detail = { followUp: request.intent }
    switch (request.action) {
      case 'retry': {
        const reset = job.step === 'failed' ? ACTIVATION_RESET : {}
        await this.#init.journal.commit(job, {
          ...reset,
          step: 'received',
          trigger: 'user_retry',
          result: null,
          reason: null,
          failure: null,
          confirmed: false,
          confirmAction: null,
          opensAt: null,
          windowAction: null,
          windowRule: null,
          attempts: job.attempts + 1
        }, [{ kind: 'retry', trigger: 'user_retry', actor: request.actor, detail: { ...detail, attempt: job.attempts + 1 } }])
        return
      }
      case 'cancel':
        await withdrawJob(this.#init, job, 'canceled', { kind: 'canceled', trigger: job.trigger, actor: request.actor, detail })
        return
      case 'confirm':
        await this.#init.journal.commit(job, { confirmed: true }, [
          { kind: 'confirmed', trigger: job.trigger, actor: request.actor, detail: { ...detail, action: job.confirmAction } }
        ])
    }
  }
}

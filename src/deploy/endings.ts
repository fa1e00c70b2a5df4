import type { Logger } from '../logger.ts'
import type { StoreBackend } from '../nix/types.ts'
import type { JobStore } from './job-store.ts'
import type { EventInput, JobJournal } from './journal.ts'
import type { EventDetail, Job } from './types.ts'

/** Parts of the engine shared by everything that changes jobs. */
export interface JobContext {
  backend: StoreBackend
  jobs: JobStore
  journal: JobJournal
  now: () => number
  log: Logger
}

/** Ends a job with result `failure` and the reason, which the result event carries too. */
export async function failJob (context: JobContext, job: Job, reason: string, detail: EventDetail = {}): Promise<void> {
  context.log.warn({ deployment: job.id, seed: job.seed, reason }, 'deployment failed')
  await context.journal.commit(job, { step: 'failed', result: 'failure', reason }, [
    { kind: 'result', trigger: job.trigger, actor: 'garden', result: 'failure', detail: { ...detail, reason } }
  ])
}

/**
 * Ends a job with result `success` and records its sequence as applied for
 * the seed first, so a crash between the two never lets an older intent run.
 */
export async function succeedJob (context: JobContext, job: Job, detail: EventDetail = {}): Promise<void> {
  const seed = context.jobs.seed(job.seed)
  if (job.sequence > seed.applied) {
    await context.jobs.saveSeed(job.seed, {
      ...seed,
      applied: job.sequence,
      appliedIntent: job.intent,
      highest: Math.max(seed.highest, job.sequence),
      highestIntent: job.sequence >= seed.highest ? job.intent : seed.highestIntent
    })
  }
  context.log.info({ deployment: job.id, seed: job.seed, storePath: job.storePath }, 'deployment succeeded')
  await context.journal.commit(job, { step: 'succeeded', result: 'success', reason: null }, [{
    kind: 'result',
    trigger: job.trigger,
    actor: 'garden',
    result: 'success',
    detail: { storePath: job.storePath, generation: job.generation, action: job.applied, ...detail }
  }])
}

/** Ends a job that never activated as `canceled` or `superseded`: the step's own event, then the result. */
export async function withdrawJob (
  context: JobContext,
  job: Job,
  result: 'canceled' | 'superseded',
  event: EventInput
): Promise<void> {
  context.log.info({ deployment: job.id, seed: job.seed, result }, 'deployment withdrawn')
  await context.journal.commit(job, { step: result, result }, [
    event,
    { kind: 'result', trigger: job.trigger, actor: event.actor, result, detail: event.detail }
  ])
}

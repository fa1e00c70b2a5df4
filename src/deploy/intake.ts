import { deploymentId } from '../records/index.ts'
import type { DeployIntentBody, FollowUpIntentBody, Release, SignedRecord } from '../records/index.ts'
import type { DeploymentReason } from '../policy/index.ts'
import { isOpenDeployment } from '../store/index.ts'
import type { RecordStore } from '../store/index.ts'
import { failJob, succeedJob, withdrawJob } from './endings.ts'
import type { JobContext } from './endings.ts'
import { FollowUps } from './follow-ups.ts'
import type { FollowUpRequest } from './follow-ups.ts'
import type { EventInput } from './journal.ts'
import type { JobRunner } from './runner.ts'
import { isWithdrawable, staleReason } from './runner.ts'
import { isExpired, selectsGarden, subscriptionFor } from './targets.ts'
import type { DeploySubscription, EventDetail, GardenIdentity, Job, Trigger } from './types.ts'

export interface IntakeInit extends JobContext {
  store: RecordStore
  runner: JobRunner
  subscriptions: () => readonly DeploySubscription[]
  self: () => GardenIdentity
  clockReliable: boolean
}

/** Code and reason of an intent that never runs on this garden. */
interface Rejection {
  code: 'type_mismatch' | 'expired' | 'stale_sequence' | 'newer_intent_known'
  reason: string
  by?: string | null
  sequence?: number
}

/**
 * Turns stored intents into jobs, one at a time in arrival order, so the
 * checks against per-seed sequences never race. A deploy intent gets one
 * job per release whose seed this garden subscribes to, when its targets
 * select this garden. Follow-ups act on the jobs of the intent they name,
 * and wait for it when it has not been handled yet.
 */
export class IntentIntake {
  readonly #init: IntakeInit
  readonly #followUps: FollowUps
  #queue: Promise<void> = Promise.resolve()
  /** Follow-ups queued on their jobs and not yet marked handled. */
  readonly #applying = new Set<string>()
  readonly #tasks = new Set<Promise<void>>()

  constructor (init: IntakeInit) {
    this.#init = init
    this.#followUps = new FollowUps(init)
  }

  /** Handles an intent unless it was handled before; resolves once its jobs and first events are recorded. */
  async handle (record: SignedRecord<'intent'>, trigger: Trigger, reason?: DeploymentReason): Promise<void> {
    const run = this.#queue.then(async () => { await this.#handleOnce(record, trigger, reason) })
    this.#queue = run.catch(() => {})
    await run
  }

  /** Waits until every intent handed over so far is handled, follow-ups included. */
  async idle (): Promise<void> {
    await this.#queue
    await Promise.all([...this.#tasks])
  }

  /** Applies a follow-up that no signed record carries, such as an operator's confirmation on this garden. */
  async request (job: Job, request: FollowUpRequest): Promise<boolean> {
    return await this.#followUps.apply(job, request)
  }

  async #handleOnce (record: SignedRecord<'intent'>, trigger: Trigger, reason?: DeploymentReason): Promise<void> {
    if (this.#applying.has(record.id) || await this.#init.jobs.isHandled(record.id)) return
    const body = record.body
    if (body.action === 'deploy') {
      await this.#handleDeploy(record as SignedRecord<'intent'> & { body: DeployIntentBody }, trigger, reason)
    } else {
      await this.#handleFollowUp(record.id, body)
    }
  }

  async #handleDeploy (record: SignedRecord<'intent'> & { body: DeployIntentBody }, trigger: Trigger, reason?: DeploymentReason): Promise<void> {
    const self = this.#init.self()
    const created: string[] = []
    if (selectsGarden(record.body.targets, self)) {
      for (const release of record.body.releases) {
        const subscription = subscriptionFor(this.#init.subscriptions(), release.seed)
        if (subscription === undefined) continue
        const id = deploymentId(record.id, release.seed, self.peer)
        created.push(id)
        if (this.#init.jobs.jobs.has(id)) continue
        if (await this.#endedInOwnFeed(id, record, release.seed)) {
          this.#init.log.info({ deployment: id, intent: record.id },
            'deployment already ended in this garden\'s feed, so it does not run again')
          continue
        }
        await this.#accept(this.#newJob(id, record, release, subscription, trigger), record, release, subscription, reason)
      }
    }
    await this.#init.jobs.markHandled(record.id, { handledAt: this.#isoNow(), jobs: created })
    if (created.length > 0) {
      this.#init.log.info({ intent: record.id, deployments: created, trigger }, 'deploy intent accepted')
    }

    for (const followUp of await this.#init.jobs.takeWaitingFollowUps(record.id)) {
      const stored = await this.#init.store.get(followUp) as SignedRecord<'intent'> | undefined
      if (stored !== undefined && stored.body.action !== 'deploy') await this.#handleFollowUp(stored.id, stored.body)
    }
  }

  /**
   * Updates the seed states from the ended deployments of `record` that
   * this garden's own feed contains and no job has. The engine calls it for
   * every unhandled intent at start, before it handles any, so that after a
   * lost data folder an older intent is judged against the newer ones.
   */
  async restoreFromOwnFeed (record: SignedRecord<'intent'>): Promise<void> {
    const run = this.#queue.then(async () => {
      const body = record.body
      const self = this.#init.self()
      if (body.action !== 'deploy' || !selectsGarden(body.targets, self)) return
      for (const release of body.releases) {
        const id = deploymentId(record.id, release.seed, self.peer)
        if (subscriptionFor(this.#init.subscriptions(), release.seed) === undefined || this.#init.jobs.jobs.has(id)) continue
        await this.#endedInOwnFeed(id, record, release.seed)
      }
    })
    this.#queue = run.catch(() => {})
    await run
  }

  /**
   * Returns true when this garden's own feed in the store already ends the
   * deployment, although no job has it: after the data folder was lost,
   * sync brings the feed back, and running the deployment again would
   * repeat its host commands. Raises the seed's highest sequence to the
   * intent's, and after a success its applied sequence too, as the job did.
   * NOTE: the deployment gets no job, so a later retry of its intent does not run it here.
   */
  async #endedInOwnFeed (id: string, record: SignedRecord<'intent'>, seedName: string): Promise<boolean> {
    const summary = await this.#init.store.deployment(id)
    if (summary === undefined || isOpenDeployment(summary)) return false
    const sequence = (record.body as DeployIntentBody).sequence
    const seed = this.#init.jobs.seed(seedName)
    const applied = summary.result === 'success' && sequence > seed.applied
    if (applied || sequence > seed.highest) {
      await this.#init.jobs.saveSeed(seedName, {
        applied: applied ? sequence : seed.applied,
        appliedIntent: applied ? record.id : seed.appliedIntent,
        highest: Math.max(seed.highest, sequence),
        highestIntent: sequence > seed.highest ? record.id : seed.highestIntent
      })
    }
    return true
  }

  async #handleFollowUp (id: string, body: FollowUpIntentBody): Promise<void> {
    if (!selectsGarden(body.targets, this.#init.self())) {
      await this.#init.jobs.markHandled(id, { handledAt: this.#isoNow(), jobs: [] })
      return
    }
    const jobs = this.#init.jobs.jobsOfIntent(body.intent).filter(job => body.seeds?.includes(job.seed) ?? true)
    if (jobs.length === 0 && !(await this.#init.jobs.isHandled(body.intent))) {
      this.#init.log.info({ intent: id, target: body.intent }, 'follow-up waits for the intent it names')
      await this.#init.jobs.addWaitingFollowUp(body.intent, id)
      return
    }
    if (this.#init.clockReliable && isExpired(body, this.#init.now())) {
      this.#init.log.warn({ intent: id, expiresAt: body.expiresAt }, `${body.action} intent expired, so it is not applied`)
      jobs.length = 0
    }
    // A follow-up may wait on a job's queue behind staging, so the intake does not wait for it.
    this.#applying.add(id)
    const task = this.#applyFollowUp(id, body, jobs).finally(() => {
      this.#applying.delete(id)
      this.#tasks.delete(task)
    })
    this.#tasks.add(task)
  }

  async #applyFollowUp (id: string, body: FollowUpIntentBody, jobs: Job[]): Promise<void> {
    try {
      await Promise.all(jobs.map(async job => await this.#followUps.apply(job, { action: body.action, actor: body.author, intent: id })))
      await this.#init.jobs.markHandled(id, { handledAt: this.#isoNow(), jobs: jobs.map(job => job.id) })
    } catch (err) {
      this.#init.log.error({ err, intent: id }, `applying a ${body.action} intent failed`)
    }
  }

  /** Records the job's `received` event, then ends it at once or starts its evaluation. */
  async #accept (job: Job, record: SignedRecord<'intent'>, release: Release, subscription: DeploySubscription, reason?: DeploymentReason): Promise<void> {
    const received = this.#receivedEvent(job, record, subscription, reason)
    const rejection = this.#rejectionOf(job, record, release, subscription)
    if (rejection !== null) {
      await this.#reject(job, received, rejection)
      return
    }

    const current = await this.#init.backend.currentGeneration(subscription.profile)
    if (current !== null && current.storePath === release.storePath) {
      await this.#init.journal.commit(job, { generation: current.number }, [received])
      await succeedJob(this.#init, job, { noop: true, reason: 'the release is already the current generation' })
      this.#supersedeOlder(job)
      return
    }

    const seed = this.#init.jobs.seed(job.seed)
    await this.#init.jobs.saveSeed(job.seed, { ...seed, highest: job.sequence, highestIntent: job.intent })
    await this.#init.journal.commit(job, {}, [received])
    this.#supersedeOlder(job)
    this.#init.runner.spawn(job, 'evaluate', async signal => { await this.#init.runner.evaluate(job, signal) })
  }

  #rejectionOf (job: Job, record: SignedRecord<'intent'>, release: Release, subscription: DeploySubscription): Rejection | null {
    if (release.type !== subscription.type) {
      return { code: 'type_mismatch', reason: `release of seed ${job.seed} is a ${release.type}, but subscription ${subscription.name} deploys a ${subscription.type}` }
    }
    const expiresAt = (record.body as DeployIntentBody).expiresAt
    if (this.#init.clockReliable && isExpired({ expiresAt }, this.#init.now())) {
      return { code: 'expired', reason: `intent expired at ${expiresAt}` }
    }
    const seed = this.#init.jobs.seed(job.seed)
    if (job.sequence <= seed.applied) {
      return { code: 'stale_sequence', reason: staleReason(job, seed.applied), by: seed.appliedIntent, sequence: seed.applied }
    }
    if (job.sequence <= seed.highest && seed.highestIntent !== job.intent) {
      const reason = `intent ${seed.highestIntent ?? 'unknown'} with sequence ${seed.highest} for seed ${job.seed} is newer`
      return { code: 'newer_intent_known', reason, by: seed.highestIntent, sequence: seed.highest }
    }
    return null
  }

  async #reject (job: Job, received: EventInput, rejection: Rejection): Promise<void> {
    this.#init.log.warn({ deployment: job.id, intent: job.intent, code: rejection.code, reason: rejection.reason }, 'intent will not run')
    await this.#init.journal.commit(job, { code: rejection.code }, [received])
    if (rejection.code === 'stale_sequence' || rejection.code === 'newer_intent_known') {
      const detail = { code: rejection.code, reason: rejection.reason, by: rejection.by ?? null, sequence: rejection.sequence ?? null }
      await withdrawJob(this.#init, job, 'superseded', { kind: 'superseded', trigger: job.trigger, actor: 'garden', detail })
      return
    }
    await failJob(this.#init, job, rejection.reason, { code: rejection.code })
  }

  #supersedeOlder (job: Job): void {
    for (const older of this.#init.jobs.jobsOfSeed(job.seed)) {
      if (older.id === job.id || older.sequence >= job.sequence) continue
      if (!isWithdrawable(older) && older.step !== 'waiting_for_window') continue
      this.#init.runner.interrupt(older)
      this.#init.runner.spawn(older, 'supersede', async () => {
        await this.#init.runner.supersede(older, job.intent, job.sequence)
      })
    }
  }

  #receivedEvent (job: Job, record: SignedRecord<'intent'>, subscription: DeploySubscription, reason?: DeploymentReason): EventInput {
    const detail: EventDetail = {
      reason: reason ?? null,
      sequence: job.sequence,
      storePath: job.storePath,
      subscription: subscription.name,
      profile: subscription.profile
    }
    if (!this.#init.clockReliable) {
      // This garden's clock cannot judge expiry, so it records that rather than a guess.
      detail.clockReliable = false
      detail.expiresAt = (record.body as DeployIntentBody).expiresAt
      detail.expiryChecked = false
    }
    return { kind: 'received', trigger: job.trigger, actor: record.body.author, detail }
  }

  #newJob (id: string, record: SignedRecord<'intent'>, release: Release, subscription: DeploySubscription, trigger: Trigger): Job {
    const now = this.#isoNow()
    return {
      id,
      intent: record.id,
      seed: release.seed,
      subscription: subscription.name,
      profile: subscription.profile,
      seedType: subscription.type,
      sequence: (record.body as DeployIntentBody).sequence,
      storePath: release.storePath,
      actor: record.body.author,
      trigger,
      step: 'received',
      staged: false,
      action: null,
      applied: null,
      windowAction: null,
      windowRule: null,
      stageNow: false,
      mode: null,
      bootChanged: null,
      confirmAction: null,
      confirmed: false,
      opensAt: null,
      previous: null,
      generation: null,
      bootId: null,
      rebootRequestedAt: null,
      rebooted: null,
      rollbackReboot: false,
      result: null,
      reason: null,
      code: null,
      failure: null,
      attempts: 1,
      eventCount: 0,
      outbox: [],
      createdAt: now,
      updatedAt: now
    }
  }

  #isoNow (): string {
    return new Date(this.#init.now()).toISOString()
  }
}

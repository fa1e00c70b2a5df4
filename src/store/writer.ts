import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import { prefetchGroup, stageRecord, stageReportedFork } from './put.ts'
import type { StageOutcome } from './put.ts'
import { Staging } from './staging.ts'
import type { Database, Tables } from './tables.ts'
import type { PutResult, ReportedFork, StoredMeta } from './types.ts'

/** Records written in one LevelDB batch at most; puts that queue up meanwhile share a batch. */
export const GROUP_MAX_RECORDS = 2048

interface PendingPut {
  record: SignedRecord
  meta: StoredMeta
  /** Set for a fork that an alert proved; `record` is then its second record. */
  fork?: ReportedFork
  resolve: (result: PutResult) => void
  reject: (err: unknown) => void
}

export interface CommittedPut {
  record: SignedRecord
  meta: StoredMeta
  outcome: StageOutcome
}

export interface WriterInit {
  db: Database
  tables: Tables
  log: Logger
  /** Runs after a batch is durable and the in-memory tables are updated, before any put resolves. */
  afterCommit: (staging: Staging, committed: CommittedPut[]) => void
}

/** A group whose batch write has started; `done` resolves to whether it succeeded, and never rejects. */
interface InFlight {
  staging: Staging
  done: Promise<boolean>
}

/**
 * Serialises every write of a store. Puts queue up and are written in
 * groups: one batch with `sync: true` per group, so a put resolves only
 * once its record, indexes and views are on disk, and a burst of puts
 * costs one fsync instead of one each. While one group's batch is being
 * written, the next group is prepared on top of it, and its batch starts
 * once the previous one is durable. If that previous batch fails, the
 * next group is prepared again from the database. Other jobs (compaction)
 * run exclusively, after every batch before them is durable.
 */
export class Writer {
  readonly #init: WriterInit
  #chain: Promise<void> = Promise.resolve()
  #pending: PendingPut[] = []
  #scheduled = false
  #inFlight: InFlight | undefined

  constructor (init: WriterInit) {
    this.#init = init
  }

  async put (record: SignedRecord, meta: StoredMeta): Promise<PutResult> {
    return await new Promise<PutResult>((resolve, reject) => {
      this.#pending.push({ record, meta, resolve, reject })
      this.#scheduleGroup()
    })
  }

  /** Queues a fork that an alert proved, in the next group like any put. */
  async putReportedFork (fork: ReportedFork, meta: StoredMeta): Promise<PutResult> {
    return await new Promise<PutResult>((resolve, reject) => {
      this.#pending.push({ record: fork.records[1], meta, fork, resolve, reject })
      this.#scheduleGroup()
    })
  }

  /** Runs `job` once every write queued before it is durable, and before any write queued after it. */
  async exclusive<T> (job: () => Promise<T>): Promise<T> {
    return await this.#enqueue(async () => {
      await this.#inFlight?.done
      return await job()
    })
  }

  /** Resolves once every write queued so far has finished. */
  async idle (): Promise<void> {
    await this.exclusive(async () => {})
  }

  async #enqueue<T> (job: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(job)
    this.#chain = result.then(() => undefined, () => undefined)
    return await result
  }

  #scheduleGroup (): void {
    if (this.#scheduled) {
      return
    }
    this.#scheduled = true
    this.#enqueue(async () => {
      this.#scheduled = false
      const group = this.#pending.splice(0, GROUP_MAX_RECORDS)
      if (this.#pending.length > 0) {
        this.#scheduleGroup()
      }
      await this.#prepareGroup(group, this.#inFlight)
    }).catch(err => {
      this.#init.log.error({ err }, 'writing a group of records failed')
    })
  }

  /** Stages a group on top of `base`, then starts its batch once `base` is durable. */
  async #prepareGroup (group: PendingPut[], base: InFlight | undefined): Promise<void> {
    const { tables, log } = this.#init
    const staging = new Staging(log, base == null ? {} : { base: base.staging })
    const staged: StagedPut[] = []
    try {
      prefetchGroup(staging, tables, group.map(put => put.record))
    } catch (err) {
      log.error({ err, records: group.length }, 'reading the record store for a group of records failed')
      rejectAll(group, err)
      return
    }
    for (const put of group) {
      const outcome = await this.#stageOne(staging, put)
      if (outcome != null) {
        staged.push({ put, outcome })
      }
    }

    if (base != null && !await base.done) {
      await this.#prepareGroup(staged.map(({ put }) => put), undefined)
      return
    }
    const inFlight: InFlight = { staging, done: this.#writeGroup(staging, staged) }
    this.#inFlight = inFlight
    // A durable batch is in the database and the in-memory tables, so later groups read those instead.
    inFlight.done = inFlight.done.finally(() => {
      if (this.#inFlight === inFlight) {
        this.#inFlight = undefined
      }
    })
  }

  async #writeGroup (staging: Staging, staged: StagedPut[]): Promise<boolean> {
    const { db, log } = this.#init
    try {
      if (staging.size > 0) {
        await db.batch(staging.operations() as any, { sync: true })
      }
    } catch (err) {
      log.error({ err, records: staged.length }, 'writing a batch to the record store failed')
      rejectAll(staged.map(({ put }) => put), err)
      return false
    }
    staging.applyToMemory()
    try {
      this.#init.afterCommit(staging, staged.map(({ put, outcome }) => ({ record: put.record, meta: put.meta, outcome })))
    } catch (err) {
      log.error({ err }, 'updating caches after a record store batch failed')
    }
    for (const { put, outcome } of staged) {
      put.resolve(outcome.result)
    }
    return true
  }

  /** Stages one record in a child staging, so a failure drops only that record. */
  async #stageOne (staging: Staging, put: PendingPut): Promise<StageOutcome | undefined> {
    const child = staging.child()
    try {
      const outcome = put.fork != null
        ? await stageReportedFork(child, this.#init.tables, put.fork, put.meta)
        : await stageRecord(child, this.#init.tables, put.record, put.meta)
      child.commit()
      return outcome
    } catch (err) {
      this.#init.log.error({ err, record: put.record.id }, 'staging a record failed')
      put.reject(err)
      return undefined
    }
  }
}

interface StagedPut {
  put: PendingPut
  outcome: StageOutcome
}

function rejectAll (puts: PendingPut[], err: unknown): void {
  for (const put of puts) {
    put.reject(err)
  }
}

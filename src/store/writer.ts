import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import { prefetchGroup, stageRecord } from './put.ts'
import type { StageOutcome } from './put.ts'
import { Staging } from './staging.ts'
import type { Database, Tables } from './tables.ts'
import type { PutResult, StoredMeta } from './types.ts'

/** Records written in one LevelDB batch at most; puts that queue up meanwhile share a batch. */
export const GROUP_MAX_RECORDS = 2048

interface PendingPut {
  record: SignedRecord
  meta: StoredMeta
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

/**
 * Serialises every write of a store. Puts queue up and are written in
 * groups: one batch with `sync: true` per group, so a put resolves only
 * once its record, indexes and views are on disk, and a burst of puts
 * costs one fsync instead of one each. Other jobs (compaction) run
 * exclusively between groups.
 */
export class Writer {
  readonly #init: WriterInit
  #chain: Promise<void> = Promise.resolve()
  #pending: PendingPut[] = []
  #scheduled = false

  constructor (init: WriterInit) {
    this.#init = init
  }

  async put (record: SignedRecord, meta: StoredMeta): Promise<PutResult> {
    return await new Promise<PutResult>((resolve, reject) => {
      this.#pending.push({ record, meta, resolve, reject })
      this.#scheduleGroup()
    })
  }

  /** Runs `job` after every write queued before it, and before any queued after it. */
  async exclusive<T> (job: () => Promise<T>): Promise<T> {
    const result = this.#chain.then(job)
    this.#chain = result.then(() => undefined, () => undefined)
    return await result
  }

  /** Resolves once every write queued so far has finished. */
  async idle (): Promise<void> {
    await this.exclusive(async () => {})
  }

  #scheduleGroup (): void {
    if (this.#scheduled) {
      return
    }
    this.#scheduled = true
    this.exclusive(async () => {
      this.#scheduled = false
      const group = this.#pending.splice(0, GROUP_MAX_RECORDS)
      if (this.#pending.length > 0) {
        this.#scheduleGroup()
      }
      await this.#writeGroup(group)
    }).catch(err => {
      this.#init.log.error({ err }, 'writing a group of records failed')
    })
  }

  async #writeGroup (group: PendingPut[]): Promise<void> {
    const { db, tables, log } = this.#init
    const staging = new Staging(log)
    const staged: Array<{ put: PendingPut, outcome: StageOutcome }> = []
    try {
      await prefetchGroup(staging, tables, group.map(put => put.record))
    } catch (err) {
      rejectAll(group, err)
      return
    }
    for (const put of group) {
      const outcome = await this.#stageOne(staging, put)
      if (outcome != null) {
        staged.push({ put, outcome })
      }
    }

    try {
      if (staging.size > 0) {
        await db.batch(staging.operations() as any, { sync: true })
      }
    } catch (err) {
      log.error({ err, records: staged.length }, 'writing a batch to the record store failed')
      rejectAll(staged.map(({ put }) => put), err)
      return
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
  }

  /** Stages one record in a child staging, so a failure drops only that record. */
  async #stageOne (staging: Staging, put: PendingPut): Promise<StageOutcome | undefined> {
    const child = staging.child()
    try {
      const outcome = await stageRecord(child, this.#init.tables, put.record, put.meta)
      child.commit()
      return outcome
    } catch (err) {
      this.#init.log.error({ err, record: put.record.id }, 'staging a record failed')
      put.reject(err)
      return undefined
    }
  }
}

function rejectAll (puts: PendingPut[], err: unknown): void {
  for (const put of puts) {
    put.reject(err)
  }
}

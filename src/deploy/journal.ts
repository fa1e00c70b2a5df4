import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import { TEXT_MAX_CHARS } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import type { JobStore } from './job-store.ts'
import type { EventDetail, EventDraft, Job } from './types.ts'

/** An event to record, without its number and time, which the journal assigns. */
export type EventInput = Omit<EventDraft, 'number' | 'issuedAt'>

export interface JobJournalInit {
  store: RecordStore
  nodeKey: SigningKey
  jobs: JobStore
  fleet: string
  announce: (record: SignedRecord) => Promise<void>
  /** Called with every event record after it was stored. */
  onEvent: (record: SignedRecord<'event'>, job: Job) => void
  now: () => number
  log: Logger
}

/**
 * Records job changes and their events in a fixed order. First the job,
 * with its new events in `outbox`, is written durably. Then each event is
 * signed and appended to this garden's feed, the emptied outbox is
 * written, and only then is each event announced. A crash between the
 * first write and the last append leaves events in the outbox, and
 * `recover` appends them at start without repeating the ones stored.
 */
export class JobJournal {
  readonly #init: JobJournalInit

  constructor (init: JobJournalInit) {
    this.#init = init
  }

  /** Applies `changes` to the job, records `events` for it and waits until they are announced. */
  async commit (job: Job, changes: Partial<Job>, events: EventInput[] = []): Promise<void> {
    const issuedAt = new Date(this.#init.now()).toISOString()
    Object.assign(job, changes, { updatedAt: issuedAt })
    for (const event of events) {
      job.eventCount += 1
      job.outbox.push({ ...event, number: job.eventCount, issuedAt })
    }
    await this.#init.jobs.saveJob(job)
    await this.#flush(job)
  }

  /** Appends the events left in a job's outbox by a crash, skipping those the store already contains. */
  async recover (job: Job): Promise<void> {
    if (job.outbox.length === 0) return
    const stored = (await this.#init.store.eventsOfDeployment(job.id))
      .filter(record => record.body.author === this.#init.nodeKey.id).length
    job.outbox = job.outbox.filter(draft => draft.number > stored)
    this.#init.log.info({ deployment: job.id, events: job.outbox.length }, 'appending events left by an interrupted run')
    await this.#init.jobs.saveJob(job)
    await this.#flush(job)
  }

  async #flush (job: Job): Promise<void> {
    if (job.outbox.length === 0) return
    const records: Array<SignedRecord<'event'>> = []
    while (job.outbox.length > 0) {
      records.push(await this.#append(job, job.outbox[0]))
      job.outbox.shift()
    }
    // Losing this write in a crash only leaves appended events in the outbox, which `recover` skips.
    await this.#init.jobs.saveJob(job, false)
    for (const record of records) {
      this.#init.onEvent(record, job)
      await this.#announce(record)
    }
  }

  async #append (job: Job, draft: EventDraft): Promise<SignedRecord<'event'>> {
    const body = {
      fleet: this.#init.fleet,
      issuedAt: draft.issuedAt,
      deployment: job.id,
      intent: job.intent,
      seed: job.seed,
      kind: draft.kind,
      ...(draft.trigger === undefined ? {} : { trigger: draft.trigger }),
      ...(draft.actor === undefined ? {} : { actor: draft.actor }),
      ...(draft.result === undefined ? {} : { result: draft.result }),
      ...(draft.detail === undefined ? {} : { detail: cleanDetail(draft.detail) })
    }
    return await this.#init.store.append('event', body, this.#init.nodeKey)
  }

  async #announce (record: SignedRecord): Promise<void> {
    try {
      await this.#init.announce(record)
    } catch (err) {
      // The record is stored, so sync delivers it to peers later.
      this.#init.log.warn({ err, record: record.id }, 'announcing a deployment event failed')
    }
  }
}

/**
 * Drops fields whose value is undefined, which a signed record cannot
 * contain, and cuts texts to the schema's TEXT_MAX_CHARS. A surrogate pair
 * cut in half becomes U+FFFD, because canonical JSON rejects lone surrogates.
 */
function cleanDetail (detail: EventDetail): EventDetail {
  return Object.fromEntries(Object.entries(detail)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => [key, typeof value === 'string' ? value.slice(0, TEXT_MAX_CHARS).toWellFormed() : value]))
}

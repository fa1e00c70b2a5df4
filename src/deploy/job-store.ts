import type { LocalSublevel, RecordStore } from '../store/index.ts'
import type { Job, ProfileState, SeedState } from './types.ts'

/** Write options that make a LevelDB write durable before it resolves (classic-level's `sync`). */
const DURABLE = { sync: true } as object

const EMPTY_SEED: SeedState = { applied: 0, appliedIntent: null, highest: 0, highestIntent: null }

/** When and how an intent was handled, so it is handled once. */
export interface HandledIntent {
  handledAt: string
  /** Deployment ids created for it, or the jobs a follow-up acted on. */
  jobs: string[]
}

/**
 * The engine's state in sublevels of the node's LevelDB: jobs by deployment
 * id, per-seed sequences, handled intents, follow-ups waiting for their
 * deploy intent, and per-profile generation bookkeeping. Jobs, seeds and
 * profiles are also kept in memory, loaded at open.
 */
export class JobStore {
  readonly #jobs: LocalSublevel<Job>
  readonly #seeds: LocalSublevel<SeedState>
  readonly #handled: LocalSublevel<HandledIntent>
  readonly #waiting: LocalSublevel<string[]>
  readonly #profiles: LocalSublevel<ProfileState>
  readonly jobs = new Map<string, Job>()
  readonly #seedStates = new Map<string, SeedState>()
  readonly #profileStates = new Map<string, ProfileState>()

  constructor (store: RecordStore) {
    this.#jobs = store.sublevel<Job>('deploy-jobs')
    this.#seeds = store.sublevel<SeedState>('deploy-seeds')
    this.#handled = store.sublevel<HandledIntent>('deploy-handled')
    this.#waiting = store.sublevel<string[]>('deploy-waiting')
    this.#profiles = store.sublevel<ProfileState>('deploy-profiles')
  }

  async load (): Promise<void> {
    this.jobs.clear()
    for await (const [id, job] of this.#jobs.iterator()) {
      this.jobs.set(id, job)
    }
    for await (const [seed, state] of this.#seeds.iterator()) {
      this.#seedStates.set(seed, state)
    }
    for await (const [profile, state] of this.#profiles.iterator()) {
      this.#profileStates.set(profile, state)
    }
  }

  /**
   * Writes a job and updates the copy in memory. The write is durable when
   * it resolves unless `durable` is false, for changes that a crash may lose.
   */
  async saveJob (job: Job, durable = true): Promise<void> {
    await this.#jobs.put(job.id, job, durable ? DURABLE : {})
    this.jobs.set(job.id, job)
  }

  jobsOfIntent (intent: string): Job[] {
    return [...this.jobs.values()].filter(job => job.intent === intent)
  }

  jobsOfSeed (seed: string): Job[] {
    return [...this.jobs.values()].filter(job => job.seed === seed)
  }

  seed (seed: string): SeedState {
    return this.#seedStates.get(seed) ?? EMPTY_SEED
  }

  async saveSeed (seed: string, state: SeedState): Promise<void> {
    await this.#seeds.put(seed, state, DURABLE)
    this.#seedStates.set(seed, state)
  }

  async isHandled (intent: string): Promise<boolean> {
    return (await this.#handled.get(intent)) !== undefined
  }

  /** Returns which of `intents` were handled, in input order. */
  async handledOf (intents: string[]): Promise<boolean[]> {
    if (intents.length === 0) return []
    return (await this.#handled.getMany(intents)).map(value => value !== undefined)
  }

  async markHandled (intent: string, handled: HandledIntent): Promise<void> {
    await this.#handled.put(intent, handled, DURABLE)
  }

  /** Keeps a follow-up until its deploy intent is handled. */
  async addWaitingFollowUp (intent: string, followUp: string): Promise<void> {
    const waiting = await this.#waiting.get(intent) ?? []
    if (!waiting.includes(followUp)) {
      await this.#waiting.put(intent, [...waiting, followUp], DURABLE)
    }
  }

  /** Returns the follow-ups that wait for `intent` and deletes their list. */
  async takeWaitingFollowUps (intent: string): Promise<string[]> {
    const waiting = await this.#waiting.get(intent)
    if (waiting === undefined) return []
    await this.#waiting.del(intent, DURABLE)
    return waiting
  }

  profile (profile: string): ProfileState | undefined {
    return this.#profileStates.get(profile)
  }

  async saveProfile (profile: string, state: ProfileState): Promise<void> {
    await this.#profiles.put(profile, state, DURABLE)
    this.#profileStates.set(profile, state)
  }
}

import type { Logger } from '../logger.ts'
import type { Generation, StoreBackend } from '../nix/types.ts'
import type { JobStore } from './job-store.ts'
import type { ProfileState } from './types.ts'

export interface ProfileScan {
  generations: Generation[]
  /** Generations that no deployment made, oldest first. */
  drift: number[]
}

/**
 * Separates the generations that deployments made from those made by hand
 * (`nix-env --set`, `nixos-rebuild`). Generations that exist when the
 * engine first reads a profile count as known, so only later ones can be
 * drift. A generation found while a deployment is setting the same profile
 * is judged at the next scan, once that deployment has recorded its own.
 */
export class ProfileTracker {
  readonly #backend: StoreBackend
  readonly #jobs: JobStore
  readonly #log: Logger
  readonly #busy = new Map<string, number>()

  constructor (init: { backend: StoreBackend, jobs: JobStore, log: Logger }) {
    this.#backend = init.backend
    this.#jobs = init.jobs
    this.#log = init.log
  }

  /** Makes `storePath` the profile's current generation and records that generation as known. */
  async setProfile (profile: string, storePath: string): Promise<Generation> {
    this.#busy.set(profile, (this.#busy.get(profile) ?? 0) + 1)
    try {
      await this.#baseline(profile)
      const generation = await this.#backend.setProfile(profile, storePath)
      await this.markKnown(profile, generation.number)
      return generation
    } finally {
      this.#busy.set(profile, (this.#busy.get(profile) ?? 1) - 1)
    }
  }

  async markKnown (profile: string, number: number): Promise<void> {
    const state = await this.#baseline(profile)
    if (!state.known.includes(number)) {
      await this.#jobs.saveProfile(profile, { ...state, known: [...state.known, number].sort((a, b) => a - b) })
    }
  }

  /** Lists the profile's generations and records the new ones that no deployment made as drift. */
  async scan (profile: string): Promise<ProfileScan> {
    const generations = await this.#backend.listGenerations(profile)
    const state = this.#jobs.profile(profile) ?? await this.#save(profile, { known: generations.map(g => g.number), drift: [] })
    const numbers = new Set(generations.map(g => g.number))
    const drift = state.drift.filter(number => numbers.has(number))
    if ((this.#busy.get(profile) ?? 0) > 0) {
      return { generations, drift }
    }

    const found = generations.filter(g => !state.known.includes(g.number) && !state.drift.includes(g.number))
    for (const generation of found) {
      this.#log.warn({ profile, generation: generation.number, storePath: generation.storePath },
        'profile generation was not made by a deployment (drift)')
    }
    const known = state.known.filter(number => numbers.has(number))
    const next = { known, drift: [...drift, ...found.map(g => g.number)].sort((a, b) => a - b) }
    if (found.length > 0 || known.length !== state.known.length || drift.length !== state.drift.length) {
      await this.#save(profile, next)
    }
    return { generations, drift: next.drift }
  }

  async #baseline (profile: string): Promise<ProfileState> {
    const state = this.#jobs.profile(profile)
    if (state !== undefined) return state
    const generations = await this.#backend.listGenerations(profile)
    return await this.#save(profile, { known: generations.map(g => g.number), drift: [] })
  }

  async #save (profile: string, state: ProfileState): Promise<ProfileState> {
    await this.#jobs.saveProfile(profile, state)
    return state
  }
}

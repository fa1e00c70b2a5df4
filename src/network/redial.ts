import type { Logger } from '../logger.ts'

/**
 * Returns the wait before the next dial after `failures` failed dials in a
 * row: the listed delays first, then doubling up to `maxDelayMs`.
 */
export function redialDelayMs (failures: number, delaysMs: number[], maxDelayMs: number): number {
  if (failures <= 0) {
    return 0
  }
  if (failures <= delaysMs.length) {
    return Math.min(delaysMs[failures - 1], maxDelayMs)
  }
  const last = delaysMs.at(-1) ?? maxDelayMs
  const doublings = failures - delaysMs.length
  return Math.min(last * 2 ** Math.min(doublings, 32), maxDelayMs)
}

export interface RedialerInit {
  delaysMs: number[]
  maxDelayMs: number
  /** Opens a connection to the target; throws when it fails. */
  dial: (target: string, signal: AbortSignal) => Promise<void>
  /** True while a connection to the target is open. */
  isConnected: (target: string) => boolean
  logger: Logger
  /** Called with the delay of each scheduled attempt, for tests and metrics. */
  onSchedule?: (target: string, delayMs: number, failures: number) => void
}

interface TargetState {
  failures: number
  timer?: ReturnType<typeof setTimeout>
  dialling: boolean
}

/**
 * Keeps dialling targets (multiaddrs or peer ids) that are not connected,
 * with progressive backoff per target, reset when a dial succeeds. A
 * target leaves the loop only through `remove`, e.g. on revocation.
 */
export class Redialer {
  readonly #init: RedialerInit
  readonly #targets = new Map<string, TargetState>()
  #controller = new AbortController()
  #running = false

  constructor (init: RedialerInit) {
    this.#init = init
  }

  start (): void {
    if (this.#running) {
      return
    }
    this.#running = true
    this.#controller = new AbortController()
    for (const target of this.#targets.keys()) {
      this.#schedule(target, 0)
    }
  }

  stop (): void {
    this.#running = false
    this.#controller.abort()
    for (const state of this.#targets.values()) {
      clearTimeout(state.timer)
      state.timer = undefined
    }
  }

  /** Adds a target and dials it now unless it is connected. */
  add (target: string): void {
    if (!this.#targets.has(target)) {
      this.#targets.set(target, { failures: 0, dialling: false })
    }
    this.#schedule(target, 0)
  }

  remove (target: string): void {
    clearTimeout(this.#targets.get(target)?.timer)
    this.#targets.delete(target)
  }

  has (target: string): boolean {
    return this.#targets.has(target)
  }

  /** Call when a target disconnected: dials it again after the current backoff. */
  disconnected (target: string): void {
    const state = this.#targets.get(target)
    if (state != null) {
      this.#schedule(target, redialDelayMs(Math.max(state.failures, 1), this.#init.delaysMs, this.#init.maxDelayMs))
    }
  }

  #schedule (target: string, delayMs: number): void {
    const state = this.#targets.get(target)
    if (!this.#running || state == null || state.timer != null || state.dialling) {
      return
    }
    this.#init.onSchedule?.(target, delayMs, state.failures)
    state.timer = setTimeout(() => {
      state.timer = undefined
      this.#attempt(target, state).catch(() => {})
    }, delayMs)
  }

  async #attempt (target: string, state: TargetState): Promise<void> {
    if (!this.#running || this.#targets.get(target) !== state) {
      return
    }
    if (this.#init.isConnected(target)) {
      state.failures = 0
      return
    }
    state.dialling = true
    try {
      await this.#init.dial(target, this.#controller.signal)
      state.failures = 0
      this.#init.logger.debug({ target }, 'redial succeeded')
    } catch (err) {
      state.failures++
      this.#init.logger.debug({ target, failures: state.failures, err: (err as Error).message }, 'redial failed')
    } finally {
      state.dialling = false
    }
    if (state.failures > 0) {
      this.#schedule(target, redialDelayMs(state.failures, this.#init.delaysMs, this.#init.maxDelayMs))
    }
  }
}

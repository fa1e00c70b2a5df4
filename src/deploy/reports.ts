import { canonicalJson } from '../records/index.ts'
import type { ReportBody, SignedRecord } from '../records/index.ts'
import type { SigningKey } from '../keys/index.ts'
import type { Logger } from '../logger.ts'
import type { Rules } from '../policy/index.ts'
import type { RecordStore } from '../store/index.ts'
import type { ProfileTracker } from './profile-tracker.ts'
import { REPORT_GENERATIONS_MAX } from './types.ts'
import type { DeploySubscription, GardenIdentity } from './types.ts'

type ReportContent = Omit<ReportBody, 'author' | 'seq' | 'prev' | 'issuedAt'>

export interface ReporterInit {
  store: RecordStore
  nodeKey: SigningKey
  announce: (record: SignedRecord) => Promise<void>
  profiles: ProfileTracker
  subscriptions: () => readonly DeploySubscription[]
  rulesOf: (subscription: DeploySubscription) => Rules
  self: () => GardenIdentity
  fleet: string
  agentVersion: string
  intervalMs: number
  delayMs: number
  now: () => number
  log: Logger
}

/**
 * Signs and sends this garden's report: at start, `delayMs` after a change
 * when the content differs from the last report sent, and every
 * `intervalMs` whatever the content. Building a report also scans each
 * subscribed profile for drift.
 */
export class Reporter {
  readonly #init: ReporterInit
  #interval: NodeJS.Timeout | undefined
  #delay: NodeJS.Timeout | undefined
  #delayed: PromiseWithResolvers<void> | undefined
  #lastContent: string | undefined
  #sending: Promise<unknown> = Promise.resolve()
  #running = false

  constructor (init: ReporterInit) {
    this.#init = init
  }

  start (): void {
    if (this.#running) return
    this.#running = true
    this.#interval = setInterval(() => { this.#queue(true) }, this.#init.intervalMs)
    this.#interval.unref()
    this.#queue(true)
  }

  /** Stops the timers. A report that a change made due is sent now rather than dropped. */
  async stop (): Promise<void> {
    clearInterval(this.#interval)
    this.#fireDelay()
    this.#running = false
    await this.#sending.catch(() => {})
  }

  /** Waits for a report that is due after a change, or being built or sent. */
  async idle (): Promise<void> {
    await this.#delayed?.promise
    await this.#sending.catch(() => {})
  }

  /** Sends a report `delayMs` from now if its content changed by then. */
  changed (): void {
    if (!this.#running || this.#delay !== undefined) return
    this.#delayed = Promise.withResolvers<void>()
    this.#delay = setTimeout(() => { this.#fireDelay() }, this.#init.delayMs)
    this.#delay.unref()
  }

  /** Ends the wait after a change: queues the report unless the reporter stopped. */
  #fireDelay (): void {
    clearTimeout(this.#delay)
    this.#delay = undefined
    this.#queue(false)
    this.#delayed?.resolve()
    this.#delayed = undefined
  }

  /** Builds, signs, stores and announces a report now, and returns it. */
  async send (): Promise<SignedRecord<'report'>> {
    const run = this.#sending.catch(() => {}).then(async () => await this.#sendNow(true))
    this.#sending = run
    return await run as SignedRecord<'report'>
  }

  /** Returns the content of the next report: subscriptions with their expanded policies, profiles with drift. */
  async build (): Promise<ReportContent> {
    const self = this.#init.self()
    const subscriptions = this.#init.subscriptions()
    const profiles = []
    for (const subscription of subscriptions) {
      const scan = await this.#init.profiles.scan(subscription.profile)
      profiles.push({
        seed: subscription.seed,
        profile: subscription.profile,
        generations: scan.generations.slice(-REPORT_GENERATIONS_MAX).map(generation => ({
          ...generation, date: new Date(generation.date).toISOString()
        })),
        drift: scan.drift.slice(-REPORT_GENERATIONS_MAX)
      })
    }
    return {
      fleet: this.#init.fleet,
      agentVersion: this.#init.agentVersion,
      addresses: [...self.addresses ?? []],
      subscriptions: subscriptions.map(subscription => ({
        name: subscription.name,
        seed: subscription.seed,
        type: subscription.type,
        profile: subscription.profile,
        // A JSON round trip drops fields that are undefined, which a signed record cannot contain.
        policy: JSON.parse(JSON.stringify(this.#init.rulesOf(subscription))) as Record<string, unknown>
      })),
      profiles
    }
  }

  #queue (force: boolean): void {
    if (!this.#running) return
    this.#sending = this.#sending.catch(() => {}).then(async () => {
      try {
        await this.#sendNow(force)
      } catch (err) {
        this.#init.log.warn({ err }, 'sending the garden report failed')
      }
    })
  }

  async #sendNow (force: boolean): Promise<SignedRecord<'report'> | undefined> {
    const content = await this.build()
    const text = canonicalJson(content)
    if (!force && text === this.#lastContent) return undefined
    const record = await this.#init.store.append('report', { ...content, issuedAt: new Date(this.#init.now()).toISOString() }, this.#init.nodeKey)
    this.#lastContent = text
    this.#init.log.debug({ record: record.id }, 'garden report stored')
    try {
      await this.#init.announce(record)
    } catch (err) {
      this.#init.log.warn({ err, record: record.id }, 'announcing the garden report failed')
    }
    return record
  }
}

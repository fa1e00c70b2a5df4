import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import type { GardenSummary, RecordStore } from '../store/index.ts'
import { GardenCache } from './garden-cache.ts'
import type { ColumnKey, SortDirection, SortedGardens } from './table/index.ts'
import type { AlertView } from './render/alerts-page.ts'
import type { AdminNames } from './render/wording.ts'

/** Gardens indexed by what an intent's target selectors match. */
interface TargetIndex {
  all: number
  byName: Map<string, string[]>
  byTag: Map<string, string[]>
  peers: Set<string>
}

/**
 * Read model of the web view over the record store. The garden list and
 * its sorted orders are kept current one garden at a time, and the admin
 * names and alerts are cached until a record changes them, so a page is
 * built from the store's summaries without a read per row.
 */
export class WebData {
  readonly store: RecordStore
  readonly #logger: Logger
  readonly #gardens: GardenCache
  #names: { version: number, names: Map<string, string> } | undefined
  #targets: { version: number, index: TargetIndex } | undefined
  #admins: Promise<AdminNames> | undefined
  #alerts: Promise<AlertView[]> | undefined

  constructor (components: { store: RecordStore, logger: Logger }) {
    this.store = components.store
    this.#logger = components.logger
    this.#gardens = new GardenCache(components.store)
  }

  /** Drops what a stored record makes stale. */
  recordStored (record: SignedRecord): void {
    switch (record.type) {
      case 'root':
        this.#admins = undefined
        break
      case 'alert':
        this.#alerts = undefined
        break
      case 'certificate':
      case 'revocation':
        this.#gardens.changed((record as SignedRecord<'certificate'>).body.peer)
        break
      case 'report':
      case 'event':
        this.#gardens.changed(record.author)
        break
      default:
        break
    }
  }

  /** Drops the alert list after the store detected a fork itself. */
  forkDetected (): void {
    this.#alerts = undefined
  }

  async gardens (): Promise<GardenSummary[]> {
    return (await this.#gardens.snapshot()).gardens
  }

  async sortedGardens (sort: ColumnKey, dir: SortDirection): Promise<SortedGardens> {
    return await this.#gardens.sorted(sort, dir)
  }

  /** Garden names by peer id, for pages that list deployments of many gardens. */
  async gardenNames (): Promise<ReadonlyMap<string, string>> {
    const { version, gardens } = await this.#gardens.snapshot()
    if (this.#names?.version !== version) {
      this.#names = { version, names: new Map(gardens.map(garden => [garden.peer, garden.name])) }
    }
    return this.#names.names
  }

  /** How many gardens a list of target selectors (`*`, `name:`, `tag:`, `peer:`) matches now. */
  async countTargets (selectors: readonly string[]): Promise<number> {
    const index = await this.#targetIndex()
    if (selectors.includes('*')) return index.all
    const matched = new Set<string>()
    for (const selector of selectors) {
      const colon = selector.indexOf(':')
      const kind = selector.slice(0, colon)
      const value = selector.slice(colon + 1)
      if (kind === 'name') index.byName.get(value)?.forEach(peer => matched.add(peer))
      if (kind === 'tag') index.byTag.get(value)?.forEach(peer => matched.add(peer))
      if (kind === 'peer' && index.peers.has(value)) matched.add(value)
    }
    return matched.size
  }

  async #targetIndex (): Promise<TargetIndex> {
    const { version, gardens } = await this.#gardens.snapshot()
    if (this.#targets?.version === version) return this.#targets.index
    const index: TargetIndex = { all: 0, byName: new Map(), byTag: new Map(), peers: new Set() }
    for (const garden of gardens) {
      if (garden.revoked || garden.certificate == null || !garden.roles.includes('garden')) continue
      index.all++
      index.peers.add(garden.peer)
      pushTo(index.byName, garden.name, garden.peer)
      for (const tag of garden.tags) pushTo(index.byTag, tag, garden.peer)
    }
    this.#targets = { version, index }
    return index
  }

  /** Names of admin keys by key id, from the newest root. */
  async adminNames (): Promise<AdminNames> {
    if (this.#admins == null) {
      const loading = this.#loadAdminNames()
      this.#admins = loading
      loading.catch(() => {
        if (this.#admins === loading) this.#admins = undefined
      })
    }
    return await this.#admins
  }

  async #loadAdminNames (): Promise<AdminNames> {
    const names = new Map<string, string>()
    for await (const record of this.store.listByType('root', { reverse: true, limit: 1 })) {
      for (const admin of (record as SignedRecord<'root'>).body.admins) {
        names.set(admin.key, admin.name)
      }
    }
    return names
  }

  /**
   * Fork alerts, newest first: the forks this node recorded (detected
   * itself or learned from an alert's evidence) and the alert records of
   * other forks, one entry per author and pair of records.
   */
  async alerts (): Promise<AlertView[]> {
    if (this.#alerts == null) {
      const loading = this.#loadAlerts()
      this.#alerts = loading
      loading.catch(() => {
        if (this.#alerts === loading) this.#alerts = undefined
      })
    }
    return await this.#alerts
  }

  async #loadAlerts (): Promise<AlertView[]> {
    const [evidence, records, names] = await Promise.all([this.store.refusals(), this.store.alerts(), this.gardenNames()])
    const alerts = new Map<string, AlertView>()
    for (const fork of evidence) {
      alerts.set(forkKey(fork.author, fork.records), withoutUndefined({
        author: fork.author,
        seq: fork.seq,
        records: fork.records,
        reason: fork.reason,
        detectedAt: fork.detectedAt,
        reportedBy: fork.reportedBy,
        alert: fork.alert
      }))
    }
    for (const { id, body } of records as Array<SignedRecord<'alert'>>) {
      const key = forkKey(body.subject, body.records)
      if (!alerts.has(key)) {
        alerts.set(key, { author: body.subject, seq: body.subjectSeq, records: body.records, detectedAt: body.issuedAt, reportedBy: body.author, alert: id })
      }
    }
    return [...alerts.values()].map(alert => withNames(alert, names)).sort(compareAlerts)
  }

  get logger (): Logger {
    return this.#logger
  }
}

function pushTo (map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key)
  if (list == null) {
    map.set(key, [value])
  } else {
    list.push(value)
  }
}

/** Identifies a fork by its author and its two records in either order. */
function forkKey (author: string, records: readonly string[]): string {
  return `${author}/${[...records].sort().join(',')}`
}

function withNames (alert: AlertView, names: ReadonlyMap<string, string>): AlertView {
  const named = { ...alert }
  const gardenName = names.get(alert.author)
  if (gardenName != null && gardenName !== alert.author) named.gardenName = gardenName
  const reporterName = alert.reportedBy == null ? undefined : names.get(alert.reportedBy)
  if (reporterName != null && reporterName !== alert.reportedBy) named.reportedByName = reporterName
  return named
}

/** Orders alerts newest first, then by author and records, so that pages stay stable. */
function compareAlerts (a: AlertView, b: AlertView): number {
  return compareText(b.detectedAt ?? '', a.detectedAt ?? '') || compareText(a.author, b.author) ||
    compareText(a.records.join(','), b.records.join(','))
}

function compareText (a: string, b: string): number {
  if (a === b) return 0
  return a < b ? -1 : 1
}

function withoutUndefined<T extends object> (value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T
}

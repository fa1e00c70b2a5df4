import type { GardenSummary } from '../../store/index.ts'
import { columnOf, naturalKey } from './columns.ts'
import type { ColumnKey, SortValue } from './columns.ts'
import type { SortDirection } from './query.ts'

/** A garden with its sort value and name key, computed once per sort. */
export interface SortEntry {
  garden: GardenSummary
  value: SortValue
  /** Natural key of the garden's name, for ties. */
  name: string
}

/** Gardens in the order of one column and direction. */
export interface SortedGardens {
  sort: ColumnKey
  dir: SortDirection
  entries: SortEntry[]
}

function compareRaw (a: string | number, b: string | number): number {
  if (a < b) return -1
  return a > b ? 1 : 0
}

/** Orders two sort values; a missing value is greater than every present one. */
function compareValues (a: SortValue, b: SortValue): number {
  if (a === undefined) return b === undefined ? 0 : 1
  if (b === undefined) return -1
  return compareRaw(a, b)
}

/** Orders two gardens whose sort values are equal: by name in natural order, then as written, then by peer id. */
function compareTie (a: SortEntry, b: SortEntry): number {
  return compareRaw(a.name, b.name) || compareRaw(a.garden.name, b.garden.name) || compareRaw(a.garden.peer, b.garden.peer)
}

function compareEntries (a: SortEntry, b: SortEntry, dir: SortDirection): number {
  const order = compareValues(a.value, b.value)
  if (order === 0) return compareTie(a, b)
  return dir === 'asc' ? order : -order
}

function entryOf (garden: GardenSummary, sort: ColumnKey): SortEntry {
  const column = columnOf(sort)
  const raw = column.sortValue(garden)
  const value = column.natural && raw !== undefined ? naturalKey(String(raw)) : raw
  return { garden, value, name: naturalKey(garden.name) }
}

/**
 * Sorts gardens by a column without changing the input. A garden without a
 * value (one that never deployed, for the result column) counts as greater
 * than every value, so it comes last ascending and first descending. Ties
 * are broken by name and peer id in ascending order in both directions.
 */
export function sortedGardens (gardens: Iterable<GardenSummary>, sort: ColumnKey, dir: SortDirection): SortedGardens {
  const entries = Array.from(gardens, garden => entryOf(garden, sort))
  entries.sort((a, b) => compareEntries(a, b, dir))
  return { sort, dir, entries }
}

export function sortGardens (gardens: Iterable<GardenSummary>, sort: ColumnKey, dir: SortDirection): GardenSummary[] {
  return sortedGardens(gardens, sort, dir).entries.map(entry => entry.garden)
}

/**
 * Replaces one garden in a sorted list in place: removes the entry of
 * `peer`, then inserts `garden` (if any) where a full sort would put it.
 * Costs a scan and a binary search instead of a sort of every garden.
 */
export function replaceSorted (sorted: SortedGardens, peer: string, garden: GardenSummary | undefined): void {
  const entries = sorted.entries
  const old = entries.findIndex(entry => entry.garden.peer === peer)
  if (old !== -1) entries.splice(old, 1)
  if (garden == null) return
  const entry = entryOf(garden, sorted.sort)
  let low = 0
  let high = entries.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (compareEntries(entries[middle], entry, sorted.dir) <= 0) {
      low = middle + 1
    } else {
      high = middle
    }
  }
  entries.splice(low, 0, entry)
}

export interface Page<T> {
  rows: T[]
  /** The page shown, clamped to 1..pages. */
  page: number
  pages: number
  size: number
  total: number
}

/** Cuts one page out of a list; a page past the end shows the last page. */
export function pageOf<T> (items: readonly T[], page: number, size: number): Page<T> {
  const pages = Math.max(1, Math.ceil(items.length / size))
  const shown = Math.min(Math.max(1, page), pages)
  const start = (shown - 1) * size
  return { rows: items.slice(start, start + size), page: shown, pages, size, total: items.length }
}

import type { GardenSummary } from '../../store/index.ts'
import { columnOf, naturalKey } from './columns.ts'
import type { ColumnKey, SortValue } from './columns.ts'
import type { SortDirection } from './query.ts'

interface SortEntry {
  garden: GardenSummary
  value: SortValue
  /** Natural key of the garden's name, for ties. */
  name: string
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

/**
 * Sorts gardens by a column without changing the input. A garden without a
 * value (one that never deployed, for the result column) counts as greater
 * than every value, so it comes last ascending and first descending. Ties
 * are broken by name and peer id in ascending order in both directions.
 */
export function sortGardens (gardens: readonly GardenSummary[], sort: ColumnKey, dir: SortDirection): GardenSummary[] {
  const column = columnOf(sort)
  const sign = dir === 'asc' ? 1 : -1
  const entries: SortEntry[] = gardens.map(garden => {
    const raw = column.sortValue(garden)
    const value = column.natural && raw !== undefined ? naturalKey(String(raw)) : raw
    return { garden, value, name: naturalKey(garden.name) }
  })
  entries.sort((a, b) => {
    const order = compareValues(a.value, b.value)
    return order !== 0 ? sign * order : compareTie(a, b)
  })
  return entries.map(entry => entry.garden)
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

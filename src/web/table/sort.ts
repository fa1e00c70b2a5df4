import type { GardenSummary } from '../../store/index.ts'
import { columnOf } from './columns.ts'
import type { ColumnKey, SortValue } from './columns.ts'
import type { SortDirection } from './query.ts'

const collator = new Intl.Collator('en', { numeric: true })

/** Orders two gardens whose sort values are equal: by name, then peer id. */
function compareTie (a: GardenSummary, b: GardenSummary): number {
  const byName = collator.compare(a.name, b.name)
  if (byName !== 0) return byName
  if (a.peer === b.peer) return 0
  return a.peer < b.peer ? -1 : 1
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
  const keyed = gardens.map(garden => ({ garden, value: column.sortValue(garden) }))
  keyed.sort((a, b) => {
    const order = compareValues(a.value, b.value, column.compare)
    return order !== 0 ? sign * order : compareTie(a.garden, b.garden)
  })
  return keyed.map(entry => entry.garden)
}

function compareValues (a: SortValue, b: SortValue, compare: (a: string | number, b: string | number) => number): number {
  if (a === undefined) return b === undefined ? 0 : 1
  if (b === undefined) return -1
  return compare(a, b)
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

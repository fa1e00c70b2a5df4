import { COLUMN_KEYS, FIXED_COLUMN } from './columns.ts'
import type { ColumnKey } from './columns.ts'
import type { TableQuery } from './query.ts'

/**
 * Builds the URL of a gardens view. Every parameter is written out, so a
 * link that changes one of them (sort, page, size or cols) keeps the others.
 */
export function tableHref (query: TableQuery, changes: Partial<TableQuery> = {}, path = '/'): string {
  const next = { ...query, ...changes }
  const params = new URLSearchParams({
    sort: next.sort,
    dir: next.dir,
    page: String(next.page),
    size: String(next.size),
    cols: COLUMN_KEYS.filter(key => key !== FIXED_COLUMN && next.cols.includes(key)).join(',')
  })
  return `${path}?${params.toString().replaceAll('%2C', ',')}`
}

/** Builds the link of a column header: sorts by it ascending, or flips the direction if it is the current sort. */
export function sortHref (query: TableQuery, key: ColumnKey): string {
  const dir = query.sort === key && query.dir === 'asc' ? 'desc' : 'asc'
  return tableHref(query, { sort: key, dir })
}

/** Builds the link of a column chooser entry: shows the column if hidden, hides it if shown. */
export function toggleColumnHref (query: TableQuery, key: ColumnKey): string {
  const shown = new Set(query.cols)
  if (shown.has(key)) {
    shown.delete(key)
  } else {
    shown.add(key)
  }
  return tableHref(query, { cols: [...shown] })
}

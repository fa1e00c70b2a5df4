import { COLUMN_KEYS, DEFAULT_COLUMNS, FIXED_COLUMN, isColumnKey } from './columns.ts'
import type { ColumnKey } from './columns.ts'

export type SortDirection = 'asc' | 'desc'

/** State of a gardens view: its order, its page and its optional columns. */
export interface TableQuery {
  sort: ColumnKey
  dir: SortDirection
  /** 1-based page number as requested; the page renderer clamps it to the last page. */
  page: number
  size: number
  /** Optional columns to show, in table order; the name column is always shown besides. */
  cols: ColumnKey[]
}

export const DEFAULT_SORT: ColumnKey = 'name'
export const DEFAULT_PAGE_SIZE = 50
export const PAGE_SIZE_MAX = 500
/** Page sizes offered as links; any size from 1 to `PAGE_SIZE_MAX` works in the URL. */
export const PAGE_SIZE_CHOICES = [25, 50, 100, 200] as const

export const DEFAULT_QUERY: Readonly<TableQuery> = Object.freeze({
  sort: DEFAULT_SORT,
  dir: 'asc',
  page: 1,
  size: DEFAULT_PAGE_SIZE,
  cols: [...DEFAULT_COLUMNS]
})

/** A raw query string value: fastify gives an array for a repeated key. */
type RawValue = string | string[] | undefined

function first (value: unknown): string | undefined {
  if (Array.isArray(value)) return first(value[0])
  return typeof value === 'string' ? value : undefined
}

function parsePositiveInt (value: string | undefined, max: number): number | undefined {
  if (value == null || !/^[0-9]{1,9}$/.test(value)) return undefined
  const number = Number(value)
  return number >= 1 && number <= max ? number : undefined
}

/**
 * Parses `cols`: a comma-separated list of column keys. The name column is
 * ignored because it is always shown, duplicates collapse and the result
 * follows table order. An empty list shows the name column alone. A value
 * with no known key at all falls back to the default columns.
 */
export function parseCols (value: RawValue): ColumnKey[] {
  const text = first(value)
  if (text == null) return [...DEFAULT_COLUMNS]
  const tokens = text.split(',').map(token => token.trim()).filter(token => token !== '')
  const known = new Set(tokens.filter(isColumnKey))
  if (tokens.length > 0 && known.size === 0) return [...DEFAULT_COLUMNS]
  return COLUMN_KEYS.filter(key => key !== FIXED_COLUMN && known.has(key))
}

/** The page of a long list: a 1-based page number, clamped when the page is cut, and rows per page. */
export interface PageQuery {
  page: number
  size: number
}

/**
 * Parses `page` and `size` of any paged list. A malformed value falls back
 * to its default: page 1, or `DEFAULT_PAGE_SIZE` rows up to `PAGE_SIZE_MAX`.
 */
export function parsePageQuery (query: Record<string, unknown>): PageQuery {
  return {
    page: parsePositiveInt(first(query.page), Number.MAX_SAFE_INTEGER) ?? 1,
    size: parsePositiveInt(first(query.size), PAGE_SIZE_MAX) ?? DEFAULT_PAGE_SIZE
  }
}

/**
 * Parses the gardens view parameters. Anything unknown or malformed falls
 * back to its default, so an old or hand-edited link still shows a page.
 */
export function parseTableQuery (query: Record<string, unknown>): TableQuery {
  const sort = first(query.sort)
  const dir = first(query.dir)
  return {
    sort: sort != null && isColumnKey(sort) ? sort : DEFAULT_SORT,
    dir: dir === 'desc' ? 'desc' : 'asc',
    ...parsePageQuery(query),
    cols: parseCols(query.cols as RawValue)
  }
}

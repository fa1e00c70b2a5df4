import type { GardenSummary } from '../../store/index.ts'

/** A value a column sorts by; `undefined` means the garden has none (e.g. never deployed). */
export type SortValue = string | number | undefined

export interface Column {
  key: ColumnKey
  label: string
  /** Whether the column is shown when the URL has no `cols`. */
  shownByDefault: boolean
  sortValue: (garden: GardenSummary) => SortValue
  /** Orders two present values; missing values are handled by the caller. */
  compare: (a: string | number, b: string | number) => number
}

export const COLUMN_KEYS = [
  'name', 'peer', 'version', 'lastSeen', 'result', 'deployment', 'pending',
  'tags', 'roles', 'addresses', 'certificate'
] as const
export type ColumnKey = typeof COLUMN_KEYS[number]

/** The column every view shows: it names the row and links to the garden. */
export const FIXED_COLUMN: ColumnKey = 'name'

const collator = new Intl.Collator('en', { numeric: true })

/** Natural order, so `garden-2` sorts before `garden-10` and `0.9.0` before `0.10.0`. */
function compareNatural (a: string | number, b: string | number): number {
  return collator.compare(String(a), String(b))
}

/** Code-point order of the raw value, e.g. ISO times and deployment results. */
function compareRaw (a: string | number, b: string | number): number {
  if (a < b) return -1
  return a > b ? 1 : 0
}

function joined (values: readonly string[]): string | undefined {
  return values.length === 0 ? undefined : values.join(', ')
}

function column (key: ColumnKey, label: string, shownByDefault: boolean,
  sortValue: Column['sortValue'], compare = compareNatural): Column {
  return { key, label, shownByDefault, sortValue, compare }
}

export const COLUMNS: readonly Column[] = [
  column('name', 'Name', true, garden => garden.name),
  column('peer', 'Peer id', false, garden => garden.peer, compareRaw),
  column('version', 'Version', true, garden => garden.agentVersion),
  column('lastSeen', 'Last seen', true, garden => garden.lastSeen, compareRaw),
  // The result sorts by its raw value: canceled < failure < partial < success < superseded.
  column('result', 'Result', true, garden => garden.latestResult, compareRaw),
  column('deployment', 'Latest deployment', false, garden => garden.latestDeployment?.updatedAt, compareRaw),
  column('pending', 'Pending', true, garden => garden.pending > 0 ? garden.pending : undefined, compareRaw),
  column('tags', 'Tags', true, garden => joined(garden.tags)),
  column('roles', 'Roles', false, garden => joined(garden.roles)),
  column('addresses', 'Addresses', false, garden => joined(garden.addresses)),
  column('certificate', 'Certificate', false, garden => garden.revoked ? 'revoked' : 'valid', compareRaw)
]

const COLUMNS_BY_KEY = new Map(COLUMNS.map(entry => [entry.key, entry]))

export function columnOf (key: ColumnKey): Column {
  return COLUMNS_BY_KEY.get(key) as Column
}

export function isColumnKey (value: string): value is ColumnKey {
  return COLUMNS_BY_KEY.has(value as ColumnKey)
}

/** Optional columns shown when the URL has no `cols`, in table order. */
export const DEFAULT_COLUMNS: readonly ColumnKey[] = COLUMNS
  .filter(entry => entry.shownByDefault && entry.key !== FIXED_COLUMN)
  .map(entry => entry.key)

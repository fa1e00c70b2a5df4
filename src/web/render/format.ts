import { DateTime } from 'luxon'

/** Formats a UTC ISO time as `2026-01-31 12:00:05 UTC`; anything else is returned as given. */
export function formatTime (iso: string | undefined): string {
  if (iso == null) return ''
  const time = DateTime.fromISO(iso, { zone: 'utc' })
  return time.isValid ? time.toFormat("yyyy-LL-dd HH:mm:ss 'UTC'") : iso
}

const UNITS: Array<[number, string]> = [
  [24 * 60 * 60 * 1000, 'd'],
  [60 * 60 * 1000, 'h'],
  [60 * 1000, 'min'],
  [1000, 's']
]

/** Formats how long ago a time was, coarsely: `just now`, `42 s ago`, `3 h ago`, or `in 5 min` for a future time. */
export function formatAgo (iso: string | undefined, nowMs: number): string {
  if (iso == null) return ''
  const thenMs = Date.parse(iso)
  if (Number.isNaN(thenMs)) return ''
  const deltaMs = nowMs - thenMs
  const absMs = Math.abs(deltaMs)
  const unit = UNITS.find(([unitMs]) => absMs >= unitMs)
  if (unit == null) return 'just now'
  const amount = `${Math.floor(absMs / unit[0])} ${unit[1]}`
  return deltaMs >= 0 ? `${amount} ago` : `in ${amount}`
}

/** Shortens an id for a table cell, keeping its type prefix: `dep_abcdef…`. The full id goes in a title. */
export function shortId (id: string, keep = 12): string {
  return id.length > keep + 1 ? `${id.slice(0, keep)}…` : id
}

/** Formats a byte count in binary units, e.g. `1.5 MiB`. */
export function formatBytes (bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`
}

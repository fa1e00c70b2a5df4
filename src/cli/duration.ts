import { InvalidDurationError } from './errors.ts'

const UNIT_MS: Record<string, number> = {
  s: 1000,
  m: 60 * 1000,
  h: 60 * 60 * 1000,
  d: 24 * 60 * 60 * 1000,
  w: 7 * 24 * 60 * 60 * 1000,
  y: 365 * 24 * 60 * 60 * 1000
}

const DURATION_PATTERN = /^(?:\d+[smhdwy])+$/
const PART_PATTERN = /(\d+)([smhdwy])/g
/** A UTC time with an explicit `Z`, with or without seconds and milliseconds. */
const UTC_TIME_PATTERN = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z)?$/

/**
 * Parses a duration such as `90d`, `12h`, `1h30m` or `45s` into
 * milliseconds. A year is 365 days. Throws `InvalidDurationError`.
 */
export function parseDuration (value: string): number {
  const text = value.trim()
  if (!DURATION_PATTERN.test(text)) {
    throw new InvalidDurationError(value)
  }
  let totalMs = 0
  for (const [, count, unit] of text.matchAll(PART_PATTERN)) {
    totalMs += Number(count) * UNIT_MS[unit]
  }
  if (totalMs <= 0 || !Number.isSafeInteger(totalMs)) {
    throw new InvalidDurationError(value)
  }
  return totalMs
}

/**
 * Parses a point in time: a duration from `nowMs` (`90d`), or a UTC date or
 * time (`2027-01-31`, `2027-01-31T12:00:00Z`). Returns UTC ISO 8601 with
 * milliseconds, the form records carry.
 */
export function parseTimeFromNow (value: string, nowMs: number, direction: 1 | -1 = 1): string {
  const text = value.trim()
  if (UTC_TIME_PATTERN.test(text)) {
    const ms = Date.parse(text)
    if (Number.isNaN(ms)) {
      throw new InvalidDurationError(value)
    }
    return new Date(ms).toISOString()
  }
  return new Date(nowMs + direction * parseDuration(text)).toISOString()
}

/** Formats a duration for people: `45 s`, `12 min`, `5 h`, `3 d`. */
export function formatDuration (ms: number): string {
  const seconds = Math.round(Math.abs(ms) / 1000)
  if (seconds < 90) {
    return `${seconds} s`
  }
  const minutes = Math.round(seconds / 60)
  if (minutes < 90) {
    return `${minutes} min`
  }
  const hours = Math.round(minutes / 60)
  if (hours < 48) {
    return `${hours} h`
  }
  return `${Math.round(hours / 24)} d`
}

/** Formats the time since an ISO time: `12 min ago`, or `in 3 min` for a time ahead of `nowMs`. */
export function formatAgo (iso: string | undefined, nowMs: number): string {
  if (iso == null) {
    return 'never'
  }
  const deltaMs = nowMs - Date.parse(iso)
  return deltaMs >= 0 ? `${formatDuration(deltaMs)} ago` : `in ${formatDuration(deltaMs)}`
}

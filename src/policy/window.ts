import { DateTime, type IANAZone } from 'luxon'
import { PolicyArgumentError } from './errors.ts'
import { WEEKDAYS, type TimeWindow } from './types.ts'
import { DEFAULT_ZONE, resolveZone } from './zone.ts'

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
const MINUTES_PER_DAY = 1440

/** Days before the current one whose spans can still be open: an overnight span plus a clock change. */
const DAYS_BEHIND = 2
/** Days after the current one to search for an opening: a week, plus the current day's span. */
const DAYS_AHEAD = 8

/** One opening of a window, as instants in ms since the epoch: open from `openMs`, closed at `closeMs`. */
interface Span {
  openMs: number
  closeMs: number
}

/** The instants when a window opens and closes, returned for the span containing a given time. */
export interface WindowSpan {
  opensAt: Date
  closesAt: Date
}

function minutesOf (time: string): number {
  const [hours, minutes] = time.split(':').map(Number)
  return hours * 60 + minutes
}

/**
 * Returns the first instant at which the zone's wall clock reads `minutes`
 * after midnight of the given date, or later. A time that occurs twice when
 * the clock goes back resolves to its first occurrence. A time that a jump
 * forward skips resolves to the instant of the jump.
 */
function firstInstantAtOrAfter (zone: IANAZone, year: number, month: number, day: number, minutes: number): number {
  const wallMs = Date.UTC(year, month - 1, day) + minutes * MINUTE_MS
  const offsets = [...new Set([wallMs - DAY_MS, wallMs, wallMs + DAY_MS].map(ms => zone.offset(ms)))]
  const matches = offsets
    .map(offset => wallMs - offset * MINUTE_MS)
    .filter(ms => ms + zone.offset(ms) * MINUTE_MS === wallMs)
  if (matches.length > 0) return Math.min(...matches)

  // The wall time falls in a gap: search for the jump between the instant
  // that reads it under the new offset and the one under the old offset.
  let beforeMs = wallMs - Math.max(...offsets) * MINUTE_MS
  let afterMs = wallMs - Math.min(...offsets) * MINUTE_MS
  const offsetBefore = zone.offset(beforeMs)
  while (afterMs - beforeMs > 1) {
    const middleMs = Math.floor((beforeMs + afterMs) / 2)
    if (zone.offset(middleMs) === offsetBefore) beforeMs = middleMs
    else afterMs = middleMs
  }
  return afterMs
}

/** Returns the span that starts on a calendar date, given as midnight UTC of that date. */
function spanStartingOn (window: TimeWindow, zone: IANAZone, date: Date): Span {
  const startMinutes = minutesOf(window.start)
  let endMinutes = minutesOf(window.end)
  if (endMinutes <= startMinutes) endMinutes += MINUTES_PER_DAY

  const [year, month, day] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()]
  const openMs = firstInstantAtOrAfter(zone, year, month, day, startMinutes)
  const closeMs = firstInstantAtOrAfter(zone, year, month, day, endMinutes)
  if (closeMs > openMs) return { openMs, closeMs }

  // A clock jump forward skipped the whole window: open it for its usual length.
  return { openMs, closeMs: openMs + (endMinutes - startMinutes) * MINUTE_MS }
}

/** Returns the window's spans that start from `firstDay` to `lastDay` days after the date of `atMs`, in order. */
function spansAround (window: TimeWindow, zone: IANAZone, atMs: number, firstDay: number, lastDay: number): Span[] {
  const local = DateTime.fromMillis(atMs, { zone })
  const spans: Span[] = []
  for (let offset = firstDay; offset <= lastDay; offset++) {
    const date = new Date(Date.UTC(local.year, local.month - 1, local.day + offset))
    // getUTCDay() counts from Sunday (0), WEEKDAYS from Monday.
    if (window.days.includes(WEEKDAYS[(date.getUTCDay() + 6) % 7])) {
      spans.push(spanStartingOn(window, zone, date))
    }
  }
  return spans
}

function instantOf (at: Date): number {
  const ms = at.getTime()
  if (Number.isNaN(ms)) throw new PolicyArgumentError('invalid date: pass a Date with a valid time')
  return ms
}

function zoneOf (window: TimeWindow, gardenZone: string): IANAZone {
  return resolveZone(window.zone ?? gardenZone)
}

/**
 * Returns the span of the window that contains `at`, or null when the window
 * is closed then. `gardenZone` applies when the window names no zone.
 * Throws `PolicyArgumentError` for an unknown zone or an invalid date.
 */
export function windowSpanAt (window: TimeWindow, at: Date, gardenZone: string = DEFAULT_ZONE): WindowSpan | null {
  const atMs = instantOf(at)
  const zone = zoneOf(window, gardenZone)
  const span = spansAround(window, zone, atMs, -DAYS_BEHIND, 0)
    .find(candidate => candidate.openMs <= atMs && atMs < candidate.closeMs)
  return span === undefined ? null : { opensAt: new Date(span.openMs), closesAt: new Date(span.closeMs) }
}

/** Returns whether the window is open at `at`: from its start (inclusive) to its end (exclusive). */
export function isWindowOpen (window: TimeWindow, at: Date, gardenZone: string = DEFAULT_ZONE): boolean {
  return windowSpanAt(window, at, gardenZone) !== null
}

/**
 * Returns the earliest instant at or after `at` when the window is open:
 * `at` itself while the window is open, else the start of its next span.
 * Returns null for a window without days, which never opens.
 */
export function nextOpening (window: TimeWindow, at: Date, gardenZone: string = DEFAULT_ZONE): Date | null {
  const atMs = instantOf(at)
  const zone = zoneOf(window, gardenZone)
  const span = spansAround(window, zone, atMs, -DAYS_BEHIND, DAYS_AHEAD).find(candidate => candidate.closeMs > atMs)
  return span === undefined ? null : new Date(Math.max(span.openMs, atMs))
}

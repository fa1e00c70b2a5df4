import assert from 'node:assert/strict'
import { PolicyArgumentError, isWindowOpen, nextOpening, windowSpanAt } from '../../../src/policy/index.ts'
import type { TimeWindow, Weekday } from '../../../src/policy/index.ts'

const ALL_DAYS: Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']
const MINUTE_MS = 60_000
/** Step of the scans below. Every window edge in these tests falls on a multiple of it. */
const SCAN_STEP_MINUTES = 5
const SCAN_STEP_MS = SCAN_STEP_MINUTES * MINUTE_MS

function window (start: string, end: string, options: { days?: Weekday[], zone?: string } = {}): TimeWindow {
  const result: TimeWindow = { days: options.days ?? ALL_DAYS, start, end }
  if (options.zone !== undefined) result.zone = options.zone
  return result
}

/** Counts the times the window turns from closed to open, checking each step from `from` to `to`. */
function countOpenings (subject: TimeWindow, from: string, to: string): number {
  let openings = 0
  let wasOpen = isWindowOpen(subject, new Date(from))
  for (let ms = Date.parse(from) + SCAN_STEP_MS; ms <= Date.parse(to); ms += SCAN_STEP_MS) {
    const open = isWindowOpen(subject, new Date(ms))
    if (open && !wasOpen) openings++
    wasOpen = open
  }
  return openings
}

/** Returns the minutes the window is open, checking each step from `from` to `to`. */
function openMinutes (subject: TimeWindow, from: string, to: string): number {
  let minutes = 0
  for (let ms = Date.parse(from); ms < Date.parse(to); ms += SCAN_STEP_MS) {
    if (isWindowOpen(subject, new Date(ms))) minutes += SCAN_STEP_MINUTES
  }
  return minutes
}

// 2025-06-02 is a Monday, 2025-06-06 a Friday.
describe('policy window', () => {
  describe('isWindowOpen', () => {
    const cases: Array<[string, TimeWindow, string, boolean]> = [
      ['day window before start', window('09:00', '17:00'), '2025-06-02T08:59Z', false],
      ['day window at start', window('09:00', '17:00'), '2025-06-02T09:00Z', true],
      ['day window inside', window('09:00', '17:00'), '2025-06-02T12:00Z', true],
      ['day window before end', window('09:00', '17:00'), '2025-06-02T16:59:59.999Z', true],
      ['day window at end', window('09:00', '17:00'), '2025-06-02T17:00Z', false],
      ['overnight before start', window('22:00', '06:00'), '2025-06-02T21:59Z', false],
      ['overnight at start', window('22:00', '06:00'), '2025-06-02T22:00Z', true],
      ['overnight at 23:30', window('22:00', '06:00'), '2025-06-02T23:30Z', true],
      ['overnight at midnight', window('22:00', '06:00'), '2025-06-03T00:00Z', true],
      ['overnight at 05:59', window('22:00', '06:00'), '2025-06-03T05:59Z', true],
      ['overnight at end', window('22:00', '06:00'), '2025-06-03T06:00Z', false],
      ['overnight at noon', window('22:00', '06:00'), '2025-06-03T12:00Z', false],
      ['whole day at start', window('00:00', '24:00', { days: ['mon'] }), '2025-06-02T00:00Z', true],
      ['whole day at 23:59', window('00:00', '24:00', { days: ['mon'] }), '2025-06-02T23:59Z', true],
      ['whole day at end', window('00:00', '24:00', { days: ['mon'] }), '2025-06-03T00:00Z', false],
      ['whole day the day before', window('00:00', '24:00', { days: ['mon'] }), '2025-06-01T23:59Z', false],
      ['Friday night on Saturday', window('22:00', '06:00', { days: ['fri'] }), '2025-06-07T03:00Z', true],
      ['Friday night on Friday', window('22:00', '06:00', { days: ['fri'] }), '2025-06-06T03:00Z', false],
      ['Friday night at its start', window('22:00', '06:00', { days: ['fri'] }), '2025-06-06T22:00Z', true],
      ['Friday night on Saturday night', window('22:00', '06:00', { days: ['fri'] }), '2025-06-07T23:00Z', false],
      ['no days', window('00:00', '24:00', { days: [] }), '2025-06-02T12:00Z', false],
      ['Kolkata at start', window('22:00', '06:00', { zone: 'Asia/Kolkata' }), '2025-06-01T16:30Z', true],
      ['Kolkata before start', window('22:00', '06:00', { zone: 'Asia/Kolkata' }), '2025-06-01T16:29Z', false],
      ['Kolkata before end', window('22:00', '06:00', { zone: 'Asia/Kolkata' }), '2025-06-02T00:29Z', true],
      ['Kolkata at end', window('22:00', '06:00', { zone: 'Asia/Kolkata' }), '2025-06-02T00:30Z', false],
      // Kiritimati is UTC+14: its Monday 09:00 is Sunday 19:00 UTC.
      ['Kiritimati Monday on UTC Sunday', window('09:00', '10:00', { days: ['mon'], zone: 'Pacific/Kiritimati' }),
        '2025-06-01T19:30Z', true],
      ['Kiritimati Tuesday on UTC Monday', window('09:00', '10:00', { days: ['mon'], zone: 'Pacific/Kiritimati' }),
        '2025-06-02T19:30Z', false],
      // Pago Pago is UTC-11: its Sunday 23:00 is Monday 10:00 UTC.
      ['Pago Pago Sunday on UTC Monday', window('23:00', '01:00', { days: ['sun'], zone: 'Pacific/Pago_Pago' }),
        '2025-06-02T10:30Z', true],
      ['Pago Pago after end', window('23:00', '01:00', { days: ['sun'], zone: 'Pacific/Pago_Pago' }),
        '2025-06-02T12:00Z', false]
    ]
    for (const [name, subject, at, expected] of cases) {
      it(`${expected ? 'opens' : 'closes'}: ${name}`, () => {
        assert.equal(isWindowOpen(subject, new Date(at)), expected)
      })
    }

    it('uses the garden zone', () => {
      assert.equal(isWindowOpen(window('22:00', '06:00'), new Date('2025-06-01T20:30Z'), 'Europe/Berlin'), true)
    })

    it('defaults to UTC', () => {
      assert.equal(isWindowOpen(window('22:00', '06:00'), new Date('2025-06-01T20:30Z')), false)
    })

    it('prefers the window zone', () => {
      const subject = window('22:00', '06:00', { zone: 'UTC' })
      assert.equal(isWindowOpen(subject, new Date('2025-06-01T20:30Z'), 'Europe/Berlin'), false)
    })

    it('rejects an unknown zone', () => {
      assert.throws(() => isWindowOpen(window('22:00', '06:00'), new Date(), 'Mars/Olympus'), PolicyArgumentError)
    })

    it('rejects an invalid date', () => {
      assert.throws(() => isWindowOpen(window('22:00', '06:00'), new Date('never')), PolicyArgumentError)
    })
  })

  describe('nextOpening', () => {
    const cases: Array<[string, TimeWindow, string, string | null]> = [
      ['open now', window('22:00', '06:00'), '2025-06-02T23:00Z', '2025-06-02T23:00:00.000Z'],
      ['at start', window('22:00', '06:00'), '2025-06-02T22:00Z', '2025-06-02T22:00:00.000Z'],
      ['before start', window('22:00', '06:00'), '2025-06-02T12:00Z', '2025-06-02T22:00:00.000Z'],
      ['at end', window('22:00', '06:00'), '2025-06-03T06:00Z', '2025-06-03T22:00:00.000Z'],
      ['after a day window', window('09:00', '17:00'), '2025-06-02T17:00Z', '2025-06-03T09:00:00.000Z'],
      ['later the same week', window('09:00', '17:00', { days: ['fri'] }),
        '2025-06-02T12:00Z', '2025-06-06T09:00:00.000Z'],
      ['a week ahead', window('09:00', '17:00', { days: ['mon'] }), '2025-06-02T17:00Z', '2025-06-09T09:00:00.000Z'],
      ['over a weekend', window('22:00', '06:00', { days: ['mon', 'tue', 'wed', 'thu', 'fri'] }),
        '2025-06-07T12:00Z', '2025-06-09T22:00:00.000Z'],
      ['inside an overnight span of yesterday', window('22:00', '06:00', { days: ['sun'] }),
        '2025-06-02T05:00Z', '2025-06-02T05:00:00.000Z'],
      ['in Kiritimati', window('09:00', '10:00', { days: ['mon'], zone: 'Pacific/Kiritimati' }),
        '2025-06-01T12:00Z', '2025-06-01T19:00:00.000Z'],
      ['in Kolkata', window('02:00', '04:00', { zone: 'Asia/Kolkata' }),
        '2025-06-02T00:00Z', '2025-06-02T20:30:00.000Z'],
      ['never without days', window('22:00', '06:00', { days: [] }), '2025-06-02T12:00Z', null]
    ]
    for (const [name, subject, at, expected] of cases) {
      it(`returns ${name}`, () => {
        assert.equal(nextOpening(subject, new Date(at))?.toISOString() ?? null, expected)
      })
    }

    it('uses the garden zone', () => {
      const opensAt = nextOpening(window('22:00', '06:00'), new Date('2025-06-02T12:00Z'), 'America/New_York')
      assert.equal(opensAt?.toISOString(), '2025-06-03T02:00:00.000Z')
    })

    it('rejects an unknown zone', () => {
      assert.throws(() => nextOpening(window('22:00', '06:00', { zone: 'Nowhere' }), new Date()), PolicyArgumentError)
    })
  })

  describe('windowSpanAt', () => {
    it('returns an overnight span', () => {
      const span = windowSpanAt(window('22:00', '06:00'), new Date('2025-06-03T01:00Z'))
      assert.equal(span?.opensAt.toISOString(), '2025-06-02T22:00:00.000Z')
      assert.equal(span?.closesAt.toISOString(), '2025-06-03T06:00:00.000Z')
    })

    it('returns null when closed', () => {
      assert.equal(windowSpanAt(window('22:00', '06:00'), new Date('2025-06-03T12:00Z')), null)
    })
  })

  // Europe/Berlin: 2025-03-30 02:00 CET jumps to 03:00 CEST (01:00 UTC),
  // 2025-10-26 03:00 CEST goes back to 02:00 CET (01:00 UTC).
  // America/New_York: 2025-03-09 02:00 EST jumps to 03:00 EDT (07:00 UTC),
  // 2025-11-02 02:00 EDT goes back to 01:00 EST (06:00 UTC).
  describe('daylight saving', () => {
    const berlin = { zone: 'Europe/Berlin' }
    const newYork = { zone: 'America/New_York' }

    const spans: Array<[string, TimeWindow, string, string, string]> = [
      ['Berlin spring, window inside the gap', window('02:00', '03:00', berlin),
        '2025-03-30T01:30Z', '2025-03-30T01:00:00.000Z', '2025-03-30T02:00:00.000Z'],
      ['Berlin spring, start in the gap', window('02:30', '03:30', berlin),
        '2025-03-30T01:10Z', '2025-03-30T01:00:00.000Z', '2025-03-30T01:30:00.000Z'],
      ['Berlin spring, end in the gap', window('01:30', '02:30', berlin),
        '2025-03-30T00:45Z', '2025-03-30T00:30:00.000Z', '2025-03-30T01:00:00.000Z'],
      ['Berlin spring, overnight', window('22:00', '06:00', berlin),
        '2025-03-30T02:00Z', '2025-03-29T21:00:00.000Z', '2025-03-30T04:00:00.000Z'],
      ['Berlin autumn, repeated hour', window('02:00', '03:00', berlin),
        '2025-10-26T01:30Z', '2025-10-26T00:00:00.000Z', '2025-10-26T02:00:00.000Z'],
      ['Berlin autumn, inside the repeated hour', window('02:30', '02:45', berlin),
        '2025-10-26T00:40Z', '2025-10-26T00:30:00.000Z', '2025-10-26T00:45:00.000Z'],
      ['Berlin autumn, overnight', window('22:00', '06:00', berlin),
        '2025-10-26T04:00Z', '2025-10-25T20:00:00.000Z', '2025-10-26T05:00:00.000Z'],
      ['New York spring, window inside the gap', window('02:00', '03:00', newYork),
        '2025-03-09T07:30Z', '2025-03-09T07:00:00.000Z', '2025-03-09T08:00:00.000Z'],
      ['New York spring, short window inside the gap', window('02:30', '02:45', newYork),
        '2025-03-09T07:10Z', '2025-03-09T07:00:00.000Z', '2025-03-09T07:15:00.000Z'],
      ['New York autumn, repeated hour', window('01:00', '02:00', newYork),
        '2025-11-02T06:30Z', '2025-11-02T05:00:00.000Z', '2025-11-02T07:00:00.000Z'],
      ['New York autumn, overnight', window('22:00', '06:00', newYork),
        '2025-11-02T10:00Z', '2025-11-02T02:00:00.000Z', '2025-11-02T11:00:00.000Z'],
      // Lord Howe Island moves its clock by 30 minutes: 2025-10-05 02:00 becomes 02:30 (15:30 UTC).
      ['Lord Howe half-hour jump', window('02:00', '02:45', { zone: 'Australia/Lord_Howe' }),
        '2025-10-04T15:40Z', '2025-10-04T15:30:00.000Z', '2025-10-04T15:45:00.000Z']
    ]
    for (const [name, subject, at, opensAt, closesAt] of spans) {
      it(`spans ${name}`, () => {
        const span = windowSpanAt(subject, new Date(at))
        assert.equal(span?.opensAt.toISOString(), opensAt)
        assert.equal(span?.closesAt.toISOString(), closesAt)
      })
    }

    const openings: Array<[string, TimeWindow, string, string]> = [
      ['Berlin spring, window inside the gap', window('02:00', '03:00', berlin),
        '2025-03-29T12:00Z', '2025-03-30T12:00Z'],
      ['Berlin spring, overnight', window('22:00', '06:00', berlin), '2025-03-29T12:00Z', '2025-03-30T12:00Z'],
      ['Berlin autumn, repeated hour', window('02:00', '03:00', berlin), '2025-10-25T12:00Z', '2025-10-26T12:00Z'],
      ['Berlin autumn, inside the repeated hour', window('02:30', '02:45', berlin),
        '2025-10-25T12:00Z', '2025-10-26T12:00Z'],
      ['New York spring, window inside the gap', window('02:00', '03:00', newYork),
        '2025-03-08T17:00Z', '2025-03-09T17:00Z'],
      ['New York autumn, repeated hour', window('01:00', '02:00', newYork), '2025-11-01T17:00Z', '2025-11-02T17:00Z'],
      ['New York autumn, inside the repeated hour', window('01:15', '01:30', newYork),
        '2025-11-01T17:00Z', '2025-11-02T17:00Z']
    ]
    for (const [name, subject, from, to] of openings) {
      it(`opens once: ${name}`, () => {
        assert.equal(countOpenings(subject, from, to), 1)
      })
    }

    it('keeps the gap window an hour long', () => {
      assert.equal(openMinutes(window('02:00', '03:00', berlin), '2025-03-29T12:00Z', '2025-03-30T12:00Z'), 60)
    })

    it('keeps the repeated hour in one span', () => {
      assert.equal(openMinutes(window('02:00', '03:00', berlin), '2025-10-25T12:00Z', '2025-10-26T12:00Z'), 120)
    })

    it('closes the repeated short window', () => {
      assert.equal(isWindowOpen(window('02:30', '02:45', berlin), new Date('2025-10-26T01:35Z')), false)
    })

    it('closes overnight at 06:00 after spring', () => {
      assert.equal(isWindowOpen(window('22:00', '06:00', berlin), new Date('2025-03-30T04:00Z')), false)
    })

    it('opens overnight at 05:59 after spring', () => {
      assert.equal(isWindowOpen(window('22:00', '06:00', berlin), new Date('2025-03-30T03:59Z')), true)
    })

    it('finds the gap window from the evening before', () => {
      const opensAt = nextOpening(window('02:00', '03:00', newYork), new Date('2025-03-08T23:00Z'))
      assert.equal(opensAt?.toISOString(), '2025-03-09T07:00:00.000Z')
    })

    it('skips the repeated hour after closing', () => {
      const opensAt = nextOpening(window('02:00', '03:00', berlin), new Date('2025-10-26T02:00Z'))
      assert.equal(opensAt?.toISOString(), '2025-10-27T01:00:00.000Z')
    })
  })
})

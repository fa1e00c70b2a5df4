import assert from 'node:assert/strict'
import { formatAgo, formatDuration, parseDuration, parseTimeFromNow } from '../../../src/cli/duration.ts'
import { parseTimeout } from '../../../src/cli/commands/deploy.ts'

describe('parseDuration', () => {
  const cases: Array<[string, number]> = [
    ['45s', 45_000],
    ['30m', 1_800_000],
    ['12h', 43_200_000],
    ['90d', 90 * 86_400_000],
    ['2w', 14 * 86_400_000],
    ['1y', 365 * 86_400_000],
    ['1h30m', 5_400_000]
  ]
  for (const [input, expected] of cases) {
    it(`reads ${input}`, () => {
      assert.equal(parseDuration(input), expected)
    })
  }

  for (const input of ['', '10', 'd', '3x', '-1d', '0s', '1.5h']) {
    it(`rejects "${input}"`, () => {
      assert.throws(() => parseDuration(input), { code: 'ERR_INVALID_DURATION', message: /use a number and a unit/ })
    })
  }
})

describe('parseTimeFromNow', () => {
  const nowMs = Date.parse('2026-01-01T00:00:00.000Z')

  it('adds a duration', () => {
    assert.equal(parseTimeFromNow('1d', nowMs), '2026-01-02T00:00:00.000Z')
  })

  it('subtracts backwards', () => {
    assert.equal(parseTimeFromNow('1d', nowMs, -1), '2025-12-31T00:00:00.000Z')
  })

  it('reads a UTC date', () => {
    assert.equal(parseTimeFromNow('2027-01-31', nowMs), '2027-01-31T00:00:00.000Z')
  })

  it('reads a UTC time', () => {
    assert.equal(parseTimeFromNow('2027-01-31T12:30:00Z', nowMs), '2027-01-31T12:30:00.000Z')
  })

  it('rejects a time without a zone', () => {
    assert.throws(() => parseTimeFromNow('2027-01-31T12:30:00', nowMs), { code: 'ERR_INVALID_DURATION' })
  })
})

describe('parseTimeout', () => {
  it('reads bare seconds', () => {
    assert.equal(parseTimeout('90'), 90_000)
  })

  it('reads a duration', () => {
    assert.equal(parseTimeout('2m'), 120_000)
  })
})

describe('formatAgo', () => {
  const nowMs = Date.parse('2026-01-01T12:00:00.000Z')
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'never'],
    ['2026-01-01T11:59:50.000Z', '10 s ago'],
    ['2026-01-01T11:48:00.000Z', '12 min ago'],
    ['2026-01-01T07:00:00.000Z', '5 h ago'],
    ['2025-12-29T12:00:00.000Z', '3 d ago'],
    ['2026-01-01T12:03:00.000Z', 'in 3 min']
  ]
  for (const [iso, expected] of cases) {
    it(`formats ${expected}`, () => {
      assert.equal(formatAgo(iso, nowMs), expected)
    })
  }

  it('formats whole durations', () => {
    assert.equal(formatDuration(600_000), '10 min')
  })
})

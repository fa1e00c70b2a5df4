import assert from 'node:assert/strict'
import { silentLogger } from '../../../src/logger.ts'
import { REDIAL_DELAYS_MS, REDIAL_MAX_DELAY_MS, redialDelayMs } from '../../../src/network/index.ts'
import { Redialer } from '../../../src/network/redial.ts'
import { waitUntil } from './helpers.ts'

describe('redial backoff', () => {
  const schedule: Array<[number, number]> = [
    [0, 0], [1, 200], [2, 500], [3, 1_000], [4, 2_000], [5, 4_000], [6, 8_000], [7, 16_000], [8, 30_000], [50, 30_000]
  ]
  for (const [failures, delayMs] of schedule) {
    it(`waits ${delayMs} ms after ${failures} failures`, () => {
      assert.equal(redialDelayMs(failures, REDIAL_DELAYS_MS, REDIAL_MAX_DELAY_MS), delayMs)
    })
  }

  it('caps the listed delays', () => {
    assert.equal(redialDelayMs(2, [200, 500], 300), 300)
  })
})

describe('Redialer', () => {
  let redialer: Redialer | undefined
  afterEach(() => { redialer?.stop() })

  it('backs off until a dial succeeds, then resets', async () => {
    const delays: number[] = []
    let attempts = 0
    let connected = false
    redialer = new Redialer({
      delaysMs: [5, 10, 20],
      maxDelayMs: 40,
      logger: silentLogger(),
      isConnected: () => connected,
      onSchedule: (_target, delayMs) => { delays.push(delayMs) },
      dial: async () => {
        attempts++
        if (attempts < 6) {
          throw new Error('connection refused')
        }
        connected = true
      }
    })
    redialer.add('peer-a')
    redialer.start()
    await waitUntil(() => connected, 2_000, 'connection')
    assert.deepEqual(delays, [0, 5, 10, 20, 40, 40])
    connected = false
    redialer.disconnected('peer-a')
    assert.equal(delays.at(-1), 5)
  })

  it('stops dialling a removed target', async () => {
    let attempts = 0
    redialer = new Redialer({
      delaysMs: [5],
      maxDelayMs: 5,
      logger: silentLogger(),
      isConnected: () => false,
      dial: async () => { attempts++; throw new Error('unreachable') }
    })
    redialer.add('peer-b')
    redialer.start()
    await waitUntil(() => attempts >= 2, 2_000, 'two attempts')
    redialer.remove('peer-b')
    const seen = attempts
    await new Promise(resolve => setTimeout(resolve, 30))
    assert.ok(attempts <= seen + 1)
  })
})

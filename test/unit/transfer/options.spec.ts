import assert from 'node:assert/strict'
import { InvalidInputError } from '../../../src/errors.ts'
import { BATCH_MAX_PATHS, STALL_TIMEOUT_MS, resolveTransferInit } from '../../../src/transfer/index.ts'
import type { ClosureTransferInit } from '../../../src/transfer/index.ts'

describe('resolveTransferInit', () => {
  it('fills in the defaults', () => {
    const init = resolveTransferInit({}, 'north')
    assert.equal(init.fleet, 'north')
    assert.equal(init.stallTimeoutMs, STALL_TIMEOUT_MS)
    assert.equal(init.batchMaxPaths, BATCH_MAX_PATHS)
    assert.deepEqual(init.binaryCaches, [])
  })

  it('drops trailing slashes of cache URLs', () => {
    assert.deepEqual(resolveTransferInit({ binaryCaches: ['https://cache.example.org/'] }, 'north').binaryCaches,
      ['https://cache.example.org'])
  })

  const invalid: Array<{ name: string, init: ClosureTransferInit, message: RegExp }> = [
    { name: 'another fleet', init: { fleet: 'south' }, message: /differs from the node's fleet north/ },
    { name: 'a zero stall timeout', init: { stallTimeoutMs: 0 }, message: /stallTimeoutMs must be a positive integer/ },
    { name: 'a fractional batch size', init: { batchMaxPaths: 1.5 }, message: /batchMaxPaths/ },
    { name: 'negative busy retries', init: { busyRetries: -1 }, message: /busyRetries must be an integer of at least 0/ },
    { name: 'a cache that is no URL', init: { binaryCaches: ['cache'] }, message: /is not a URL/ },
    { name: 'an ftp cache', init: { binaryCaches: ['ftp://cache.example.org'] }, message: /scheme ftp:/ },
    { name: 'too many caches', init: { binaryCaches: Array(17).fill('file:///cache') }, message: /17 binary caches/ }
  ]
  for (const { name, init, message } of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => resolveTransferInit(init, 'north'), (error: unknown) =>
        error instanceof InvalidInputError && message.test(error.message))
    })
  }
})

import assert from 'node:assert/strict'
import { EXIT, exitStatusFor } from '../../../src/cli/index.ts'
import { resolvePeer } from '../../../src/cli/commands/enroll.ts'
import { generateKey } from '../../../src/keys/index.ts'
import type { GardenSummary } from '../../../src/store/index.ts'

describe('resolvePeer', () => {
  const peer = generateKey().id
  const gardens = [{ peer, name: 'web-1' }] as GardenSummary[]

  it('resolves a name', () => {
    assert.equal(resolvePeer('web-1', gardens), peer)
  })

  it('passes a peer id through', () => {
    assert.equal(resolvePeer(peer, []), peer)
  })

  it('reports an unknown name as not found', () => {
    assert.throws(() => resolvePeer('web-9', gardens), (err: any) => {
      assert.equal(exitStatusFor(err.code), EXIT.notFound)
      assert.match(err.message, /no garden is named web-9/)
      return true
    })
  })
})

import assert from 'node:assert/strict'
import { setTimeout as sleep } from 'node:timers/promises'
import { readStream, sendAll } from '../../../src/transfer/stream-io.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import { Gardens, waitUntil } from './harness.ts'
import type { Garden } from './harness.ts'

const PROTOCOL = '/sower/test-fleet/stream-io-test/1.0.0'
const CHUNK = Buffer.alloc(64 * 1024, 7)
/** More than the sender may be ahead of the reader (below), so a sender that is never held back shows. */
const TOTAL_BYTES = 64 * 1024 * 1024
/**
 * Bytes the sender may be ahead of a slow reader: two yamux windows (16 MiB
 * each in @libp2p/yamux 8). One waits in the paused stream, and one reaches
 * the reader's queue at once on resume. Add the reader's 4 MiB high-water
 * mark and the sender's 1 MiB write buffer.
 */
const LEAD_MAX_BYTES = 40 * 1024 * 1024

describe('readStream and sendAll', function () {
  this.timeout(60_000)
  const gardens = new Gardens()
  let sender: Garden
  let receiver: Garden
  let sentBytes: number

  beforeEach(async () => {
    const fleet = createTestFleet({ members: 2 })
    sender = await gardens.start(fleet, { name: 'sender', key: fleet.members[0].key, backend: 'plain' })
    receiver = await gardens.start(fleet, { name: 'receiver', key: fleet.members[1].key, backend: 'plain', bootstrap: sender.node.getMultiaddrs() })
    await waitUntil(() => receiver.node.connectedMembers().length === 1, 10_000, 'connection')
    sentBytes = 0
    await sender.node.handle(PROTOCOL, async stream => {
      async function * chunks (): AsyncGenerator<Buffer> {
        while (sentBytes < TOTAL_BYTES) {
          sentBytes += CHUNK.length
          yield CHUNK
        }
      }
      await sendAll(stream, chunks(), 30_000, AbortSignal.timeout(60_000))
      await stream.close()
    })
  })

  afterEach(async () => {
    await gardens.stopAll()
  })

  it('holds back the sender of a slow reader', async () => {
    const stream = await receiver.node.dialProtocol(sender.node.peerId, PROTOCOL)
    let received = 0
    let leadBytes = 0
    for await (const chunk of readStream(stream)) {
      received += chunk.byteLength
      leadBytes = Math.max(leadBytes, sentBytes - received)
      // About 25 MiB/s, slower than loopback.
      await sleep(Math.ceil(chunk.byteLength / 1024 / 1024 * 40))
    }
    assert.equal(received, TOTAL_BYTES)
    assert.ok(leadBytes < LEAD_MAX_BYTES, `sender was ${leadBytes} bytes ahead`)
  })

  it('keeps bytes sent before the first read', async () => {
    const stream = await receiver.node.dialProtocol(sender.node.peerId, PROTOCOL)
    const chunks = readStream(stream)
    await sleep(1_000)
    let received = 0
    for await (const chunk of chunks) {
      received += chunk.byteLength
    }
    assert.equal(received, TOTAL_BYTES)
  })
})

import assert from 'node:assert/strict'
import { StreamState, YamuxStream } from '@libp2p/yamux/stream'
import { sendWindowUpdatesAtHalf } from '../../../src/network/yamux-window.ts'

const WINDOW = 256 * 1024
/** The yamux frame type of a window update, from the yamux specification. */
const WINDOW_UPDATE = 1

interface SentFrame {
  type: number
  flag: number
  length: number
}

/** Creates a yamux stream with `used` bytes of its receive window read, whose frames land in `sent`. */
function streamWith (state: StreamState, used: number, sent: SentFrame[]): { sendWindowUpdate: () => void } {
  return Object.assign(Object.create(YamuxStream.prototype), {
    state,
    recvWindow: WINDOW,
    recvWindowCapacity: WINDOW - used,
    maxStreamWindowSize: 16 * 1024 * 1024,
    epochStart: Date.now(),
    getRTT: () => -1,
    sendFrame: (header: SentFrame) => { sent.push(header); return true }
  })
}

describe('yamux window updates', () => {
  before(() => {
    assert.equal(sendWindowUpdatesAtHalf(), true)
  })

  it('waits while less than half is used', () => {
    const sent: SentFrame[] = []
    streamWith(StreamState.Established, 1024, sent).sendWindowUpdate()

    assert.deepEqual(sent, [])
  })

  it('sends once half is used', () => {
    const sent: SentFrame[] = []
    streamWith(StreamState.Established, WINDOW / 2 + 1, sent).sendWindowUpdate()

    assert.equal(sent.length, 1)
    assert.equal(sent[0].type, WINDOW_UPDATE)
    assert.equal(sent[0].length, WINDOW / 2 + 1)
  })

  it('sends the flag of a new stream at once', () => {
    const sent: SentFrame[] = []
    streamWith(StreamState.Init, 0, sent).sendWindowUpdate()

    assert.equal(sent.length, 1)
    assert.notEqual(sent[0].flag, 0)
  })

  it('sends the ACK of a received stream at once', () => {
    const sent: SentFrame[] = []
    streamWith(StreamState.SYNReceived, 1024, sent).sendWindowUpdate()

    assert.equal(sent.length, 1)
    assert.notEqual(sent[0].flag, 0)
  })

  it('wraps the method once', () => {
    const method = (YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate
    assert.equal(sendWindowUpdatesAtHalf(), true)

    assert.equal((YamuxStream.prototype as unknown as { sendWindowUpdate: unknown }).sendWindowUpdate, method)
  })
})

import { StreamState, YamuxStream } from '@libp2p/yamux/stream'

/** Fields of a yamux stream that the window update decision reads, which the library's types mark private. */
interface StreamWindow {
  state: StreamState
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

const prototype = YamuxStream.prototype as unknown as StreamWindow
const sendEveryUpdate = prototype.sendWindowUpdate

/**
 * Makes yamux streams send a window update once half of the receive window
 * is used, as go-yamux does, instead of after every data frame. Gossip
 * records are far smaller than the 256 KiB window, so @libp2p/yamux 8
 * sent a window update frame for each record received, and a garden
 * encrypted and wrote about as many window updates as records. Updates that carry a flag
 * (the stream's SYN or ACK) and those of a paused stream still go out as
 * the library decides. Returns false, and changes nothing, when the stream
 * class no longer has the expected method.
 */
export function sendWindowUpdatesAtHalf (): boolean {
  if (typeof sendEveryUpdate !== 'function') {
    return false
  }
  if (prototype.sendWindowUpdate !== sendEveryUpdate) {
    return true
  }
  prototype.sendWindowUpdate = function (this: StreamWindow): void {
    const flagless = this.state === StreamState.SYNSent || this.state === StreamState.Established
    if (flagless && this.recvWindowCapacity > this.recvWindow / 2) {
      return
    }
    sendEveryUpdate.call(this)
  }
  return true
}

import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** Received bytes queued for the reader before the stream is paused. */
const READ_HIGH_WATER_BYTES = 4 * 1024 * 1024
/**
 * Bytes the stream may buffer while paused. A paused yamux stream stops
 * granting window, but up to one window (16 MiB at most in @libp2p/yamux 8)
 * may still arrive, and libp2p resets a stream whose buffer passes this.
 */
const PAUSED_READ_BUFFER_MAX_BYTES = 32 * 1024 * 1024
/** Bytes a sender lets queue in a stream's write buffer before it waits for the buffer to empty. */
const SEND_BUFFER_HIGH_WATER_BYTES = 1024 * 1024

/**
 * Returns the bytes that arrive on a stream until the remote closes its
 * end, pausing the stream while the consumer is behind so that memory
 * stays bounded. It listens from the call on, before the first read,
 * because libp2p resets a stream whose unread buffer grows past its
 * limit. Iterating raises the stream's error when it is reset or aborted.
 */
export function readStream (stream: Stream): AsyncGenerator<Uint8Array> {
  stream.maxReadBufferLength = Math.max(stream.maxReadBufferLength, PAUSED_READ_BUFFER_MAX_BYTES)
  const queue: Uint8Array[] = []
  let queuedBytes = 0
  let ended = stream.readableEnded
  let failure: Error | undefined = stream.status === 'aborted' || stream.status === 'reset'
    ? new Error(`the stream was ${stream.status} before it was read`)
    : undefined
  let wake: (() => void) | undefined
  const notify = (): void => {
    wake?.()
    wake = undefined
  }
  const pauseIfBehind = (): void => {
    if (queuedBytes > READ_HIGH_WATER_BYTES && stream.readStatus === 'readable') {
      stream.pause()
    }
  }
  const onMessage = (event: StreamMessageEvent): void => {
    const chunk = event.data instanceof Uint8Array ? event.data : event.data.subarray()
    queue.push(chunk)
    queuedBytes += chunk.byteLength
    // Not at once: resume() dispatches buffered data before it un-pauses the muxer, so a pause
    // from inside that dispatch would be undone and the muxer would grant window without limit.
    queueMicrotask(pauseIfBehind)
    notify()
  }
  const onEnd = (): void => {
    ended = true
    notify()
  }
  const onClose = (event: StreamCloseEvent): void => {
    if (event.error != null) {
      failure = event.error
    }
    if (event.error != null || stream.readBufferLength === 0) {
      ended = true
    }
    notify()
  }
  stream.addEventListener('message', onMessage)
  stream.addEventListener('end', onEnd)
  stream.addEventListener('close', onClose)

  return (async function * () {
    try {
      while (true) {
        const chunk = queue.shift()
        if (chunk !== undefined) {
          queuedBytes -= chunk.byteLength
          if (queuedBytes <= READ_HIGH_WATER_BYTES / 2 && stream.readStatus === 'paused') {
            stream.resume()
          }
          yield chunk
          continue
        }
        if (failure !== undefined) {
          throw failure
        }
        if (ended) {
          return
        }
        await new Promise<void>(resolve => { wake = resolve })
      }
    } finally {
      stream.removeEventListener('message', onMessage)
      stream.removeEventListener('end', onEnd)
      stream.removeEventListener('close', onClose)
    }
  })()
}

/**
 * Sends every chunk of `source` on `stream`. A stream accepts every chunk
 * into its write buffer, and after a yamux window update it reports room
 * for one more chunk even when the buffer did not shrink. So this waits
 * for the buffer to empty whenever it contains more than
 * SEND_BUFFER_HIGH_WATER_BYTES. Raises when `signal` aborts, even while the
 * source is slow to produce its next chunk, and when the receiver takes no
 * bytes for `stallTimeoutMs`.
 */
export async function sendAll (stream: Stream, source: AsyncIterable<Uint8Array>, stallTimeoutMs: number,
  signal: AbortSignal): Promise<number> {
  const iterator = source[Symbol.asyncIterator]()
  let sentBytes = 0
  while (true) {
    const next = await raceAbort(iterator.next(), signal)
    if (next.done === true) {
      return sentBytes
    }
    sentBytes += next.value.byteLength
    stream.send(next.value)
    if (stream.writeBufferLength > SEND_BUFFER_HIGH_WATER_BYTES) {
      await raceAbort(writeBufferEmptied(stream), AbortSignal.any([signal, AbortSignal.timeout(stallTimeoutMs)]))
    }
  }
}

/** Resolves when the stream has passed its whole write buffer to the muxer, and rejects when it closes first. */
async function writeBufferEmptied (stream: Stream): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onIdle = (): void => {
      cleanUp()
      resolve()
    }
    const onClose = (event: StreamCloseEvent): void => {
      cleanUp()
      reject(event.error ?? new Error('the stream closed before its data was sent'))
    }
    const cleanUp = (): void => {
      stream.removeEventListener('idle', onIdle)
      stream.removeEventListener('close', onClose)
    }
    stream.addEventListener('idle', onIdle)
    stream.addEventListener('close', onClose)
  })
}

async function raceAbort<T> (work: Promise<T>, signal: AbortSignal): Promise<T> {
  signal.throwIfAborted()
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((resolve, reject) => {
    onAbort = () => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  work.catch(() => {})
  try {
    return await Promise.race([work, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort as () => void)
  }
}

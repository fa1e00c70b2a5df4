import type { Stream } from '@libp2p/interface'
import { lpStream } from '@libp2p/utils'
import type { LengthPrefixedStream } from '@libp2p/utils'
import { z } from 'zod'
import { describeIssues, storePathSchema } from '../records/index.ts'
import { TransferProtocolError } from './errors.ts'

/**
 * The closure protocol, `/sower/<fleet>/closure/1.0.0`, served to members
 * only. One stream carries one exchange:
 *
 * 1. The caller sends a request frame: `{ paths, export }`, at most
 *    CLOSURE_REQUEST_MAX_PATHS store paths.
 * 2. The server replies with a header frame: `{ status: 'ok', paths }`
 *    listing the requested paths that are valid in its store (in request
 *    order), `{ status: 'busy' }` when every serving slot is taken, or
 *    `{ status: 'invalid', reason }` for a request it cannot read.
 * 3. With `export: true` and status ok, the header is followed by the
 *    listed paths in `nix-store --export` format, dependencies first, and
 *    the server closes its end. With `export: false` nothing follows, so the
 *    caller learns cheaply whether a closure is valid in a peer's store, and how fast the peer replies.
 *
 * Frames are unsigned-varint length-prefixed JSON, each at most
 * CLOSURE_FRAME_MAX_BYTES.
 */

/** Store paths one request may name. */
export const CLOSURE_REQUEST_MAX_PATHS = 1024
/** Largest request or header frame: the maximum path count times the longest store path, plus the keys. */
export const CLOSURE_FRAME_MAX_BYTES = 320 * 1024

export function closureProtocol (fleet: string): string {
  return `/sower/${fleet}/closure/1.0.0`
}

export const closureRequestSchema = z.strictObject({
  paths: z.array(storePathSchema).min(1).max(CLOSURE_REQUEST_MAX_PATHS),
  export: z.boolean()
})
export type ClosureRequest = z.infer<typeof closureRequestSchema>

export const closureHeaderSchema = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('ok'), paths: z.array(storePathSchema).max(CLOSURE_REQUEST_MAX_PATHS) }),
  z.strictObject({ status: z.literal('busy') }),
  z.strictObject({ status: z.literal('invalid'), reason: z.string().max(1024) })
])
export type ClosureHeader = z.infer<typeof closureHeaderSchema>

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Wraps a stream for its frames. Call `unwrap()` before reading the raw export bytes that follow. */
export function frameStream (stream: Stream): LengthPrefixedStream<Stream> {
  return lpStream(stream, { maxDataLength: CLOSURE_FRAME_MAX_BYTES })
}

export async function writeFrame (frames: LengthPrefixedStream<Stream>, value: ClosureRequest | ClosureHeader,
  signal?: AbortSignal): Promise<void> {
  await frames.write(encoder.encode(JSON.stringify(value)), { signal })
}

/**
 * Reads one frame within `timeoutMs` and validates it against `schema`.
 * Raises TransferProtocolError for a late, oversized or invalid frame.
 */
export async function readFrame<T> (frames: LengthPrefixedStream<Stream>, schema: z.ZodType<T>, timeoutMs: number,
  signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs)
  let bytes: Uint8Array
  try {
    bytes = (await frames.read({ signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]) })).subarray()
  } catch (error) {
    signal?.throwIfAborted()
    if (timeout.aborted) {
      throw new TransferProtocolError(`no frame received within ${timeoutMs} ms`, { cause: error })
    }
    throw new TransferProtocolError(`cannot read frame: ${(error as Error).message}`, { cause: error })
  }
  let json: unknown
  try {
    json = JSON.parse(decoder.decode(bytes))
  } catch (error) {
    throw new TransferProtocolError('frame is not UTF-8 JSON', { cause: error })
  }
  const parsed = schema.safeParse(json)
  if (!parsed.success) {
    throw new TransferProtocolError(`invalid frame: ${describeIssues(parsed.error)}`)
  }
  return parsed.data
}

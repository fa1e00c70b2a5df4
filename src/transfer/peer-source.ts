import type { Stream } from '@libp2p/interface'
import type { ManifestEntry } from '../nix/index.ts'
import type { FleetNode } from '../network/index.ts'
import { ProviderBusyError, TransferProtocolError } from './errors.ts'
import { closureHeaderSchema, frameStream, readFrame, writeFrame } from './protocol.ts'
import type { ClosureHeader } from './protocol.ts'
import type { BatchOffer, BatchSource } from './stage-job.ts'
import { readStream } from './stream-io.ts'

export interface PeerSourceInit {
  node: FleetNode
  protocol: string
  dialTimeoutMs: number
  stallTimeoutMs: number
}

/** A member that serves batches of a closure over the closure protocol, one stream per batch. */
export class PeerSource implements BatchSource {
  readonly label: string
  readonly kind = 'peer'
  readonly #init: PeerSourceInit

  constructor (peer: string, init: PeerSourceInit) {
    this.label = peer
    this.#init = init
  }

  async offer (batch: ManifestEntry[], signal: AbortSignal): Promise<BatchOffer | null> {
    const stream = await openStream(this.label, this.#init, signal)
    try {
      const frames = frameStream(stream)
      await writeFrame(frames, { paths: batch.map(entry => entry.path), export: true }, signal)
      const header = await readFrame(frames, closureHeaderSchema, this.#init.stallTimeoutMs, signal)
      const entries = offeredEntries(this.label, header, batch)
      const raw = frames.unwrap()
      if (entries.length === 0) {
        await raw.close({ signal })
        return null
      }
      return { entries, stream: readStream(raw), close: async error => { await finish(raw, error, signal) } }
    } catch (error) {
      stream.abort(error as Error)
      throw error
    }
  }
}

export interface ProbeResult {
  peer: string
  /** Whether the root path of the closure is valid in the peer's store. */
  hasClosure: boolean
  elapsedMs: number
}

/**
 * Asks a peer whether `storePath` is valid in its store, without
 * transferring it. The time to the reply ranks the peer: dial, round trip
 * and store lookup.
 */
export async function probePeer (peer: string, storePath: string, init: PeerSourceInit, signal: AbortSignal): Promise<ProbeResult> {
  const startedAt = performance.now()
  const opened = await openStream(peer, init, signal)
  try {
    const frames = frameStream(opened)
    await writeFrame(frames, { paths: [storePath], export: false }, signal)
    const header = await readFrame(frames, closureHeaderSchema, init.stallTimeoutMs, signal)
    await opened.close({ signal })
    const hasClosure = header.status === 'ok' && header.paths.includes(storePath)
    return { peer, hasClosure, elapsedMs: performance.now() - startedAt }
  } catch (error) {
    opened.abort(error as Error)
    throw error
  }
}

async function openStream (peer: string, init: PeerSourceInit, signal: AbortSignal): Promise<Stream> {
  const timeout = AbortSignal.timeout(init.dialTimeoutMs)
  try {
    return await init.node.dialProtocol(peer, init.protocol, { signal: AbortSignal.any([signal, timeout]) })
  } catch (error) {
    signal.throwIfAborted()
    if (timeout.aborted) {
      throw new TransferProtocolError(`cannot open a closure stream to ${peer} within ${init.dialTimeoutMs} ms`, { cause: error })
    }
    throw error
  }
}

/** Returns the batch entries a header offers, in batch order, or raises when the header breaks the protocol. */
function offeredEntries (peer: string, header: ClosureHeader, batch: ManifestEntry[]): ManifestEntry[] {
  if (header.status === 'busy') {
    throw new ProviderBusyError(peer)
  }
  if (header.status === 'invalid') {
    throw new TransferProtocolError(`peer ${peer} rejected the closure request: ${header.reason}`)
  }
  const offered = new Set(header.paths)
  const requested = new Set(batch.map(entry => entry.path))
  if (offered.size !== header.paths.length || header.paths.some(path => !requested.has(path))) {
    throw new TransferProtocolError(`peer ${peer} offered store paths that were not requested, or one twice`)
  }
  return batch.filter(entry => offered.has(entry.path))
}

/** Closes a stream after its batch was imported, or aborts it with the import's error. */
async function finish (stream: Stream, error: Error | undefined, signal: AbortSignal): Promise<void> {
  if (error !== undefined) {
    stream.abort(error)
    return
  }
  await stream.close({ signal }).catch((closeError: unknown) => { stream.abort(closeError as Error) })
}

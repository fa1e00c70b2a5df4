import type { Connection, Stream } from '@libp2p/interface'
import { z } from 'zod'
import type { Logger } from '../logger.ts'
import { RECORD_MAX_BYTES, decodeRecord } from '../records/index.ts'
import type { RecordType, SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { FrameStream, encodeJson, withTimeout } from './frames.ts'
import type { Ingest } from './ingest.ts'
import { HELLO_MAX_RECORDS } from './options.ts'
import type { TrustState } from './trust-state.ts'

/**
 * The hello exchange. The caller sends its root version and its own
 * certificates. The other side replies with the root versions the caller
 * lacks, its own certificates and the certificates that enroll the caller.
 * That is how a new garden receives its certificate from the first member
 * it reaches. Both sides of a new connection call, so each learns both.
 */
/**
 * Record types a peer may deliver in its hello before it is a member: those
 * that may admit it, and revocations, which only narrow who is trusted.
 */
const NON_MEMBER_TYPES = new Set<RecordType>(['root', 'certificate', 'revocation'])

const helloHeaderSchema = z.strictObject({
  rootVersion: z.number().int().min(0),
  count: z.number().int().min(0).max(HELLO_MAX_RECORDS)
})

export interface HelloComponents {
  store: RecordStore
  trust: TrustState
  ingest: Ingest
  logger: Logger
  /** Peer id of this node. */
  self: string
}

export interface HelloInit {
  maxBytes: number
  timeoutMs: number
  signal: AbortSignal
}

/** Sends our hello on a new connection and ingests the reply. Returns how many records were accepted. */
export async function sendHello (components: HelloComponents, init: HelloInit, connection: Connection, protocol: string): Promise<number> {
  const stream = await withTimeout(init.signal, init.timeoutMs, async signal => await connection.newStream(protocol, { signal }))
  try {
    const frames = helloFrames(stream, init)
    const own = fitBudget(components.trust.certificatesOf(components.self).slice(0, 2), init.maxBytes)
    await writeHello(frames, components.trust.root.body.version, own)
    const records = await readHello(frames)
    await stream.close({ signal: init.signal })
    init.signal.throwIfAborted()
    return await ingestAll(components, records.records, connection.remotePeer.toString())
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Serves a hello: reads the caller's records, ingests them, then replies
 * with ours. The caller syncs as soon as our reply admits us, so its own
 * certificate must be stored first, or we would abort that sync as one from
 * a non-member.
 */
export async function handleHello (components: HelloComponents, init: HelloInit, stream: Stream, connection: Connection): Promise<void> {
  const caller = connection.remotePeer.toString()
  try {
    const frames = helloFrames(stream, init)
    const request = await readHello(frames)
    init.signal.throwIfAborted()
    await ingestAll(components, request.records, caller)
    const reply = await replyRecords(components, caller, request.rootVersion)
    await writeHello(frames, components.trust.root.body.version, fitBudget(reply, init.maxBytes))
    await stream.close({ signal: init.signal })
  } catch (err) {
    components.logger.debug({ err, peer: caller }, 'hello from peer failed')
    stream.abort(err as Error)
  }
}

function helloFrames (stream: Stream, init: HelloInit): FrameStream {
  return new FrameStream(stream, {
    maxFrameBytes: Math.min(init.maxBytes, RECORD_MAX_BYTES),
    maxTotalBytes: init.maxBytes,
    readTimeoutMs: init.timeoutMs,
    signal: init.signal
  })
}

async function writeHello (frames: FrameStream, rootVersion: number, records: SignedRecord[]): Promise<void> {
  await frames.writeMany([encodeJson({ rootVersion, count: records.length }), ...records.map(record => record.bytes)])
}

async function readHello (frames: FrameStream): Promise<{ rootVersion: number, records: Uint8Array[] }> {
  const header = await frames.readJson(helloHeaderSchema)
  return { rootVersion: header.rootVersion, records: await frames.readRecords(header.count) }
}

/** Collects the root versions after the caller's, our certificates, and certificates that enroll the caller. */
async function replyRecords (components: HelloComponents, caller: string, callerRootVersion: number): Promise<SignedRecord[]> {
  const { store, trust, self } = components
  const roots: SignedRecord[] = []
  if (callerRootVersion < trust.root.body.version) {
    for await (const root of store.listByType('root')) {
      const version = (root as SignedRecord<'root'>).body.version
      if (version > callerRootVersion && version <= trust.root.body.version) {
        roots.push(root)
      }
    }
    roots.sort((a, b) => a.seq - b.seq)
  }
  return [...roots, ...trust.certificatesOf(self).slice(0, 2), ...trust.certificatesOf(caller).slice(0, 2)]
}

/** Keeps records, in order, while they fit in the budget of the other side (headers take a few bytes). */
function fitBudget (records: SignedRecord[], maxBytes: number): SignedRecord[] {
  const fitting: SignedRecord[] = []
  let bytes = 256
  for (const record of records.slice(0, HELLO_MAX_RECORDS)) {
    bytes += record.bytes.byteLength + 8
    if (bytes > maxBytes) {
      break
    }
    fitting.push(record)
  }
  return fitting
}

/**
 * Ingests the records of a hello in order. While the sender is not a
 * member, only its roots, certificates and revocations are ingested. Its
 * other records are dropped unjudged, so a stranger cannot push records
 * into the fleet by hello.
 */
async function ingestAll (components: HelloComponents, records: Uint8Array[], from: string): Promise<number> {
  let accepted = 0
  for (const bytes of records) {
    if (!components.trust.isMember(from) && !isNonMemberType(bytes)) {
      components.logger.debug({ peer: from }, 'hello from a non-member carried a record beyond roots, certificates and revocations')
      continue
    }
    const outcome = await components.ingest(bytes, { via: 'sync', from })
    if (outcome.action === 'accept') {
      accepted++
    } else if (outcome.action === 'reject') {
      components.logger.warn({ peer: from, code: outcome.code, record: outcome.record?.id }, 'hello carried an invalid record')
    }
  }
  return accepted
}

/** Bytes that do not decode count as allowed: the ingest rejects them and lowers the sender's score. */
function isNonMemberType (bytes: Uint8Array): boolean {
  const decoded = decodeRecord(bytes, RECORD_MAX_BYTES)
  return !decoded.ok || NON_MEMBER_TYPES.has(decoded.record.type)
}

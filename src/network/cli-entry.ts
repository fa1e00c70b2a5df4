import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { InvalidInputError } from '../errors.ts'
import { readKeyFile } from '../keys/index.ts'
import { createLogger } from '../logger.ts'
import type { Logger } from '../logger.ts'
import { describeIssues, parseRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { RecordStore } from '../store/index.ts'
import { FleetNode } from './index.ts'

/** The JSON file one node process starts from. Paths are used as given. */
export const nodeFileSchema = z.strictObject({
  /** LevelDB directory of the node's record store. */
  storePath: z.string().min(1),
  /** PEM ed25519 key of the node, mode 0600. */
  keyPath: z.string().min(1),
  /** JSON root record pinned by this node. */
  rootPath: z.string().min(1),
  /** JSON record files stored before start, e.g. certificates handed over at enrollment. */
  recordPaths: z.array(z.string().min(1)).default([]),
  bootstrap: z.array(z.string()).default([]),
  listen: z.array(z.string()).default(['/ip4/0.0.0.0/tcp/0']),
  syncIntervalMs: z.number().int().min(0).optional(),
  membershipGraceMs: z.number().int().min(0).optional(),
  redialMaxMembers: z.number().int().min(0).optional()
})

export type NodeFile = z.infer<typeof nodeFileSchema>

export interface RunningNode {
  node: FleetNode
  store: RecordStore
  stop: () => Promise<void>
}

async function readJson (path: string, description: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new InvalidInputError(`cannot read the ${description} ${path}: ${(err as Error).message}`, { cause: err })
  }
}

export async function readNodeFile (path: string): Promise<NodeFile> {
  const parsed = nodeFileSchema.safeParse(await readJson(path, 'node file'))
  if (!parsed.success) {
    throw new InvalidInputError(`invalid node file ${path}: ${describeIssues(parsed.error, 20)}`)
  }
  return parsed.data
}

async function readRecordFile (path: string): Promise<SignedRecord> {
  const decoded = parseRecord(await readJson(path, 'record file'))
  if (!decoded.ok) {
    throw new InvalidInputError(`invalid record file ${path}: ${decoded.error.message}`)
  }
  return decoded.record
}

/**
 * Opens the store, stores the listed records, and starts a node. Records
 * are judged by the node's ingest pipeline like any bundle import.
 */
export async function startNode (file: NodeFile, logger: Logger): Promise<RunningNode> {
  const nodeKey = await readKeyFile(file.keyPath)
  const root = await readRecordFile(file.rootPath)
  if (root.type !== 'root') {
    throw new InvalidInputError(`${file.rootPath} contains a ${root.type}, expected a root`)
  }
  const store = await RecordStore.open(file.storePath, { logger })
  const node = new FleetNode({ store, nodeKey, logger }, {
    root: root as SignedRecord<'root'>,
    listenAddresses: file.listen,
    bootstrap: file.bootstrap,
    ...(file.syncIntervalMs != null ? { syncIntervalMs: file.syncIntervalMs } : {}),
    ...(file.membershipGraceMs != null ? { membershipGraceMs: file.membershipGraceMs } : {}),
    ...(file.redialMaxMembers != null ? { redialMaxMembers: file.redialMaxMembers } : {})
  })
  try {
    await node.trust.load()
    for (const path of file.recordPaths) {
      const outcome = await node.ingest((await readRecordFile(path)).bytes, { via: 'bundle' })
      logger.info({ path, action: outcome.action, code: outcome.code }, 'record file imported')
    }
    await node.start()
  } catch (err) {
    await node.stop()
    await store.close()
    throw err
  }
  return {
    node,
    store,
    stop: async () => {
      await node.stop()
      await store.close()
    }
  }
}

/** Writes one JSON line on stdout: `ready`, `intent` and `sync` events for scripts and tests. */
function printLine (value: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/** Runs one node process until SIGINT or SIGTERM. */
export async function main (argv: string[]): Promise<void> {
  if (argv.length !== 1) {
    process.stderr.write('usage: fleet-node NODE_FILE.json\n')
    process.exitCode = 2
    return
  }
  const logger = createLogger('fleet-node')
  const running = await startNode(await readNodeFile(argv[0]), logger)
  const { node } = running
  node.on('intent', ({ record, trigger }) => { printLine({ event: 'intent', id: record.id, trigger, atMs: Date.now() }) })
  node.on('sync', ({ peer, received, stored, durationMs }) => { printLine({ event: 'sync', peer, received, stored, durationMs, atMs: Date.now() }) })
  const shutdown = (): void => {
    running.stop().then(() => { process.exit(0) }, (err: unknown) => {
      logger.error({ err }, 'stopping the node failed')
      process.exit(1)
    })
  }
  process.once('SIGINT', shutdown)
  process.once('SIGTERM', shutdown)
  printLine({ event: 'ready', peer: node.peerId, addresses: node.getMultiaddrs(), atMs: Date.now() })
}

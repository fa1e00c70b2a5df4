import { cp, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLogger, silentLogger } from '../../../src/logger.ts'
import type { Logger } from '../../../src/logger.ts'
import { FleetNode } from '../../../src/network/index.ts'
import { NixStore, PlainStore } from '../../../src/nix/index.ts'
import type { StoreBackend } from '../../../src/nix/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { ClosureTransfer } from '../../../src/transfer/index.ts'
import type { ClosureTransferInit } from '../../../src/transfer/index.ts'
import type { TestFleet } from '../../utils/fleet.ts'

export const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']

export type BackendKind = 'nix' | 'plain'

export function createBackend (kind: BackendKind, storeRoot: string): StoreBackend {
  return kind === 'nix' ? new NixStore({ storeRoot }) : new PlainStore({ storeRoot })
}

export interface GardenInit {
  name: string
  key: SigningKey
  backend: BackendKind
  /** Store root to copy into the garden's own store root before it opens. */
  storeTemplate?: string
  /** Replaces the backend the closure transfer sees, e.g. to tamper with what it serves. */
  wrap?: (backend: StoreBackend) => StoreBackend
  bootstrap?: string[]
  /** Records put in the garden's record store. @default every certificate of the fleet */
  certificates?: SignedRecord[]
  transfer?: ClosureTransferInit
  /** Starts the node without starting the closure transfer. */
  deferTransfer?: boolean
}

export interface Garden {
  name: string
  dir: string
  node: FleetNode
  records: RecordStore
  /** The backend as the garden's own store sees it, without any wrapper. */
  backend: StoreBackend
  transfer: ClosureTransfer
}

/** Starts gardens (record store, fleet node, store backend, closure transfer) and stops them all in `stopAll`. */
export class Gardens {
  readonly gardens: Garden[] = []
  readonly #dirs: string[] = []

  async start (fleet: TestFleet, init: GardenInit): Promise<Garden> {
    const dir = await mkdtemp(join(tmpdir(), `sower-transfer-${init.name}-`))
    this.#dirs.push(dir)
    const storeRoot = join(dir, 'store')
    if (init.storeTemplate !== undefined) {
      await cp(init.storeTemplate, storeRoot, { recursive: true, verbatimSymlinks: true })
    }
    const backend = createBackend(init.backend, storeRoot)
    const records = await RecordStore.open(join(dir, 'db'))
    for (const record of init.certificates ?? fleet.members.map(member => member.certificate)) {
      await records.put(record, { via: 'local', receivedAt: new Date().toISOString() })
    }
    const logger = testLogger(init.name)
    const node = new FleetNode({ store: records, nodeKey: init.key, logger }, {
      root: fleet.root,
      listenAddresses: LOOPBACK,
      bootstrap: init.bootstrap ?? [],
      syncIntervalMs: 0
    })
    const transfer = new ClosureTransfer({ node, backend: init.wrap?.(backend) ?? backend, logger }, init.transfer)
    const garden = { name: init.name, dir, node, records, backend, transfer }
    this.gardens.push(garden)
    await node.start()
    if (init.deferTransfer !== true) {
      await transfer.start()
    }
    return garden
  }

  /** Stops every garden and removes every folder, and then raises the first error a garden raised on stop. */
  async stopAll (): Promise<void> {
    const stopped = await Promise.allSettled(this.gardens.splice(0).map(async ({ node, records, transfer }) => {
      await transfer.stop()
      await node.stop()
      await records.close()
    }))
    await Promise.all(this.#dirs.splice(0).map(async dir => { await rm(dir, { recursive: true, force: true }) }))
    const failure = stopped.find(result => result.status === 'rejected')
    if (failure !== undefined) {
      throw failure.reason
    }
  }
}

function testLogger (name: string): Logger {
  return process.env.SOWER_TEST_LOG != null ? createLogger(name, 'debug') : silentLogger()
}

/** Polls `check` until it returns true; for conditions with no event to await. */
export async function waitUntil (check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached within ${timeoutMs} ms`)
    }
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

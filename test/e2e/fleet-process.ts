import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { writeKeyFile } from '../../src/keys/index.ts'
import type { SignedRecord } from '../../src/records/index.ts'
import type { TestFleet, TestMember } from '../utils/fleet.ts'

export const FLEET_NODE_SCRIPT = fileURLToPath(new URL('../../scripts/fleet-node.ts', import.meta.url))

export interface NodeLine {
  event: string
  [key: string]: any
}

/** A node process with its parsed stdout lines. */
export class FleetProcess {
  readonly child: ChildProcess
  readonly lines: NodeLine[] = []
  readonly #waiters: Array<{ match: (line: NodeLine) => boolean, resolve: (line: NodeLine) => void }> = []
  readonly exited: Promise<number | null>

  constructor (child: ChildProcess) {
    this.child = child
    this.exited = new Promise(resolve => { child.once('exit', code => { resolve(code) }) })
    createInterface({ input: child.stdout! }).on('line', text => {
      let line: NodeLine
      try {
        line = JSON.parse(text)
      } catch {
        return
      }
      this.lines.push(line)
      for (const waiter of [...this.#waiters]) {
        if (waiter.match(line)) {
          this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
          waiter.resolve(line)
        }
      }
    })
  }

  /** Resolves with the first line, past or future, that `match` accepts. */
  async waitFor (match: (line: NodeLine) => boolean, timeoutMs = 20_000): Promise<NodeLine> {
    const seen = this.lines.find(match)
    if (seen != null) {
      return seen
    }
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`no matching line from node process ${this.child.pid} within ${timeoutMs} ms`)) }, timeoutMs)
      this.#waiters.push({ match, resolve: line => { clearTimeout(timer); resolve(line) } })
    })
  }

  async stop (): Promise<void> {
    if (this.child.exitCode == null && this.child.signalCode == null) {
      this.child.kill('SIGTERM')
    }
    await this.exited
  }
}

function recordJson (record: SignedRecord): string {
  return new TextDecoder().decode(record.bytes)
}

/**
 * Writes a node file with its key, the fleet root and `records` into `dir`
 * and starts `scripts/fleet-node.ts` on it with this process's Node.
 */
export async function spawnFleetNode (dir: string, fleet: TestFleet, member: TestMember,
  options: { bootstrap?: string[], records?: SignedRecord[], syncIntervalMs?: number, redialMaxMembers?: number, env?: NodeJS.ProcessEnv } = {}): Promise<FleetProcess> {
  const keyPath = join(dir, 'node.pem')
  await writeKeyFile(keyPath, member.key)
  const rootPath = join(dir, 'root.json')
  await writeFile(rootPath, recordJson(fleet.root))
  const recordPaths: string[] = []
  for (const [index, record] of (options.records ?? [member.certificate]).entries()) {
    const path = join(dir, `record-${index}.json`)
    await writeFile(path, recordJson(record))
    recordPaths.push(path)
  }
  const nodeFile = join(dir, 'node.json')
  await writeFile(nodeFile, JSON.stringify({
    storePath: join(dir, 'db'),
    keyPath,
    rootPath,
    recordPaths,
    bootstrap: options.bootstrap ?? [],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    ...(options.syncIntervalMs != null ? { syncIntervalMs: options.syncIntervalMs } : {}),
    ...(options.redialMaxMembers != null ? { redialMaxMembers: options.redialMaxMembers } : {})
  }))
  const child = spawn(process.execPath, [FLEET_NODE_SCRIPT, nodeFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { SOWER_LOG_LEVEL: 'warn', ...process.env, ...options.env }
  })
  return new FleetProcess(child)
}

import { spawn } from 'node:child_process'
import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConfigInput } from '../../src/config/index.ts'
import { NodeProcess, SOWER_BIN } from '../../src/demo/processes.ts'
import type { ReadyLine } from '../../src/demo/processes.ts'
import { generateKey, writeKeyFile } from '../../src/keys/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import { NixStore, PlainStore, buildServiceClosure, hasNix } from '../../src/nix/index.ts'
import type { StoreBackend } from '../../src/nix/index.ts'
import { signRecord } from '../../src/records/index.ts'
import { toEnvelope } from '../../src/garden/index.ts'

export interface SowerRun {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs `sower` as its own process and collects its output. */
export async function sower (args: string[], timeoutMs = 60_000): Promise<SowerRun> {
  const child = spawn(process.execPath, [SOWER_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SOWER_LOG_LEVEL: 'warn' }
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (text: string) => { stdout += text })
  child.stderr.setEncoding('utf8').on('data', (text: string) => { stderr += text })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, timeoutMs)
  const status = await new Promise<number | null>(resolve => { child.once('exit', code => { resolve(code) }) })
  clearTimeout(timer)
  return { status, stdout, stderr }
}

/** Runs `sower` with `--json` and parses what it prints. */
export async function sowerJson (args: string[]): Promise<any> {
  const run = await sower([...args, '--json'])
  if (run.status !== 0) {
    throw new Error(`sower ${args.join(' ')} exited with ${String(run.status)}: ${run.stderr}`)
  }
  return JSON.parse(run.stdout)
}

export interface TestNode {
  name: string
  key: SigningKey
  folder: string
  config: string
  process?: NodeProcess
  ready?: ReadyLine
}

export interface GardenPlan {
  name: string
  tags: string[]
  /** Subscription fields besides name, seed, type, profile and commands. */
  policy: Record<string, unknown>
  /** Dial the admin node at start; false for an air-gapped garden. @default true */
  online?: boolean
}

/**
 * A small fleet in a folder: an admin node with every scope, and gardens
 * that deploy the service seed `app` with a harmless restart command.
 */
export class CliFleet {
  readonly folder: string
  readonly backend: 'nix' | 'plain'
  readonly admin: TestNode
  readonly adminKey: SigningKey
  readonly gardens = new Map<string, TestNode>()

  private constructor (folder: string, backend: 'nix' | 'plain', admin: TestNode, adminKey: SigningKey) {
    this.folder = folder
    this.backend = backend
    this.admin = admin
    this.adminKey = adminKey
  }

  static async create (folder: string): Promise<CliFleet> {
    const backend = await hasNix() ? 'nix' : 'plain'
    const adminKey = generateKey()
    const nowMs = Date.now()
    const root = signRecord('root', {
      fleet: 'e2e',
      version: 1,
      prev: null,
      issuedAt: new Date(nowMs - 60_000).toISOString(),
      expiresAt: new Date(nowMs + 86_400_000).toISOString(),
      threshold: 1,
      admins: [{ name: 'ops', key: adminKey.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }]
    }, [adminKey])
    await writeFile(join(folder, 'root.json'), JSON.stringify(toEnvelope(root)))
    const admin = await makeNode(folder, 'admin')
    await writeKeyFile(join(admin.folder, 'admin.pem'), adminKey)
    await writeConfig(admin, backend, { adminKeys: ['admin.pem'], web: { enabled: false } })
    return new CliFleet(folder, backend, admin, adminKey)
  }

  /** The admin node's own store, where seeds are built. */
  adminStore (): StoreBackend {
    const storeRoot = join(this.admin.folder, 'store')
    return this.backend === 'nix' ? new NixStore({ storeRoot }) : new PlainStore({ storeRoot })
  }

  async buildApp (version: string): Promise<string> {
    return (await buildServiceClosure(this.adminStore(), { name: 'app', version })).path
  }

  async startAdmin (): Promise<ReadyLine> {
    return await this.start(this.admin)
  }

  async addGarden (plan: GardenPlan): Promise<TestNode> {
    const node = await makeNode(this.folder, plan.name)
    const script = join(node.folder, 'restart.sh')
    await writeFile(script, '#!/bin/sh\necho "$SOWER_ACTION $SOWER_STORE_PATH" >> "$(dirname "$0")/restarts.log"\n')
    await chmod(script, 0o755)
    const bootstrap = plan.online === false ? [] : this.admin.ready?.addresses ?? []
    await writeConfig(node, this.backend, {
      bootstrap,
      web: { enabled: false },
      subscriptions: [{
        name: 'app',
        seed: 'app',
        type: 'service',
        profile: 'profiles/app',
        commands: { restart: [script], timeoutMs: 30_000 },
        ...plan.policy
      } as any]
    })
    this.gardens.set(plan.name, node)
    return node
  }

  garden (name: string): TestNode {
    const node = this.gardens.get(name)
    if (node == null) {
      throw new Error(`no garden ${name}`)
    }
    return node
  }

  async start (node: TestNode): Promise<ReadyLine> {
    node.process = new NodeProcess(node.name, node.config, join(node.folder, 'node.log'), ['--sync-interval', '1s'])
    node.ready = await node.process.ready()
    return node.ready
  }

  async stop (node: TestNode): Promise<void> {
    await node.process?.stop()
    node.process = undefined
  }

  /** Stops every node process, gardens first. */
  async stopAll (): Promise<void> {
    await Promise.all([...this.gardens.values()].map(async node => { await this.stop(node) }))
    await this.stop(this.admin)
  }
}

async function makeNode (folder: string, name: string): Promise<TestNode> {
  const nodeFolder = join(folder, name)
  await mkdir(nodeFolder, { recursive: true, mode: 0o700 })
  const key = generateKey()
  await writeKeyFile(join(nodeFolder, 'node.pem'), key)
  return { name, key, folder: nodeFolder, config: join(nodeFolder, 'config.json') }
}

async function writeConfig (node: TestNode, backend: 'nix' | 'plain', fields: Partial<ConfigInput>): Promise<void> {
  const config: ConfigInput = {
    fleet: 'e2e',
    root: '../root.json',
    nodeKey: 'node.pem',
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: 'data',
    nix: { backend, storeRoot: 'store' },
    ...fields
  }
  await writeFile(node.config, JSON.stringify(config, null, 2))
}

/** Polls `check` every 250 ms until it returns a value, or throws after `timeoutMs`. */
export async function eventually<T> (what: string, check: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs
  while (Date.now() < deadlineMs) {
    const value = await check()
    if (value !== undefined) {
      return value
    }
    await new Promise(resolve => setTimeout(resolve, 250))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

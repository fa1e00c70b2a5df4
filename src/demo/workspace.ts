import { chmod, mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { ConfigInput } from '../config/index.ts'
import { generateKey, writeKeyFile } from '../keys/index.ts'
import type { SigningKey } from '../keys/index.ts'
import { NixStore, PlainStore, buildServiceClosure, buildSystemClosure } from '../nix/index.ts'
import type { StoreBackend } from '../nix/index.ts'
import { signRecord } from '../records/index.ts'
import type { SignedRecord } from '../records/index.ts'
import { toEnvelope } from '../garden/index.ts'

export const DEMO_FLEET = 'demo'
export const SYSTEM_SEED = 'demo-system'
export const SERVICE_SEED = 'demo-service'
/** Hours from the demo's start until the window of the window garden opens, so it stays closed while the demo runs. */
const WINDOW_OPENS_IN_HOURS = 6
const ROOT_LIFETIME_MS = 30 * 24 * 60 * 60 * 1000

type Backend = 'nix' | 'plain'
type Subscription = NonNullable<ConfigInput['subscriptions']>[number]

/** One garden of the demo fleet: what its policy does and which end state shows it. */
export interface DemoGarden {
  name: string
  /** The policy at work, in words. */
  role: string
  tags: string[]
  key: SigningKey
  folder: string
  configFile: string
  logFile: string
  /** End state per seed that shows the policy at work, as `status --json` names it. */
  expected: Record<string, 'success' | 'waiting_for_window' | 'staged_only'>
  /** Seeds that wait for a confirmation, which the demo then signs. */
  confirms: string[]
}

export interface DemoWorkspace {
  folder: string
  backend: Backend
  adminKey: SigningKey
  adminConfigFile: string
  adminFolder: string
  adminLogFile: string
  adminStore: StoreBackend
  root: SignedRecord<'root'>
  gardens: DemoGarden[]
}

/** Creates keys, the fleet root and the admin's config in `folder`. */
export async function createWorkspace (folder: string, backend: Backend, nowMs: number): Promise<DemoWorkspace> {
  const adminFolder = join(folder, 'admin')
  await mkdir(adminFolder, { recursive: true, mode: 0o700 })
  const adminKey = generateKey()
  await writeKeyFile(join(adminFolder, 'admin.pem'), adminKey)
  await writeKeyFile(join(adminFolder, 'node.pem'), generateKey())
  const root = signRecord('root', {
    fleet: DEMO_FLEET,
    version: 1,
    prev: null,
    issuedAt: new Date(nowMs - 60_000).toISOString(),
    expiresAt: new Date(nowMs + ROOT_LIFETIME_MS).toISOString(),
    threshold: 1,
    admins: [{ name: 'demo-admin', key: adminKey.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }]
  }, [adminKey])
  await writeFile(join(folder, 'root.json'), `${JSON.stringify(toEnvelope(root), null, 2)}\n`)

  const adminConfig: ConfigInput = {
    fleet: DEMO_FLEET,
    root: '../root.json',
    nodeKey: 'node.pem',
    adminKeys: ['admin.pem'],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: 'data',
    web: { enabled: true, host: '127.0.0.1', port: 0 },
    nix: { backend, storeRoot: 'store' }
  }
  const adminConfigFile = join(adminFolder, 'config.json')
  await writeJson(adminConfigFile, adminConfig)
  const adminStore = backend === 'nix'
    ? new NixStore({ storeRoot: join(adminFolder, 'store') })
    : new PlainStore({ storeRoot: join(adminFolder, 'store') })
  return {
    folder,
    backend,
    adminKey,
    adminConfigFile,
    adminFolder,
    adminLogFile: join(adminFolder, 'node.log'),
    adminStore,
    root,
    gardens: []
  }
}

export interface DemoSeeds {
  system: string
  service: string
}

/** Builds the two seeds from generated files in the admin's store only: the gardens fetch them from it. */
export async function buildSeeds (store: StoreBackend): Promise<DemoSeeds> {
  const service = await buildServiceClosure(store, { name: SERVICE_SEED, version: '1.0', settings: { greeting: 'hello from the demo fleet' } })
  const system = await buildSystemClosure(store, { hostName: 'demo', version: '1.0' })
  return { system: system.path, service: service.path }
}

/** Writes the keys, scripts and configs of the four gardens, which bootstrap from the admin node. */
export async function addGardens (workspace: DemoWorkspace, adminAddresses: string[], nowMs: number): Promise<DemoGarden[]> {
  const window = closedWindow(nowMs)
  const plans: Array<Omit<DemoGarden, 'key' | 'folder' | 'configFile' | 'logFile'> & { subscriptions: (script: string) => Subscription[] }> = [
    {
      name: 'realtime-1',
      role: 'activates as soon as an intent arrives',
      tags: ['system', 'service'],
      expected: { [SYSTEM_SEED]: 'success', [SERVICE_SEED]: 'success' },
      confirms: [],
      subscriptions: script => [
        systemSubscription(script, { acceptRealtime: true }),
        serviceSubscription(script, { acceptRealtime: true })
      ]
    },
    {
      name: 'window-1',
      role: `stages now and activates in its window, ${window.start}-${window.end} UTC`,
      tags: ['system'],
      expected: { [SYSTEM_SEED]: 'waiting_for_window' },
      confirms: [],
      subscriptions: script => [systemSubscription(script, { window })]
    },
    {
      name: 'confirm-1',
      role: 'waits for a confirmation before it restarts the service',
      tags: ['service'],
      expected: { [SERVICE_SEED]: 'success' },
      confirms: [SERVICE_SEED],
      subscriptions: script => [serviceSubscription(script, { acceptRealtime: true, confirm: true })]
    },
    {
      name: 'stage-only-1',
      role: 'only downloads and verifies, a mirror for its site',
      tags: ['system'],
      expected: { [SYSTEM_SEED]: 'staged_only' },
      confirms: [],
      subscriptions: script => [systemSubscription(script, { stageOnly: true })]
    }
  ]
  for (const plan of plans) {
    const { subscriptions, ...fields } = plan
    const folder = join(workspace.folder, plan.name)
    await mkdir(folder, { recursive: true, mode: 0o700 })
    const key = generateKey()
    await writeKeyFile(join(folder, 'node.pem'), key)
    const script = join(folder, 'host-command.sh')
    await writeFile(script, HOST_COMMAND_SCRIPT)
    await chmod(script, 0o755)
    const configFile = join(folder, 'config.json')
    await writeJson(configFile, {
      fleet: DEMO_FLEET,
      root: '../root.json',
      nodeKey: 'node.pem',
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: adminAddresses,
      dataDir: 'data',
      web: { enabled: false },
      nix: { backend: workspace.backend, storeRoot: 'store' },
      subscriptions: subscriptions(script)
    } satisfies ConfigInput)
    workspace.gardens.push({ ...fields, key, folder, configFile, logFile: join(folder, 'node.log') })
  }
  return workspace.gardens
}

/** A daily one-hour window that starts `WINDOW_OPENS_IN_HOURS` from now, on the hour, in UTC. */
function closedWindow (nowMs: number): { start: string, end: string, zone: string } {
  const startHour = (new Date(nowMs).getUTCHours() + WINDOW_OPENS_IN_HOURS) % 24
  const pad = (hour: number): string => `${String(hour).padStart(2, '0')}:00`
  return { start: pad(startHour), end: pad((startHour + 1) % 24), zone: 'UTC' }
}

function systemSubscription (script: string, policy: Partial<Subscription>): Subscription {
  return {
    name: 'os',
    seed: SYSTEM_SEED,
    type: 'system',
    profile: 'profiles/system',
    commands: { activate: [script], reboot: [script], timeoutMs: 30_000 },
    ...policy
  } as Subscription
}

function serviceSubscription (script: string, policy: Partial<Subscription>): Subscription {
  return {
    name: 'app',
    seed: SERVICE_SEED,
    type: 'service',
    profile: 'profiles/app',
    commands: { restart: [script], timeoutMs: 30_000 },
    ...policy
  } as Subscription
}

/**
 * The demo's stand-in for switch, restart and reboot: it appends what a real
 * host would do to `host-commands.log` beside it and runs the closure's own
 * harmless `switch-to-configuration`, which only prints. It never touches
 * the host.
 */
const HOST_COMMAND_SCRIPT = `#!/bin/sh
log="$(dirname "$0")/host-commands.log"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $SOWER_ACTION $SOWER_SEED $SOWER_STORE_PATH generation $SOWER_GENERATION" >> "$log"
if [ -x "$SOWER_REAL_PATH/bin/switch-to-configuration" ]; then
  "$SOWER_REAL_PATH/bin/switch-to-configuration" "$SOWER_ACTION" >> "$log" 2>&1 || true
fi
exit 0
`

async function writeJson (file: string, value: unknown): Promise<void> {
  await writeFile(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 })
}

import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toEnvelope } from '../../src/garden/index.ts'
import { generateKey, writeKeyFile } from '../../src/keys/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import type { RootBody } from '../../src/records/index.ts'
import { firstRoot } from './roots.ts'

type Scope = RootBody['admins'][number]['scopes'][number]

export interface AdminFolder {
  folder: string
  admin: SigningKey
  /** The config file's fields, with paths relative to `folder`. */
  config: Record<string, unknown>
}

/**
 * Writes a root of fleet `unit` with one admin `ops`, the admin key
 * (`admin.pem`) and a node key (`node.pem`) into a new temporary folder,
 * and returns the config of an admin node that uses them.
 */
export async function writeAdminFolder (prefix: string, scopes: Scope[] = [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }]): Promise<AdminFolder> {
  const folder = await mkdtemp(join(tmpdir(), prefix))
  const admin = generateKey()
  const nowMs = Date.now()
  const root = firstRoot({
    fleet: 'unit',
    admins: [{ name: 'ops', key: admin.id, scopes }],
    threshold: 1,
    nowMs,
    expiresAtMs: nowMs + 86_400_000
  }, [admin])
  await writeFile(join(folder, 'root.json'), JSON.stringify(toEnvelope(root)))
  await writeKeyFile(join(folder, 'node.pem'), generateKey())
  await writeKeyFile(join(folder, 'admin.pem'), admin)
  const config = {
    fleet: 'unit',
    root: 'root.json',
    nodeKey: 'node.pem',
    adminKeys: ['admin.pem'],
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: 'data',
    web: { enabled: false },
    nix: { backend: 'plain', storeRoot: 'store' }
  }
  return { folder, admin, config }
}

import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toEnvelope } from '../../src/garden/index.ts'
import { generateKey, writeKeyFile } from '../../src/keys/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import type { RootBody, SignedRecord } from '../../src/records/index.ts'
import { firstRoot } from './roots.ts'

type Scope = RootBody['admins'][number]['scopes'][number]

export interface AdminFolder {
  folder: string
  admin: SigningKey
  /** The config file's fields, with paths relative to `folder`. */
  config: Record<string, unknown>
}

export interface AdminFolderInit {
  /** Scopes of the admin `ops` in a new root. @default root, enroll and deploy */
  scopes?: Scope[]
  /** A root to write instead of a new one, signed for `admin`. */
  root?: SignedRecord<'root'>
  /** The admin key; required with `root`. @default a new key */
  admin?: SigningKey
  /** @default a new key */
  nodeKey?: SigningKey
}

/**
 * Writes a root of fleet `unit` (a new one with one admin `ops`, unless
 * `init.root` is given), the admin key (`admin.pem`) and a node key
 * (`node.pem`) into a new temporary folder, and returns the config of an
 * admin node that uses them.
 */
export async function writeAdminFolder (prefix: string, init: AdminFolderInit = {}): Promise<AdminFolder> {
  const folder = await mkdtemp(join(tmpdir(), prefix))
  const admin = init.admin ?? generateKey()
  const nowMs = Date.now()
  const root = init.root ?? firstRoot({
    fleet: 'unit',
    admins: [{ name: 'ops', key: admin.id, scopes: init.scopes ?? [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }],
    threshold: 1,
    nowMs,
    expiresAtMs: nowMs + 86_400_000
  }, [admin])
  await writeFile(join(folder, 'root.json'), JSON.stringify(toEnvelope(root)))
  await writeKeyFile(join(folder, 'node.pem'), init.nodeKey ?? generateKey())
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

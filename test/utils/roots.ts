import { generateKey } from '../../src/keys/index.ts'
import type { SigningKey } from '../../src/keys/index.ts'
import { signRecord } from '../../src/records/index.ts'
import type { RootBody, SignedRecord } from '../../src/records/index.ts'
import { DAY_MS, iso } from './fleet.ts'

type Admin = RootBody['admins'][number]
type Scope = Admin['scopes'][number]

export const ROOT_SCOPES: Scope[] = [{ name: 'root' }]

/** Returns admin entries for `keys`, each named after the end of its key id. */
export function admins (keys: SigningKey[], scopes: Scope[] = ROOT_SCOPES): Admin[] {
  return keys.map(key => ({ name: `admin-${key.id.slice(-6)}`, key: key.id, scopes }))
}

export function keys (count: number): SigningKey[] {
  return Array.from({ length: count }, () => generateKey())
}

export interface RootInit {
  fleet?: string
  admins: Admin[]
  threshold: number
  nowMs: number
  expiresAtMs?: number
}

/** Signs version 1 of a root with `signers`. */
export function firstRoot (init: RootInit, signers: SigningKey[]): SignedRecord<'root'> {
  return signRecord('root', bodyOf(init, 1, null), signers)
}

/** Signs the version after `previous`, linked to it, with `signers`. */
export function nextRoot (previous: SignedRecord<'root'>, init: RootInit, signers: SigningKey[]): SignedRecord<'root'> {
  return signRecord('root', bodyOf(init, previous.body.version + 1, previous.id), signers)
}

function bodyOf (init: RootInit, version: number, prev: string | null): RootBody {
  return {
    fleet: init.fleet ?? 'test-fleet',
    version,
    prev,
    issuedAt: iso(init.nowMs - DAY_MS),
    expiresAt: iso(init.expiresAtMs ?? init.nowMs + 365 * DAY_MS),
    threshold: init.threshold,
    admins: init.admins
  }
}

import { SCOPE_NAMES, nameSchema } from '../records/index.ts'
import type { RootBody } from '../records/index.ts'
import { isKeyId } from '../keys/index.ts'
import { InvalidAdminSpecError } from './errors.ts'

type Scope = RootBody['admins'][number]['scopes'][number]
type ScopeName = Scope['name']

/** One parsed `--admin` value. */
export interface AdminSpec {
  name: string
  /** A key id (`12D3KooW...`) or the path of a key file to read it from. */
  key: string
  keyIsFile: boolean
  scopes: Scope[]
}

/**
 * Parses `NAME=KEY:SCOPE[,SCOPE...][:seeds=A,B][:tags=X,Y]`. KEY is a key
 * file path or a key id. The limits apply to every scope of this value, so
 * an admin with different limits per scope takes several values of the same
 * NAME (see `mergeAdminSpecs`). Throws `InvalidAdminSpecError`.
 */
export function parseAdminSpec (value: string): AdminSpec {
  const equals = value.indexOf('=')
  if (equals <= 0) {
    throw new InvalidAdminSpecError(value, 'missing NAME=')
  }
  const name = value.slice(0, equals)
  if (!nameSchema.safeParse(name).success) {
    throw new InvalidAdminSpecError(value, `admin name "${name}" must be letters, digits, ".", "_" or "-"`)
  }
  const [key, scopeList, ...limits] = value.slice(equals + 1).split(':')
  if (key == null || key === '') {
    throw new InvalidAdminSpecError(value, 'missing KEY (a key file or a key id)')
  }
  if (scopeList == null || scopeList === '') {
    throw new InvalidAdminSpecError(value, 'missing scopes')
  }
  const limitFields = parseLimits(value, limits)
  const scopes = scopeList.split(',').map(scope => toScope(value, scope, limitFields))
  return { name, key, keyIsFile: !isKeyId(key), scopes }
}

function toScope (value: string, scope: string, limits: { seeds?: string[], tags?: string[] }): Scope {
  if (!(SCOPE_NAMES as readonly string[]).includes(scope)) {
    throw new InvalidAdminSpecError(value, `unknown scope "${scope}" (use ${SCOPE_NAMES.join(', ')})`)
  }
  return { name: scope as ScopeName, ...limits }
}

function parseLimits (value: string, limits: string[]): { seeds?: string[], tags?: string[] } {
  const fields: { seeds?: string[], tags?: string[] } = {}
  for (const limit of limits) {
    const match = /^(seeds|tags)=(.+)$/.exec(limit)
    if (match == null) {
      throw new InvalidAdminSpecError(value, `unknown limit "${limit}" (use seeds=A,B or tags=X,Y)`)
    }
    const field = match[1] as 'seeds' | 'tags'
    if (fields[field] != null) {
      throw new InvalidAdminSpecError(value, `${field}= appears twice`)
    }
    const names = match[2].split(',')
    const invalid = names.find(name => !nameSchema.safeParse(name).success)
    if (invalid != null) {
      throw new InvalidAdminSpecError(value, `"${invalid}" in ${field}= is not a valid name`)
    }
    fields[field] = names
  }
  return fields
}

/**
 * Merges values that name one admin into one entry with all their scopes.
 * Two values of one NAME must name the same KEY.
 */
export function mergeAdminSpecs (specs: AdminSpec[]): AdminSpec[] {
  const byName = new Map<string, AdminSpec>()
  for (const spec of specs) {
    const known = byName.get(spec.name)
    if (known == null) {
      byName.set(spec.name, { ...spec, scopes: [...spec.scopes] })
    } else if (known.key !== spec.key) {
      throw new InvalidAdminSpecError(`${spec.name}=${spec.key}`, `admin ${spec.name} is already given with key ${known.key}`)
    } else {
      known.scopes.push(...spec.scopes)
    }
  }
  return [...byName.values()]
}

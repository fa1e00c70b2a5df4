import type { DeployIntentBody, IntentBody, RecordType, RootBody, SignedRecord } from '../records/index.ts'

/**
 * Allowed difference between a sender's clock and ours when judging issue
 * and expiry times. Documented in docs/SECURITY.md.
 */
export const CLOCK_SKEW_MAX_MS = 5 * 60 * 1000

export type Decision = { ok: true } | { ok: false, code: string, reason: string }

const OK: Decision = { ok: true }

function deny (code: string, reason: string): Decision {
  return { ok: false, code, reason }
}

/** The scope an admin key needs for each record type that admins sign. */
const REQUIRED_SCOPE: Partial<Record<RecordType, 'deploy' | 'enroll'>> = {
  certificate: 'enroll',
  revocation: 'enroll',
  intent: 'deploy'
}

/**
 * Decides whether `key` may sign `record` under `root` at `nowMs`. Scope
 * names and their seed and tag limits match exactly, never by substring.
 * Records that gardens sign (reports, events, alerts) need membership
 * instead, which `Membership.status` decides.
 */
export function maySign (root: RootBody, key: string, record: SignedRecord): Decision {
  const scopeName = REQUIRED_SCOPE[record.type]
  if (scopeName == null) {
    return deny('ERR_NOT_ADMIN_RECORD', `a ${record.type} is not signed by admin keys`)
  }
  const admin = root.admins.find(candidate => candidate.key === key)
  if (admin == null) {
    return deny('ERR_UNKNOWN_SIGNER', `key ${key} is not an admin key of root version ${root.version}`)
  }
  const scopes = admin.scopes.filter(scope => scope.name === scopeName)
  if (scopes.length === 0) {
    return deny('ERR_SCOPE', `admin ${admin.name} has no ${scopeName} scope`)
  }
  const body = record.body as any
  const limits = scopes.map(scope => scopeLimitsAllow(scope, record.type, body))
  if (limits.some(limit => limit == null)) {
    return OK
  }
  return deny('ERR_SCOPE_LIMIT', `admin ${admin.name}: ${limits[0] ?? 'outside its scope'}`)
}

/** Returns null when one scope allows the record, else why not. */
function scopeLimitsAllow (scope: { seeds?: string[], tags?: string[] }, type: RecordType, body: any): string | null {
  if (scope.tags != null) {
    const tagProblem = tagLimitProblem(type, body, scope.tags)
    if (tagProblem != null) {
      return tagProblem
    }
  }
  if (scope.seeds != null && type === 'intent') {
    return seedsOutside(body, scope.seeds)
  }
  return null
}

function tagLimitProblem (type: RecordType, body: any, allowed: string[]): string | null {
  if (type === 'intent') {
    return targetsOutsideTags(body, allowed)
  }
  if (type === 'revocation') {
    return `a revocation names no tags, so it is outside the tags ${allowed.join(', ')}`
  }
  return tagsOutside(body.tags ?? [], allowed)
}

function tagsOutside (tags: string[], allowed: string[]): string | null {
  if (tags.length === 0) {
    return `an untagged certificate is outside the tags ${allowed.join(', ')}`
  }
  const outside = tags.filter(tag => !allowed.includes(tag))
  return outside.length === 0 ? null : `tags ${outside.join(', ')} are outside ${allowed.join(', ')}`
}

function targetsOutsideTags (intent: IntentBody, allowed: string[]): string | null {
  const outside = intent.targets.filter(target => !target.startsWith('tag:') || !allowed.includes(target.slice(4)))
  return outside.length === 0 ? null : `targets ${outside.join(', ')} are outside the tags ${allowed.join(', ')}`
}

function seedsOutside (intent: IntentBody, allowed: string[]): string | null {
  const seeds = intent.action === 'deploy'
    ? (intent as DeployIntentBody).releases.map(release => release.seed)
    : intent.seeds
  if (seeds == null) {
    return `a ${intent.action} for all seeds is outside the seeds ${allowed.join(', ')}; name the seeds`
  }
  const outside = seeds.filter(seed => !allowed.includes(seed))
  return outside.length === 0 ? null : `seeds ${outside.join(', ')} are outside ${allowed.join(', ')}`
}

/**
 * Judges the times of a record against our clock with `CLOCK_SKEW_MAX_MS`
 * of tolerance: nothing issued in the future, and no intent past its
 * expiry. Certificates are not judged by expiry here, because an expired
 * certificate stays part of the history. `Membership.status` judges it.
 */
export function checkFreshness (record: SignedRecord, nowMs: number, skewMs = CLOCK_SKEW_MAX_MS): Decision {
  const body = record.body as { issuedAt: string, expiresAt?: string }
  const issuedAtMs = Date.parse(body.issuedAt)
  if (issuedAtMs > nowMs + skewMs) {
    return deny('ERR_FROM_FUTURE', `${record.type} ${record.id} was issued at ${body.issuedAt}, in the future`)
  }
  if (record.type === 'intent' && body.expiresAt != null && Date.parse(body.expiresAt) + skewMs <= nowMs) {
    return deny('ERR_EXPIRED', `intent ${record.id} expired at ${body.expiresAt}`)
  }
  return OK
}

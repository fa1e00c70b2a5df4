import { z } from 'zod'

/** Wire limits. A record over `RECORD_MAX_BYTES` is rejected before it is parsed, unless it is an alert. */
export const RECORD_MAX_BYTES = 1024 * 1024
/**
 * Bytes of an alert, the largest record type. It carries two records of up
 * to `RECORD_MAX_BYTES` each as evidence, and its own fields take under
 * 1,000 bytes even at their longest. It stays below the 2 MiB + 1 KiB line
 * limit of bundle files and the 4 MiB inbound message limit that
 * @libp2p/gossipsub takes from it-length-prefixed by default.
 */
export const ALERT_MAX_BYTES = 2 * RECORD_MAX_BYTES + 1000
export const NAME_MAX_CHARS = 64
export const TEXT_MAX_CHARS = 4096
export const MANIFEST_MAX_PATHS = 10_000
export const TARGETS_MAX = 256
export const SIGNATURES_MAX = 32

/** Id prefixes by record type, so a pasted id says what it is. */
export const ID_PREFIXES = {
  root: 'root',
  certificate: 'cert',
  revocation: 'rev',
  intent: 'int',
  report: 'rep',
  event: 'evt',
  alert: 'alr'
} as const

export type RecordType = keyof typeof ID_PREFIXES
export const RECORD_TYPES = Object.keys(ID_PREFIXES) as RecordType[]

const BASE32_SHA256 = '[a-z2-7]{52}'

export const peerIdSchema = z.string()
  .regex(/^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/, 'expected the peer id of an ed25519 key (12D3KooW...)')
export const timeSchema = z.iso.datetime({ offset: false, precision: 3 })
  .describe('UTC ISO 8601 time with milliseconds, e.g. 2026-01-31T12:00:00.000Z')
export const nameSchema = z.string().min(1).max(NAME_MAX_CHARS)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-", starting with a letter or digit')
export const seqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)

export function recordIdSchema (prefix: string): z.ZodString {
  return z.string().regex(new RegExp(`^${prefix}_${BASE32_SHA256}$`), `expected a ${prefix}_ id`)
}

export const anyRecordIdSchema = z.string()
  .regex(new RegExp(`^(${Object.values(ID_PREFIXES).join('|')})_${BASE32_SHA256}$`), 'expected a record id')
export const deploymentIdSchema = recordIdSchema('dep')

/** A store path as Nix prints it; the plain-files backend uses the same form. */
export const storePathSchema = z.string().max(256)
  .regex(/^\/nix\/store\/[0-9a-df-np-sv-z]{32}-[A-Za-z0-9+\-._?=]{1,211}$/, 'expected a /nix/store/<hash>-<name> path')
/** A NAR hash in the form Nix reports it: `sha256:` and 52 Nix base32 characters. */
export const narHashSchema = z.string()
  .regex(/^sha256:[0-9a-df-np-sv-z]{52}$/, 'expected sha256:<52 nix-base32 characters>')

/** Fields that put a record in its author's append-only feed. */
const feedFields = {
  fleet: nameSchema,
  author: peerIdSchema,
  seq: seqSchema,
  prev: anyRecordIdSchema.nullable(),
  issuedAt: timeSchema
}

export const SCOPE_NAMES = ['deploy', 'enroll', 'root'] as const
export const scopeSchema = z.strictObject({
  name: z.enum(SCOPE_NAMES),
  seeds: z.array(nameSchema).min(1).max(256).optional(),
  tags: z.array(nameSchema).min(1).max(256).optional()
})

export const adminSchema = z.strictObject({
  name: nameSchema,
  key: peerIdSchema,
  scopes: z.array(scopeSchema).min(1).max(16)
})

export const rootBodySchema = z.strictObject({
  fleet: nameSchema,
  version: seqSchema,
  prev: recordIdSchema('root').nullable(),
  issuedAt: timeSchema,
  expiresAt: timeSchema,
  threshold: z.number().int().min(1).max(SIGNATURES_MAX),
  admins: z.array(adminSchema).min(1).max(64)
}).superRefine((root, ctx) => {
  const rootKeys = root.admins.filter(admin => admin.scopes.some(scope => scope.name === 'root'))
  if (rootKeys.length < root.threshold) {
    ctx.addIssue({ code: 'custom', path: ['threshold'], message: `threshold ${root.threshold} exceeds the ${rootKeys.length} admins with root scope` })
  }
  for (const field of ['name', 'key'] as const) {
    const seen = new Set<string>()
    root.admins.forEach((admin, index) => {
      if (seen.has(admin[field])) {
        ctx.addIssue({ code: 'custom', path: ['admins', index, field], message: `duplicate admin ${field} ${admin[field]}` })
      }
      seen.add(admin[field])
    })
  }
  if ((root.version === 1) !== (root.prev === null)) {
    ctx.addIssue({ code: 'custom', path: ['prev'], message: 'prev must be null exactly for version 1' })
  }
})

export const GARDEN_ROLES = ['garden', 'admin', 'relay'] as const

export const certificateBodySchema = z.strictObject({
  ...feedFields,
  peer: peerIdSchema,
  name: nameSchema,
  roles: z.array(z.enum(GARDEN_ROLES)).min(1).max(GARDEN_ROLES.length),
  tags: z.array(nameSchema).max(32),
  expiresAt: timeSchema
})

export const revocationBodySchema = z.strictObject({
  ...feedFields,
  peer: peerIdSchema,
  reason: z.string().max(TEXT_MAX_CHARS)
})

export const SEED_TYPES = ['system', 'service', 'home'] as const
export type SeedType = typeof SEED_TYPES[number]

/** One store path of a closure, with what Nix reports about it. */
export const manifestEntrySchema = z.strictObject({
  path: storePathSchema,
  narHash: narHashSchema,
  narSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  references: z.array(storePathSchema).max(MANIFEST_MAX_PATHS)
})
export type ManifestEntry = z.infer<typeof manifestEntrySchema>

export const releaseSchema = z.strictObject({
  seed: nameSchema,
  type: z.enum(SEED_TYPES),
  storePath: storePathSchema,
  narHash: narHashSchema,
  narSize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  /** Boot-relevant paths of a `system` release, so a garden can tell whether to reboot. */
  boot: z.strictObject({ kernel: z.string().max(512), initrd: z.string().max(512) }).optional(),
  manifest: z.array(manifestEntrySchema).min(1).max(MANIFEST_MAX_PATHS)
}).superRefine((release, ctx) => {
  const root = release.manifest.find(entry => entry.path === release.storePath)
  if (root == null) {
    ctx.addIssue({ code: 'custom', path: ['manifest'], message: `manifest does not contain the release path ${release.storePath}` })
  } else if (root.narHash !== release.narHash || root.narSize !== release.narSize) {
    ctx.addIssue({ code: 'custom', path: ['narHash'], message: 'release NAR hash and size differ from its manifest entry' })
  }
})
export type Release = z.infer<typeof releaseSchema>

/**
 * A target selector: `*` (every garden), `name:<garden>`, `tag:<tag>` or
 * `peer:<peer id>`.
 */
export const selectorSchema = z.string().max(80)
  .regex(/^(\*|name:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|tag:[A-Za-z0-9][A-Za-z0-9._-]{0,63}|peer:12D3KooW[1-9A-HJ-NP-Za-km-z]{44})$/,
    'expected *, name:<garden>, tag:<tag> or peer:<peer id>')

const intentFields = {
  ...feedFields,
  expiresAt: timeSchema,
  targets: z.array(selectorSchema).min(1).max(TARGETS_MAX)
}

export const INTENT_ACTIONS = ['deploy', 'retry', 'cancel', 'confirm'] as const
export type IntentAction = typeof INTENT_ACTIONS[number]

export const deployIntentSchema = z.strictObject({
  ...intentFields,
  action: z.literal('deploy'),
  /** Grows per seed: a garden never applies a sequence at or below one it applied. */
  sequence: seqSchema,
  releases: z.array(releaseSchema).min(1).max(16)
}).superRefine((intent, ctx) => {
  const seeds = new Set<string>()
  intent.releases.forEach((release, index) => {
    if (seeds.has(release.seed)) {
      ctx.addIssue({ code: 'custom', path: ['releases', index, 'seed'], message: `seed ${release.seed} appears twice` })
    }
    seeds.add(release.seed)
  })
})

/** Retry, cancel or confirm of an earlier deploy intent, optionally for some of its seeds only. */
export const followUpIntentSchema = z.strictObject({
  ...intentFields,
  action: z.enum(['retry', 'cancel', 'confirm']),
  intent: recordIdSchema('int'),
  seeds: z.array(nameSchema).min(1).max(16).optional()
})

/** Discriminated by `action`, so an error names the field that failed rather than the whole body. */
export const intentBodySchema = z.discriminatedUnion('action', [deployIntentSchema, followUpIntentSchema])

export const generationSchema = z.strictObject({
  number: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  storePath: z.string().max(512),
  date: timeSchema,
  current: z.boolean()
})

export const reportBodySchema = z.strictObject({
  ...feedFields,
  agentVersion: z.string().max(NAME_MAX_CHARS),
  addresses: z.array(z.string().max(256)).max(32),
  subscriptions: z.array(z.strictObject({
    name: nameSchema,
    seed: nameSchema,
    type: z.enum(SEED_TYPES),
    profile: z.string().max(512),
    policy: z.record(z.string().max(NAME_MAX_CHARS), z.unknown())
  })).max(64),
  profiles: z.array(z.strictObject({
    seed: nameSchema,
    profile: z.string().max(512),
    generations: z.array(generationSchema).max(256),
    /** Generations that no Sower deployment created, such as a hand-run `nixos-rebuild`. */
    drift: z.array(z.number().int().min(0)).max(256)
  })).max(64)
})

export const EVENT_KINDS = [
  'received', 'policy_denied', 'waiting_for_window', 'confirmation_required', 'confirmed',
  'staging', 'staged', 'activating', 'activated', 'health_check', 'rolled_back',
  'result', 'canceled', 'superseded', 'retry'
] as const
export type EventKind = typeof EVENT_KINDS[number]

export const TRIGGERS = ['realtime', 'poll_on_connect', 'schedule', 'user_retry'] as const
export const DEPLOYMENT_RESULTS = ['success', 'partial', 'failure', 'canceled', 'superseded'] as const
export type DeploymentResult = typeof DEPLOYMENT_RESULTS[number]

export const eventBodySchema = z.strictObject({
  ...feedFields,
  deployment: deploymentIdSchema,
  intent: recordIdSchema('int'),
  seed: nameSchema,
  kind: z.enum(EVENT_KINDS),
  trigger: z.enum(TRIGGERS).optional(),
  /** Who caused the step: an admin key id for intents, `policy` or `garden` otherwise. */
  actor: z.string().max(NAME_MAX_CHARS).optional(),
  result: z.enum(DEPLOYMENT_RESULTS).optional(),
  detail: z.record(z.string().max(NAME_MAX_CHARS),
    z.union([z.string().max(TEXT_MAX_CHARS), z.number(), z.boolean(), z.null()])).optional()
})

/**
 * A record embedded in an alert as evidence: its envelope as a JSON value,
 * whose JCS form is the record's canonical bytes. The body is checked
 * against the schema of its type when the evidence is checked, so that an
 * alert with bad evidence is rejected with a reason that names it.
 */
export const evidenceEnvelopeSchema = z.strictObject({
  type: z.enum(RECORD_TYPES as [RecordType, ...RecordType[]]),
  body: z.record(z.string(), z.unknown()),
  signatures: z.array(z.unknown()).min(1).max(SIGNATURES_MAX)
})

/**
 * A fork alert: `evidence` contains the two records of `subject` that cannot
 * belong to one history, and `records` their ids in the same order.
 * NOTE: alerts signed before `evidence` existed no longer decode. A store
 * that contains one skips it when reading, and compaction of its feed stops there.
 */
export const alertBodySchema = z.strictObject({
  ...feedFields,
  kind: z.literal('fork'),
  subject: peerIdSchema,
  subjectSeq: seqSchema,
  records: z.array(anyRecordIdSchema).length(2),
  evidence: z.array(evidenceEnvelopeSchema).length(2)
})

export const BODY_SCHEMAS = {
  root: rootBodySchema,
  certificate: certificateBodySchema,
  revocation: revocationBodySchema,
  intent: intentBodySchema,
  report: reportBodySchema,
  event: eventBodySchema,
  alert: alertBodySchema
} as const

export type RootBody = z.infer<typeof rootBodySchema>
export type CertificateBody = z.infer<typeof certificateBodySchema>
export type RevocationBody = z.infer<typeof revocationBodySchema>
export type IntentBody = z.infer<typeof intentBodySchema>
export type DeployIntentBody = z.infer<typeof deployIntentSchema>
export type FollowUpIntentBody = z.infer<typeof followUpIntentSchema>
export type ReportBody = z.infer<typeof reportBodySchema>
export type EventBody = z.infer<typeof eventBodySchema>
export type AlertBody = z.infer<typeof alertBodySchema>

export interface BodyTypes {
  root: RootBody
  certificate: CertificateBody
  revocation: RevocationBody
  intent: IntentBody
  report: ReportBody
  event: EventBody
  alert: AlertBody
}

export const signatureSchema = z.strictObject({
  key: peerIdSchema,
  sig: z.string().regex(/^[A-Za-z0-9_-]{86}$/, 'expected a base64url ed25519 signature')
})

/**
 * Two signatures by one key are rejected: they add no trust, and each copy
 * would give the same record another id, which could fake a fork.
 */
export const envelopeSchema = z.strictObject({
  type: z.enum(RECORD_TYPES as [RecordType, ...RecordType[]]),
  body: z.record(z.string(), z.unknown()),
  signatures: z.array(signatureSchema).min(1).max(SIGNATURES_MAX)
}).superRefine((envelope, ctx) => {
  const seen = new Set<string>()
  envelope.signatures.forEach((signature, index) => {
    if (seen.has(signature.key)) {
      ctx.addIssue({ code: 'custom', path: ['signatures', index, 'key'], message: `duplicate signature by key ${signature.key}` })
    }
    seen.add(signature.key)
  })
})

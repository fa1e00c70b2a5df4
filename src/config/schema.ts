import { isIP } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { isKeyId } from '../keys/index.ts'
import { SYNC_BUDGET_BURST_BYTES, SYNC_BUDGET_REFILL_BYTES_PER_SEC } from '../network/options.ts'
import { policyFieldsSchema, zoneSchema } from '../policy/index.ts'
import { SEED_TYPES, nameSchema } from '../records/index.ts'

/** TCP port that gardens listen on unless the config says otherwise. */
export const DEFAULT_LISTEN_PORT = 4710
/** Every IPv4 interface, so other gardens can reach this one. */
export const DEFAULT_LISTEN_ADDRESSES: readonly string[] = [`/ip4/0.0.0.0/tcp/${DEFAULT_LISTEN_PORT}`]
export const DEFAULT_DATA_DIR = '/var/lib/sower'
export const DEFAULT_WEB_ENABLED = true
export const DEFAULT_WEB_HOST = '127.0.0.1'
export const DEFAULT_WEB_PORT = 4711
/** Shortest web view token accepted, the same minimum as the web view's own check. */
export const WEB_TOKEN_MIN_CHARS = 16
export const DEFAULT_CLOCK_RELIABLE = true
/** Zone of policy windows that name none. */
export const DEFAULT_TIME_ZONE = 'UTC'
export const DEFAULT_NIX_BACKEND = 'nix'
/** Store root of the `nix` backend when none is given: the host's own `/nix/store`. */
export const DEFAULT_NIX_STORE_ROOT = '/'
/** Store root of the `plain` backend when none is given, inside the data folder. */
export const DEFAULT_PLAIN_STORE_FOLDER = 'store'
export const DEFAULT_RETENTION_MAX_AGE_DAYS = 90
export const DEFAULT_RETENTION_MAX_RECORDS_PER_GARDEN = 10_000
/** Time allowed for each subscription command before it is killed. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5 * 60 * 1000
export const COMMAND_TIMEOUT_MAX_MS = 24 * 60 * 60 * 1000
export const SUBSCRIPTIONS_MAX = 64
export const ADDRESSES_MAX = 32
export const PATH_MAX_CHARS = 4096

const ADDRESS_KINDS = ['ip4', 'ip6']
const DIAL_ADDRESS_KINDS = ['ip4', 'ip6', 'dns', 'dns4', 'dns6']
const HOST_NAME_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/

const pathSchema = z.string().min(1).max(PATH_MAX_CHARS)
  .refine(path => !path.includes('\0'), 'a path cannot contain a NUL character')

/** Returns the `[name, value]` pairs of a multiaddr, or the parser's error message. */
function components (address: string): Array<[string, string | undefined]> | string {
  try {
    return multiaddr(address).getComponents().map(component => [component.name, component.value])
  } catch (err) {
    return (err as Error).message
  }
}

const listenAddressSchema = z.string().max(256).superRefine((address, ctx) => {
  const parts = components(address)
  if (typeof parts === 'string') {
    ctx.addIssue({ code: 'custom', message: `invalid multiaddr ${address}: ${parts}` })
  } else if (parts.length !== 2 || !ADDRESS_KINDS.includes(parts[0][0]) || parts[1][0] !== 'tcp') {
    ctx.addIssue({ code: 'custom', message: `expected /ip4/<address>/tcp/<port> or /ip6/<address>/tcp/<port>, got ${address}` })
  }
})

const bootstrapAddressSchema = z.string().max(256).superRefine((address, ctx) => {
  const parts = components(address)
  if (typeof parts === 'string') {
    ctx.addIssue({ code: 'custom', message: `invalid multiaddr ${address}: ${parts}` })
    return
  }
  const shapeOk = parts.length === 3 && DIAL_ADDRESS_KINDS.includes(parts[0][0]) && parts[1][0] === 'tcp' && parts[2][0] === 'p2p'
  if (!shapeOk) {
    ctx.addIssue({ code: 'custom', message: `expected /ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>/p2p/<peer id>, got ${address}` })
  } else if (!isKeyId(parts[2][1] ?? '')) {
    ctx.addIssue({ code: 'custom', message: `${parts[2][1] ?? ''} is not the peer id of an ed25519 key (12D3KooW...)` })
  }
})

/** Returns whether a web view host is loopback-only, so it may serve without a token. */
export function isLoopbackHost (host: string): boolean {
  if (host === 'localhost') {
    return true
  }
  if (isIP(host) === 4) {
    return host.startsWith('127.')
  }
  return host === '::1'
}

const webSchema = z.strictObject({
  enabled: z.boolean().default(DEFAULT_WEB_ENABLED),
  host: z.string().refine(host => isIP(host) !== 0 || HOST_NAME_PATTERN.test(host),
    'expected an IP address or host name without brackets or port, e.g. 127.0.0.1 or ::1').default(DEFAULT_WEB_HOST),
  port: z.number().int().min(0).max(65_535).default(DEFAULT_WEB_PORT),
  token: z.string().min(WEB_TOKEN_MIN_CHARS).max(256).regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces').optional()
}).superRefine((web, ctx) => {
  if (web.enabled && web.token == null && !isLoopbackHost(web.host)) {
    ctx.addIssue({
      code: 'custom',
      path: ['token'],
      message: `a web view on ${web.host} needs a token of at least ${WEB_TOKEN_MIN_CHARS} characters ` +
        '(e.g. from `openssl rand -hex 16`), or set host to 127.0.0.1'
    })
  }
})

const clockSchema = z.strictObject({
  reliable: z.boolean().default(DEFAULT_CLOCK_RELIABLE)
})

const binaryCacheSchema = z.url({ protocol: /^(https?|file)$/, error: 'expected an http://, https:// or file:// URL' })

const nixSchema = z.strictObject({
  backend: z.enum(['nix', 'plain']).default(DEFAULT_NIX_BACKEND),
  storeRoot: pathSchema.optional(),
  nixBinDir: pathSchema.optional(),
  binaryCaches: z.array(binaryCacheSchema).max(16).default([])
})

const retentionSchema = z.strictObject({
  maxAgeDays: z.number().int().min(1).max(36_500).default(DEFAULT_RETENTION_MAX_AGE_DAYS),
  maxRecordsPerGarden: z.number().int().min(10).max(10_000_000).default(DEFAULT_RETENTION_MAX_RECORDS_PER_GARDEN)
})

/**
 * Returns the schema of a `sync` field: a whole number of at least 1. The
 * error for zero gives `zeroProblem` as the reason, after the value.
 */
function syncBudgetSchema (unit: string, defaultValue: number, zeroProblem: string): z.ZodDefault<z.ZodNumber> {
  const fix = `use a whole number of ${unit} of at least 1, or leave the field out for the default ${defaultValue}`
  return z.number({ error: issue => `expected a number, got ${JSON.stringify(issue.input) ?? 'nothing'}: ${fix}` })
    .check(ctx => {
      const problem = syncBudgetProblem(ctx.value, zeroProblem)
      if (problem != null) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `${problem}: ${fix}` })
      }
    })
    .default(defaultValue)
}

function syncBudgetProblem (value: number, zeroProblem: string): string | null {
  if (!Number.isSafeInteger(value)) {
    return Number.isInteger(value) ? `${value} is larger than ${Number.MAX_SAFE_INTEGER}` : `${value} is not a whole number`
  }
  if (value < 0) {
    return `${value} is negative`
  }
  return value === 0 ? `0 ${zeroProblem}` : null
}

const syncSchema = z.strictObject({
  budgetBurstBytes: syncBudgetSchema('bytes', SYNC_BUDGET_BURST_BYTES, 'would stop this node from serving sync to any peer'),
  budgetRefillBytesPerSec: syncBudgetSchema('bytes per second', SYNC_BUDGET_REFILL_BYTES_PER_SEC,
    'would stop this node from serving sync to a peer for good once the peer has drawn its burst')
})

/** A command as a program and its arguments, run without a shell. */
const commandSchema = z.array(z.string().max(PATH_MAX_CHARS))
  .min(1, 'expected the program and its arguments, e.g. ["systemctl", "restart", "nginx.service"], ' +
    'or leave the field out to run no command')
  .max(256)
  // Zod runs this refine even after `min(1)` failed, so an empty list must not reach argv[0].
  .refine(argv => argv.length === 0 || argv[0].length > 0, 'the program name cannot be empty')

const commandsSchema = z.strictObject({
  activate: commandSchema.optional(),
  restart: commandSchema.optional(),
  reboot: commandSchema.optional(),
  healthCheck: commandSchema.optional(),
  timeoutMs: z.number().int().min(1000).max(COMMAND_TIMEOUT_MAX_MS).default(DEFAULT_COMMAND_TIMEOUT_MS)
})

/** One subscription: what it deploys and where, its commands, and the policy fields of src/policy. */
export const subscriptionSchema = policyFieldsSchema.safeExtend({
  name: nameSchema,
  seed: nameSchema,
  type: z.enum(SEED_TYPES),
  profile: pathSchema,
  commands: commandsSchema.prefault({})
}).strict().superRefine((subscription, ctx) => {
  if (subscription.type === 'service' && subscription.commands.restart == null) {
    ctx.addIssue({
      code: 'custom',
      path: ['commands', 'restart'],
      message: 'a service subscription needs the command that restarts its service, e.g. ["systemctl", "restart", "nginx.service"]'
    })
  }
})

/** The whole config file of a node. */
export const configSchema = z.strictObject({
  fleet: nameSchema,
  root: pathSchema,
  nodeKey: pathSchema,
  adminKeys: z.array(pathSchema).max(16).default([]),
  listen: z.array(listenAddressSchema).min(1).max(ADDRESSES_MAX).default([...DEFAULT_LISTEN_ADDRESSES]),
  bootstrap: z.array(bootstrapAddressSchema).max(ADDRESSES_MAX).default([]),
  dataDir: pathSchema.default(DEFAULT_DATA_DIR),
  web: webSchema.prefault({}),
  clock: clockSchema.prefault({}),
  timeZone: zoneSchema.default(DEFAULT_TIME_ZONE),
  nix: nixSchema.prefault({}),
  retention: retentionSchema.prefault({}),
  sync: syncSchema.prefault({}),
  subscriptions: z.array(subscriptionSchema).max(SUBSCRIPTIONS_MAX).default([])
}).superRefine((config, ctx) => {
  for (const field of ['name', 'profile'] as const) {
    const seen = new Map<string, number>()
    config.subscriptions.forEach((subscription, index) => {
      const first = seen.get(subscription[field])
      if (first != null) {
        ctx.addIssue({
          code: 'custom',
          path: ['subscriptions', index, field],
          message: `subscriptions ${first} and ${index} have the same ${field} ${subscription[field]}`
        })
      }
      seen.set(subscription[field], index)
    })
  }
})

/** The config file as written, before paths are resolved. */
export type ConfigInput = z.input<typeof configSchema>

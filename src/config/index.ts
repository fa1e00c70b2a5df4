import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import type { z } from 'zod'
import { SowerError } from '../errors.ts'
import { PolicyError, expandPolicy } from '../policy/index.ts'
import type { PolicyFields, Rules } from '../policy/index.ts'
import type { SeedType } from '../records/index.ts'
import { DEFAULT_NIX_STORE_ROOT, DEFAULT_PLAIN_STORE_FOLDER, configSchema } from './schema.ts'

export * from './schema.ts'

/** Largest config file read; a real one is a few kilobytes. */
export const CONFIG_MAX_BYTES = 1024 * 1024

/** One problem in a config file, at a dotted path such as `subscriptions.1.window.zone`. */
export interface ConfigIssue {
  path: string
  message: string
}

/**
 * A config file that cannot be read or is invalid. `issues` lists every
 * problem found, and the message repeats them one per line.
 */
export class ConfigError extends SowerError {
  readonly file: string
  readonly issues: readonly ConfigIssue[]

  constructor (file: string, issues: ConfigIssue[], options?: ErrorOptions) {
    const lines = issues.map(issue => issue.path === '' ? `  ${issue.message}` : `  ${issue.path}: ${issue.message}`)
    super(`invalid config file ${file}:\n${lines.join('\n')}`, 'ERR_CONFIG', options)
    this.file = file
    this.issues = issues
  }
}

/** Commands of a subscription, each as a program and its arguments. */
export interface CommandsConfig {
  readonly activate?: readonly string[]
  readonly restart?: readonly string[]
  readonly reboot?: readonly string[]
  readonly healthCheck?: readonly string[]
  readonly timeoutMs: number
}

export interface SubscriptionConfig extends Readonly<PolicyFields> {
  readonly name: string
  readonly seed: string
  readonly type: SeedType
  /** Absolute path of the Nix profile, e.g. `/nix/var/nix/profiles/system`. */
  readonly profile: string
  readonly commands: CommandsConfig
  /** The policy rules, from `policy` or expanded from the shorthand fields. */
  readonly rules: Readonly<Rules>
}

export interface WebConfig {
  readonly enabled: boolean
  readonly host: string
  readonly port: number
  readonly token?: string
}

export interface NixConfig {
  readonly backend: 'nix' | 'plain'
  /** Absolute store root: `/` for the host's own store, else a chroot store or plain store folder. */
  readonly storeRoot: string
  readonly nixBinDir?: string
  readonly binaryCaches: readonly string[]
}

/** Limits of the sync that this node serves to each peer. */
export interface SyncConfig {
  /** Bytes of sync batches one peer may draw before the refill rate applies. */
  readonly budgetBurstBytes: number
  /** Bytes per second by which each peer's allowance refills. */
  readonly budgetRefillBytesPerSec: number
}

/** A parsed config with absolute paths and every default filled in. Deeply frozen. */
export interface Config {
  /** Absolute path of the config file that was read. */
  readonly file: string
  readonly fleet: string
  /** Absolute path of the pinned root record. */
  readonly root: string
  readonly nodeKey: string
  readonly adminKeys: readonly string[]
  readonly listen: readonly string[]
  readonly bootstrap: readonly string[]
  readonly dataDir: string
  readonly web: WebConfig
  readonly clock: { readonly reliable: boolean }
  readonly timeZone: string
  readonly nix: NixConfig
  readonly retention: { readonly maxAgeDays: number, readonly maxRecordsPerGarden: number }
  readonly sync: SyncConfig
  readonly subscriptions: readonly SubscriptionConfig[]
}

/** Reads and parses a node's config file. Throws `ConfigError` listing every problem. */
export async function loadConfig (file: string): Promise<Config> {
  const path = resolve(file)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err: any) {
    throw new ConfigError(path, [{ path: '', message: `cannot read the file: ${err.code ?? err.message}` }], { cause: err })
  }
  if (bytes.byteLength > CONFIG_MAX_BYTES) {
    throw new ConfigError(path, [{ path: '', message: `the file has ${bytes.byteLength} bytes, more than the limit of ${CONFIG_MAX_BYTES}` }])
  }
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch (err) {
    throw new ConfigError(path, [{ path: '', message: `not UTF-8 JSON: ${(err as Error).message}` }], { cause: err })
  }
  return parseConfig(json, path)
}

/**
 * Validates a config object read from `file`, resolves relative paths
 * against the folder of `file` and fills in defaults. Throws `ConfigError`
 * listing every problem with its path.
 */
export function parseConfig (input: unknown, file: string): Config {
  const path = resolve(file)
  const result = configSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(path, toIssues(result.error))
  }
  const folder = dirname(path)
  const parsed = result.data
  const dataDir = resolve(folder, parsed.dataDir)
  const config: Config = {
    file: path,
    ...parsed,
    root: resolve(folder, parsed.root),
    nodeKey: resolve(folder, parsed.nodeKey),
    adminKeys: parsed.adminKeys.map(key => resolve(folder, key)),
    dataDir,
    nix: {
      ...parsed.nix,
      storeRoot: resolve(folder, parsed.nix.storeRoot ?? defaultStoreRoot(parsed.nix.backend, dataDir)),
      ...(parsed.nix.nixBinDir == null ? {} : { nixBinDir: resolve(folder, parsed.nix.nixBinDir) })
    },
    subscriptions: parsed.subscriptions.map((subscription, index) => resolveSubscription(subscription, index, folder, path))
  }
  return deepFreeze(config)
}

function defaultStoreRoot (backend: 'nix' | 'plain', dataDir: string): string {
  return backend === 'nix' ? DEFAULT_NIX_STORE_ROOT : join(dataDir, DEFAULT_PLAIN_STORE_FOLDER)
}

type ParsedSubscription = z.output<typeof configSchema>['subscriptions'][number]

function resolveSubscription (subscription: ParsedSubscription, index: number, folder: string, file: string): SubscriptionConfig {
  return {
    ...subscription,
    profile: resolve(folder, subscription.profile),
    commands: resolveCommands(subscription.commands, folder),
    rules: expandRules(subscription, index, file)
  }
}

function resolveCommands (commands: ParsedSubscription['commands'], folder: string): CommandsConfig {
  const resolved = { ...commands }
  for (const name of ['activate', 'restart', 'reboot', 'healthCheck'] as const) {
    const argv = commands[name]
    if (argv != null) {
      resolved[name] = [resolveProgram(argv[0], folder), ...argv.slice(1)]
    }
  }
  return resolved
}

/** Resolves a program given as a relative path; a bare name stays as it is, for a PATH lookup. */
function resolveProgram (program: string, folder: string): string {
  return program.includes('/') && !isAbsolute(program) ? resolve(folder, program) : program
}

function expandRules (fields: PolicyFields, index: number, file: string): Rules {
  try {
    return expandPolicy(fields)
  } catch (err) {
    if (err instanceof PolicyError) {
      const issues = err.issues.map(issue => ({ path: ['subscriptions', index, ...issue.path].join('.'), message: issue.message }))
      throw new ConfigError(file, issues, { cause: err })
    }
    throw err
  }
}

/** Turns zod issues into config issues, one per unknown field. */
function toIssues (error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap(issue => {
    const path = issue.path.map(String)
    if (issue.code === 'unrecognized_keys') {
      const generic = issue.message.startsWith('Unrecognized key')
      return issue.keys.map(key => ({ path: [...path, key].join('.'), message: generic ? 'unknown field' : issue.message }))
    }
    return [{ path: path.join('.'), message: issue.message }]
  })
}

function deepFreeze<T> (value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) {
      deepFreeze(child)
    }
  }
  return value
}

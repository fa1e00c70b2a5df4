import { rename, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { InvalidInputError } from '../../errors.ts'
import { readKeyFile } from '../../keys/index.ts'
import type { SigningKey } from '../../keys/index.ts'
import { addSignatures, describeIssues, rootBodySchema, signRecord, verifyRecord } from '../../records/index.ts'
import type { RootBody, SignedRecord } from '../../records/index.ts'
import { rootKeys, verifyPinnedRoot, verifyRootStep } from '../../trust/index.ts'
import { readRootFile, toEnvelope } from '../../garden/index.ts'
import { mergeAdminSpecs, parseAdminSpec } from '../admin-spec.ts'
import type { AdminSpec } from '../admin-spec.ts'
import { withNode } from '../context.ts'
import type { CliContext } from '../context.ts'
import { parseTimeFromNow } from '../duration.ts'
import { NotRootSignerError, UsageError } from '../errors.ts'
import { eprintln, formatTable, printJson, println } from '../output.ts'
import type { Io } from '../output.ts'

type Admin = RootBody['admins'][number]

const DEFAULT_ROOT_EXPIRY = '1y'

const ADMIN_HELP = `
An --admin value is NAME=KEY:SCOPES[:seeds=A,B][:tags=X,Y]:
  NAME    the admin's name, shown in records and the web view
  KEY     a key file (written by \`sower keygen\`) or a key id (12D3KooW...)
  SCOPES  a comma-separated list of root, enroll and deploy
  seeds=  limits deploy to these seeds; tags= limits deploy and enroll to these tags
Give the same NAME and KEY again to add scopes with other limits, e.g.
  --admin ops=ops.pem:root,enroll --admin ops=ops.pem:deploy:seeds=web,db`

function collect (value: string, previous: string[] = []): string[] {
  return [...previous, value]
}

function parsePositiveInteger (value: string): number {
  const number = Number(value)
  if (!Number.isSafeInteger(number) || number < 1) {
    throw new UsageError(`invalid number "${value}": expected a whole number of at least 1`)
  }
  return number
}

export function registerRootCommands (program: Command, context: CliContext): void {
  const root = program.command('root').description('create, sign, rotate, show and publish the fleet root')

  root.command('create')
    .description('create version 1 of a fleet root, signed by the given key files that have the root scope')
    .requiredOption('--fleet <name>', 'fleet name, the same in every node\'s config')
    .requiredOption('--admin <spec>', 'an admin key and its scopes, repeatable (see below)', collect)
    .requiredOption('--threshold <n>', 'signatures of root keys that a new version needs', parsePositiveInteger)
    .option('--expires <duration>', 'when the root expires: a duration such as 1y or 180d, or a UTC date', DEFAULT_ROOT_EXPIRY)
    .requiredOption('--out <file>', 'file to write the root to (never overwritten)')
    .addHelpText('after', ADMIN_HELP)
    .action(async (options: { fleet: string, admin: string[], threshold: number, expires: string, out: string }) => {
      const specs = mergeAdminSpecs(options.admin.map(parseAdminSpec))
      const { admins, keys } = await resolveAdmins(specs)
      const nowMs = context.nowMs()
      const body = checkBody({
        fleet: options.fleet,
        version: 1,
        prev: null,
        issuedAt: new Date(nowMs).toISOString(),
        expiresAt: parseExpiry(options.expires, nowMs),
        threshold: options.threshold,
        admins
      })
      const signers = keys.filter(key => rootKeys(body).has(key.id))
      const record = signRecord('root', body, signers)
      await writeRecordFile(options.out, record, false)
      println(context.io, `wrote root ${record.id} (fleet ${body.fleet}, version 1) to ${options.out}`)
      printSignatureState(context.io, record, null, options.out, nowMs)
    })

  root.command('sign')
    .description('add signatures to a root file')
    .argument('<file>', 'root file to sign; it is rewritten unless --out is given')
    .requiredOption('--key <file>', 'key file to sign with, repeatable', collect)
    .option('--previous <file>', 'the version this one replaces, to check the signatures it needs')
    .option('--out <file>', 'write the signed root here instead of back to FILE')
    .action(async (file: string, options: { key: string[], previous?: string, out?: string }) => {
      const current = await readRootFile(file)
      const keys = await readKeys(options.key)
      const previous = options.previous == null ? null : await readRootFile(options.previous)
      checkRootSigners(context.io, options.key, keys, current, previous)
      const signed = addSignatures(current, keys)
      const out = options.out ?? file
      await writeRecordFile(out, signed, true)
      println(context.io, `signed root version ${signed.body.version}: now ${signed.id} in ${out}`)
      printSignatureState(context.io, signed, previous, out, context.nowMs())
    })

  root.command('rotate')
    .description('create the next root version from the current one with changes, signed by the given keys')
    .requiredOption('--from <file>', 'the current root version')
    .requiredOption('--out <file>', 'file to write the new version to (never overwritten)')
    .option('--add-admin <spec>', 'add an admin, or replace the admin of that NAME, repeatable', collect, [])
    .option('--remove-admin <name>', 'remove the admin of that NAME, repeatable', collect, [])
    .option('--threshold <n>', 'new threshold (default: unchanged)', parsePositiveInteger)
    .option('--expires <duration>', 'when the new version expires: a duration such as 1y, or a UTC date', DEFAULT_ROOT_EXPIRY)
    .option('--key <file>', 'key file to sign with, repeatable: root keys of the current and of the new version', collect, [])
    .addHelpText('after', ADMIN_HELP)
    .action(async (options: { from: string, out: string, addAdmin: string[], removeAdmin: string[], threshold?: number, expires: string, key: string[] }) => {
      const current = await readRootFile(options.from)
      const { admins, keys: addedKeys } = await resolveAdmins(mergeAdminSpecs(options.addAdmin.map(parseAdminSpec)))
      const nowMs = context.nowMs()
      const body = checkBody({
        fleet: current.body.fleet,
        version: current.body.version + 1,
        prev: current.id,
        issuedAt: new Date(nowMs).toISOString(),
        expiresAt: parseExpiry(options.expires, nowMs),
        threshold: options.threshold ?? current.body.threshold,
        admins: changeAdmins(current.body.admins, admins, options.removeAdmin)
      })
      const signingKeys = dedupeKeys([...await readKeys(options.key), ...addedKeys.filter(key => rootKeys(body).has(key.id))])
      const record = signRecord('root', body, signingKeys)
      await writeRecordFile(options.out, record, false)
      println(context.io, `wrote root ${record.id} (fleet ${body.fleet}, version ${body.version}) to ${options.out}`)
      printSignatureState(context.io, record, current, options.out, nowMs)
    })

  root.command('show')
    .description('show a root file: admins, scopes, signatures and whether it is valid')
    .argument('<file>', 'root file')
    .option('--previous <file>', 'the version this one replaces, to check the signatures it needs')
    .option('--json', 'print JSON')
    .action(async (file: string, options: { previous?: string, json?: boolean }) => {
      const record = await readRootFile(file)
      const previous = options.previous == null ? null : await readRootFile(options.previous)
      if (options.json === true) {
        printJson(context.io, { id: record.id, ...toEnvelope(record), state: signatureState(record, previous, context.nowMs()) })
        return
      }
      printRoot(context.io, record)
      printSignatureState(context.io, record, previous, file, context.nowMs())
    })

  root.command('publish')
    .description('give a new root version to a node, which checks it and gossips it to the fleet')
    .argument('<file>', 'root file')
    .option('--config <file>', 'node config (default: $SOWER_CONFIG or /etc/sower/config.json)')
    .action(async (file: string, options: { config?: string }) => {
      const record = await readRootFile(file)
      await withNode(context, options.config, { network: false }, async ({ api, mode }) => {
        const outcome = await api.publish({ record: toEnvelope(record) })
        println(context.io, `root version ${record.body.version} (${outcome.id}) accepted`)
        println(context.io, mode === 'control'
          ? `sent to ${outcome.recipients} peer(s); the others get it by sync`
          : 'the node is not running: the root waits in its store and goes out when the node starts')
      })
    })
}

function checkBody (body: RootBody): RootBody {
  const parsed = rootBodySchema.safeParse(body)
  if (!parsed.success) {
    throw new UsageError(`invalid root: ${describeIssues(parsed.error)}`)
  }
  return parsed.data
}

async function resolveAdmins (specs: AdminSpec[]): Promise<{ admins: Admin[], keys: SigningKey[] }> {
  const admins: Admin[] = []
  const keys: SigningKey[] = []
  for (const spec of specs) {
    let keyId = spec.key
    if (spec.keyIsFile) {
      const key = await readKeyFile(spec.key)
      keys.push(key)
      keyId = key.id
    }
    admins.push({ name: spec.name, key: keyId, scopes: spec.scopes })
  }
  return { admins, keys }
}

function changeAdmins (current: Admin[], added: Admin[], removed: string[]): Admin[] {
  const unknown = removed.filter(name => !current.some(admin => admin.name === name))
  if (unknown.length > 0) {
    throw new UsageError(`--remove-admin names ${unknown.join(', ')}, which the current root does not list ` +
      `(its admins: ${current.map(admin => admin.name).join(', ')})`)
  }
  const kept = current.filter(admin => !removed.includes(admin.name) && !added.some(next => next.name === admin.name))
  return [...kept, ...added]
}

/** Parses `--expires` and rejects a time that has passed, which would make the root invalid from the start. */
function parseExpiry (value: string, nowMs: number): string {
  const expiresAt = parseTimeFromNow(value, nowMs)
  if (Date.parse(expiresAt) <= nowMs) {
    throw new UsageError(`invalid --expires "${value}": ${expiresAt} has passed. ` +
      'Give a duration such as 1y or 180d, or a future UTC date')
  }
  return expiresAt
}

/**
 * Rejects a signing key that no root admin of the root or of the given
 * previous version has, because its signature would count for neither.
 * Without `--previous`, a key outside the root of a later version only gets
 * a warning, because it may be a root admin of the version before.
 */
function checkRootSigners (io: Io, paths: string[], keys: SigningKey[], current: SignedRecord<'root'>,
  previous: SignedRecord<'root'> | null): void {
  const ownKeys = rootKeys(current.body)
  const previousKeys = previous == null ? new Set<string>() : rootKeys(previous.body)
  const { version } = current.body
  keys.forEach((key, index) => {
    if (ownKeys.has(key.id) || previousKeys.has(key.id)) {
      return
    }
    const where = `key ${paths[index]} (${key.id}) is no admin with root scope in root version ${version}`
    if (previous != null) {
      throw new NotRootSignerError(`${where} or ${previous.body.version}: sign with a root admin's key`)
    }
    if (version === 1) {
      throw new NotRootSignerError(`${where}: sign with a root admin's key`)
    }
    eprintln(io, `warning: ${where}, so its signature counts only if it has root scope in version ${version - 1}; ` +
      'pass --previous FILE to check')
  })
}

async function readKeys (paths: string[]): Promise<SigningKey[]> {
  const keys: SigningKey[] = []
  for (const path of paths) {
    keys.push(await readKeyFile(path))
  }
  return keys
}

function dedupeKeys (keys: SigningKey[]): SigningKey[] {
  return keys.filter((key, index) => keys.findIndex(other => other.id === key.id) === index)
}

/** Writes a record as indented JSON; `replace` swaps the file atomically, otherwise an existing file is an error. */
export async function writeRecordFile (path: string, record: SignedRecord, replace: boolean): Promise<void> {
  const text = `${JSON.stringify(toEnvelope(record), null, 2)}\n`
  if (!replace) {
    try {
      await writeFile(path, text, { flag: 'wx', mode: 0o644 })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new InvalidInputError(`${path} already exists; choose another --out or remove the file first`)
      }
      throw new InvalidInputError(`cannot write ${path}: ${(err as Error).message}`, { cause: err })
    }
    return
  }
  const partial = `${path}.partial`
  await writeFile(partial, text, { mode: 0o644 })
  await rename(partial, path)
}

interface SignatureState {
  /** Keys that signed, with their admin names in this version or the previous one. */
  signers: Array<{ key: string, admin: string | null }>
  own: { count: number, threshold: number }
  previous: { count: number, threshold: number } | null
  valid: boolean
  problem: string | null
}

function signatureState (record: SignedRecord<'root'>, previous: SignedRecord<'root'> | null, nowMs: number): SignatureState {
  const verified = verifyRecord(record)
  const signers = verified.ok ? [...verified.signers] : []
  const names = new Map([...(previous?.body.admins ?? []), ...record.body.admins].map(admin => [admin.key, admin.name]))
  const ownKeys = rootKeys(record.body)
  const state: SignatureState = {
    signers: signers.map(key => ({ key, admin: names.get(key) ?? null })),
    own: { count: signers.filter(key => ownKeys.has(key)).length, threshold: record.body.threshold },
    previous: null,
    valid: false,
    problem: verified.ok ? null : verified.reason
  }
  if (previous != null) {
    const previousKeys = rootKeys(previous.body)
    state.previous = { count: signers.filter(key => previousKeys.has(key)).length, threshold: previous.body.threshold }
  }
  if (state.problem == null) {
    try {
      if (previous == null) {
        verifyPinnedRoot(record, nowMs)
      } else {
        verifyRootStep(previous, record)
      }
      state.valid = true
    } catch (err) {
      state.problem = (err as Error).message
    }
  }
  return state
}

function printSignatureState (io: Io, record: SignedRecord<'root'>, previous: SignedRecord<'root'> | null, file: string, nowMs: number): void {
  const state = signatureState(record, previous, nowMs)
  println(io, `signatures of its own root keys: ${state.own.count} of ${state.own.threshold} needed`)
  if (state.previous != null) {
    println(io, `signatures of version ${previous?.body.version ?? '?'}'s root keys: ${state.previous.count} of ${state.previous.threshold} needed`)
  }
  if (state.valid) {
    println(io, previous == null && record.body.version === 1
      ? `valid: pin ${file} as "root" in every node's config`
      : `valid: publish it with \`sower root publish ${file}\``)
  } else {
    println(io, `not valid yet: ${state.problem ?? 'unknown problem'}`)
    println(io, `add signatures with \`sower root sign ${file} --key KEYFILE${previous == null ? '' : ' --previous PREVIOUS_FILE'}\``)
  }
}

function printRoot (io: Io, record: SignedRecord<'root'>): void {
  const { body } = record
  println(io, `root ${record.id}`)
  println(io, `fleet ${body.fleet}, version ${body.version}${body.prev == null ? '' : `, replaces ${body.prev}`}`)
  println(io, `issued ${body.issuedAt}, expires ${body.expiresAt}, threshold ${body.threshold}`)
  println(io)
  const rows = body.admins.map(admin => [admin.name, admin.key, admin.scopes.map(formatScope).join(' ')])
  for (const line of formatTable(['admin', 'key', 'scopes'], rows)) {
    println(io, line)
  }
  println(io)
}

function formatScope (scope: Admin['scopes'][number]): string {
  const limits = [
    scope.seeds == null ? null : `seeds=${scope.seeds.join(',')}`,
    scope.tags == null ? null : `tags=${scope.tags.join(',')}`
  ].filter(limit => limit != null)
  return limits.length === 0 ? scope.name : `${scope.name}(${limits.join(' ')})`
}

/**
 * Writes test/fixtures/vectors.json: records of every type, signed with the
 * test-only keys in test/fixtures/keys, so that another implementation can
 * check its signing bytes, signatures, envelopes and ids byte for byte.
 * docs/PROTOCOL.md describes the file.
 *
 * Usage: node scripts/make-test-vectors.ts
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { keyFromPem } from '../src/keys/index.ts'
import type { SigningKey } from '../src/keys/index.ts'
import { SIGNING_DOMAIN, decodeRecord, deploymentId, sha256, signRecord, signingBytes, toEvidence } from '../src/records/index.ts'
import type { BodyTypes, RecordType, SignedRecord } from '../src/records/index.ts'

const ROOT_FOLDER = join(import.meta.dirname, '..')
export const VECTORS_FILE = 'test/fixtures/vectors.json'
export const KEY_NAMES = ['admin-1', 'admin-2', 'admin-3', 'garden-1', 'garden-2'] as const
export type KeyName = typeof KEY_NAMES[number]

export function keyFile (name: KeyName): string {
  return `test/fixtures/keys/test-only-${name}.pem`
}

/** Reads the test-only keys. They are published, so their mode is not checked. */
export function loadFixtureKeys (): Record<KeyName, SigningKey> {
  const entries = KEY_NAMES.map(name => [name, keyFromPem(readFileSync(join(ROOT_FOLDER, keyFile(name)), 'utf8'))])
  return Object.fromEntries(entries)
}

export interface RecordVector {
  name: string
  type: RecordType
  /** Non-canonical JSON text of `body`, present where the vector exercises JCS rules. */
  bodyText?: string
  body: unknown
  signers: KeyName[]
  signingText: string
  signingHex: string
  signatures: Array<{ key: string, sig: string }>
  envelope: string
  id: string
}

export interface Vectors {
  description: string
  signingDomain: string
  keys: Array<{ name: KeyName, file: string, id: string, publicKeyHex: string }>
  records: RecordVector[]
  deploymentIds: Array<{ intent: string, seed: string, garden: string, id: string }>
}

const NIX32 = '0123456789abcdfghijklmnpqrsvwxyz'

/** Nix base32 characters derived from a label, so store paths look real and stay fixed. */
function nix32 (label: string, length: number): string {
  const digest = sha256(label)
  let text = ''
  for (let i = 0; i < length; i++) {
    text += NIX32[digest[i % digest.length] % 32]
  }
  return text
}

function storePath (name: string): string {
  return `/nix/store/${nix32(name, 32)}-${name}`
}

function narHash (name: string): string {
  return `sha256:${nix32('nar:' + name, 52)}`
}

const ISSUED_AT = '2026-03-01T09:00:00.000Z'

/** Builds every vector from the keys. The same keys always give the same output. */
export function buildVectors (keys: Record<KeyName, SigningKey>): Vectors {
  const records: RecordVector[] = []
  const add = <T extends RecordType>(name: string, type: T, body: BodyTypes[T], signers: KeyName[], bodyText?: string): SignedRecord<T> => {
    const record = signRecord(type, body, signers.map(signer => keys[signer]))
    const decoded = decodeRecord(record.bytes)
    if (!decoded.ok) {
      throw new Error(`vector ${name} is not a valid record: ${decoded.error.message}`)
    }
    records.push(toVector(name, record, signers, bodyText))
    return record
  }

  const rootV1 = add('root-v1', 'root', rootBody(keys, 1, null), ['admin-1', 'admin-2'])
  add('root-v2', 'root', rootBody(keys, 2, rootV1.id), ['admin-1', 'admin-2'])
  const certificate = add('certificate', 'certificate', {
    fleet: 'vectors',
    author: keys['admin-1'].id,
    seq: 1,
    prev: null,
    issuedAt: ISSUED_AT,
    peer: keys['garden-1'].id,
    name: 'web-1',
    roles: ['garden'],
    tags: ['eu', 'rack-3'],
    expiresAt: '2026-09-01T09:00:00.000Z'
  }, ['admin-1'])
  const revocation = add('revocation', 'revocation', {
    fleet: 'vectors',
    author: keys['admin-1'].id,
    seq: 2,
    prev: certificate.id,
    issuedAt: '2026-03-02T10:30:00.000Z',
    peer: keys['garden-2'].id,
    reason: 'disk replaced; the old key was not wiped'
  }, ['admin-1'])
  const deploy = add('intent-deploy', 'intent', deployIntent(keys, revocation.id), ['admin-1'])
  add('intent-confirm', 'intent', {
    fleet: 'vectors',
    author: keys['admin-1'].id,
    seq: 4,
    prev: deploy.id,
    issuedAt: '2026-03-01T09:05:00.000Z',
    expiresAt: '2026-03-02T09:05:00.000Z',
    targets: ['name:web-1'],
    action: 'confirm',
    intent: deploy.id,
    seeds: ['web']
  }, ['admin-1'])
  const forks = ['nginx', 'web'].map(seed => add(`intent-scoped-${seed}`, 'intent', scopedIntent(keys, seed), ['admin-3']))
  const report = add('report', 'report', reportBody(keys), ['garden-1'])
  const dep = deploymentId(deploy.id, 'web', keys['garden-1'].id)
  const event = add('event-jcs', 'event', eventBody(keys, report.id, deploy.id, dep), ['garden-1'], eventBodyText(keys, report.id, deploy.id, dep))
  // The two scoped intents are both at seq 1 of admin-3's feed: a fork, which the alert carries in full.
  add('alert', 'alert', {
    fleet: 'vectors',
    author: keys['garden-1'].id,
    seq: 3,
    prev: event.id,
    issuedAt: '2026-03-01T09:20:00.000Z',
    kind: 'fork',
    subject: keys['admin-3'].id,
    subjectSeq: 1,
    records: [forks[0].id, forks[1].id],
    evidence: [toEvidence(forks[0]), toEvidence(forks[1])]
  }, ['garden-1'])

  return {
    description: 'Sower signed test vectors, made by scripts/make-test-vectors.ts from the test-only keys. See docs/PROTOCOL.md.',
    signingDomain: SIGNING_DOMAIN,
    keys: KEY_NAMES.map(name => ({ name, file: keyFile(name), id: keys[name].id, publicKeyHex: hex(keys[name].publicKey) })),
    records,
    deploymentIds: [{ intent: deploy.id, seed: 'web', garden: keys['garden-1'].id, id: dep }]
  }
}

function toVector (name: string, record: SignedRecord, signers: KeyName[], bodyText?: string): RecordVector {
  const message = signingBytes(record.type, record.body)
  return {
    name,
    type: record.type,
    ...(bodyText == null ? {} : { bodyText }),
    body: record.body,
    signers,
    signingText: new TextDecoder().decode(message),
    signingHex: hex(message),
    signatures: record.signatures,
    envelope: new TextDecoder().decode(record.bytes),
    id: record.id
  }
}

function hex (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

function rootBody (keys: Record<KeyName, SigningKey>, version: number, prev: string | null): BodyTypes['root'] {
  return {
    fleet: 'vectors',
    version,
    prev,
    issuedAt: version === 1 ? '2026-01-01T00:00:00.000Z' : ISSUED_AT,
    expiresAt: version === 1 ? '2027-01-01T00:00:00.000Z' : '2027-03-01T00:00:00.000Z',
    threshold: 2,
    admins: [
      { name: 'alice', key: keys['admin-1'].id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] },
      { name: 'bob', key: keys['admin-2'].id, scopes: [{ name: 'root' }] },
      {
        name: 'carol',
        key: keys['admin-3'].id,
        scopes: version === 1
          ? [{ name: 'deploy', seeds: ['web'], tags: ['eu'] }]
          : [{ name: 'deploy', seeds: ['web', 'nginx'], tags: ['eu'] }, { name: 'enroll', tags: ['eu'] }]
      }
    ]
  }
}

function deployIntent (keys: Record<KeyName, SigningKey>, prev: string): BodyTypes['intent'] {
  const system = storePath('nixos-system-web-1-25.11.20260301.0b4d2f1')
  const kernel = storePath('linux-6.12.15')
  const initrd = storePath('initrd-linux-6.12.15')
  return {
    fleet: 'vectors',
    author: keys['admin-1'].id,
    seq: 3,
    prev,
    issuedAt: ISSUED_AT,
    expiresAt: '2026-03-08T09:00:00.000Z',
    targets: ['tag:eu', 'name:web-1'],
    action: 'deploy',
    sequence: 42,
    releases: [{
      seed: 'web',
      type: 'system',
      storePath: system,
      narHash: narHash(system),
      narSize: 18_734_264,
      boot: { kernel: `${kernel}/bzImage`, initrd: `${initrd}/initrd` },
      manifest: [
        { path: system, narHash: narHash(system), narSize: 18_734_264, references: [initrd, kernel, system] },
        { path: kernel, narHash: narHash(kernel), narSize: 131_522_088, references: [] },
        { path: initrd, narHash: narHash(initrd), narSize: 12_060_144, references: [] }
      ]
    }]
  }
}

function scopedIntent (keys: Record<KeyName, SigningKey>, seed: string): BodyTypes['intent'] {
  const path = storePath(`${seed}-service-1.0`)
  return {
    fleet: 'vectors',
    author: keys['admin-3'].id,
    seq: 1,
    prev: null,
    issuedAt: '2026-03-01T09:10:00.000Z',
    expiresAt: '2026-03-01T21:10:00.000Z',
    targets: ['tag:eu'],
    action: 'deploy',
    sequence: 1,
    releases: [{
      seed,
      type: 'service',
      storePath: path,
      narHash: narHash(path),
      narSize: 2_048_576,
      manifest: [{ path, narHash: narHash(path), narSize: 2_048_576, references: [path] }]
    }]
  }
}

function reportBody (keys: Record<KeyName, SigningKey>): BodyTypes['report'] {
  const current = storePath('nixos-system-web-1-25.11.20260301.0b4d2f1')
  const previous = storePath('nixos-system-web-1-25.11.20260215.9a1c3e7')
  return {
    fleet: 'vectors',
    author: keys['garden-1'].id,
    seq: 1,
    prev: null,
    issuedAt: '2026-03-01T09:15:00.000Z',
    agentVersion: '0.1.0',
    addresses: [`/ip4/192.0.2.10/tcp/4001/p2p/${keys['garden-1'].id}`],
    subscriptions: [{
      name: 'os',
      seed: 'web',
      type: 'system',
      profile: '/nix/var/nix/profiles/system',
      policy: {
        nightly: {
          actions: ['stage', 'activate', 'restart'],
          triggers: ['schedule'],
          window: { days: ['sat', 'sun'], start: '22:00', end: '06:00', zone: 'Europe/Zurich' }
        }
      }
    }],
    profiles: [{
      seed: 'web',
      profile: '/nix/var/nix/profiles/system',
      generations: [
        { number: 41, storePath: previous, date: '2026-02-15T03:12:09.000Z', current: false },
        { number: 42, storePath: current, date: '2026-03-01T09:14:51.000Z', current: true }
      ],
      drift: []
    }]
  }
}

/**
 * Builds an event body whose `detail` exercises the JCS rules: keys sort by UTF-16 code
 * units (so U+1F600 sorts before U+FB01), numbers print as ECMAScript does,
 * and strings keep non-ASCII characters as they are but escape controls.
 */
function eventBody (keys: Record<KeyName, SigningKey>, prev: string, intent: string, deployment: string): BodyTypes['event'] {
  return JSON.parse(eventBodyText(keys, prev, intent, deployment))
}

function eventBodyText (keys: Record<KeyName, SigningKey>, prev: string, intent: string, deployment: string): string {
  return `{
  "seq": 2, "fleet": "vectors", "author": "${keys['garden-1'].id}",
  "prev": "${prev}", "issuedAt": "2026-03-01T09:16:00.000Z",
  "deployment": "${deployment}", "intent": "${intent}", "seed": "web",
  "kind": "activated", "trigger": "realtime", "actor": "${keys['admin-1'].id}",
  "detail": {
    "zone": "Europe/Z\\u00fcrich", "\\ufb01le": "ﬁ ligature key", "\\ud83d\\ude00": "emoji key",
    "€": "euro key", "é": "Ünïcödé 東京", "a": 1.50, "B": -0, "A": 1E21, "b": 0.000001,
    "c": 4.5e-7, "d": 100e-2, "e": 123456789012345678901234567890, "f": -1.25E+2,
    "log": "line 1\\nline 2\\t\\u0007 \\"quoted\\" back\\\\slash /slash \\u2028",
    "ok": true, "none": null
  }
}`
}

if (import.meta.main) {
  const vectors = buildVectors(loadFixtureKeys())
  writeFileSync(join(ROOT_FOLDER, VECTORS_FILE), JSON.stringify(vectors, null, 2) + '\n')
  console.log(`wrote ${vectors.records.length} record vectors to ${VECTORS_FILE}`)
}

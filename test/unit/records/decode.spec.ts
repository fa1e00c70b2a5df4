import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { RECORD_MAX_BYTES, SIGNATURES_MAX, decodeRecord, parseRecord } from '../../../src/records/index.ts'

const vectors = JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures/vectors.json'), 'utf8'))
const encoder = new TextEncoder()

function envelope (name = 'certificate'): any {
  return JSON.parse(vectors.records.find((vector: any) => vector.name === name).envelope)
}

function decodeError (bytes: Uint8Array, maxBytes?: number): { code: string, message: string, name: string } {
  const result = decodeRecord(bytes, maxBytes)
  assert.equal(result.ok, false, 'expected the record to be rejected')
  return result.ok ? { code: '', message: '', name: '' } : result.error
}

const byteCases: Array<{ name: string, bytes: () => Uint8Array, code: string, message: RegExp }> = [
  {
    name: 'oversized record',
    bytes: () => new Uint8Array(RECORD_MAX_BYTES + 1),
    code: 'ERR_RECORD_TOO_LARGE',
    message: new RegExp(`record of ${RECORD_MAX_BYTES + 1} bytes exceeds the limit of ${RECORD_MAX_BYTES} bytes`)
  },
  { name: 'invalid UTF-8 byte', bytes: () => Uint8Array.from([0x7b, 0xff, 0x7d]), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'overlong UTF-8', bytes: () => Uint8Array.from([0x22, 0xc0, 0xaf, 0x22]), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'UTF-8 surrogate', bytes: () => Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22]), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'truncated UTF-8', bytes: () => Uint8Array.from([0x22, 0xe6, 0x9d, 0x22]), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'empty input', bytes: () => new Uint8Array(0), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'truncated JSON', bytes: () => encoder.encode('{"type":"certificate"'), code: 'ERR_RECORD_JSON', message: /not UTF-8 JSON/ },
  { name: 'JSON array', bytes: () => encoder.encode('[]'), code: 'ERR_RECORD_SCHEMA', message: /invalid envelope: \(top\): Invalid input: expected object, received array/ },
  { name: 'JSON string', bytes: () => encoder.encode('"record"'), code: 'ERR_RECORD_SCHEMA', message: /invalid envelope: \(top\)/ },
  { name: 'JSON null', bytes: () => encoder.encode('null'), code: 'ERR_RECORD_SCHEMA', message: /invalid envelope: \(top\)/ }
]

describe('record decoding', () => {
  for (const testCase of byteCases) {
    it(`rejects ${testCase.name}`, () => {
      const error = decodeError(testCase.bytes())
      assert.equal(error.name, 'RecordDecodeError')
      assert.equal(error.code, testCase.code)
      assert.match(error.message, testCase.message)
    })
  }

  it('checks size before parsing', () => {
    const bytes = encoder.encode(JSON.stringify(envelope()))
    assert.equal(decodeError(bytes, bytes.length - 1).code, 'ERR_RECORD_TOO_LARGE')
  })

  it('accepts a record at the limit', () => {
    const bytes = encoder.encode(JSON.stringify(envelope()))
    assert.equal(decodeRecord(bytes, bytes.length).ok, true)
  })

  it('rejects an escaped lone surrogate', () => {
    const text = JSON.stringify(envelope('revocation')).replace('"reason":"', '"reason":"\\ud800')
    const error = decodeError(encoder.encode(text))
    assert.equal(error.code, 'ERR_RECORD_SCHEMA')
    assert.match(error.message, /record cannot be encoded canonically: .*lone surrogate/)
  })

  it('never throws on deep nesting', () => {
    const deep = envelope('report')
    deep.body.subscriptions[0].policy = JSON.parse('['.repeat(50_000) + ']'.repeat(50_000))
    const result = decodeRecord(encoder.encode(JSON.stringify(deep)))
    assert.equal(result.ok, false)
  })
})

const envelopeCases: Array<{ name: string, change: (record: any) => void, message: RegExp }> = [
  { name: 'unknown envelope field', change: record => { record.id = 'cert_x' }, message: /\(top\): Unrecognized key: "id"/ },
  { name: 'unknown type', change: record => { record.type = 'garden' }, message: /type: Invalid option/ },
  { name: 'numeric type', change: record => { record.type = 1 }, message: /type: Invalid option/ },
  { name: 'missing body', change: record => { delete record.body }, message: /body: Invalid input: expected record, received undefined/ },
  { name: 'array body', change: record => { record.body = [] }, message: /body: Invalid input: expected record, received array/ },
  { name: 'missing signatures', change: record => { delete record.signatures }, message: /signatures: Invalid input: expected array/ },
  { name: 'empty signatures', change: record => { record.signatures = [] }, message: /signatures: Too small/ },
  {
    name: 'too many signatures',
    change: record => { record.signatures = Array.from({ length: SIGNATURES_MAX + 1 }, () => record.signatures[0]) },
    message: /signatures: Too big/
  },
  { name: 'short signature', change: record => { record.signatures[0].sig = 'AAAA' }, message: /signatures\.0\.sig: expected a base64url ed25519 signature/ },
  { name: 'base64 signature', change: record => { record.signatures[0].sig = record.signatures[0].sig.replace(/^./, '+') }, message: /signatures\.0\.sig/ },
  { name: 'non-ed25519 signer', change: record => { record.signatures[0].key = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' }, message: /signatures\.0\.key: expected the peer id of an ed25519 key/ },
  { name: 'extra signature field', change: record => { record.signatures[0].alg = 'ed25519' }, message: /signatures\.0: Unrecognized key: "alg"/ }
]

describe('envelope schema', () => {
  for (const testCase of envelopeCases) {
    it(`rejects ${testCase.name}`, () => {
      const record = envelope()
      testCase.change(record)
      const error = decodeError(encoder.encode(JSON.stringify(record)))
      assert.equal(error.code, 'ERR_RECORD_SCHEMA')
      assert.match(error.message, /^invalid envelope: /)
      assert.match(error.message, testCase.message)
    })
  }
})

const longText = 'x'.repeat(4097)

const bodyCases: Array<{ vector: string, name: string, change: (body: any) => void, message: RegExp }> = [
  { vector: 'certificate', name: 'unknown field', change: body => { body.admin = true }, message: /\(top\): Unrecognized key: "admin"/ },
  { vector: 'certificate', name: 'string seq', change: body => { body.seq = '1' }, message: /seq: Invalid input: expected number, received string/ },
  { vector: 'certificate', name: 'zero seq', change: body => { body.seq = 0 }, message: /seq: Too small/ },
  { vector: 'certificate', name: 'fractional seq', change: body => { body.seq = 1.5 }, message: /seq: Invalid input: expected int/ },
  { vector: 'certificate', name: 'unsafe seq', change: body => { body.seq = 2 ** 53 }, message: /seq: Too big/ },
  { vector: 'certificate', name: 'missing fleet', change: body => { delete body.fleet }, message: /fleet: Invalid input: expected string, received undefined/ },
  { vector: 'certificate', name: 'time without ms', change: body => { body.issuedAt = '2026-03-01T09:00:00Z' }, message: /issuedAt: Invalid ISO datetime/ },
  { vector: 'certificate', name: 'time with offset', change: body => { body.issuedAt = '2026-03-01T10:00:00.000+01:00' }, message: /issuedAt: Invalid ISO datetime/ },
  { vector: 'certificate', name: 'numeric time', change: body => { body.expiresAt = 1772355600000 }, message: /expiresAt: Invalid input: expected string, received number/ },
  { vector: 'certificate', name: 'bad peer', change: body => { body.peer = 'garden-1' }, message: /peer: expected the peer id of an ed25519 key/ },
  { vector: 'certificate', name: 'long name', change: body => { body.name = 'g'.repeat(65) }, message: /name: Too big/ },
  { vector: 'certificate', name: 'name with a space', change: body => { body.name = 'web 1' }, message: /name: expected letters, digits/ },
  { vector: 'certificate', name: 'name with a leading dot', change: body => { body.name = '.web' }, message: /name: expected letters, digits/ },
  { vector: 'certificate', name: 'unknown role', change: body => { body.roles = ['garden', 'owner'] }, message: /roles\.1: Invalid option/ },
  { vector: 'certificate', name: 'too many tags', change: body => { body.tags = Array.from({ length: 33 }, (_, i) => `t${i}`) }, message: /tags: Too big/ },
  { vector: 'certificate', name: 'bad prev', change: body => { body.prev = 'cert_123' }, message: /prev: expected a record id/ },
  { vector: 'revocation', name: 'long reason', change: body => { body.reason = longText }, message: /reason: Too big/ },
  { vector: 'root-v1', name: 'threshold above root keys', change: body => { body.threshold = 3 }, message: /threshold: threshold 3 exceeds the 2 admins with root scope/ },
  { vector: 'root-v1', name: 'zero threshold', change: body => { body.threshold = 0 }, message: /threshold: Too small/ },
  { vector: 'root-v1', name: 'duplicate admin key', change: body => { body.admins[1].key = body.admins[0].key }, message: /admins\.1\.key: duplicate admin key/ },
  { vector: 'root-v1', name: 'duplicate admin name', change: body => { body.admins[2].name = 'alice' }, message: /admins\.2\.name: duplicate admin name alice/ },
  { vector: 'root-v1', name: 'unknown scope', change: body => { body.admins[0].scopes[0].name = 'deploy-all' }, message: /admins\.0\.scopes\.0\.name: Invalid option/ },
  { vector: 'root-v1', name: 'empty seed limit', change: body => { body.admins[2].scopes[0].seeds = [] }, message: /admins\.2\.scopes\.0\.seeds: Too small/ },
  { vector: 'root-v1', name: 'no admins', change: body => { body.admins = [] }, message: /admins: Too small/ },
  { vector: 'root-v2', name: 'prev on another type', change: body => { body.prev = 'int_' + 'a'.repeat(52) }, message: /prev: expected a root_ id/ },
  { vector: 'intent-deploy', name: 'unknown action', change: body => { body.action = 'destroy' }, message: /action: Invalid discriminator value/ },
  { vector: 'intent-deploy', name: 'zero sequence', change: body => { body.sequence = 0 }, message: /sequence: Too small/ },
  { vector: 'intent-deploy', name: 'no releases', change: body => { body.releases = [] }, message: /releases: Too small/ },
  { vector: 'intent-deploy', name: 'no targets', change: body => { body.targets = [] }, message: /targets: Too small/ },
  { vector: 'intent-deploy', name: 'empty tag target', change: body => { body.targets = ['tag:'] }, message: /targets\.0: expected \*, name:<garden>, tag:<tag> or peer:<peer id>/ },
  { vector: 'intent-deploy', name: 'glob target', change: body => { body.targets = ['name:web-*'] }, message: /targets\.0: expected \*/ },
  { vector: 'intent-deploy', name: 'repeated seed', change: body => { body.releases.push(body.releases[0]) }, message: /releases\.1\.seed: seed web appears twice/ },
  { vector: 'intent-deploy', name: 'unknown seed type', change: body => { body.releases[0].type = 'vm' }, message: /releases\.0\.type: Invalid option/ },
  { vector: 'intent-deploy', name: 'store path outside the store', change: body => { body.releases[0].storePath = '/tmp/x' }, message: /releases\.0\.storePath: expected a \/nix\/store\/<hash>-<name> path/ },
  { vector: 'intent-deploy', name: 'hex NAR hash', change: body => { body.releases[0].narHash = 'sha256:' + 'a'.repeat(64) }, message: /releases\.0\.narHash: expected sha256:<52 nix-base32 characters>/ },
  { vector: 'intent-deploy', name: 'manifest without the release', change: body => { body.releases[0].manifest.shift() }, message: /releases\.0\.manifest: manifest does not contain the release path/ },
  { vector: 'intent-deploy', name: 'manifest with another NAR size', change: body => { body.releases[0].narSize += 1 }, message: /releases\.0\.narHash: release NAR hash and size differ from its manifest entry/ },
  { vector: 'intent-deploy', name: 'negative NAR size', change: body => { body.releases[0].manifest[1].narSize = -1 }, message: /releases\.0\.manifest\.1\.narSize: Too small/ },
  { vector: 'intent-deploy', name: 'unknown release field', change: body => { body.releases[0].url = 'https://cache.example' }, message: /releases\.0: Unrecognized key: "url"/ },
  { vector: 'intent-confirm', name: 'follow-up with a sequence', change: body => { body.sequence = 5 }, message: /\(top\): Unrecognized key: "sequence"/ },
  { vector: 'intent-confirm', name: 'follow-up of a bad id', change: body => { body.intent = 'dep_' + 'a'.repeat(52) }, message: /intent: expected a int_ id/ },
  { vector: 'intent-confirm', name: 'follow-up with no seeds', change: body => { body.seeds = [] }, message: /seeds: Too small/ },
  { vector: 'report', name: 'unknown seed type', change: body => { body.subscriptions[0].type = 'vm' }, message: /subscriptions\.0\.type: Invalid option/ },
  { vector: 'report', name: 'policy list', change: body => { body.subscriptions[0].policy = [] }, message: /subscriptions\.0\.policy: Invalid input: expected record, received array/ },
  { vector: 'report', name: 'negative generation', change: body => { body.profiles[0].generations[0].number = -1 }, message: /profiles\.0\.generations\.0\.number: Too small/ },
  { vector: 'report', name: 'string current flag', change: body => { body.profiles[0].generations[0].current = 'yes' }, message: /profiles\.0\.generations\.0\.current: Invalid input: expected boolean/ },
  { vector: 'event-jcs', name: 'unknown kind', change: body => { body.kind = 'exploded' }, message: /kind: Invalid option/ },
  { vector: 'event-jcs', name: 'unknown trigger', change: body => { body.trigger = 'cron' }, message: /trigger: Invalid option/ },
  { vector: 'event-jcs', name: 'object detail', change: body => { body.detail.nested = { a: 1 } }, message: /detail\.nested: Invalid input/ },
  { vector: 'event-jcs', name: 'long detail text', change: body => { body.detail.log = longText }, message: /detail\.log: Too big/ },
  { vector: 'event-jcs', name: 'bad deployment id', change: body => { body.deployment = 'int_' + 'a'.repeat(52) }, message: /deployment: expected a dep_ id/ },
  { vector: 'alert', name: 'one record', change: body => { body.records.pop() }, message: /records: Too small/ },
  { vector: 'alert', name: 'unknown kind', change: body => { body.kind = 'spam' }, message: /kind: Invalid input: expected "fork"/ },
  { vector: 'alert', name: 'one evidence record', change: body => { body.evidence.pop() }, message: /evidence: Too small/ },
  { vector: 'alert', name: 'evidence of no type', change: body => { delete body.evidence[0].type }, message: /evidence\.0\.type: Invalid option/ }
]

describe('body schemas', () => {
  for (const testCase of bodyCases) {
    it(`${testCase.vector} rejects ${testCase.name}`, () => {
      const record = envelope(testCase.vector)
      testCase.change(record.body)
      const result = parseRecord(record)
      assert.equal(result.ok, false, 'expected the body to be rejected')
      const error = result.ok ? { code: '', message: '' } : result.error
      assert.equal(error.code, 'ERR_RECORD_SCHEMA')
      assert.match(error.message, new RegExp(`^invalid ${record.type} body: `))
      assert.match(error.message, testCase.message)
    })
  }

  it('lists every issue', () => {
    const record = envelope()
    record.body.seq = 'one'
    record.body.name = ''
    record.body.extra = 1
    const result = parseRecord(record)
    const message = result.ok ? '' : result.error.message
    assert.match(message, /seq: /)
    assert.match(message, /name: /)
    assert.match(message, /Unrecognized key: "extra"/)
  })

  it('counts issues beyond five', () => {
    const record = envelope()
    record.body = {}
    const result = parseRecord(record)
    assert.match(result.ok ? '' : result.error.message, /; and \d+ more$/)
  })
})

describe('feed links', () => {
  for (const [seq, prev] of [[1, 'rep_' + 'a'.repeat(52)], [2, null]] as const) {
    it(`rejects seq ${seq} with prev ${prev === null ? 'null' : 'set'}`, () => {
      const record = envelope('certificate')
      record.body.seq = seq
      record.body.prev = prev
      const result = parseRecord(record)
      assert.equal(result.ok, false)
      assert.match(result.ok ? '' : result.error.message, /prev must be null exactly at seq 1/)
    })
  }
})

import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import type { SigningKey } from '../../../src/keys/index.ts'
import { rootBodySchema, scopeSchema, signRecord } from '../../../src/records/index.ts'
import type { IntentBody, RootBody, SignedRecord } from '../../../src/records/index.ts'
import { CLOCK_SKEW_MAX_MS, checkFreshness, maySign } from '../../../src/trust/index.ts'
import { DAY_MS, iso } from '../../utils/fleet.ts'

const nowMs = Date.parse('2026-06-01T12:00:00.000Z')
const garden = generateKey()

const admins = {
  full: generateKey(),
  rootOnly: generateKey(),
  deployer: generateKey(),
  webDeployer: generateKey(),
  euDeployer: generateKey(),
  webEuDeployer: generateKey(),
  twoScopes: generateKey(),
  euEnroller: generateKey(),
  webEnroller: generateKey(),
  deployAll: generateKey()
}
type AdminName = keyof typeof admins

const root: RootBody = {
  fleet: 'test-fleet',
  version: 1,
  prev: null,
  issuedAt: iso(nowMs - DAY_MS),
  expiresAt: iso(nowMs + 365 * DAY_MS),
  threshold: 1,
  admins: [
    { name: 'full', key: admins.full.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] },
    { name: 'root-only', key: admins.rootOnly.id, scopes: [{ name: 'root' }] },
    { name: 'deployer', key: admins.deployer.id, scopes: [{ name: 'deploy' }] },
    { name: 'web-deployer', key: admins.webDeployer.id, scopes: [{ name: 'deploy', seeds: ['web'] }] },
    { name: 'eu-deployer', key: admins.euDeployer.id, scopes: [{ name: 'deploy', tags: ['eu'] }] },
    { name: 'web-eu-deployer', key: admins.webEuDeployer.id, scopes: [{ name: 'deploy', seeds: ['web'], tags: ['eu'] }] },
    { name: 'two-scopes', key: admins.twoScopes.id, scopes: [{ name: 'deploy', seeds: ['web'] }, { name: 'deploy', seeds: ['nginx'] }] },
    { name: 'eu-enroller', key: admins.euEnroller.id, scopes: [{ name: 'enroll', tags: ['eu'] }] },
    { name: 'web-enroller', key: admins.webEnroller.id, scopes: [{ name: 'enroll', seeds: ['web'] }] },
    // Built in memory: the schema rejects this scope name, see "scope names".
    { name: 'deploy-all', key: admins.deployAll.id, scopes: [{ name: 'deploy-all' as 'deploy' }] }
  ]
}

const STORE_HASH = '0123456789abcdfghijklmnpqrsvwxyz'
const NAR_HASH = 'sha256:' + '0123456789abcdfghijklmnpqrsvwxyz'.repeat(2).slice(0, 52)

function release (seed: string): any {
  const path = `/nix/store/${STORE_HASH}-${seed}-1.0`
  return {
    seed,
    type: 'service',
    storePath: path,
    narHash: NAR_HASH,
    narSize: 1024,
    manifest: [{ path, narHash: NAR_HASH, narSize: 1024, references: [] }]
  }
}

function intent (signer: SigningKey, init: { seeds?: string[], targets?: string[], action?: string, issuedAtMs?: number, expiresAtMs?: number } = {}): SignedRecord<'intent'> {
  const common = {
    fleet: 'test-fleet',
    author: signer.id,
    seq: 1,
    prev: null,
    issuedAt: iso(init.issuedAtMs ?? nowMs),
    expiresAt: iso(init.expiresAtMs ?? nowMs + DAY_MS),
    targets: init.targets ?? ['*']
  }
  const action = init.action ?? 'deploy'
  const body: IntentBody = action === 'deploy'
    ? { ...common, action: 'deploy', sequence: 1, releases: (init.seeds ?? ['web']).map(release) }
    : {
        ...common,
        action: action as 'retry',
        intent: 'int_' + 'a'.repeat(52),
        ...(init.seeds == null ? {} : { seeds: init.seeds })
      }
  return signRecord('intent', body, [signer])
}

function certificate (signer: SigningKey, tags: string[], times: { issuedAtMs?: number, expiresAtMs?: number } = {}): SignedRecord<'certificate'> {
  return signRecord('certificate', {
    fleet: 'test-fleet',
    author: signer.id,
    seq: 1,
    prev: null,
    issuedAt: iso(times.issuedAtMs ?? nowMs),
    peer: garden.id,
    name: 'garden-1',
    roles: ['garden'],
    tags,
    expiresAt: iso(times.expiresAtMs ?? nowMs + 30 * DAY_MS)
  }, [signer])
}

function revocation (signer: SigningKey): SignedRecord<'revocation'> {
  return signRecord('revocation', {
    fleet: 'test-fleet',
    author: signer.id,
    seq: 2,
    prev: null,
    issuedAt: iso(nowMs),
    peer: garden.id,
    reason: 'retired'
  }, [signer])
}

function report (): SignedRecord<'report'> {
  return signRecord('report', {
    fleet: 'test-fleet',
    author: garden.id,
    seq: 1,
    prev: null,
    issuedAt: iso(nowMs),
    agentVersion: '0.1.0',
    addresses: [],
    subscriptions: [],
    profiles: []
  }, [garden])
}

interface Case {
  name: string
  signer: AdminName | 'stranger'
  record: (signer: SigningKey) => SignedRecord
  code?: string
  reason?: RegExp
}

const cases: Case[] = [
  { name: 'full admin deploys', signer: 'full', record: signer => intent(signer) },
  { name: 'full admin enrolls', signer: 'full', record: signer => certificate(signer, []) },
  { name: 'full admin revokes', signer: 'full', record: signer => revocation(signer) },
  { name: 'unknown key', signer: 'stranger', record: signer => intent(signer), code: 'ERR_UNKNOWN_SIGNER', reason: /is not an admin key of root version 1/ },
  { name: 'root scope deploys', signer: 'rootOnly', record: signer => intent(signer), code: 'ERR_SCOPE', reason: /admin root-only has no deploy scope/ },
  { name: 'deploy scope enrolls', signer: 'deployer', record: signer => certificate(signer, []), code: 'ERR_SCOPE', reason: /has no enroll scope/ },
  { name: 'deploy scope revokes', signer: 'deployer', record: signer => revocation(signer), code: 'ERR_SCOPE', reason: /has no enroll scope/ },
  { name: 'deploy-all is not deploy', signer: 'deployAll', record: signer => intent(signer), code: 'ERR_SCOPE', reason: /has no deploy scope/ },
  { name: 'report is no admin record', signer: 'full', record: () => report(), code: 'ERR_NOT_ADMIN_RECORD' },

  { name: 'seed limit allows its seed', signer: 'webDeployer', record: signer => intent(signer, { seeds: ['web'] }) },
  { name: 'seed limit rejects a longer name', signer: 'webDeployer', record: signer => intent(signer, { seeds: ['web-2'] }), code: 'ERR_SCOPE_LIMIT', reason: /seeds web-2 are outside web/ },
  { name: 'seed limit rejects a prefix', signer: 'webDeployer', record: signer => intent(signer, { seeds: ['we'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'seed limit rejects another case', signer: 'webDeployer', record: signer => intent(signer, { seeds: ['Web'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'seed limit rejects one of two', signer: 'webDeployer', record: signer => intent(signer, { seeds: ['web', 'nginx'] }), code: 'ERR_SCOPE_LIMIT', reason: /seeds nginx are outside web/ },
  { name: 'seed limit allows a named retry', signer: 'webDeployer', record: signer => intent(signer, { action: 'retry', seeds: ['web'] }) },
  { name: 'seed limit rejects a retry of all', signer: 'webDeployer', record: signer => intent(signer, { action: 'retry' }), code: 'ERR_SCOPE_LIMIT', reason: /name the seeds/ },
  { name: 'seed limit rejects a cancel outside', signer: 'webDeployer', record: signer => intent(signer, { action: 'cancel', seeds: ['nginx'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'either of two scopes allows', signer: 'twoScopes', record: signer => intent(signer, { seeds: ['nginx'] }) },
  { name: 'two scopes do not combine', signer: 'twoScopes', record: signer => intent(signer, { seeds: ['web', 'nginx'] }), code: 'ERR_SCOPE_LIMIT' },

  { name: 'tag limit allows its tag', signer: 'euDeployer', record: signer => intent(signer, { targets: ['tag:eu'] }) },
  { name: 'tag limit rejects every garden', signer: 'euDeployer', record: signer => intent(signer, { targets: ['*'] }), code: 'ERR_SCOPE_LIMIT', reason: /targets \* are outside the tags eu/ },
  { name: 'tag limit rejects a longer tag', signer: 'euDeployer', record: signer => intent(signer, { targets: ['tag:eu-west'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'tag limit rejects a name target', signer: 'euDeployer', record: signer => intent(signer, { targets: ['name:eu'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'tag limit rejects a peer target', signer: 'euDeployer', record: signer => intent(signer, { targets: [`peer:${garden.id}`] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'tag limit rejects one of two', signer: 'euDeployer', record: signer => intent(signer, { targets: ['tag:eu', 'tag:us'] }), code: 'ERR_SCOPE_LIMIT', reason: /targets tag:us/ },
  { name: 'both limits allow', signer: 'webEuDeployer', record: signer => intent(signer, { seeds: ['web'], targets: ['tag:eu'] }) },
  { name: 'both limits need the tag', signer: 'webEuDeployer', record: signer => intent(signer, { seeds: ['web'], targets: ['*'] }), code: 'ERR_SCOPE_LIMIT' },
  { name: 'both limits need the seed', signer: 'webEuDeployer', record: signer => intent(signer, { seeds: ['db'], targets: ['tag:eu'] }), code: 'ERR_SCOPE_LIMIT' },

  { name: 'enroll tag limit allows its tag', signer: 'euEnroller', record: signer => certificate(signer, ['eu']) },
  { name: 'enroll tag limit rejects an extra tag', signer: 'euEnroller', record: signer => certificate(signer, ['eu', 'us']), code: 'ERR_SCOPE_LIMIT', reason: /tags us are outside eu/ },
  { name: 'enroll tag limit rejects a longer tag', signer: 'euEnroller', record: signer => certificate(signer, ['eu-west']), code: 'ERR_SCOPE_LIMIT' },
  { name: 'enroll tag limit rejects no tags', signer: 'euEnroller', record: signer => certificate(signer, []), code: 'ERR_SCOPE_LIMIT', reason: /untagged certificate/ },
  { name: 'enroll tag limit rejects revocations', signer: 'euEnroller', record: signer => revocation(signer), code: 'ERR_SCOPE_LIMIT', reason: /a revocation names no tags/ },
  { name: 'enroll seed limit is ignored', signer: 'webEnroller', record: signer => certificate(signer, []) }
]

describe('authority', () => {
  for (const testCase of cases) {
    it(testCase.name, () => {
      const signer = testCase.signer === 'stranger' ? generateKey() : admins[testCase.signer]
      const decision = maySign(root, signer.id, testCase.record(signer))
      if (testCase.code == null) {
        assert.deepEqual(decision, { ok: true })
        return
      }
      assert.equal(decision.ok, false)
      assert.equal(decision.ok ? '' : decision.code, testCase.code)
      if (testCase.reason != null) {
        assert.match(decision.ok ? '' : decision.reason, testCase.reason)
      }
    })
  }
})

describe('scope names', () => {
  for (const name of ['deploy-all', 'Deploy', 'deploy ', 'deploys', 'root*', '']) {
    it(`rejects ${JSON.stringify(name)}`, () => {
      const result = scopeSchema.safeParse({ name })
      assert.equal(result.success, false)
      assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['name'])
    })
  }

  it('rejects deploy-all in a root', () => {
    const result = rootBodySchema.safeParse(root)
    assert.equal(result.success, false)
    assert.deepEqual(result.error?.issues.map(issue => issue.path.join('.')), ['admins.9.scopes.0.name'])
  })

  it('rejects unknown scope fields', () => {
    const result = scopeSchema.safeParse({ name: 'deploy', hosts: ['web-1'] })
    assert.equal(result.success, false)
    assert.match(result.error?.issues[0].message ?? '', /hosts/)
  })
})

describe('freshness', () => {
  const signer = admins.full

  const cases: Array<{ name: string, issuedAtMs?: number, expiresAtMs?: number, code?: string }> = [
    { name: 'accepts a current intent' },
    { name: 'accepts an issue time within skew', issuedAtMs: nowMs + CLOCK_SKEW_MAX_MS },
    { name: 'rejects an issue time beyond skew', issuedAtMs: nowMs + CLOCK_SKEW_MAX_MS + 1, code: 'ERR_FROM_FUTURE' },
    { name: 'accepts an old issue time', issuedAtMs: nowMs - 365 * DAY_MS },
    { name: 'accepts an expiry within skew', expiresAtMs: nowMs - CLOCK_SKEW_MAX_MS + 1 },
    { name: 'rejects an expiry at skew', expiresAtMs: nowMs - CLOCK_SKEW_MAX_MS, code: 'ERR_EXPIRED' },
    { name: 'rejects an expired intent', issuedAtMs: nowMs - 2 * DAY_MS, expiresAtMs: nowMs - DAY_MS, code: 'ERR_EXPIRED' }
  ]

  for (const testCase of cases) {
    it(testCase.name, () => {
      const record = intent(signer, testCase)
      const decision = checkFreshness(record, nowMs)
      assert.equal(decision.ok ? undefined : decision.code, testCase.code)
    })
  }

  it('names the expiry', () => {
    const decision = checkFreshness(intent(signer, { expiresAtMs: nowMs - DAY_MS }), nowMs)
    assert.match(decision.ok ? '' : decision.reason, new RegExp(`expired at ${iso(nowMs - DAY_MS)}`))
  })

  it('names the issue time', () => {
    const decision = checkFreshness(intent(signer, { issuedAtMs: nowMs + DAY_MS }), nowMs)
    assert.match(decision.ok ? '' : decision.reason, new RegExp(`issued at ${iso(nowMs + DAY_MS)}, in the future`))
  })

  it('takes another skew', () => {
    const record = intent(signer, { issuedAtMs: nowMs + 1000 })
    assert.equal(checkFreshness(record, nowMs, 0).ok, false)
  })

  it('rejects a certificate from the future', () => {
    const record = certificate(signer, [], { issuedAtMs: nowMs + CLOCK_SKEW_MAX_MS + 1 })
    const decision = checkFreshness(record, nowMs)
    assert.equal(decision.ok ? undefined : decision.code, 'ERR_FROM_FUTURE')
  })

  it('leaves certificate expiry to membership', () => {
    const record = certificate(signer, [], { issuedAtMs: nowMs - 2 * DAY_MS, expiresAtMs: nowMs - DAY_MS })
    assert.equal(checkFreshness(record, nowMs).ok, true)
  })

  it('is five minutes of skew', () => {
    assert.equal(CLOCK_SKEW_MAX_MS, 5 * 60 * 1000)
  })
})

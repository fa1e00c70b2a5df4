import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { mergeAdminSpecs, parseAdminSpec } from '../../../src/cli/admin-spec.ts'

describe('parseAdminSpec', () => {
  it('reads a key file and scopes', () => {
    assert.deepEqual(parseAdminSpec('alice=keys/alice.pem:root,enroll'), {
      name: 'alice',
      key: 'keys/alice.pem',
      keyIsFile: true,
      scopes: [{ name: 'root' }, { name: 'enroll' }]
    })
  })

  it('reads a key id', () => {
    const id = generateKey().id
    assert.equal(parseAdminSpec(`bob=${id}:deploy`).keyIsFile, false)
  })

  it('applies limits to every scope', () => {
    assert.deepEqual(parseAdminSpec('ci=ci.pem:deploy:seeds=web,db:tags=eu').scopes, [
      { name: 'deploy', seeds: ['web', 'db'], tags: ['eu'] }
    ])
  })

  const invalid: Array<[string, RegExp]> = [
    ['alice', /missing NAME=/],
    ['=k.pem:root', /missing NAME=/],
    ['al ice=k.pem:root', /admin name "al ice"/],
    ['alice=:root', /missing KEY/],
    ['alice=k.pem', /missing scopes/],
    ['alice=k.pem:admin', /unknown scope "admin"/],
    ['alice=k.pem:deploy:hosts=x', /unknown limit "hosts=x"/],
    ['alice=k.pem:deploy:seeds=a:seeds=b', /seeds= appears twice/],
    ['alice=k.pem:deploy:seeds=a b', /"a b" in seeds= is not a valid name/]
  ]
  for (const [value, message] of invalid) {
    it(`rejects ${value}`, () => {
      assert.throws(() => parseAdminSpec(value), { code: 'ERR_INVALID_ADMIN_SPEC', message })
    })
  }
})

describe('mergeAdminSpecs', () => {
  it('joins the scopes of one name', () => {
    const merged = mergeAdminSpecs([parseAdminSpec('ops=o.pem:root'), parseAdminSpec('ops=o.pem:deploy:seeds=web')])
    assert.deepEqual(merged[0].scopes, [{ name: 'root' }, { name: 'deploy', seeds: ['web'] }])
  })

  it('rejects one name with two keys', () => {
    assert.throws(() => mergeAdminSpecs([parseAdminSpec('ops=a.pem:root'), parseAdminSpec('ops=b.pem:deploy')]),
      { code: 'ERR_INVALID_ADMIN_SPEC', message: /already given with key a.pem/ })
  })
})

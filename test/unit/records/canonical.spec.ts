import assert from 'node:assert/strict'
import {
  SIGNING_DOMAIN, base32, canonicalJson, fromBase64Url, sha256, signingBytes, toBase64Url
} from '../../../src/records/index.ts'

/** Cases from RFC 8785 (JCS): input JSON text and its canonical form. */
const jcsCases: Array<[string, string, string]> = [
  ['sorts keys', '{"b":1,"a":2}', '{"a":2,"b":1}'],
  ['sorts nested keys', '{"z":{"y":1,"x":2},"a":[{"d":1,"c":2}]}', '{"a":[{"c":2,"d":1}],"z":{"x":2,"y":1}}'],
  ['keeps array order', '[3,1,2]', '[3,1,2]'],
  ['sorts upper case first', '{"a":1,"B":2}', '{"B":2,"a":1}'],
  ['sorts by UTF-16 code units', '{"\\ufb01":1,"\\ud83d\\ude00":2,"\\u20ac":3}', '{"€":3,"😀":2,"ﬁ":1}'],
  ['drops whitespace', ' { "a" : [ 1 , true , null ] } ', '{"a":[1,true,null]}'],
  ['prints integers plainly', '[1.0,100e-2,-0,1E2]', '[1,1,0,100]'],
  ['prints large numbers in exponent form', '[1e21,1e20,123456789012345678901234567890]', '[1e+21,100000000000000000000,1.2345678901234568e+29]'],
  ['prints small numbers', '[0.000001,0.0000001,4.50e-7]', '[0.000001,1e-7,4.5e-7]'],
  ['prints the shortest round-trip form', '[0.1,0.30000000000000004,1.5,-1.25E+2]', '[0.1,0.30000000000000004,1.5,-125]'],
  ['keeps non-ASCII as is', '"\\u00fc\\u6771\\u4eac"', '"ü東京"'],
  ['escapes controls', '"\\u0007\\b\\f\\n\\r\\t\\u001f"', '"\\u0007\\b\\f\\n\\r\\t\\u001f"'],
  ['escapes quote and backslash only', '"\\"\\\\\\/"', '"\\"\\\\/"'],
  ['keeps U+2028 raw', '"\\u2028"', '"\u2028"']
]

describe('canonical JSON', () => {
  for (const [name, input, expected] of jcsCases) {
    it(name, () => {
      assert.equal(canonicalJson(JSON.parse(input)), expected)
    })
  }

  it('drops undefined fields', () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}')
  })

  for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`rejects ${value}`, () => {
      assert.throws(() => canonicalJson({ value }))
    })
  }

  for (const [name, input] of [['a lone high surrogate', '"a\\ud800"'], ['a lone low surrogate', '"\\udc00b"'], ['a surrogate in a key', '{"\\ud83d":1}']]) {
    it(`rejects ${name}`, () => {
      assert.throws(() => canonicalJson(JSON.parse(input)), { name: 'TypeError', message: /lone surrogate/ })
    })
  }

  it('rejects undefined', () => {
    assert.throws(() => canonicalJson(undefined), { name: 'TypeError', message: 'value has no JSON form' })
  })
})

describe('signing bytes', () => {
  it('start with the domain and type', () => {
    const text = new TextDecoder().decode(signingBytes('intent', { b: 1, a: 'ü' }))
    assert.equal(text, `${SIGNING_DOMAIN}/intent\n{"a":"ü","b":1}`)
  })

  it('encode UTF-8', () => {
    assert.deepEqual([...signingBytes('event', 'ü').slice(-4)], [0x22, 0xc3, 0xbc, 0x22])
  })

  it('differ by type', () => {
    assert.notDeepEqual(signingBytes('certificate', {}), signingBytes('revocation', {}))
  })

  it('use version 1', () => {
    assert.equal(SIGNING_DOMAIN, 'sower/v1')
  })
})

describe('encodings', () => {
  it('base32 of a sha256 has 52 characters', () => {
    assert.match(base32(sha256('')), /^[a-z2-7]{52}$/)
  })

  it('base32 follows RFC 4648', () => {
    assert.equal(base32(new TextEncoder().encode('foobar')), 'mzxw6ytboi')
  })

  it('sha256 of empty input', () => {
    assert.equal(Buffer.from(sha256('')).toString('hex'), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
  })

  it('base64url round-trips', () => {
    const bytes = Uint8Array.from({ length: 64 }, (_, i) => i * 4 + 3)
    const text = toBase64Url(bytes)
    assert.match(text, /^[A-Za-z0-9_-]{86}$/)
    assert.deepEqual(fromBase64Url(text), bytes)
  })
})

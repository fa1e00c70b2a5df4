import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { formatNarHash, fromNixBase32, normaliseNarHash, parseNarHash, toNixBase32 } from '../../../src/nix/hash.ts'
import { InvalidManifestError } from '../../../src/nix/errors.ts'

/** Expected values printed by `nix-hash --to-base32` of Nix 2.8.0. */
const VECTORS = [
  { input: '', base32: '0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73' },
  { input: 'abc', base32: '1b8m03r63zqhnjf7l5wnldhh7c134ap5vpj0850ymkq1iyzicy5s' }
]

function digestOf (input: string, algorithm = 'sha256'): Uint8Array {
  return Uint8Array.from(createHash(algorithm).update(input).digest())
}

describe('nix hash', () => {
  describe('toNixBase32', () => {
    for (const vector of VECTORS) {
      it(`encodes sha256 of "${vector.input}"`, () => {
        assert.equal(toNixBase32(digestOf(vector.input)), vector.base32)
      })
    }

    it('encodes a 20-byte digest in 32 characters', () => {
      assert.equal(toNixBase32(digestOf('abc', 'sha1')), 'kpcd173cq987hw957sx6m0868wv3x6d9')
    })
  })

  describe('fromNixBase32', () => {
    for (const vector of VECTORS) {
      it(`decodes sha256 of "${vector.input}"`, () => {
        assert.deepEqual(fromNixBase32(vector.base32, 32), digestOf(vector.input))
      })
    }

    it('rejects a letter outside the alphabet', () => {
      assert.equal(fromNixBase32(`e${VECTORS[0].base32.slice(1)}`, 32), null)
    })

    it('rejects a wrong length', () => {
      assert.equal(fromNixBase32(VECTORS[0].base32.slice(1), 32), null)
    })

    it('rejects bits beyond the digest', () => {
      assert.equal(fromNixBase32(`z${VECTORS[0].base32.slice(1)}`, 32), null)
    })
  })

  describe('parseNarHash', () => {
    const digest = digestOf('abc')
    const forms = [
      ['base32', `sha256:${VECTORS[1].base32}`],
      ['hex', `sha256:${Buffer.from(digest).toString('hex')}`],
      ['base64', `sha256:${Buffer.from(digest).toString('base64')}`],
      ['SRI', `sha256-${Buffer.from(digest).toString('base64')}`]
    ]
    for (const [form, text] of forms) {
      it(`reads the ${form} form`, () => {
        assert.deepEqual(parseNarHash(text), digest)
      })
    }

    const invalid = [
      ['another algorithm', `sha512:${VECTORS[1].base32}`],
      ['no algorithm', VECTORS[1].base32],
      ['upper-case hex', `sha256:${Buffer.from(digest).toString('hex').toUpperCase()}`],
      ['a short digest', 'sha256:abcd'],
      ['SRI without padding', `sha256-${Buffer.from(digest).toString('base64').slice(0, -1)}`]
    ]
    for (const [label, text] of invalid) {
      it(`rejects ${label}`, () => {
        assert.equal(parseNarHash(text), null)
      })
    }
  })

  describe('normaliseNarHash', () => {
    it('rewrites SRI as base32', () => {
      const digest = digestOf('abc')
      assert.equal(normaliseNarHash(`sha256-${Buffer.from(digest).toString('base64')}`), formatNarHash(digest))
    })

    it('raises on invalid text', () => {
      assert.throws(() => normaliseNarHash('md5:abc'), InvalidManifestError)
    })
  })
})

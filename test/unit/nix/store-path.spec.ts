import assert from 'node:assert/strict'
import { InvalidStorePathError } from '../../../src/nix/errors.ts'
import { assertStorePathName, hashPartOf, isStorePath, makeSourcePath, nameOf } from '../../../src/nix/store-path.ts'

/** NAR digest of a regular file containing "hello\n", from `nix-store --dump-db` of Nix 2.8.0. */
const HELLO_NAR_DIGEST = Uint8Array.from(
  Buffer.from('1c37d01af40be2e80691de3cc3df44377a699afbb17c68f080964b2fd071fc13', 'hex')
)

describe('store path', () => {
  describe('isStorePath', () => {
    const cases: Array<[string, boolean]> = [
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt', true],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a+b=c?d_e', true],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq', false],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-', false],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-.hidden', false],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a b', false],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a/b', false],
      ['/nix/store/e3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a', false],
      ['/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9v-a', false],
      ['/tmp/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a', false],
      [`/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-${'a'.repeat(211)}`, true],
      [`/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-${'a'.repeat(212)}`, false]
    ]
    for (const [path, expected] of cases) {
      it(`${expected ? 'accepts' : 'rejects'} ${path.length > 80 ? `${path.slice(0, 60)}...` : path}`, () => {
        assert.equal(isStorePath(path), expected)
      })
    }
  })

  it('hashPartOf returns the hash', () => {
    assert.equal(hashPartOf('/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt'), 'z3n6ml62lc6l9glpaz6fq7fvi2rks9vq')
  })

  it('nameOf returns the name', () => {
    assert.equal(nameOf('/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt'), 'a.txt')
  })

  it('assertStorePathName rejects a space', () => {
    assert.throws(() => { assertStorePathName('a b') }, InvalidStorePathError)
  })

  describe('makeSourcePath', () => {
    it('matches nix-store --add', () => {
      assert.equal(makeSourcePath(HELLO_NAR_DIGEST, 'a.txt'), '/nix/store/z3n6ml62lc6l9glpaz6fq7fvi2rks9vq-a.txt')
    })

    it('matches builtins.path with a name', () => {
      assert.equal(makeSourcePath(HELLO_NAR_DIGEST, 'leaf'), '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf')
    })

    it('depends on references', () => {
      const plain = makeSourcePath(HELLO_NAR_DIGEST, 'leaf')
      assert.notEqual(makeSourcePath(HELLO_NAR_DIGEST, 'leaf', [plain]), plain)
    })

    it('ignores the order of references', () => {
      const a = makeSourcePath(HELLO_NAR_DIGEST, 'a')
      const b = makeSourcePath(HELLO_NAR_DIGEST, 'b')
      assert.equal(makeSourcePath(HELLO_NAR_DIGEST, 'c', [a, b]), makeSourcePath(HELLO_NAR_DIGEST, 'c', [b, a]))
    })
  })
})

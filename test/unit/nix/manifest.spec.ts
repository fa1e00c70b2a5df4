import assert from 'node:assert/strict'
import { InvalidManifestError } from '../../../src/nix/errors.ts'
import { indexManifest, sortByReferences } from '../../../src/nix/manifest.ts'
import type { ManifestEntry } from '../../../src/nix/types.ts'

const LEAF = '/nix/store/3asnqjf05nx528f6xbn87d9zkpvq370f-leaf'
const TOP = '/nix/store/ng3lqb2z17nlkp2mxzrkrn93rlg60hxd-demo'
const LEAF_HASH = 'sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw'

function entry (path: string, references: string[] = [], overrides: Partial<ManifestEntry> = {}): ManifestEntry {
  return { path, narHash: LEAF_HASH, narSize: 120, references, ...overrides }
}

describe('manifest', () => {
  describe('indexManifest', () => {
    it('indexes entries by path', () => {
      const index = indexManifest([entry(LEAF), entry(TOP, [LEAF])])
      assert.deepEqual([...index.keys()], [LEAF, TOP])
    })

    it('rewrites an SRI hash as base32', () => {
      const sri = 'sha256-HDfQGvQL4ugGkd48w99EN3ppmvuxfGjwgJZLL9Bx/BM='
      assert.equal(indexManifest([entry(LEAF, [], { narHash: sri })]).get(LEAF)?.narHash, LEAF_HASH)
    })

    it('accepts a self-reference', () => {
      assert.deepEqual(indexManifest([entry(LEAF, [LEAF])]).get(LEAF)?.references, [LEAF])
    })

    const invalid: Array<[string, unknown]> = [
      ['a non-array', { path: LEAF }],
      ['a duplicate path', [entry(LEAF), entry(LEAF)]],
      ['a reference outside the manifest', [entry(TOP, [LEAF])]],
      ['an invalid path', [entry('/nix/store/leaf')]],
      ['an invalid hash', [entry(LEAF, [], { narHash: 'md5:00' })]],
      ['a zero size', [entry(LEAF, [], { narSize: 0 })]],
      ['a fractional size', [entry(LEAF, [], { narSize: 1.5 })]],
      ['a repeated reference', [entry(LEAF), entry(TOP, [LEAF, LEAF])]],
      ['a null entry', [null]]
    ]
    for (const [label, manifest] of invalid) {
      it(`rejects ${label}`, () => {
        assert.throws(() => indexManifest(manifest as ManifestEntry[]), InvalidManifestError)
      })
    }
  })

  describe('sortByReferences', () => {
    const graph: Record<string, string[]> = { a: ['b', 'c'], b: ['c', 'b'], c: [], d: ['a', 'outside'] }

    it('puts references first', () => {
      const sorted = sortByReferences(['d', 'a', 'b', 'c'], path => graph[path] ?? [])
      for (const [path, references] of Object.entries(graph)) {
        for (const reference of references.filter(reference => reference !== path && reference in graph)) {
          assert.ok(sorted.indexOf(reference) < sorted.indexOf(path), `${reference} before ${path}`)
        }
      }
    })

    it('keeps only the given paths', () => {
      assert.deepEqual(sortByReferences(['a', 'c'], path => graph[path] ?? []), ['c', 'a'])
    })

    it('rejects a cycle', () => {
      assert.throws(() => sortByReferences(['x', 'y'], path => path === 'x' ? ['y'] : ['x']), InvalidManifestError)
    })
  })
})

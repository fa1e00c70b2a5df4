import assert from 'node:assert/strict'
import type { ManifestEntry } from '../../../src/nix/index.ts'
import { batchManifest, importable, nextBatch } from '../../../src/transfer/plan.ts'

const HASH = 'sha256:0000000000000000000000000000000000000000000000000000'

function entry (name: string, narSize: number, references: string[] = []): ManifestEntry {
  return { path: pathOf(name), narHash: HASH, narSize, references: references.map(pathOf) }
}

function pathOf (name: string): string {
  return `/nix/store/${name.repeat(32).slice(0, 32)}-${name}`
}

function names (entries: ManifestEntry[]): string[] {
  return entries.map(item => item.path.slice('/nix/store/'.length + 33))
}

const a = entry('a', 100)
const b = entry('b', 200, ['a'])
const c = entry('c', 300, ['a', 'b'])
const d = entry('d', 400, ['c', 'd'])

describe('nextBatch', () => {
  const cases: Array<{ name: string, maxPaths: number, maxBytes: number, expected: string[] }> = [
    { name: 'takes every path under the limits', maxPaths: 10, maxBytes: 10_000, expected: ['a', 'b', 'c', 'd'] },
    { name: 'stops at the path count', maxPaths: 2, maxBytes: 10_000, expected: ['a', 'b'] },
    { name: 'stops before the byte limit', maxPaths: 10, maxBytes: 350, expected: ['a', 'b'] },
    { name: 'counts bytes exactly to the limit', maxPaths: 10, maxBytes: 600, expected: ['a', 'b', 'c'] },
    { name: 'takes one path larger than the limit', maxPaths: 10, maxBytes: 50, expected: ['a'] }
  ]
  for (const { name, maxPaths, maxBytes, expected } of cases) {
    it(name, () => {
      assert.deepEqual(names(nextBatch([a, b, c, d], { batchMaxPaths: maxPaths, batchMaxBytes: maxBytes })), expected)
    })
  }

  it('returns nothing for nothing missing', () => {
    assert.deepEqual(nextBatch([], { batchMaxPaths: 1, batchMaxBytes: 1 }), [])
  })
})

describe('importable', () => {
  const cases: Array<{ name: string, offered: ManifestEntry[], missing: string[], expected: string[] }> = [
    { name: 'keeps paths whose references are valid', offered: [c], missing: ['c', 'd'], expected: ['c'] },
    { name: 'keeps paths whose references are offered', offered: [a, b, c], missing: ['a', 'b', 'c'], expected: ['a', 'b', 'c'] },
    { name: 'drops a path with a missing reference', offered: [b, c], missing: ['a', 'b', 'c'], expected: [] },
    { name: 'accepts a self-reference', offered: [d], missing: ['d'], expected: ['d'] }
  ]
  for (const { name, offered, missing, expected } of cases) {
    it(name, () => {
      const set = new Set(missing.map(pathOf))
      assert.deepEqual(names(importable(offered, path => set.has(path))), expected)
    })
  }
})

describe('batchManifest', () => {
  const entries = new Map([a, b, c, d].map(item => [item.path, item]))

  it('adds every path the batch refers to', () => {
    assert.deepEqual(names(batchManifest([d], entries)).sort(), ['a', 'b', 'c', 'd'])
  })

  it('keeps a batch without references alone', () => {
    assert.deepEqual(names(batchManifest([a], entries)), ['a'])
  })

  it('lists each path once', () => {
    assert.deepEqual(names(batchManifest([b, c], entries)).sort(), ['a', 'b', 'c'])
  })
})

import assert from 'node:assert/strict'
import { generateKey } from '../../../src/keys/index.ts'
import { matchesSelector, resolveSelector, selectGardens } from '../../../src/cli/selectors.ts'

const peer = generateKey().id
const gardens = [
  { peer, name: 'web-1', tags: ['web', 'eu'] },
  { peer: generateKey().id, name: 'db-1', tags: ['db'] },
  { peer: generateKey().id, name: 'web', tags: ['edge'] }
]

describe('resolveSelector', () => {
  const cases: Array<[string, string]> = [
    ['*', '*'],
    ['name:web-1', 'name:web-1'],
    ['tag:db', 'tag:db'],
    [`peer:${peer}`, `peer:${peer}`],
    [peer, `peer:${peer}`],
    ['web-1', 'name:web-1'],
    ['db', 'tag:db'],
    ['web', 'name:web'],
    ['name:unknown-yet', 'name:unknown-yet']
  ]
  for (const [input, expected] of cases) {
    it(`resolves ${input.slice(0, 20)}`, () => {
      assert.equal(resolveSelector(input, gardens), expected)
    })
  }

  it('rejects an unknown bare word', () => {
    assert.throws(() => resolveSelector('nowhere', gardens), {
      code: 'ERR_INVALID_SELECTOR',
      message: /"nowhere" is neither the name nor a tag of a known garden .*write name:nowhere or tag:nowhere/
    })
  })

  it('lists known names and tags', () => {
    assert.throws(() => resolveSelector('nowhere', gardens), { message: /gardens: db-1, web, web-1; tags: db, edge, eu, web/ })
  })

  it('says when no garden is known', () => {
    assert.throws(() => resolveSelector('web', []), { message: /this node knows no garden yet/ })
  })

  const malformed = ['name:', 'tag:-x', 'peer:12D3KooWnope', 'group:web', 'name:a b']
  for (const input of malformed) {
    it(`rejects ${input}`, () => {
      assert.throws(() => resolveSelector(input, gardens), { code: 'ERR_INVALID_SELECTOR' })
    })
  }
})

describe('matchesSelector', () => {
  const garden = gardens[0]
  const cases: Array<[string, boolean]> = [
    ['*', true],
    ['name:web-1', true],
    ['name:web', false],
    ['tag:eu', true],
    ['tag:e', false],
    [`peer:${peer}`, true],
    [`peer:${gardens[1].peer}`, false]
  ]
  for (const [selector, expected] of cases) {
    it(`${expected ? 'matches' : 'skips'} ${selector.slice(0, 20)}`, () => {
      assert.equal(matchesSelector(garden, selector), expected)
    })
  }

  it('selects the union of selectors', () => {
    assert.deepEqual(selectGardens(gardens, ['tag:db', 'name:web']).map(g => g.name), ['db-1', 'web'])
  })
})

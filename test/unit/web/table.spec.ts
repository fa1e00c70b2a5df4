import assert from 'node:assert/strict'
import type { GardenSummary } from '../../../src/store/index.ts'
import {
  COLUMN_KEYS, DEFAULT_COLUMNS, DEFAULT_PAGE_SIZE, PAGE_SIZE_MAX, naturalKey, pageOf, parseCols, parseTableQuery,
  replaceSorted, sortGardens, sortedGardens,
  sortHref, tableHref, toggleColumnHref
} from '../../../src/web/table/index.ts'
import type { DeploymentResult } from '../../../src/records/index.ts'
import type { TableQuery } from '../../../src/web/table/index.ts'

function garden (name: string, init: Partial<GardenSummary> = {}): GardenSummary {
  return {
    peer: `12D3KooW${name.padEnd(44, 'x')}`,
    name,
    tags: [],
    roles: ['garden'],
    revoked: false,
    addresses: [],
    pending: 0,
    ...init
  }
}

function withResult (name: string, result: DeploymentResult): GardenSummary {
  return garden(name, {
    latestResult: result,
    latestDeployment: { id: `dep_${name}`, intent: 'int_x', seed: 'web', result, updatedAt: '2026-01-01T00:00:00.000Z' }
  })
}

function names (gardens: GardenSummary[]): string[] {
  return gardens.map(entry => entry.name)
}

function paramsOf (href: string): Record<string, string> {
  return Object.fromEntries(new URL(href, 'http://localhost').searchParams)
}

describe('web table', () => {
  describe('sortGardens', () => {
    const gardens = [
      garden('never-a'),
      withResult('ok', 'success'),
      withResult('bad', 'failure'),
      garden('never-b'),
      withResult('half', 'partial')
    ]

    it('result ascending puts never-deployed last', () => {
      assert.deepEqual(names(sortGardens(gardens, 'result', 'asc')), ['bad', 'half', 'ok', 'never-a', 'never-b'])
    })

    it('result descending puts never-deployed first', () => {
      assert.deepEqual(names(sortGardens(gardens, 'result', 'desc')), ['never-a', 'never-b', 'ok', 'half', 'bad'])
    })

    it('result sorts by the raw value', () => {
      const all = ['success', 'canceled', 'superseded', 'failure', 'partial'] as DeploymentResult[]
      const sorted = sortGardens(all.map(result => withResult(result, result)), 'result', 'asc')
      assert.deepEqual(sorted.map(entry => entry.latestResult), ['canceled', 'failure', 'partial', 'success', 'superseded'])
    })

    it('names sort in natural order', () => {
      const sorted = sortGardens([garden('garden-10'), garden('garden-2'), garden('garden-1')], 'name', 'asc')
      assert.deepEqual(names(sorted), ['garden-1', 'garden-2', 'garden-10'])
    })

    it('versions sort in natural order', () => {
      const list = [garden('a', { agentVersion: '0.10.0' }), garden('b', { agentVersion: '0.9.1' }), garden('c')]
      assert.deepEqual(names(sortGardens(list, 'version', 'asc')), ['b', 'a', 'c'])
      assert.deepEqual(names(sortGardens(list, 'version', 'desc')), ['c', 'a', 'b'])
    })

    it('ties break by name ascending in both directions', () => {
      const list = [withResult('z', 'success'), withResult('a', 'success'), withResult('m', 'success')]
      assert.deepEqual(names(sortGardens(list, 'result', 'asc')), ['a', 'm', 'z'])
      assert.deepEqual(names(sortGardens(list, 'result', 'desc')), ['a', 'm', 'z'])
    })

    it('last seen sorts by time with never-seen last', () => {
      const list = [
        garden('late', { lastSeen: '2026-01-02T00:00:00.000Z' }),
        garden('unseen'),
        garden('early', { lastSeen: '2026-01-01T00:00:00.000Z' })
      ]
      assert.deepEqual(names(sortGardens(list, 'lastSeen', 'asc')), ['early', 'late', 'unseen'])
    })

    it('pending sorts gardens without open work last', () => {
      const list = [garden('idle'), garden('two', { pending: 2 }), garden('one', { pending: 1 })]
      assert.deepEqual(names(sortGardens(list, 'pending', 'asc')), ['one', 'two', 'idle'])
    })

    it('names sort ignoring case', () => {
      const sorted = sortGardens([garden('beta'), garden('alpha'), garden('Alpha')], 'name', 'asc')
      assert.deepEqual(names(sorted), ['Alpha', 'alpha', 'beta'])
    })

    it('leaves the input unchanged', () => {
      const list = [garden('b'), garden('a')]
      sortGardens(list, 'name', 'asc')
      assert.deepEqual(names(list), ['b', 'a'])
    })
  })

  describe('replaceSorted', () => {
    const results: Array<DeploymentResult | undefined> = ['success', 'failure', 'partial', undefined]

    /** A garden whose sort values all derive from `n`, so a table of them has ties and gaps. */
    function numbered (n: number, version: number): GardenSummary {
      const result = results[(n + version) % results.length]
      const base = result == null ? garden(`g-${n % 17}`) : withResult(`g-${n % 17}`, result)
      return {
        ...base,
        peer: `12D3KooW${String(n).padStart(44, '0')}`,
        agentVersion: version % 3 === 0 ? undefined : `0.${version % 11}.0`,
        lastSeen: `2026-01-01T00:00:${String(version % 60).padStart(2, '0')}.000Z`,
        pending: version % 4,
        tags: version % 2 === 0 ? [] : [`t${version % 5}`]
      }
    }

    for (const key of COLUMN_KEYS) {
      for (const dir of ['asc', 'desc'] as const) {
        it(`matches a full sort by ${key} ${dir}`, () => {
          const current = new Map<string, GardenSummary>()
          for (let n = 0; n < 40; n++) current.set(numbered(n, 0).peer, numbered(n, 0))
          const sorted = sortedGardens(current.values(), key, dir)
          for (let step = 1; step <= 60; step++) {
            const n = (step * 7) % 45
            const next = step % 9 === 0 ? undefined : numbered(n, step)
            const peer = numbered(n, 0).peer
            if (next == null) current.delete(peer)
            else current.set(peer, next)
            replaceSorted(sorted, peer, next)
          }
          assert.deepEqual(sorted.entries.map(entry => entry.garden), sortGardens(current.values(), key, dir))
        })
      }
    }
  })

  describe('naturalKey', () => {
    it('orders numbers by value', () => {
      assert.ok(naturalKey('garden-2') < naturalKey('garden-10'))
    })

    it('orders versions by value', () => {
      assert.ok(naturalKey('0.9.1') < naturalKey('0.10.0'))
    })

    it('ignores case', () => {
      assert.equal(naturalKey('Garden-1'), naturalKey('garden-1'))
    })
  })

  describe('pageOf', () => {
    const items = Array.from({ length: 120 }, (_, i) => i)

    it('cuts the requested page', () => {
      const page = pageOf(items, 2, 50)
      assert.equal(page.rows[0], 50)
      assert.equal(page.rows.length, 50)
      assert.equal(page.pages, 3)
      assert.equal(page.total, 120)
    })

    it('last page is partial', () => {
      assert.deepEqual(pageOf(items, 3, 50).rows, items.slice(100))
    })

    it('page past the end shows the last page', () => {
      const page = pageOf(items, 99, 50)
      assert.equal(page.page, 3)
      assert.equal(page.rows[0], 100)
    })

    it('empty list has one empty page', () => {
      const page = pageOf([], 1, 50)
      assert.equal(page.pages, 1)
      assert.equal(page.rows.length, 0)
    })
  })

  describe('parseCols', () => {
    const cases: Array<[string | undefined, string[]]> = [
      [undefined, [...DEFAULT_COLUMNS]],
      ['version,tags', ['version', 'tags']],
      ['tags,version', ['version', 'tags']],
      ['version,version', ['version']],
      ['name', []],
      ['', []],
      ['name,peer', ['peer']],
      ['bogus', [...DEFAULT_COLUMNS]],
      ['bogus,<script>', [...DEFAULT_COLUMNS]],
      ['version,bogus', ['version']],
      [' version , tags ', ['version', 'tags']],
      [',,,', []]
    ]
    for (const [value, expected] of cases) {
      it(`cols=${String(value)}`, () => {
        assert.deepEqual(parseCols(value), expected)
      })
    }

    it('repeated key uses the first value', () => {
      assert.deepEqual(parseCols(['peer', 'tags']), ['peer'])
    })

    it('never includes the name column', () => {
      assert.ok(!parseCols('name,version').includes('name'))
    })
  })

  describe('parseTableQuery', () => {
    it('defaults without parameters', () => {
      assert.deepEqual(parseTableQuery({}), {
        sort: 'name', dir: 'asc', page: 1, size: DEFAULT_PAGE_SIZE, cols: [...DEFAULT_COLUMNS]
      })
    })

    it('reads every parameter', () => {
      assert.deepEqual(parseTableQuery({ sort: 'result', dir: 'desc', page: '3', size: '25', cols: 'peer' }), {
        sort: 'result', dir: 'desc', page: 3, size: 25, cols: ['peer']
      })
    })

    const fallbacks: Array<[string, Record<string, unknown>, keyof TableQuery, unknown]> = [
      ['unknown sort', { sort: 'evil' }, 'sort', 'name'],
      ['prototype sort key', { sort: '__proto__' }, 'sort', 'name'],
      ['unknown dir', { dir: 'sideways' }, 'dir', 'asc'],
      ['page zero', { page: '0' }, 'page', 1],
      ['negative page', { page: '-2' }, 'page', 1],
      ['fractional page', { page: '1.5' }, 'page', 1],
      ['page text', { page: 'two' }, 'page', 1],
      ['size zero', { size: '0' }, 'size', DEFAULT_PAGE_SIZE],
      ['size over max', { size: String(PAGE_SIZE_MAX + 1) }, 'size', DEFAULT_PAGE_SIZE],
      ['size hex', { size: '0x10' }, 'size', DEFAULT_PAGE_SIZE],
      ['sort array', { sort: ['version', 'name'] }, 'sort', 'version']
    ]
    for (const [name, query, key, expected] of fallbacks) {
      it(name, () => {
        assert.deepEqual(parseTableQuery(query)[key], expected)
      })
    }

    it('size at max is kept', () => {
      assert.equal(parseTableQuery({ size: String(PAGE_SIZE_MAX) }).size, PAGE_SIZE_MAX)
    })
  })

  describe('links', () => {
    const query: TableQuery = { sort: 'version', dir: 'desc', page: 3, size: 25, cols: ['peer', 'tags'] }

    it('tableHref writes every parameter', () => {
      assert.deepEqual(paramsOf(tableHref(query)), { sort: 'version', dir: 'desc', page: '3', size: '25', cols: 'peer,tags' })
    })

    it('round-trips through parseTableQuery', () => {
      assert.deepEqual(parseTableQuery(paramsOf(tableHref(query))), query)
    })

    it('page link keeps sort, size and cols', () => {
      assert.deepEqual(paramsOf(tableHref(query, { page: 4 })), { sort: 'version', dir: 'desc', page: '4', size: '25', cols: 'peer,tags' })
    })

    it('size link keeps sort, page and cols', () => {
      assert.deepEqual(paramsOf(tableHref(query, { size: 100 })), { sort: 'version', dir: 'desc', page: '3', size: '100', cols: 'peer,tags' })
    })

    it('sort link keeps page, size and cols', () => {
      assert.deepEqual(paramsOf(sortHref(query, 'result')), { sort: 'result', dir: 'asc', page: '3', size: '25', cols: 'peer,tags' })
    })

    it('sort link on the sorted column flips direction', () => {
      assert.equal(paramsOf(sortHref(query, 'version')).dir, 'asc')
      assert.equal(paramsOf(sortHref({ ...query, dir: 'asc' }, 'version')).dir, 'desc')
    })

    it('hiding a column keeps sort, page and size', () => {
      assert.deepEqual(paramsOf(toggleColumnHref(query, 'peer')), { sort: 'version', dir: 'desc', page: '3', size: '25', cols: 'tags' })
    })

    it('showing a column puts it in table order', () => {
      assert.equal(paramsOf(toggleColumnHref(query, 'version')).cols, 'peer,version,tags')
    })

    it('hiding the last column keeps an empty cols', () => {
      const href = toggleColumnHref({ ...query, cols: ['tags'] }, 'tags')
      assert.equal(paramsOf(href).cols, '')
      assert.deepEqual(parseTableQuery(paramsOf(href)).cols, [])
    })

    it('never writes the name column into cols', () => {
      assert.equal(paramsOf(tableHref({ ...query, cols: ['name', 'peer'] })).cols, 'peer')
    })

    it('keeps commas readable', () => {
      assert.match(tableHref(query), /cols=peer,tags/)
    })
  })
})

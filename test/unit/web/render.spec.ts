import assert from 'node:assert/strict'
import type { GardenSummary } from '../../../src/store/index.ts'
import { html, jsonForScript, jsonScript, renderFragment } from '../../../src/web/render/html.ts'
import { DeploymentPage } from '../../../src/web/render/deployment-pages.ts'
import { GardenPage } from '../../../src/web/render/garden-page.ts'
import { GardensPage } from '../../../src/web/render/gardens-page.ts'
import { AlertBanner } from '../../../src/web/render/layout.ts'
import { COLUMN_KEYS, DEFAULT_QUERY, pageOf } from '../../../src/web/table/index.ts'
import type { ColumnKey } from '../../../src/web/table/index.ts'

const PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  "' onmouseover='alert(1)",
  '</script><script>alert(1)</script>',
  '<!--',
  'javascript:alert(1)'
]

const NOW_MS = Date.parse('2026-03-01T12:00:00.000Z')
const PEER = `12D3KooW${'A'.repeat(44)}`

function hostileGarden (payload: string): GardenSummary {
  return {
    peer: PEER,
    name: payload,
    tags: [payload],
    roles: ['garden'],
    revoked: false,
    agentVersion: payload,
    addresses: [payload],
    lastSeen: '2026-03-01T11:00:00.000Z',
    latestDeployment: { id: `dep_${'a'.repeat(52)}`, intent: `int_${'b'.repeat(52)}`, seed: payload, updatedAt: '2026-03-01T11:00:00.000Z' },
    pending: 1
  }
}

interface Tag {
  name: string
  attributes: Array<[string, string]>
}

/**
 * Lists the start tags of server-rendered markup. The renderer writes a
 * text `<` as `&lt;` and quotes every attribute value with `"`, so a raw
 * `<` followed by a letter always starts a tag and a `"` ends a value.
 */
function startTags (markup: string): Tag[] {
  const tags: Tag[] = []
  const tagPattern = /<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*\/?>/g
  for (const match of markup.matchAll(tagPattern)) {
    const attributes: Array<[string, string]> = []
    for (const attribute of match[2].matchAll(/\s+([^\s=>/]+)(?:="([^"]*)")?/g)) {
      attributes.push([attribute[1].toLowerCase(), attribute[2] ?? ''])
    }
    tags.push({ name: match[1].toLowerCase(), attributes })
  }
  return tags
}

const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'xlink:href'])
const FORBIDDEN_TAGS = new Set(['script', 'img', 'iframe', 'object', 'embed', 'style', 'link', 'meta', 'base', 'form'])

/** Fails when the markup has an element, attribute or URL that a payload could have injected. */
function assertNoInjection (markup: string): void {
  const tags = startTags(markup)
  assert.equal(tags.length, markup.match(/<[a-zA-Z]/g)?.length ?? 0, 'a tag that is not well formed')
  assert.doesNotMatch(markup, /<!--/)
  for (const tag of tags) {
    assert.ok(!FORBIDDEN_TAGS.has(tag.name), `unexpected <${tag.name}>`)
    for (const [name, value] of tag.attributes) {
      assert.ok(!name.startsWith('on'), `event handler attribute ${name} on <${tag.name}>`)
      if (URL_ATTRIBUTES.has(name)) {
        assert.ok(!/^\s*javascript:/i.test(value), `javascript: URL in ${name} of <${tag.name}>`)
      }
    }
  }
}

describe('web rendering', () => {
  describe('injection check', () => {
    const injected = [
      '<p><img src=x onerror=alert(1)></p>',
      '<p title="x" onclick="alert(1)">x</p>',
      '<a href="javascript:alert(1)">x</a>',
      '<p><script>alert(1)</script></p>'
    ]
    for (const markup of injected) {
      it(`catches ${markup}`, () => {
        assert.throws(() => { assertNoInjection(markup) })
      })
    }
  })

  describe('gardens table escaping', () => {
    const allColumns = COLUMN_KEYS.filter(key => key !== 'name') as ColumnKey[]
    for (const payload of PAYLOADS) {
      it(`escapes ${payload}`, () => {
        const view = { query: { ...DEFAULT_QUERY, cols: allColumns }, page: pageOf([hostileGarden(payload)], 1, 50), nowMs: NOW_MS }
        const markup = renderFragment(html`<${GardensPage} view=${view} />`)
        assertNoInjection(markup)
      })
    }

    it('shows a hostile name as text', () => {
      const view = { query: DEFAULT_QUERY, page: pageOf([hostileGarden('<b>bold</b>')], 1, 50), nowMs: NOW_MS }
      const markup = renderFragment(html`<${GardensPage} view=${view} />`)
      assert.match(markup, /&lt;b>bold&lt;\/b>/)
    })

    it('escapes quotes in attributes', () => {
      const garden = { ...hostileGarden('x'), peer: '"><img src=x onerror=alert(1)>' }
      const view = { query: { ...DEFAULT_QUERY, cols: allColumns }, page: pageOf([garden], 1, 50), nowMs: NOW_MS }
      const markup = renderFragment(html`<${GardensPage} view=${view} />`)
      assertNoInjection(markup)
      assert.match(markup, /data-peer="&quot;>&lt;img/)
    })
  })

  describe('garden page escaping', () => {
    for (const payload of PAYLOADS) {
      it(`escapes ${payload}`, () => {
        const garden = hostileGarden(payload)
        const report = {
          fleet: 'f',
          author: PEER,
          seq: 1,
          prev: null,
          issuedAt: '2026-03-01T11:00:00.000Z',
          agentVersion: payload,
          addresses: [payload],
          subscriptions: [{ name: 'web', seed: 'web', type: 'service' as const, profile: payload, policy: { [payload]: { actions: [payload], triggers: [payload], window: { days: [payload], start: payload, end: payload, zone: payload }, [payload]: payload } } }],
          profiles: [{ seed: 'web', profile: payload, generations: [{ number: 1, storePath: payload, date: '2026-03-01T11:00:00.000Z', current: true }], drift: [1] }]
        }
        const certificate = {
          fleet: 'f',
          author: payload,
          seq: 1,
          prev: null,
          issuedAt: '2026-03-01T10:00:00.000Z',
          peer: PEER,
          name: payload,
          roles: ['garden' as const],
          tags: [payload],
          expiresAt: payload
        }
        const view = {
          garden,
          certificate: { id: `cert_${'e'.repeat(52)}`, body: certificate },
          report: { id: `rep_${'c'.repeat(52)}`, body: report },
          deployments: [],
          admins: new Map([[payload, payload]]),
          nowMs: NOW_MS
        }
        assertNoInjection(renderFragment(html`<${GardenPage} view=${view} />`))
      })
    }
  })

  describe('deployment page escaping', () => {
    for (const payload of PAYLOADS) {
      it(`escapes ${payload}`, () => {
        const body = {
          fleet: 'f',
          author: PEER,
          seq: 2,
          prev: null,
          issuedAt: '2026-03-01T11:00:00.000Z',
          deployment: `dep_${'a'.repeat(52)}`,
          intent: `int_${'b'.repeat(52)}`,
          seed: 'web',
          kind: 'result' as const,
          result: 'failure' as const,
          actor: payload,
          detail: { reason: payload, output: `${payload}\n${payload}`, [payload]: payload }
        }
        const deployment = {
          id: body.deployment,
          garden: PEER,
          intent: body.intent,
          seed: 'web',
          result: 'failure' as const,
          lastEvent: 'result' as const,
          startedAt: body.issuedAt,
          updatedAt: body.issuedAt
        }
        const view = { deployment, gardenName: payload, events: [{ id: `evt_${'d'.repeat(52)}`, body }], admins: new Map(), nowMs: NOW_MS }
        assertNoInjection(renderFragment(html`<${DeploymentPage} view=${view} />`))
      })
    }
  })

  describe('jsonForScript', () => {
    it('escapes a closing script tag', () => {
      const text = jsonForScript({ name: '</script><script>alert(1)</script>' })
      assert.doesNotMatch(text, /</)
      assert.doesNotMatch(text, />/)
    })

    it('escapes ampersands and line separators', () => {
      const text = jsonForScript('a&b\u2028c\u2029')
      assert.equal(text, '"a\\u0026b\\u2028c\\u2029"')
    })

    it('parses back to the value', () => {
      const value = { name: '"><img onerror=x>', list: ['</script>', '<!--', '&amp;'] }
      assert.deepEqual(JSON.parse(jsonForScript(value)), value)
    })

    it('data block cannot end early', () => {
      const markup = renderFragment(jsonScript('page-data', { peer: '</script><script>alert(1)</script>' }))
      assert.equal(markup.match(/<\/script>/g)?.length, 1)
    })
  })

  describe('alert banner', () => {
    it('is empty without alerts', () => {
      assert.doesNotMatch(renderFragment(html`<${AlertBanner} alertCount=${0} />`), /role="alert"/)
    })

    it('shows the count of alerts', () => {
      assert.match(renderFragment(html`<${AlertBanner} alertCount=${2} />`), /2 fork alerts/)
    })
  })
})

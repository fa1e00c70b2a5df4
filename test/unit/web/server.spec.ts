import assert from 'node:assert/strict'
import { request as httpRequest } from 'node:http'
import { generateKey } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import type { DeployIntentBody, EventBody, EventKind, ForkPair } from '../../../src/records/index.ts'
import { startWebView } from '../../../src/web/index.ts'
import type { OwnFeedView, WebView, WebViewInit } from '../../../src/web/index.ts'
import { feedSigner, openFleetStore } from '../../utils/web-store.ts'
import type { FleetStore, GardenFeed } from '../../utils/web-store.ts'
import { forkOf } from '../../utils/alerts.ts'

const TOKEN = 'test-token-0123456789abcdef'
const UNKNOWN_PEER = `12D3KooW${'A'.repeat(44)}`
const UNKNOWN_DEP = `dep_${'a'.repeat(52)}`
const UNKNOWN_INT = `int_${'a'.repeat(52)}`

interface EventStream {
  status: number
  /** Resolves with the next `change` message's data, parsed. */
  nextChange: (timeoutMs?: number) => Promise<any>
  /** Change messages received so far. */
  changes: any[]
  /** Resolves when the server ends the stream. */
  ended: Promise<void>
  close: () => void
}

function escapeRegExp (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/** Opens /events and parses its messages as they arrive. */
async function openEvents (url: string): Promise<EventStream> {
  const abort = new AbortController()
  const response = await fetch(new URL('events', url), { signal: abort.signal })
  const changes: any[] = []
  const waiters: Array<(data: any) => void> = []
  let buffer = ''
  const ended = (async () => {
    if (response.body == null) return
    const decoder = new TextDecoder()
    const reader = response.body.getReader()
    try {
      while (true) {
        const { value, done } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let end: number
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const message = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = /^data: (.*)$/m.exec(message)
          if (/^event: change$/m.test(message) && data != null) {
            const change = JSON.parse(data[1])
            changes.push(change)
            waiters.shift()?.(change)
          }
        }
      }
    } catch {
      // Aborted by close().
    }
  })()
  return {
    status: response.status,
    changes,
    ended,
    async nextChange (timeoutMs = 5000) {
      return await new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no change message within ${timeoutMs} ms`)) }, timeoutMs)
        waiters.push(data => {
          clearTimeout(timer)
          resolve(data)
        })
      })
    },
    close: () => { abort.abort() }
  }
}

/** Sends a GET with a chosen Host header, which fetch does not allow to set, and returns the status. */
async function getWithHost (url: string, host: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, response => {
      response.resume()
      resolve(response.statusCode ?? 0)
    })
    request.on('error', reject)
    request.end()
  })
}

describe('web server', () => {
  let fixture: FleetStore
  let view: WebView | undefined
  let streams: EventStream[]
  let alpha: GardenFeed
  let beta: GardenFeed

  async function start (init: WebViewInit = {}): Promise<WebView> {
    view = await startWebView({ store: fixture.store, logger: silentLogger() }, init)
    return view
  }

  beforeEach(async () => {
    streams = []
    fixture = await openFleetStore()
    alpha = await fixture.enroll('alpha', ['eu'])
    beta = await fixture.enroll('beta')
    await fixture.put(fixture.report(alpha), fixture.report(beta))
  })

  afterEach(async () => {
    for (const stream of streams) stream.close()
    await view?.close()
    view = undefined
    await fixture.close()
  })

  describe('options', () => {
    it('rejects a public address without token', async () => {
      await assert.rejects(start({ host: '0.0.0.0' }), { code: 'ERR_WEB_TOKEN_REQUIRED', message: /"token" option/ })
    })

    it('rejects a short token', async () => {
      await assert.rejects(start({ token: 'short' }), { code: 'ERR_WEB_TOKEN_WEAK' })
    })

    it('rejects readOnly false', async () => {
      await assert.rejects(start({ readOnly: false }), { code: 'ERR_WEB_READ_ONLY' })
    })

    it('binds to loopback by default', async () => {
      const { url } = await start()
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/)
    })

    it('close twice is safe', async () => {
      const started = await start()
      await started.close()
      await started.close()
    })
  })

  describe('pages', () => {
    it('gardens page says read-only', async () => {
      const { url } = await start()
      const text = await (await fetch(url)).text()
      assert.match(text, /Read-only view/)
    })

    it('gardens page lists every garden', async () => {
      const { url } = await start()
      const text = await (await fetch(url)).text()
      assert.match(text, />alpha</)
      assert.match(text, />beta</)
    })

    it('malformed table parameters show defaults', async () => {
      const { url } = await start()
      const response = await fetch(new URL('?sort=evil&dir=up&page=-1&size=0&cols=%3Cscript%3E', url))
      assert.equal(response.status, 200)
      const text = await response.text()
      assert.match(text, /sorted by name, ascending/)
      assert.match(text, /class="col-version"/)
    })

    it('sets security headers', async () => {
      const { url } = await start()
      const response = await fetch(url)
      const csp = response.headers.get('content-security-policy') ?? ''
      assert.match(csp, /script-src 'self'/)
      assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/)
      assert.match(csp, /frame-ancestors 'none'/)
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff')
      assert.equal(response.headers.get('referrer-policy'), 'no-referrer')
    })

    it('has no inline executable script', async () => {
      const { url } = await start()
      const text = await (await fetch(url)).text()
      for (const [tag] of text.matchAll(/<script[^>]*>/g)) {
        assert.match(tag, /src="\/assets\/client\.js"|type="application\/json"/)
      }
    })

    it('loads no external asset', async () => {
      const { url } = await start()
      const text = await (await fetch(url)).text()
      assert.doesNotMatch(text, /(src|href)="(https?:)?\/\//)
    })

    it('serves the client script', async () => {
      const { url } = await start()
      const response = await fetch(new URL('assets/client.js', url))
      assert.equal(response.status, 200)
      assert.match(response.headers.get('content-type') ?? '', /^text\/javascript/)
    })

    it('garden page shows the peer id', async () => {
      const { url } = await start()
      const text = await (await fetch(new URL(`gardens/${alpha.key.id}`, url))).text()
      assert.match(text, new RegExp(alpha.key.id))
    })

    const pageStatuses: Array<[string, string, number]> = [
      ['unknown garden', `gardens/${UNKNOWN_PEER}`, 404],
      ['malformed peer id', 'gardens/not-a-peer', 400],
      ['unknown deployment', `deployments/${UNKNOWN_DEP}`, 404],
      ['malformed deployment id', 'deployments/int_x', 400],
      ['unknown intent', `intents/${UNKNOWN_INT}`, 404],
      ['unknown path', 'no/such/page', 404]
    ]
    for (const [name, path, status] of pageStatuses) {
      it(`${name} page is ${status}`, async () => {
        const { url } = await start()
        const response = await fetch(new URL(path, url))
        assert.equal(response.status, status)
        assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
      })
    }
  })

  describe('own feed', () => {
    const nodeInfo = { peer: UNKNOWN_PEER, fleet: 'unit', version: '1.0.0', name: 'web-1' }

    it('shows the state in the header', async () => {
      const { url } = await start({ nodeInfo, ownFeed: () => ({ state: 'ready', label: 'ready', detail: null }) })
      const text = await (await fetch(url)).text()
      assert.match(text, /Own feed: <strong id="own-feed-state" class="own-feed-ready">ready<\/strong>/)
      assert.doesNotMatch(text, /id="own-feed"/)
    })

    it('reads the state for each page', async () => {
      let ownFeed: OwnFeedView = { state: 'waiting', label: 'waiting for a first sync', detail: 'this node signs no report until it has synced' }
      const { url } = await start({ nodeInfo, ownFeed: () => ownFeed })
      const waiting = await (await fetch(url)).text()
      assert.match(waiting, /class="own-feed-waiting">waiting for a first sync</)
      assert.match(waiting, /<div id="own-feed" class="banner banner-wait" role="status">/)
      assert.match(waiting, /this node signs no report until it has synced/)

      ownFeed = { state: 'ready', label: 'ready', detail: null }
      const ready = await (await fetch(new URL('deployments', url))).text()
      assert.match(ready, /class="own-feed-ready">ready</)
      assert.doesNotMatch(ready, /id="own-feed"/)
    })

    it('alerts while behind its mark', async () => {
      const detail = 'the feed of this node is missing seq 4 to 17: run `sower bundle import FILE` here'
      const { url } = await start({ nodeInfo, ownFeed: () => ({ state: 'behind', label: 'read-only, behind its feed head mark', detail }) })
      const text = await (await fetch(new URL(`gardens/${UNKNOWN_PEER}`, url))).text()
      assert.match(text, /class="own-feed-behind">read-only, behind its feed head mark</)
      assert.match(text, /<div id="own-feed" class="banner banner-alert" role="alert">/)
      assert.match(text, /missing seq 4 to 17: run `sower bundle import FILE` here/)
    })

    it('is absent without the option', async () => {
      const { url } = await start({ nodeInfo })
      const text = await (await fetch(url)).text()
      assert.match(text, /Served by/)
      assert.doesNotMatch(text, /Own feed/)
    })
  })

  describe('policy end states', () => {
    const ends: Array<[string, Record<string, string | boolean>, string, string]> = [
      ['policy denied', { trigger: 'realtime', reason: 'no rule of subscription web permits any action on realtime' },
        'policy_denied', 'Policy denied'],
      ['staged only', { trigger: 'realtime', action: 'activate', permitted: 'stage', staged: true },
        'staged_only', 'Staged only']
    ]
    for (const [name, detail, status, label] of ends) {
      describe(name, () => {
        beforeEach(async () => {
          const intent = fixture.intent(['web'])
          await fixture.put(intent,
            fixture.event(alpha, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id }),
            fixture.event(alpha, intent, 'policy_denied', { trigger: 'realtime', actor: 'policy', detail }))
        })

        it('has its own API status', async () => {
          const { url } = await start()
          const [deployment] = (await (await fetch(new URL('api/deployments', url))).json()).deployments
          assert.equal(deployment.status, status)
        })

        it('is not pending', async () => {
          const { url } = await start()
          const body = await (await fetch(new URL(`api/gardens/${alpha.key.id}`, url))).json()
          assert.equal(body.garden.pending, 0)
        })

        it('shows its label in the gardens table', async () => {
          const { url } = await start()
          const text = await (await fetch(url)).text()
          assert.match(text, new RegExp(`class="status status-${status}">${label}<`))
          assert.doesNotMatch(text, /In progress/)
        })

        it('shows its label on the deployment page', async () => {
          const { url } = await start()
          const [deployment] = (await (await fetch(new URL('api/deployments', url))).json()).deployments
          const text = await (await fetch(new URL(`deployments/${deployment.id}`, url))).text()
          assert.match(text, new RegExp(`<h1>Deployment of web <span class="status status-${status}">${label}<`))
        })
      })
    }
  })

  describe('waits', () => {
    const OPENS_AT = '2026-01-03T01:00:00.000Z'
    const asked = {
      trigger: 'realtime' as const, actor: 'policy', detail: { action: 'activate', rule: 'prod', trigger: 'realtime', stageNow: true }
    }
    const windowWait = {
      trigger: 'realtime' as const, actor: 'policy', detail: { opensAt: OPENS_AT, zone: 'Europe/Zurich', action: 'activate', rule: 'night' }
    }
    // Each ends as the engine records it: a confirmation wait while the closure stages,
    // and a window wait that an operator confirmed ahead of the window.
    const waits: Array<[string, Array<[EventKind, Partial<EventBody>?]>, string, object, string]> = [
      ['confirmation', [['confirmation_required', asked], ['staging'], ['staged']],
        'confirmation_required', { kind: 'confirmation' }, 'Confirmation required'],
      ['window', [['staging'], ['staged'], ['waiting_for_window', windowWait], ['confirmed', { actor: 'operator' }]],
        'waiting_for_window', { kind: 'window', opensAt: OPENS_AT, zone: 'Europe/Zurich' }, 'Waiting for window (opens Sat 02:00 Europe/Zurich)']
    ]
    for (const [name, steps, status, waiting, label] of waits) {
      describe(`a ${name} wait`, () => {
        const badge = new RegExp(`class="status status-${status}"[^>]*>${escapeRegExp(label)}<`)

        beforeEach(async () => {
          const intent = fixture.intent(['web'])
          await fixture.put(intent,
            fixture.event(alpha, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id }),
            ...steps.map(([kind, init]) => fixture.event(alpha, intent, kind, init)))
        })

        it('has its API status and wait', async () => {
          const { url } = await start()
          const [deployment] = (await (await fetch(new URL('api/deployments', url))).json()).deployments
          assert.equal(deployment.status, status)
          assert.deepEqual(deployment.waiting, waiting)
        })

        it('marks the latest deployment in the API', async () => {
          const { url } = await start()
          const body = await (await fetch(new URL(`api/gardens/${alpha.key.id}`, url))).json()
          assert.deepEqual(body.garden.latestDeployment.waiting, waiting)
          assert.equal(body.garden.pending, 1)
        })

        it('shows its label in the gardens table', async () => {
          const { url } = await start()
          const text = await (await fetch(url)).text()
          assert.match(text, badge)
          assert.doesNotMatch(text, /In progress/)
        })

        it('shows its label in the deployment list', async () => {
          const { url } = await start()
          const text = await (await fetch(new URL('deployments', url))).text()
          assert.match(text, badge)
          assert.doesNotMatch(text, /In progress/)
        })

        it('shows its label on the deployment page', async () => {
          const { url } = await start()
          const [deployment] = (await (await fetch(new URL('api/deployments', url))).json()).deployments
          const text = await (await fetch(new URL(`deployments/${deployment.id}`, url))).text()
          assert.match(text, new RegExp(`<h1>Deployment of web <span ${badge.source}`))
        })
      })
    }
  })

  describe('API', () => {
    const statuses: Array<[string, string, number, string | undefined]> = [
      ['gardens', 'api/gardens', 200, undefined],
      ['unknown garden', `api/gardens/${UNKNOWN_PEER}`, 404, 'ERR_NOT_FOUND'],
      ['malformed peer id', 'api/gardens/x', 400, 'ERR_INVALID_ID'],
      ['deployments', 'api/deployments', 200, undefined],
      ['unknown deployment', `api/deployments/${UNKNOWN_DEP}`, 404, 'ERR_NOT_FOUND'],
      ['malformed deployment id', 'api/deployments/dep_', 400, 'ERR_INVALID_ID'],
      ['malformed garden filter', 'api/deployments?garden=x', 400, 'ERR_INVALID_ID'],
      ['intents', 'api/intents', 200, undefined],
      ['unknown intent', `api/intents/${UNKNOWN_INT}`, 404, 'ERR_NOT_FOUND'],
      ['malformed intent id', `api/intents/${UNKNOWN_DEP}`, 400, 'ERR_INVALID_ID'],
      ['alerts', 'api/alerts', 200, undefined],
      ['unknown route', 'api/nothing', 404, 'ERR_NOT_FOUND']
    ]
    for (const [name, path, status, code] of statuses) {
      it(`${name} is ${status}`, async () => {
        const { url } = await start()
        const response = await fetch(new URL(path, url))
        assert.equal(response.status, status)
        assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
        const body = await response.json()
        if (code != null) {
          assert.equal(body.error.code, code)
          assert.equal(typeof body.error.message, 'string')
        }
      })
    }

    it('400 names the expected form', async () => {
      const { url } = await start()
      const body = await (await fetch(new URL('api/deployments/nope', url))).json()
      assert.match(body.error.message, /expected a deployment id: dep_/)
    })

    it('gardens sort and page', async () => {
      const { url } = await start()
      const body = await (await fetch(new URL('api/gardens?sort=name&dir=desc&size=1&page=2', url))).json()
      assert.equal(body.total, 2)
      assert.equal(body.pages, 2)
      assert.deepEqual(body.gardens.map((garden: { name: string }) => garden.name), ['alpha'])
    })

    it('gardens unknown sort falls back', async () => {
      const { url } = await start()
      const response = await fetch(new URL('api/gardens?sort=evil&cols=bogus', url))
      assert.equal(response.status, 200)
      assert.equal((await response.json()).sort, 'name')
    })

    it('deployment shows events in words', async () => {
      const intent = fixture.intent(['web'])
      await fixture.put(intent, fixture.event(alpha, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id }))
      const { url } = await start()
      const [deployment] = (await (await fetch(new URL('api/deployments', url))).json()).deployments
      const body = await (await fetch(new URL(`api/deployments/${deployment.id}`, url))).json()
      assert.equal(body.events[0].description, 'Received by gossip while online, signed by admin admin')
    })

    it('intent counts applied targets', async () => {
      const intent = fixture.intent(['web'])
      await fixture.put(intent, fixture.event(alpha, intent, 'result', { result: 'success' }))
      const { url } = await start()
      const body = await (await fetch(new URL(`api/intents/${intent.id}`, url))).json()
      assert.equal(body.intent.applied, 1)
      assert.equal(body.intent.targetCount, 2)
      assert.match(body.intent.releases[0].storePath, /^\/nix\/store\//)
    })
  })

  describe('intent releases', () => {
    it('list reads no intent record', async () => {
      const intents = [fixture.intent(['web']), fixture.intent(['web', 'db'])]
      await fixture.put(...intents)
      const reads: string[] = []
      const get = fixture.store.get.bind(fixture.store)
      fixture.store.get = async id => {
        reads.push(id)
        return await get(id)
      }
      const { url } = await start()

      const body = await (await fetch(new URL('api/intents', url))).json()
      await fetch(new URL('intents', url))

      assert.deepEqual(body.intents.map((intent: any) => intent.releases.map((release: any) => release.seed)), [['web', 'db'], ['web']])
      assert.equal(body.intents[0].releases[1].storePath, (intents[1].body as DeployIntentBody).releases[1].storePath)
      assert.deepEqual(reads.filter(id => id.startsWith('int_')), [])
    })
  })

  describe('token', () => {
    it('rejects a page request without token', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(url)
      assert.equal(response.status, 401)
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/)
    })

    it('rejects an API request without token', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(new URL('api/gardens', url))
      assert.equal(response.status, 401)
      assert.equal((await response.json()).error.code, 'ERR_UNAUTHORIZED')
    })

    it('rejects a wrong token', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(new URL('api/gardens', url), { headers: { authorization: `Bearer ${TOKEN}x` } })
      assert.equal(response.status, 401)
    })

    it('accepts a bearer token', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(new URL('api/gardens', url), { headers: { authorization: `Bearer ${TOKEN}` } })
      assert.equal(response.status, 200)
    })

    it('query token sets a cookie and redirects', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(new URL(`?sort=name&token=${TOKEN}`, url), { redirect: 'manual' })
      assert.equal(response.status, 303)
      assert.equal(response.headers.get('location'), '/?sort=name')
      const cookie = response.headers.get('set-cookie') ?? ''
      assert.match(cookie, /^sower_token=/)
      assert.match(cookie, /HttpOnly/i)
      assert.match(cookie, /SameSite=Strict/i)
    })

    it('accepts the cookie', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(url, { headers: { cookie: `sower_token=${TOKEN}` } })
      assert.equal(response.status, 200)
    })

    it('guards the event stream', async () => {
      const { url } = await start({ token: TOKEN })
      const response = await fetch(new URL('events', url))
      assert.equal(response.status, 401)
    })

    it('guards the assets', async () => {
      const { url } = await start({ token: TOKEN })
      assert.equal((await fetch(new URL('assets/client.js', url))).status, 401)
    })
  })

  describe('host check', () => {
    it('rejects a foreign host name', async () => {
      const { url } = await start()
      assert.equal(await getWithHost(url, 'evil.example:80'), 403)
    })

    it('accepts localhost', async () => {
      const { url } = await start()
      assert.equal(await getWithHost(url, 'localhost:8080'), 200)
    })
  })

  describe('escaping', () => {
    const payload = '"><img src=x onerror=alert(1)><script>alert(2)</script>'

    it('shows a hostile name as text', async () => {
      const hostile = await fixture.enroll(payload)
      await fixture.put(fixture.report(hostile, { agentVersion: payload, addresses: [payload] }))
      const { url } = await start()
      for (const path of ['', `gardens/${hostile.key.id}`, '?cols=peer,version,addresses,tags']) {
        const text = await (await fetch(new URL(path, url))).text()
        assert.doesNotMatch(text, /<img/, path)
        assert.doesNotMatch(text, /<script>alert/, path)
        assert.match(text, /&quot;>&lt;img src=x onerror=alert\(1\)>&lt;script>alert\(2\)&lt;\/script>/, path)
      }
    })

    it('API returns the name as JSON data', async () => {
      const hostile = await fixture.enroll(payload)
      const { url } = await start()
      const response = await fetch(new URL(`api/gardens/${hostile.key.id}`, url))
      assert.match(response.headers.get('content-type') ?? '', /^application\/json/)
      assert.equal((await response.json()).garden.name, payload)
    })
  })

  describe('fork alerts', () => {
    async function storeFork (): Promise<void> {
      // A second signer with alpha's key starts its feed again at seq 1.
      const replay = feedSigner(fixture.fleet.fleet, alpha.key, { seq: 0, prev: null }, fixture.nowMs)
      const forked = replay.sign('report', { agentVersion: '6.6.6', addresses: [], subscriptions: [], profiles: [] })
      const result = await fixture.store.put(forked, { via: 'sync', receivedAt: new Date().toISOString() })
      assert.equal(result.status, 'fork')
    }

    it('API lists the fork', async () => {
      await storeFork()
      const { url } = await start()
      const { alerts } = await (await fetch(new URL('api/alerts', url))).json()
      assert.equal(alerts.length, 1)
      assert.equal(alerts[0].author, alpha.key.id)
      assert.equal(alerts[0].gardenName, 'alpha')
    })

    it('every page shows the banner', async () => {
      await storeFork()
      const { url } = await start()
      for (const path of ['', 'deployments', 'intents', `gardens/${beta.key.id}`]) {
        const text = await (await fetch(new URL(path, url))).text()
        assert.match(text, /role="alert"/, path)
        assert.match(text, /1 fork alert/, path)
      }
    })

    it('no banner without forks', async () => {
      const { url } = await start()
      assert.doesNotMatch(await (await fetch(url)).text(), /role="alert"/)
    })

    /** Stores a fork of each of `count` new keys, as alerts of `reporter` proved them. */
    async function storeReportedForks (count: number, reporter: GardenFeed): Promise<ForkPair[]> {
      const pairs: ForkPair[] = []
      for (let index = 0; index < count; index++) {
        const pair = forkOf(fixture.fleet.fleet, generateKey())
        const alert = `alr_${String(index).padStart(52, 'a')}`
        const result = await fixture.store.putReportedFork({ records: pair, alert, reportedBy: reporter.key.id },
          { via: 'gossip', receivedAt: new Date().toISOString() })
        assert.equal(result.status, 'fork')
        pairs.push(pair)
      }
      return pairs
    }

    it('API pages the alerts', async () => {
      await storeReportedForks(3, beta)
      const { url } = await start()
      const first = await (await fetch(new URL('api/alerts?size=2', url))).json()
      const second = await (await fetch(new URL('api/alerts?size=2&page=2', url))).json()
      assert.equal(first.total, 3)
      assert.equal(first.pages, 2)
      assert.equal(first.alerts.length, 2)
      assert.equal(second.page, 2)
      assert.equal(second.alerts.length, 1)
      const authors = new Set([...first.alerts, ...second.alerts].map((alert: any) => alert.author))
      assert.equal(authors.size, 3)
    })

    it('API shows the evidence', async () => {
      const [pair] = await storeReportedForks(1, beta)
      const { url } = await start()
      const { alerts: [alert] } = await (await fetch(new URL('api/alerts', url))).json()
      assert.equal(alert.author, pair[0].author)
      assert.equal(alert.seq, 1)
      assert.deepEqual(alert.records, pair.map(record => record.id))
      assert.equal(alert.reportedBy, beta.key.id)
      assert.equal(alert.reportedByName, 'beta')
      assert.match(alert.alert, /^alr_/)
    })

    it('page lists one page of alerts', async () => {
      await storeReportedForks(3, beta)
      const { url } = await start()
      const text = await (await fetch(new URL('alerts?size=2&page=2', url))).text()
      assert.equal(text.match(/<li class="alert"/g)?.length, 1)
      assert.match(text, /Alerts 3–3 of 3, page 2 of 2/)
      assert.match(text, /href="\/alerts\?page=1&amp;size=2"/)
    })

    it('page shows the evidence and reporter', async () => {
      const [pair] = await storeReportedForks(1, beta)
      const { url } = await start()
      const text = await (await fetch(new URL('alerts', url))).text()
      for (const record of pair) {
        assert.match(text, new RegExp(record.id))
      }
      assert.match(text, new RegExp(`key <code>${pair[0].author}</code></strong> at feed position 1`))
      assert.match(text, /Reported by garden <a href="\/gardens\/[^"]+">beta<\/a>/)
      assert.match(text, /two records at seq 1/)
    })

    it('page names a fork this node detected', async () => {
      await storeFork()
      const { url } = await start()
      const text = await (await fetch(new URL('alerts', url))).text()
      assert.match(text, /Fork by garden <a href="[^"]+">alpha<\/a>/)
      assert.match(text, /Detected by this node\./)
    })

    it('live change reports the alert', async () => {
      const { url } = await start({ live: { coalesceMs: 20 } })
      const stream = await openEvents(url)
      streams.push(stream)
      const next = stream.nextChange()
      await storeFork()
      assert.equal((await next).alerts, true)
      const text = await (await fetch(url)).text()
      assert.match(text, /1 fork alert/)
    })
  })

  describe('live updates', () => {
    it('sends a change when an event is stored', async () => {
      const { url } = await start({ live: { coalesceMs: 20 } })
      const stream = await openEvents(url)
      streams.push(stream)
      const intent = fixture.intent(['web'])
      const event = fixture.event(alpha, intent, 'received', { trigger: 'realtime' })
      const meta = { via: 'sync' as const, receivedAt: new Date().toISOString() }
      const next = stream.nextChange()
      await fixture.store.putMany([{ record: intent, meta }, { record: event, meta }])
      const change = await next
      assert.ok(change.gardens.includes(alpha.key.id))
      assert.ok(change.deployments.includes(event.body.deployment))
      assert.ok(change.intents.includes(intent.id))
    })

    it('coalesces a burst into one message', async () => {
      const { url } = await start({ live: { coalesceMs: 300 } })
      const stream = await openEvents(url)
      streams.push(stream)
      const intent = fixture.intent(['web'])
      const records = [intent, fixture.report(alpha), fixture.report(beta), fixture.event(alpha, intent, 'received'), fixture.event(beta, intent, 'received')]
      const meta = { via: 'sync' as const, receivedAt: new Date().toISOString() }
      const next = stream.nextChange()
      await fixture.store.putMany(records.map(record => ({ record, meta })))
      const change = await next
      assert.deepEqual([...change.gardens].sort(), [alpha.key.id, beta.key.id].sort())
      await new Promise(resolve => setTimeout(resolve, 400))
      assert.equal(stream.changes.length, 1)
    })

    it('rejects clients over the limit', async () => {
      const { url } = await start({ live: { maxClients: 1 } })
      const first = await openEvents(url)
      streams.push(first)
      assert.equal(first.status, 200)
      const response = await fetch(new URL('events', url))
      assert.equal(response.status, 503)
      assert.equal((await response.json()).error.code, 'ERR_TOO_MANY_CLIENTS')
    })

    it('a closed client frees its slot', async () => {
      const { url } = await start({ live: { maxClients: 1 } })
      const first = await openEvents(url)
      first.close()
      let status = 0
      // The server notices the closed socket shortly after; poll a bounded number of times.
      for (let attempt = 0; attempt < 50 && status !== 200; attempt++) {
        const second = await openEvents(url)
        streams.push(second)
        status = second.status
        if (status !== 200) await new Promise(resolve => setTimeout(resolve, 20))
      }
      assert.equal(status, 200)
    })

    it('close ends open streams', async () => {
      const started = await start()
      const stream = await openEvents(started.url)
      streams.push(stream)
      await started.close()
      await stream.ended
    })
  })
})

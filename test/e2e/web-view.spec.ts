import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'
import { silentLogger } from '../../src/logger.ts'
import type { DeploymentResult, SignedRecord } from '../../src/records/index.ts'
import { startWebView } from '../../src/web/index.ts'
import type { WebView } from '../../src/web/index.ts'
import { openFleetStore } from '../utils/web-store.ts'
import type { FleetStore, GardenFeed } from '../utils/web-store.ts'

const CHROMIUM = '/usr/bin/chromium'
const LAUNCH_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking']
const HOSTILE_NAME = '"><img src=x onerror=alert(1)><script>alert(2)</script>'

/** Latest result per garden: which gardens deployed and how; the others never deployed. */
const RESULTS: Record<string, DeploymentResult | undefined> = {
  'garden-1': 'success',
  'garden-2': 'failure',
  'garden-3': 'partial',
  'garden-4': undefined,
  'garden-5': 'success',
  'garden-6': undefined,
  'garden-7': 'failure'
}

async function rowNames (page: Page): Promise<string[]> {
  return await page.locator('#gardens-body th.col-name').allTextContents()
}

async function headerKeys (page: Page): Promise<string[]> {
  const classes = await page.locator('#gardens thead th[class^="col-"]').evaluateAll(cells =>
    cells.map(cell => cell.className))
  return classes.filter(name => name !== 'col-chooser-cell').map(name => name.replace(/^col-/, ''))
}

function resultCell (page: Page, name: string): ReturnType<Page['locator']> {
  return page.locator('#gardens-body tr', { has: page.locator('th.col-name', { hasText: name }) }).locator('td.col-result')
}

// Each test starts a real record store filled with signed records, a web
// view on 127.0.0.1 and a headless Chromium, and stops all three after.
describe('web view in a browser', function () {
  this.timeout(60_000)
  let fixture: FleetStore
  let view: WebView | undefined
  let browser: Browser | undefined
  let page: Page
  let gardens: Map<string, GardenFeed>
  let intent: SignedRecord<'intent'>

  before(function () {
    if (!existsSync(CHROMIUM)) {
      // The browser tests need Debian's chromium package; .ci/run installs it.
      this.skip()
    }
  })

  beforeEach(async () => {
    fixture = await openFleetStore()
    gardens = new Map()
    for (const name of Object.keys(RESULTS)) {
      const garden = await fixture.enroll(name, ['lab'])
      await fixture.put(fixture.report(garden))
      gardens.set(name, garden)
    }
    intent = fixture.intent(['web'])
    await fixture.put(intent)
    for (const [name, result] of Object.entries(RESULTS)) {
      if (result == null) continue
      const garden = gardens.get(name) as GardenFeed
      await fixture.put(
        fixture.event(garden, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id }),
        fixture.event(garden, intent, 'result', { result })
      )
    }
    view = await startWebView({ store: fixture.store, logger: silentLogger() }, { live: { coalesceMs: 50 } })
    browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS })
    page = await browser.newPage()
  })

  afterEach(async () => {
    await browser?.close()
    browser = undefined
    await view?.close()
    view = undefined
    await fixture.close()
  })

  function url (path = ''): string {
    return new URL(path, view?.url).toString()
  }

  it('sorts results with never-deployed last, then first', async () => {
    await page.goto(url())
    await page.click('a[data-sort="result"]')
    await page.waitForURL(/sort=result&dir=asc/)
    assert.deepEqual(await rowNames(page),
      ['garden-2', 'garden-7', 'garden-3', 'garden-1', 'garden-5', 'garden-4', 'garden-6'])

    await page.click('a[data-sort="result"]')
    await page.waitForURL(/sort=result&dir=desc/)
    assert.deepEqual(await rowNames(page),
      ['garden-4', 'garden-6', 'garden-1', 'garden-5', 'garden-3', 'garden-2', 'garden-7'])
  })

  it('sorts names both ways', async () => {
    await page.goto(url())
    assert.deepEqual(await rowNames(page), Object.keys(RESULTS))
    await page.click('a[data-sort="name"]')
    await page.waitForURL(/dir=desc/)
    assert.deepEqual(await rowNames(page), Object.keys(RESULTS).reverse())
  })

  it('keeps a hidden column after reload, sort and paging', async () => {
    await page.goto(url('?size=3'))
    assert.ok((await headerKeys(page)).includes('version'))

    await page.click('#col-chooser summary')
    await page.click('a[aria-label="Hide the Version column"]')
    await page.waitForURL(/cols=/)
    assert.ok(!(await headerKeys(page)).includes('version'))
    assert.equal(await page.locator('#gardens-body td.col-version').count(), 0)

    await page.reload()
    assert.ok(!(await headerKeys(page)).includes('version'))

    await page.click('a[data-sort="lastSeen"]')
    await page.waitForURL(/sort=lastSeen/)
    assert.ok(!(await headerKeys(page)).includes('version'))

    await page.click('#gardens-pager a:text-is("Next")')
    await page.waitForURL(/page=2/)
    assert.ok(!(await headerKeys(page)).includes('version'))
    const params = new URL(page.url()).searchParams
    assert.equal(params.get('sort'), 'lastSeen')
    assert.equal(params.get('size'), '3')
    assert.equal(await page.locator('#gardens-body tr').count(), 3)
  })

  it('never hides the name column', async () => {
    await page.goto(url())
    await page.click('#col-chooser summary')
    const nameChoice = page.locator('#col-chooser li[data-col="name"]')
    assert.equal(await nameChoice.locator('a').count(), 0)
    assert.equal(await nameChoice.locator('input[type="checkbox"]').isDisabled(), true)
    assert.equal(await nameChoice.locator('input[type="checkbox"]').isChecked(), true)

    for (const cols of ['', 'name', 'bogus', 'version']) {
      await page.goto(url(`?cols=${cols}`))
      assert.deepEqual(await rowNames(page), Object.keys(RESULTS), `cols=${cols}`)
      assert.equal((await headerKeys(page))[0], 'name', `cols=${cols}`)
    }
  })

  it('shows a new result without reload', async () => {
    await page.goto(url())
    await page.waitForSelector('#live-status[data-state="live"]')
    await page.evaluate(() => { (window as any).notReloaded = true })
    assert.equal((await resultCell(page, 'garden-4').textContent())?.trim(), 'Never deployed')

    const garden = gardens.get('garden-4') as GardenFeed
    await fixture.put(
      fixture.event(garden, intent, 'received', { trigger: 'poll_on_connect' }),
      fixture.event(garden, intent, 'result', { result: 'success' })
    )
    await resultCell(page, 'garden-4').getByText('Success').waitFor()
    assert.equal(await page.evaluate(() => (window as any).notReloaded), true)
  })

  it('shows waits without reload', async () => {
    await page.goto(url())
    await page.waitForSelector('#live-status[data-state="live"]')
    const garden = gardens.get('garden-4') as GardenFeed
    const asked = { action: 'activate', rule: 'prod', trigger: 'realtime', stageNow: true }
    await fixture.put(
      fixture.event(garden, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id }),
      fixture.event(garden, intent, 'confirmation_required', { trigger: 'realtime', actor: 'policy', detail: asked }),
      fixture.event(garden, intent, 'staging', { actor: 'garden' }),
      fixture.event(garden, intent, 'staged', { actor: 'garden', detail: { source: 'present' } })
    )
    await resultCell(page, 'garden-4').getByText('Confirmation required').waitFor()

    const opening = { opensAt: '2026-01-03T01:00:00.000Z', zone: 'Europe/Zurich', action: 'activate', rule: 'night' }
    await fixture.put(
      fixture.event(garden, intent, 'confirmed', { trigger: 'realtime', actor: 'operator' }),
      fixture.event(garden, intent, 'waiting_for_window', { trigger: 'realtime', actor: 'policy', detail: opening })
    )
    const badge = resultCell(page, 'garden-4').getByText('Waiting for window (opens Sat 02:00 Europe/Zurich)')
    await badge.waitFor()
    assert.equal(await badge.getAttribute('title'), '2026-01-03 01:00:00 UTC')

    await page.goto(url('deployments'))
    const row = page.locator('#deployments-body tr', { has: page.locator('a', { hasText: 'garden-4' }) })
    assert.equal((await row.locator('td.col-result').textContent())?.trim(), 'Waiting for window (opens Sat 02:00 Europe/Zurich)')
  })

  it('updates a deployment timeline live', async () => {
    const garden = gardens.get('garden-6') as GardenFeed
    const received = fixture.event(garden, intent, 'received', { trigger: 'realtime', actor: fixture.fleet.admin.id })
    await fixture.put(received)
    await page.goto(url(`deployments/${received.body.deployment}`))
    await page.waitForSelector('#live-status[data-state="live"]')
    await page.getByText('Received by gossip while online, signed by admin admin').waitFor()

    const reason = 'no rule of subscription web permits any action on realtime'
    await fixture.put(fixture.event(garden, intent, 'policy_denied', { trigger: 'realtime', actor: 'policy', detail: { trigger: 'realtime', reason } }))
    await page.getByText(`Policy denied: ${reason}`).waitFor()
    assert.equal(await page.locator('li.event.tone-policy').count(), 1)
    assert.equal(await page.locator('h1 .status-policy_denied').count(), 1)
  })

  it('shows a hostile name as text', async () => {
    const dialogs: string[] = []
    page.on('dialog', dialog => {
      dialogs.push(dialog.message())
      dialog.dismiss().catch(() => {})
    })
    const hostile = await fixture.enroll(HOSTILE_NAME)
    await fixture.put(fixture.report(hostile, { agentVersion: HOSTILE_NAME, addresses: [HOSTILE_NAME] }))

    await page.goto(url('?cols=version,addresses,tags'), { waitUntil: 'load' })
    const cell = page.locator('#gardens-body th.col-name', { hasText: 'onerror' })
    assert.equal(await cell.textContent(), HOSTILE_NAME)
    assert.equal(await page.locator('#gardens-body img').count(), 0)
    assert.equal(await page.locator('#gardens-body script').count(), 0)

    await page.goto(url(`gardens/${hostile.key.id}`), { waitUntil: 'load' })
    assert.equal(await page.locator('h1').first().textContent(), HOSTILE_NAME)
    assert.equal(await page.locator('main img').count(), 0)
    assert.deepEqual(dialogs, [])
  })

  it('reconnects after a server restart', async () => {
    await page.goto(url())
    await page.waitForSelector('#live-status[data-state="live"]')
    const port = Number(new URL(url()).port)

    await view?.close()
    await page.waitForSelector('#live-status[data-state="offline"]')
    view = await startWebView({ store: fixture.store, logger: silentLogger() }, { port, live: { coalesceMs: 50 } })
    await page.waitForSelector('#live-status[data-state="live"]', { timeout: 20_000 })

    const garden = gardens.get('garden-6') as GardenFeed
    await fixture.put(fixture.event(garden, intent, 'result', { result: 'failure' }))
    await resultCell(page, 'garden-6').getByText('Failure').waitFor()
  })
})

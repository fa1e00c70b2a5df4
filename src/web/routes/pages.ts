import type { FastifyInstance } from 'fastify'
import { html } from '../render/html.ts'
import { AlertsPage } from '../render/alerts-page.ts'
import { DeploymentPage, DeploymentsPage } from '../render/deployment-pages.ts'
import { GardenPage } from '../render/garden-page.ts'
import { GardensPage } from '../render/gardens-page.ts'
import { IntentPage, IntentsPage } from '../render/intent-pages.ts'
import { parsePageQuery, parseTableQuery } from '../table/index.ts'
import { loadAlerts, loadDeployment, loadDeployments, loadGarden, loadGardens, loadIntent, loadIntents } from '../views.ts'
import { sendPage } from './context.ts'
import type { RouteContext } from './context.ts'
import { optionalFilter, parseDeploymentId, parseIntentId, parseLimit, parsePeerId } from './ids.ts'

export const LIST_DEFAULT_LIMIT = 100
export const LIST_MAX_LIMIT = 1000

type Params = Record<string, string>
type Query = Record<string, unknown>

/** Registers the HTML pages. */
export function registerPages (app: FastifyInstance, context: RouteContext): void {
  app.get('/', async (request, reply) => {
    const view = await loadGardens(context.data, parseTableQuery(request.query as Query), context.nowMs())
    return await sendPage(context, reply, {
      title: 'Gardens',
      section: 'gardens',
      page: { view: 'gardens' },
      body: html`<${GardensPage} view=${view} />`
    })
  })

  app.get('/gardens/:peer', async (request, reply) => {
    const peer = parsePeerId((request.params as Params).peer)
    const view = await loadGarden(context.data, peer, context.nowMs())
    return await sendPage(context, reply, {
      title: view.garden.name,
      section: 'gardens',
      page: { view: 'garden', peer },
      body: html`<${GardenPage} view=${view} />`
    })
  })

  app.get('/deployments', async (request, reply) => {
    const query = request.query as Query
    const filter = {
      garden: optionalFilter(query.garden, parsePeerId),
      intent: optionalFilter(query.intent, parseIntentId)
    }
    const limit = parseLimit(query.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    const view = await loadDeployments(context.data, withoutUndefined(filter), limit, context.nowMs())
    return await sendPage(context, reply, {
      title: 'Deployments',
      section: 'deployments',
      page: { view: 'deployments' },
      body: html`<${DeploymentsPage} view=${view} />`
    })
  })

  app.get('/deployments/:id', async (request, reply) => {
    const id = parseDeploymentId((request.params as Params).id)
    const view = await loadDeployment(context.data, id, context.nowMs())
    return await sendPage(context, reply, {
      title: `Deployment of ${view.deployment.seed}`,
      section: 'deployments',
      page: { view: 'deployment', deployment: id },
      body: html`<${DeploymentPage} view=${view} />`
    })
  })

  app.get('/intents', async (request, reply) => {
    const limit = parseLimit((request.query as Query).limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    const view = await loadIntents(context.data, limit, context.nowMs())
    return await sendPage(context, reply, {
      title: 'Intents',
      section: 'intents',
      page: { view: 'intents' },
      body: html`<${IntentsPage} view=${view} />`
    })
  })

  app.get('/intents/:id', async (request, reply) => {
    const id = parseIntentId((request.params as Params).id)
    const view = await loadIntent(context.data, id, context.nowMs())
    return await sendPage(context, reply, {
      title: `Intent ${id.slice(0, 12)}`,
      section: 'intents',
      page: { view: 'intent', intent: id },
      body: html`<${IntentPage} view=${view} />`
    })
  })

  app.get('/alerts', async (request, reply) => {
    const view = await loadAlerts(context.data, parsePageQuery(request.query as Query))
    return await sendPage(context, reply, {
      title: 'Alerts',
      section: 'alerts',
      page: { view: 'alerts' },
      body: html`<${AlertsPage} view=${view} />`
    })
  })
}

export function withoutUndefined<T extends object> (value: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as any
}

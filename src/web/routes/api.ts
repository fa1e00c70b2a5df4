import type { FastifyInstance } from 'fastify'
import type { GardenSummary } from '../../store/index.ts'
import { describeEvent } from '../render/event-words.ts'
import { deploymentStatus } from '../render/wording.ts'
import { parsePageQuery, parseTableQuery } from '../table/index.ts'
import { loadAlerts, loadDeployment, loadDeployments, loadGarden, loadGardens, loadIntent, loadIntents } from '../views.ts'
import type { RouteContext } from './context.ts'
import { optionalFilter, parseDeploymentId, parseIntentId, parseLimit, parsePeerId } from './ids.ts'
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT, withoutUndefined } from './pages.ts'

type Params = Record<string, string>
type Query = Record<string, unknown>

/** Returns a summary without the store's internal bookkeeping fields. */
function publicSummary<T extends object> (summary: T): T {
  const { tracking: _tracking, ...rest } = summary as T & { tracking?: unknown }
  return rest as T
}

function gardenJson (garden: GardenSummary): GardenSummary {
  return publicSummary(garden)
}

/** Registers the JSON API: the same data as the pages, for scripts. */
export function registerApi (app: FastifyInstance, context: RouteContext): void {
  app.get('/api/gardens', async (request) => {
    const view = await loadGardens(context.data, parseTableQuery(request.query as Query), context.nowMs())
    const { page, query } = view
    return {
      sort: query.sort,
      dir: query.dir,
      page: page.page,
      size: page.size,
      pages: page.pages,
      total: page.total,
      gardens: page.rows.map(gardenJson)
    }
  })

  app.get('/api/gardens/:peer', async (request) => {
    const peer = parsePeerId((request.params as Params).peer)
    const view = await loadGarden(context.data, peer, context.nowMs())
    return {
      garden: gardenJson(view.garden),
      certificate: view.certificate ?? null,
      report: view.report ?? null,
      deployments: view.deployments.map(publicSummary)
    }
  })

  app.get('/api/deployments', async (request) => {
    const query = request.query as Query
    const filter = withoutUndefined({
      garden: optionalFilter(query.garden, parsePeerId),
      intent: optionalFilter(query.intent, parseIntentId)
    })
    const limit = parseLimit(query.limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    const view = await loadDeployments(context.data, filter, limit, context.nowMs())
    return {
      deployments: view.deployments.map(deployment => ({
        ...publicSummary(deployment),
        status: deploymentStatus(deployment)
      }))
    }
  })

  app.get('/api/deployments/:id', async (request) => {
    const id = parseDeploymentId((request.params as Params).id)
    const view = await loadDeployment(context.data, id, context.nowMs())
    return {
      deployment: {
        ...publicSummary(view.deployment),
        status: deploymentStatus(view.deployment)
      },
      events: view.events.map(event => ({
        id: event.id,
        description: describeEvent(event.body, view.admins, view.deployment.trigger).title,
        ...event.body
      }))
    }
  })

  app.get('/api/intents', async (request) => {
    const limit = parseLimit((request.query as Query).limit, LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT)
    const view = await loadIntents(context.data, limit, context.nowMs())
    return {
      intents: view.intents.map(row => ({ ...publicSummary(row.summary), targetCount: row.targetCount }))
    }
  })

  app.get('/api/intents/:id', async (request) => {
    const id = parseIntentId((request.params as Params).id)
    const view = await loadIntent(context.data, id, context.nowMs())
    return {
      intent: { ...publicSummary(view.row.summary), targetCount: view.row.targetCount },
      body: view.body ?? null,
      deployments: view.deployments.map(publicSummary)
    }
  })

  app.get('/api/alerts', async (request) => {
    const { page } = await loadAlerts(context.data, parsePageQuery(request.query as Query))
    return { page: page.page, size: page.size, pages: page.pages, total: page.total, alerts: page.rows }
  })
}

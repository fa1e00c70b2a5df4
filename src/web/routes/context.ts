import type { FastifyReply } from 'fastify'
import type { WebData } from '../data.ts'
import type { LiveHub } from '../live.ts'
import { html, renderDocument } from '../render/html.ts'
import type { VNode } from '../render/html.ts'
import { Layout } from '../render/layout.ts'
import type { NodeInfo, OwnFeedView, PageData, Section } from '../render/layout.ts'

/** Dependencies of every route handler. */
export interface RouteContext {
  data: WebData
  hub: LiveHub
  nodeInfo?: NodeInfo
  /** The serving node's own feed now, read for each page. */
  ownFeed?: () => OwnFeedView | null
  /** Current time in milliseconds; tests pass a fixed clock. */
  nowMs: () => number
}

export interface PageParts {
  title: string
  section?: Section
  page: PageData
  body: VNode | VNode[]
  statusCode?: number
}

/** Renders a page inside the layout and sends it; pages are never cached, since they change live. */
export async function sendPage (context: RouteContext, reply: FastifyReply, parts: PageParts): Promise<FastifyReply> {
  let alertCount = 0
  try {
    alertCount = (await context.data.alerts()).length
  } catch (err) {
    context.data.logger.error({ err }, 'reading fork alerts for the page header failed')
  }
  const document = renderDocument(html`<${Layout} title=${parts.title} section=${parts.section} page=${parts.page}
    alertCount=${alertCount} nodeInfo=${context.nodeInfo} ownFeed=${context.ownFeed?.() ?? undefined}>${parts.body}</${Layout}>`)
  return await reply
    .code(parts.statusCode ?? 200)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(document)
}

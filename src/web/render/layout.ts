import { html, jsonScript } from './html.ts'
import type { VNode } from './html.ts'

/** Facts about the node that serves the view, shown in the page header. */
export interface NodeInfo {
  name?: string
  peer?: string
  fleet?: string
  version?: string
}

/** The serving node's own feed: whether it signs its records now, and why not. */
export interface OwnFeedView {
  state: 'waiting' | 'ready' | 'behind' | 'forked' | 'stopped'
  /** Short name of the state, such as `waiting for a first sync`. */
  label: string
  /** Explanation of why the node does not sign, with the fix where one is needed; null when ready. */
  detail: string | null
}

export type Section = 'gardens' | 'deployments' | 'intents' | 'alerts'

/** Facts the client script uses to decide which live changes concern a page. */
export interface PageData {
  view: 'gardens' | 'garden' | 'deployments' | 'deployment' | 'intents' | 'intent' | 'alerts' | 'error'
  peer?: string
  deployment?: string
  intent?: string
}

export interface LayoutProps {
  title: string
  section?: Section
  page: PageData
  alertCount: number
  nodeInfo?: NodeInfo
  ownFeed?: OwnFeedView
  children: VNode | VNode[]
}

const SECTIONS: Array<[Section, string, string]> = [
  ['gardens', 'Gardens', '/'],
  ['deployments', 'Deployments', '/deployments'],
  ['intents', 'Intents', '/intents'],
  ['alerts', 'Alerts', '/alerts']
]

function NavLinks ({ section, alertCount }: { section?: Section, alertCount: number }): VNode {
  return html`<nav aria-label="Sections"><ul>
    ${SECTIONS.map(([key, label, href]) => html`<li>
      <a href=${href} aria-current=${key === section ? 'page' : undefined}>${label}${key === 'alerts' && alertCount > 0
        ? html` <span class="count alert-count">${alertCount}</span>`
        : null}</a>
    </li>`)}
  </ul></nav>`
}

function ServedBy ({ nodeInfo, ownFeed }: { nodeInfo?: NodeInfo, ownFeed?: OwnFeedView }): VNode | null {
  if (nodeInfo == null && ownFeed == null) return null
  const name = nodeInfo?.name ?? nodeInfo?.peer
  return html`<p class="served-by">
    ${name != null ? html`Served by <strong title=${nodeInfo?.peer}>${name}</strong>` : 'Served by this node'}
    ${nodeInfo?.fleet != null ? html` in fleet <strong>${nodeInfo.fleet}</strong>` : null}
    ${nodeInfo?.version != null ? html`, Sower ${nodeInfo.version}` : null}
    ${ownFeed != null
      ? html`. Own feed: <strong id="own-feed-state" class=${`own-feed-${ownFeed.state}`}>${ownFeed.label}</strong>`
      : null}
  </p>`
}

/**
 * Renders a banner on why the serving node does not sign its own records,
 * or nothing while it does. A feed that is behind its mark or forked needs
 * the operator, so its banner is an alert.
 */
function OwnFeedBanner ({ ownFeed }: { ownFeed?: OwnFeedView }): VNode | null {
  if (ownFeed?.detail == null) return null
  const urgent = ownFeed.state === 'behind' || ownFeed.state === 'forked'
  return html`<div id="own-feed" class=${urgent ? 'banner banner-alert' : 'banner banner-wait'} role=${urgent ? 'alert' : 'status'}>
    <strong>Own feed ${ownFeed.label}:</strong> ${ownFeed.detail}
  </div>`
}

/** Renders the fork alert banner, on every page because a compromised key is the most urgent news. */
export function AlertBanner ({ alertCount }: { alertCount: number }): VNode {
  return html`<div id="alert-banner" data-live="">
    ${alertCount > 0
      ? html`<div class="banner banner-alert" role="alert">
          <strong>${alertCount === 1 ? '1 fork alert' : `${alertCount} fork alerts`}:</strong>
          a key signed two different records at one position of its feed, so it may be compromised.
          Its records are refused. <a href="/alerts">See the evidence</a>.
        </div>`
      : null}
  </div>`
}

/** Renders the frame of every page: head, header with navigation and read-only notice, alerts, content. */
export function Layout (props: LayoutProps): VNode {
  return html`<html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>${props.title} · Sower</title>
      <link rel="stylesheet" href="/assets/style.css" />
      <script src="/assets/client.js" defer></script>
    </head>
    <body>
      <header class="top">
        <a class="brand" href="/">Sower</a>
        <${NavLinks} section=${props.section} alertCount=${props.alertCount} />
        <p class="mode" title="This view shows the fleet's records and offers no actions">Read-only view</p>
        <p class="live-status" id="live-status" aria-live="polite" hidden="">Live updates connected</p>
      </header>
      <${ServedBy} nodeInfo=${props.nodeInfo} ownFeed=${props.ownFeed} />
      <${OwnFeedBanner} ownFeed=${props.ownFeed} />
      <${AlertBanner} alertCount=${props.alertCount} />
      <main id="main">${props.children}</main>
      ${jsonScript('page-data', props.page)}
    </body>
  </html>`
}

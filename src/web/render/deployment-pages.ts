import type { EventBody } from '../../records/index.ts'
import type { DeploymentSummary } from '../../store/index.ts'
import { DeploymentRows } from './deployment-rows.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { ExactTime, Id, None, StatusBadge, TimeAgo, gardenHref, intentHref } from './parts.ts'
import { describeEvent } from './event-words.ts'
import { actorLabel, deploymentStatus, triggerLabel } from './wording.ts'
import type { AdminNames } from './wording.ts'

export interface DeploymentsView {
  deployments: readonly DeploymentSummary[]
  gardenNames: ReadonlyMap<string, string>
  /** The filter in force, shown above the table. */
  filter: { garden?: string, intent?: string }
  limit: number
  nowMs: number
}

/** Renders the latest deployments of the fleet, optionally of one garden or intent. */
export function DeploymentsPage ({ view }: { view: DeploymentsView }): VNode {
  const { garden, intent } = view.filter
  const ofGarden = garden != null
    ? html` of garden <a href=${gardenHref(garden)}>${view.gardenNames.get(garden) ?? garden}</a>`
    : null
  const ofIntent = intent != null ? html` of intent <${Id} id=${intent} href=${intentHref(intent)} />` : null
  return html`<h1>Deployments</h1>
    <p class="note">
      The most recently started deployments${ofGarden}${ofIntent}, at most ${view.limit}.
      ${garden != null || intent != null ? html`<a href="/deployments">Show all</a>` : null}
    </p>
    <${DeploymentRows} deployments=${view.deployments} gardenNames=${view.gardenNames} nowMs=${view.nowMs}
      bodyId="deployments-body" />`
}

export interface TimelineEvent {
  id: string
  body: EventBody
}

export interface DeploymentView {
  deployment: DeploymentSummary
  gardenName?: string
  events: readonly TimelineEvent[]
  admins: AdminNames
  nowMs: number
}

/** Detail values that are command output: shown as preformatted text. */
function isOutput (key: string, value: unknown): boolean {
  return typeof value === 'string' && (key === 'output' || key === 'tail' || key === 'stderr' || value.includes('\n'))
}

function EventDetail ({ detail }: { detail: EventBody['detail'] }): VNode | null {
  const entries = Object.entries(detail ?? {})
  if (entries.length === 0) return null
  return html`<dl class="detail">${entries.map(([key, value]) => html`
    <dt>${key}</dt>
    <dd>${isOutput(key, value) ? html`<pre>${String(value)}</pre>` : String(value)}</dd>`)}
  </dl>`
}

function TimelineEntry ({ event, admins, trigger }: { event: TimelineEvent, admins: AdminNames, trigger?: string }): VNode {
  const body = event.body
  const words = describeEvent(body, admins, trigger)
  const actor = actorLabel(body.actor, admins)
  return html`<li class=${`event tone-${words.tone}`} data-kind=${body.kind} id=${event.id}>
    <p class="event-line">
      <${ExactTime} iso=${body.issuedAt} />
      <span class="event-title">${words.title}</span>
    </p>
    <p class="event-meta">
      ${body.seed} · ${body.kind}${actor != null ? ` · by ${actor}` : ''} · <${Id} id=${event.id} />
    </p>
    <${EventDetail} detail=${body.detail} />
  </li>`
}

/** Renders one deployment: its facts and its event timeline in plain words. */
export function DeploymentPage ({ view }: { view: DeploymentView }): VNode {
  const deployment = view.deployment
  const status = deploymentStatus(deployment)
  return html`<div id="deployment" data-live="">
    <h1>Deployment of ${deployment.seed} <${StatusBadge} status=${status} waiting=${deployment.waiting} /></h1>
    <dl class="facts">
      <dt>Id</dt><dd><code>${deployment.id}</code></dd>
      <dt>Garden</dt><dd><a href=${gardenHref(deployment.garden)}>${view.gardenName ?? deployment.garden}</a></dd>
      <dt>Intent</dt><dd><${Id} id=${deployment.intent} href=${intentHref(deployment.intent)} /></dd>
      <dt>Trigger</dt><dd>${deployment.trigger != null ? triggerLabel(deployment.trigger) : html`<${None} />`}</dd>
      <dt>Started</dt><dd><${ExactTime} iso=${deployment.startedAt} /></dd>
      <dt>Updated</dt><dd><${TimeAgo} iso=${deployment.updatedAt} nowMs=${view.nowMs} /></dd>
    </dl>
    <h2>Timeline</h2>
    ${view.events.length === 0
      ? html`<p class="none">No events stored for this deployment.</p>`
      : html`<ol class="timeline">${view.events.map(event => html`<${TimelineEntry} event=${event} admins=${view.admins} trigger=${deployment.trigger} />`)}</ol>`}
  </div>`
}

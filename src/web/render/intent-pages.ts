import type { IntentBody } from '../../records/index.ts'
import type { DeploymentSummary, IntentSummary } from '../../store/index.ts'
import { DeploymentRows } from './deployment-rows.ts'
import { formatBytes } from './format.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { Chips, ExactTime, Id, None, TimeAgo, intentHref } from './parts.ts'
import { actorLabel } from './wording.ts'
import type { AdminNames } from './wording.ts'

export interface IntentRow {
  summary: IntentSummary
  /** Gardens that the intent's target selectors match now. */
  targetCount: number
}

export interface IntentsView {
  intents: readonly IntentRow[]
  admins: AdminNames
  limit: number
  nowMs: number
}

/** "3 of 10 targets" as a bar and words, so the progress of a rollout reads at a glance. */
function Applied ({ row }: { row: IntentRow }): VNode {
  const { applied } = row.summary
  const total = Math.max(row.targetCount, applied)
  const label = `${applied} of ${total} ${total === 1 ? 'target' : 'targets'} applied`
  return html`<span class="applied" title=${label}>
    <meter min="0" max=${Math.max(total, 1)} value=${applied} aria-label=${label}></meter> ${applied} / ${total}
  </span>`
}

function Releases ({ row }: { row: IntentRow }): VNode {
  const releases = row.summary.releases
  if (releases.length === 0) {
    return row.summary.intent != null
      ? html`<span>${row.summary.action} of <${Id} id=${row.summary.intent} href=${intentHref(row.summary.intent)} /></span>`
      : html`<${None} />`
  }
  return html`<ul class="releases">${releases.map(release => html`<li>
    <strong>${release.seed}</strong> <code>${release.storePath}</code>
  </li>`)}</ul>`
}

function Row ({ row, view }: { row: IntentRow, view: IntentsView }): VNode {
  const intent = row.summary
  return html`<tr data-intent=${intent.id}>
    <td><${Id} id=${intent.id} href=${intentHref(intent.id)} /></td>
    <td>${intent.action}</td>
    <td>${actorLabel(intent.author, view.admins)}</td>
    <td><${Releases} row=${row} /></td>
    <td><${Chips} values=${intent.targets} /></td>
    <td><${Applied} row=${row} /></td>
    <td><${TimeAgo} iso=${intent.issuedAt} nowMs=${view.nowMs} /></td>
  </tr>`
}

/** Renders the latest intents with signer, releases, targets and rollout progress. */
export function IntentsPage ({ view }: { view: IntentsView }): VNode {
  return html`<h1>Intents</h1>
    <p class="note">The most recent intents, at most ${view.limit}.</p>
    <table class="intents">
      <thead><tr>
        <th scope="col">Intent</th><th scope="col">Action</th><th scope="col">Signer</th>
        <th scope="col">Release</th><th scope="col">Targets</th><th scope="col">Applied</th>
        <th scope="col">Issued</th>
      </tr></thead>
      <tbody id="intents-body" data-live="">
        ${view.intents.length === 0
          ? html`<tr><td colspan="7" class="empty">No intents yet.</td></tr>`
          : view.intents.map(row => html`<${Row} row=${row} view=${view} />`)}
      </tbody>
    </table>`
}

export interface IntentView {
  row: IntentRow
  body?: IntentBody
  deployments: readonly DeploymentSummary[]
  gardenNames: ReadonlyMap<string, string>
  admins: AdminNames
  nowMs: number
}

function ReleaseDetails ({ body }: { body?: IntentBody }): VNode | null {
  if (body == null || body.action !== 'deploy') return null
  return html`<section>
    <h2>Releases</h2>
    <table class="releases">
      <thead><tr><th scope="col">Seed</th><th scope="col">Type</th><th scope="col">Store path</th>
        <th scope="col">NAR hash</th><th scope="col">NAR size</th></tr></thead>
      <tbody>${body.releases.map(release => html`<tr>
        <th scope="row">${release.seed}</th>
        <td>${release.type}</td>
        <td><code>${release.storePath}</code></td>
        <td><code>${release.narHash}</code></td>
        <td>${formatBytes(release.narSize)}</td>
      </tr>`)}</tbody>
    </table>
  </section>`
}

function ResultCounts ({ results }: { results: IntentSummary['results'] }): VNode {
  const entries = Object.entries(results).filter(([, count]) => count > 0)
  if (entries.length === 0) return html`<${None} />`
  return html`<span>${entries.map(([result, count]) => `${result}: ${count}`).join(', ')}</span>`
}

/** Renders one intent: its signed facts, releases, rollout progress and deployments. */
export function IntentPage ({ view }: { view: IntentView }): VNode {
  const intent = view.row.summary
  const followUpOf = intent.intent != null ? html` of <${Id} id=${intent.intent} href=${intentHref(intent.intent)} />` : null
  return html`<div id="intent" data-live="">
    <h1>Intent <code>${intent.id}</code></h1>
    <dl class="facts">
      <dt>Action</dt><dd>${intent.action}${followUpOf}</dd>
      <dt>Signer</dt><dd>${actorLabel(intent.author, view.admins)} <code>${intent.author}</code></dd>
      <dt>Seeds</dt><dd><${Chips} values=${intent.seeds} /></dd>
      <dt>Targets</dt><dd><${Chips} values=${intent.targets} /></dd>
      <dt>Sequence</dt><dd>${intent.sequence ?? html`<${None} />`}</dd>
      <dt>Issued</dt><dd><${ExactTime} iso=${intent.issuedAt} /></dd>
      <dt>Expires</dt><dd><${ExactTime} iso=${intent.expiresAt} /></dd>
      <dt>Applied</dt><dd><${Applied} row=${view.row} /></dd>
      <dt>Gardens working on it</dt><dd>${intent.gardens}</dd>
      <dt>Results</dt><dd><${ResultCounts} results=${intent.results} /></dd>
    </dl>
    <${ReleaseDetails} body=${view.body} />
    <section>
      <h2>Deployments</h2>
      <${DeploymentRows} deployments=${view.deployments} gardenNames=${view.gardenNames} nowMs=${view.nowMs}
        bodyId="intent-deployments" />
    </section>
  </div>`
}

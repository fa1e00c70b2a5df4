import { html } from './html.ts'
import type { VNode } from './html.ts'
import { ExactTime, gardenHref } from './parts.ts'

/** Evidence that one key signed two records at one position of its feed. */
export interface AlertView {
  /** The author whose key signed both records. */
  author: string
  seq: number
  records: readonly string[]
  reason?: string
  detectedAt?: string
  /** Name of the garden, when the author is one. */
  gardenName?: string
  /** The node that signed the alert record, when another node found the fork. */
  reportedBy?: string
}

function AlertEntry ({ alert }: { alert: AlertView }): VNode {
  return html`<li class="alert">
    <p><strong>Fork by ${alert.gardenName != null
      ? html`garden <a href=${gardenHref(alert.author)}>${alert.gardenName}</a>`
      : html`key <code>${alert.author}</code>`}</strong> at feed position ${alert.seq}.
      ${alert.detectedAt != null ? html` Detected <${ExactTime} iso=${alert.detectedAt} />.` : null}</p>
    ${alert.reason != null ? html`<p>${alert.reason}</p>` : null}
    ${alert.reportedBy != null ? html`<p>Reported by <code>${alert.reportedBy}</code>.</p>` : null}
    <p>Conflicting records:</p>
    <ul>${alert.records.map(id => html`<li><code>${id}</code></li>`)}</ul>
  </li>`
}

/** Renders every fork alert: a key that signed two histories may be compromised, and its records are refused. */
export function AlertsPage ({ alerts }: { alerts: readonly AlertView[] }): VNode {
  return html`<div id="alerts" data-live="">
    <h1>Alerts</h1>
    ${alerts.length === 0
      ? html`<p class="none">No alerts. A fork (two records signed by one key at one feed position) would show here.</p>`
      : html`<ul class="alerts">${alerts.map(alert => html`<${AlertEntry} alert=${alert} />`)}</ul>`}
  </div>`
}

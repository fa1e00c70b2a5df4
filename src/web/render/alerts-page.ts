import type { Page, PageQuery } from '../table/index.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { Pager } from './pager.ts'
import { ExactTime, gardenHref } from './parts.ts'

/** Evidence that one key signed two records that cannot belong to one history. */
export interface AlertView {
  /** The author whose key signed both records. */
  author: string
  /** Feed position of the fork: the alert's subject seq, or the seq of the record this node received second. */
  seq: number
  /** Ids of the two records. */
  records: readonly string[]
  reason?: string
  detectedAt?: string
  /** Name of the garden, when the author is one. */
  gardenName?: string
  /** The node that signed the alert record, when another node found the fork. */
  reportedBy?: string
  /** Name of that node, when it is a garden. */
  reportedByName?: string
  /** Id of the alert record that carried the evidence. */
  alert?: string
}

export interface AlertsView {
  query: PageQuery
  page: Page<AlertView>
}

function KeyLabel ({ peer, name }: { peer: string, name?: string }): VNode {
  return name != null
    ? html`garden <a href=${gardenHref(peer)}>${name}</a> (<code>${peer}</code>)`
    : html`key <code>${peer}</code>`
}

function AlertEntry ({ alert }: { alert: AlertView }): VNode {
  return html`<li class="alert" data-author=${alert.author}>
    <p><strong>Fork by <${KeyLabel} peer=${alert.author} name=${alert.gardenName} /></strong> at feed position ${alert.seq}.
      ${alert.detectedAt != null ? html` Detected <${ExactTime} iso=${alert.detectedAt} />.` : null}</p>
    ${alert.reason != null ? html`<p>${alert.reason}</p>` : null}
    <p>${alert.reportedBy != null
      ? html`Reported by <${KeyLabel} peer=${alert.reportedBy} name=${alert.reportedByName} />${alert.alert != null ? html` in alert <code>${alert.alert}</code>` : null}; this node checked the signed evidence.`
      : 'Detected by this node.'}</p>
    <p>Conflicting records, both signed by this key:</p>
    <ul>${alert.records.map(id => html`<li><code>${id}</code></li>`)}</ul>
  </li>`
}

/**
 * Renders one page of fork alerts: a key that signed two histories may be
 * compromised, and its records are refused.
 */
export function AlertsPage ({ view }: { view: AlertsView }): VNode {
  const href = (page: number, size: number): string => `/alerts?page=${page}&size=${size}`
  return html`<div id="alerts" data-live="">
    <h1>Alerts</h1>
    ${view.page.total === 0
      ? html`<p class="none">No alerts. A fork (two records signed by one key at one feed position) would show here.</p>`
      : html`<ul class="alerts">${view.page.rows.map(alert => html`<${AlertEntry} alert=${alert} />`)}</ul>
        <${Pager} page=${view.page} href=${href} noun="Alerts" id="alerts-pager" />`}
  </div>`
}

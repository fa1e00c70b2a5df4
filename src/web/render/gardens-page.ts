import type { GardenSummary } from '../../store/index.ts'
import { COLUMNS, FIXED_COLUMN, columnOf, sortHref, tableHref, toggleColumnHref } from '../table/index.ts'
import type { Column, ColumnKey, Page, TableQuery } from '../table/index.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { Pager } from './pager.ts'
import { Chips, Id, None, StatusBadge, TimeAgo, deploymentHref, gardenHref } from './parts.ts'
import { deploymentStatus } from './wording.ts'

export interface GardensView {
  query: TableQuery
  page: Page<GardenSummary>
  nowMs: number
}

type CellRenderer = (garden: GardenSummary, nowMs: number) => VNode | string

/** Renders a peer that has no certificate yet: the store names it by its peer id until then. */
function UnnamedPeer ({ peer }: { peer: string }): VNode {
  return html`<span class="unnamed" title=${peer}>${peer.slice(0, 16)}…</span>`
}

/** Shows the garden's latest result, else the state of its latest deployment: a policy end, a wait or in progress. */
function ResultCell (garden: GardenSummary): VNode {
  if (garden.latestResult != null) return html`<${StatusBadge} status=${garden.latestResult} />`
  const latest = garden.latestDeployment
  if (latest == null) return html`<${StatusBadge} status="never_deployed" />`
  return html`<${StatusBadge} status=${deploymentStatus(latest)} waiting=${latest.waiting} />`
}

function DeploymentCell (garden: GardenSummary, nowMs: number): VNode {
  const latest = garden.latestDeployment
  if (latest == null) return html`<${None} />`
  return html`<a href=${deploymentHref(latest.id)}>${latest.seed}</a> <${TimeAgo} iso=${latest.updatedAt} nowMs=${nowMs} />`
}

/** Deployments without a result yet: work the garden still has to do or to decide. */
function PendingCell (garden: GardenSummary): VNode {
  if (garden.pending === 0) return html`<${None} />`
  return html`<a class="pending" href=${`/deployments?garden=${encodeURIComponent(garden.peer)}`}>${garden.pending} open</a>`
}

const CELLS: Record<ColumnKey, CellRenderer> = {
  name: garden => garden.name,
  peer: garden => html`<${Id} id=${garden.peer} />`,
  version: garden => garden.agentVersion ?? html`<${None} />`,
  lastSeen: (garden, nowMs) => html`<${TimeAgo} iso=${garden.lastSeen} nowMs=${nowMs} />`,
  result: ResultCell,
  deployment: DeploymentCell,
  pending: PendingCell,
  tags: garden => html`<${Chips} values=${garden.tags} />`,
  roles: garden => html`<${Chips} values=${garden.roles} />`,
  addresses: garden => garden.addresses.length === 0
    ? html`<${None} />`
    : html`<ul class="addresses">${garden.addresses.map(address => html`<li><code>${address}</code></li>`)}</ul>`,
  certificate: garden => garden.revoked
    ? html`<span class="status status-revoked">Revoked</span>`
    : html`<span class="status status-valid">Valid</span>`
}

function visibleColumns (query: TableQuery): Column[] {
  return COLUMNS.filter(column => column.key === FIXED_COLUMN || query.cols.includes(column.key))
}

function SortHeader ({ column, query }: { column: Column, query: TableQuery }): VNode {
  const active = query.sort === column.key
  const ascending = query.dir === 'asc'
  let ariaSort: string | undefined
  let arrow = ''
  if (active) {
    ariaSort = ascending ? 'ascending' : 'descending'
    arrow = ascending ? '▲' : '▼'
  }
  const next = active && ascending ? 'descending' : 'ascending'
  return html`<th scope="col" aria-sort=${ariaSort} class=${`col-${column.key}`}>
    <a href=${sortHref(query, column.key)} title=${`Sort by ${column.label.toLowerCase()}, ${next}`}
      data-sort=${column.key}>${column.label}</a>${arrow !== '' ? html` <span aria-hidden="true" class="arrow">${arrow}</span>` : null}
  </th>`
}

const COLUMNS_ICON = html`<svg aria-hidden="true" width="16" height="16" viewBox="0 0 16 16" focusable="false">
  <path d="M1 2h4v12H1zM6 2h4v12H6zM11 2h4v12h-4z" fill="none" stroke="currentColor" stroke-width="1.5" />
</svg>`

function ColumnChoice ({ column, query }: { column: Column, query: TableQuery }): VNode {
  if (column.key === FIXED_COLUMN) {
    return html`<li class="fixed" data-col=${column.key}>
      <input type="checkbox" checked disabled aria-label=${`${column.label} column is always shown`} />
      <span>${column.label}</span> <small>(always shown)</small>
    </li>`
  }
  const shown = query.cols.includes(column.key)
  return html`<li data-col=${column.key}>
    <a href=${toggleColumnHref(query, column.key)} aria-label=${`${shown ? 'Hide' : 'Show'} the ${column.label} column`}>
      <input type="checkbox" checked=${shown} tabindex="-1" aria-hidden="true" />
      <span>${column.label}</span>
    </a>
  </li>`
}

/** Renders the column chooser: a `<details>` menu of links, so it works without JavaScript. */
function ColumnChooser ({ query }: { query: TableQuery }): VNode {
  return html`<details class="col-chooser" id="col-chooser">
    <summary aria-label="Choose columns" title="Choose columns">${COLUMNS_ICON}</summary>
    <div class="menu">
      <p>Columns</p>
      <ul>${COLUMNS.map(column => html`<${ColumnChoice} column=${column} query=${query} />`)}</ul>
    </div>
  </details>`
}

function Row ({ garden, columns, nowMs }: { garden: GardenSummary, columns: Column[], nowMs: number }): VNode {
  return html`<tr data-peer=${garden.peer}>
    ${columns.map(column => column.key === FIXED_COLUMN
      ? html`<th scope="row" class="col-name"><a href=${gardenHref(garden.peer)}>${garden.name === garden.peer ? html`<${UnnamedPeer} peer=${garden.peer} />` : garden.name}</a></th>`
      : html`<td class=${`col-${column.key}`}>${CELLS[column.key](garden, nowMs)}</td>`)}
    <td class="col-chooser-cell"></td>
  </tr>`
}

function GardensPager ({ view }: { view: GardensView }): VNode {
  const href = (page: number, size: number): string => tableHref(view.query, { page, size })
  return html`<${Pager} page=${view.page} href=${href} noun="Gardens" id="gardens-pager" />`
}

/** Renders the gardens table with sort links, column chooser and pager. */
export function GardensPage ({ view }: { view: GardensView }): VNode {
  const columns = visibleColumns(view.query)
  const sortColumn = columnOf(view.query.sort)
  return html`<h1>Gardens</h1>
    <table class="gardens" id="gardens" aria-describedby="gardens-caption">
      <caption id="gardens-caption">
        ${`Every garden of the fleet, sorted by ${sortColumn.label.toLowerCase()}, ${view.query.dir === 'asc' ? 'ascending' : 'descending'}`}
      </caption>
      <thead><tr>
        ${columns.map(column => html`<${SortHeader} column=${column} query=${view.query} />`)}
        <th class="col-chooser-cell"><${ColumnChooser} query=${view.query} /></th>
      </tr></thead>
      <tbody id="gardens-body" data-live="">
        ${view.page.rows.length === 0
          ? html`<tr><td colspan=${columns.length + 1} class="empty">
              No gardens yet. A garden appears once its certificate or first report arrives.</td></tr>`
          : view.page.rows.map(garden => html`<${Row} garden=${garden} columns=${columns} nowMs=${view.nowMs} />`)}
      </tbody>
    </table>
    <${GardensPager} view=${view} />`
}

import type { DeploymentWait } from '../../store/index.ts'
import { formatAgo, formatTime, shortId } from './format.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { statusLabel } from './wording.ts'
import type { Status } from './wording.ts'

/**
 * Renders a deployment result or state as a label styled by the class
 * `status-<status>`. A window wait names its opening, with the exact UTC
 * time in the title.
 */
export function StatusBadge ({ status, waiting }: { status: Status, waiting?: DeploymentWait }): VNode {
  const opensAt = status === 'waiting_for_window' ? waiting?.opensAt : undefined
  const title = opensAt != null ? formatTime(opensAt) : undefined
  return html`<span class=${`status status-${status}`} title=${title}>${statusLabel(status, waiting)}</span>`
}

/** Renders a time as "3 min ago", with the exact UTC time in the title and the `datetime` attribute. */
export function TimeAgo ({ iso, nowMs }: { iso?: string, nowMs: number }): VNode {
  if (iso == null) return html`<span class="none">never</span>`
  return html`<time datetime=${iso} title=${formatTime(iso)}>${formatAgo(iso, nowMs)}</time>`
}

/** Renders an exact time, with the ISO form in the `datetime` attribute. */
export function ExactTime ({ iso }: { iso?: string }): VNode {
  if (iso == null) return html`<span class="none">—</span>`
  return html`<time datetime=${iso}>${formatTime(iso)}</time>`
}

export function Chips ({ values }: { values: readonly string[] }): VNode {
  if (values.length === 0) return html`<span class="none">—</span>`
  return html`<ul class="chips">${values.map(value => html`<li>${value}</li>`)}</ul>`
}

/** Renders a shortened id with the full id in its title, as a link when `href` is given. */
export function Id ({ id, href }: { id: string, href?: string }): VNode {
  const code = html`<code title=${id}>${shortId(id)}</code>`
  return href != null ? html`<a href=${href}>${code}</a>` : code
}

export function gardenHref (peer: string): string {
  return `/gardens/${encodeURIComponent(peer)}`
}

export function deploymentHref (id: string): string {
  return `/deployments/${encodeURIComponent(id)}`
}

export function intentHref (id: string): string {
  return `/intents/${encodeURIComponent(id)}`
}

export function None (): VNode {
  return html`<span class="none">—</span>`
}

import type { DeploymentSummary } from '../../store/index.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { Id, None, StatusBadge, TimeAgo, deploymentHref, gardenHref, intentHref } from './parts.ts'
import { deploymentStatus, triggerLabel } from './wording.ts'

export interface DeploymentRowsProps {
  deployments: readonly DeploymentSummary[]
  /** Garden names by peer id; the garden column is left out when absent. */
  gardenNames?: ReadonlyMap<string, string>
  nowMs: number
  /** Id of the live-updated `<tbody>`. */
  bodyId: string
}

function GardenCell ({ peer, names }: { peer: string, names: ReadonlyMap<string, string> }): VNode {
  const name = names.get(peer)
  return html`<td><a href=${gardenHref(peer)}>${name ?? html`<code title=${peer}>${peer.slice(0, 16)}…</code>`}</a></td>`
}

function Row ({ deployment, props }: { deployment: DeploymentSummary, props: DeploymentRowsProps }): VNode {
  const status = deploymentStatus(deployment)
  return html`<tr data-deployment=${deployment.id}>
    <td><${Id} id=${deployment.id} href=${deploymentHref(deployment.id)} /></td>
    ${props.gardenNames != null ? html`<${GardenCell} peer=${deployment.garden} names=${props.gardenNames} />` : null}
    <td>${deployment.seed}</td>
    <td><${Id} id=${deployment.intent} href=${intentHref(deployment.intent)} /></td>
    <td>${deployment.trigger != null ? triggerLabel(deployment.trigger) : html`<${None} />`}</td>
    <td class="col-result"><${StatusBadge} status=${status} waiting=${deployment.waiting} /></td>
    <td><${TimeAgo} iso=${deployment.startedAt} nowMs=${props.nowMs} /></td>
    <td><${TimeAgo} iso=${deployment.updatedAt} nowMs=${props.nowMs} /></td>
  </tr>`
}

/** Renders a table of deployments: id, garden, seed, intent, trigger, result and times. */
export function DeploymentRows (props: DeploymentRowsProps): VNode {
  const columnCount = props.gardenNames != null ? 8 : 7
  return html`<table class="deployments">
    <thead><tr>
      <th scope="col">Deployment</th>
      ${props.gardenNames != null ? html`<th scope="col">Garden</th>` : null}
      <th scope="col">Seed</th>
      <th scope="col">Intent</th>
      <th scope="col">Trigger</th>
      <th scope="col">Result</th>
      <th scope="col">Started</th>
      <th scope="col">Updated</th>
    </tr></thead>
    <tbody id=${props.bodyId} data-live="">
      ${props.deployments.length === 0
        ? html`<tr><td colspan=${columnCount} class="empty">No deployments yet.</td></tr>`
        : props.deployments.map(deployment => html`<${Row} deployment=${deployment} props=${props} />`)}
    </tbody>
  </table>`
}

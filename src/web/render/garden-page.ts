import type { CertificateBody, ReportBody } from '../../records/index.ts'
import type { DeploymentSummary, GardenSummary } from '../../store/index.ts'
import { DeploymentRows } from './deployment-rows.ts'
import { html } from './html.ts'
import type { VNode } from './html.ts'
import { Chips, ExactTime, Id, None, TimeAgo } from './parts.ts'
import { policyRules } from './policy.ts'
import { actorLabel } from './wording.ts'
import type { AdminNames } from './wording.ts'

export interface GardenView {
  garden: GardenSummary
  certificate?: { id: string, body: CertificateBody }
  report?: { id: string, body: ReportBody, receivedAt?: string }
  deployments: readonly DeploymentSummary[]
  admins: AdminNames
  nowMs: number
}

function CertificateFacts ({ view }: { view: GardenView }): VNode {
  const certificate = view.certificate
  if (certificate == null) {
    const id = view.garden.certificate != null ? html` (<${Id} id=${view.garden.certificate} />)` : null
    return html`<p class="none">No certificate stored for this garden${id}.</p>`
  }
  const body = certificate.body
  const expired = Date.parse(body.expiresAt) <= view.nowMs
  return html`<dl class="facts">
    <dt>Id</dt><dd><code>${certificate.id}</code></dd>
    <dt>Name</dt><dd>${body.name}</dd>
    <dt>Roles</dt><dd><${Chips} values=${body.roles} /></dd>
    <dt>Tags</dt><dd><${Chips} values=${body.tags} /></dd>
    <dt>Issued</dt><dd><${ExactTime} iso=${body.issuedAt} /></dd>
    <dt>Expires</dt><dd><${ExactTime} iso=${body.expiresAt} />${expired ? html` <span class="status status-failure">Expired</span>` : null}</dd>
    <dt>Revoked</dt><dd>${view.garden.revoked ? html`<span class="status status-revoked">Revoked</span>` : 'No'}</dd>
    <dt>Signed by</dt><dd>${actorLabel(body.author, view.admins)} <code>${body.author}</code></dd>
  </dl>`
}

function Subscriptions ({ report }: { report: ReportBody }): VNode {
  if (report.subscriptions.length === 0) return html`<p class="none">No subscriptions.</p>`
  return html`<table class="subscriptions">
    <thead><tr><th scope="col">Name</th><th scope="col">Seed</th><th scope="col">Type</th>
      <th scope="col">Profile</th><th scope="col">Policy rules</th></tr></thead>
    <tbody>${report.subscriptions.map(subscription => html`<tr>
      <th scope="row">${subscription.name}</th>
      <td>${subscription.seed}</td>
      <td>${subscription.type}</td>
      <td><code>${subscription.profile}</code></td>
      <td><${PolicyRules} policy=${subscription.policy} /></td>
    </tr>`)}</tbody>
  </table>`
}

function PolicyRules ({ policy }: { policy: unknown }): VNode {
  const rules = policyRules(policy)
  if (rules.length === 0) return html`<span class="none">No rules: every deployment is denied</span>`
  return html`<dl class="rules">${rules.map(([name, rule]) => html`
    <dt>${name}</dt>
    <dd>
      ${rule.actions !== '' ? rule.actions : html`<span class="none">no actions</span>`}
      ${' on '}${rule.triggers !== '' ? rule.triggers : html`<span class="none">no triggers</span>`}
      ${rule.window != null ? html`, window ${rule.window}` : null}
      ${rule.confirm ? html`, <span class="status status-confirmation_required">confirmation required</span>` : null}
      ${rule.other != null ? html` <code class="other">${rule.other}</code>` : null}
    </dd>`)}
  </dl>`
}

type Profile = ReportBody['profiles'][number]

function ProfileGenerations ({ profile }: { profile: Profile }): VNode {
  const drift = new Set(profile.drift)
  const generations = [...profile.generations].sort((a, b) => b.number - a.number)
  return html`<section class="profile">
    <h3>${profile.seed} <code class="profile-path">${profile.profile}</code></h3>
    <table class="generations">
      <thead><tr><th scope="col">Generation</th><th scope="col">Store path</th><th scope="col">Date</th>
        <th scope="col">State</th></tr></thead>
      <tbody>${generations.map(generation => html`<tr class=${generation.current ? 'current' : undefined}>
        <td>${generation.number}</td>
        <td><code>${generation.storePath}</code></td>
        <td><${ExactTime} iso=${generation.date} /></td>
        <td>
          ${generation.current ? html`<span class="status status-current">Current</span>` : null}
          ${drift.has(generation.number)
            ? html` <span class="status status-drift" title="Created outside Sower, e.g. by a hand-run nixos-rebuild">Drift</span>`
            : null}
        </td>
      </tr>`)}</tbody>
    </table>
  </section>`
}

function ReportSections ({ view }: { view: GardenView }): VNode {
  const report = view.report
  if (report == null) {
    return html`<section><h2>Subscriptions and profiles</h2>
      <p class="none">This garden has not sent a report yet.</p></section>`
  }
  return html`<section>
      <h2>Subscriptions</h2>
      <p class="note">From report <${Id} id=${report.id} />, issued <${TimeAgo} iso=${report.body.issuedAt} nowMs=${view.nowMs} />.</p>
      <${Subscriptions} report=${report.body} />
    </section>
    <section>
      <h2>Profile generations</h2>
      ${report.body.profiles.length === 0
        ? html`<p class="none">No profiles.</p>`
        : report.body.profiles.map(profile => html`<${ProfileGenerations} profile=${profile} />`)}
    </section>`
}

/** Everything about one garden: identity, certificate, subscriptions, generations and deployments. */
export function GardenPage ({ view }: { view: GardenView }): VNode {
  const garden = view.garden
  return html`<div id="garden" data-live="">
    <h1>${garden.name}${garden.revoked ? html` <span class="status status-revoked">Revoked</span>` : null}</h1>
    <dl class="facts">
      <dt>Peer id</dt><dd><code>${garden.peer}</code></dd>
      <dt>Version</dt><dd>${garden.agentVersion ?? html`<${None} />`}</dd>
      <dt>Last seen</dt><dd><${TimeAgo} iso=${garden.lastSeen} nowMs=${view.nowMs} /></dd>
      <dt>Addresses</dt><dd>${garden.addresses.length === 0
        ? html`<${None} />`
        : html`<ul class="addresses">${garden.addresses.map(address => html`<li><code>${address}</code></li>`)}</ul>`}</dd>
    </dl>
    <section><h2>Certificate</h2><${CertificateFacts} view=${view} /></section>
    <${ReportSections} view=${view} />
    <section>
      <h2>Deployments</h2>
      <${DeploymentRows} deployments=${view.deployments} nowMs=${view.nowMs} bodyId="garden-deployments" />
    </section>
  </div>`
}

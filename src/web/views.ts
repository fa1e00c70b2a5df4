import type { SignedRecord } from '../records/index.ts'
import type { IntentSummary } from '../store/index.ts'
import type { WebData } from './data.ts'
import { notFound } from './errors.ts'
import type { AlertsView } from './render/alerts-page.ts'
import type { DeploymentView, DeploymentsView } from './render/deployment-pages.ts'
import type { GardenView } from './render/garden-page.ts'
import type { GardensView } from './render/gardens-page.ts'
import type { IntentRow, IntentView, IntentsView } from './render/intent-pages.ts'
import { pageOf } from './table/index.ts'
import type { PageQuery, TableQuery } from './table/index.ts'

/** Deployments listed on a garden's or an intent's page. */
export const RELATED_DEPLOYMENTS_MAX = 100

/*
 * Loaders shared by the pages and the JSON API, so both show the same data.
 * Each reads the store's summaries plus, for a detail page, the few records
 * it shows in full.
 */

export async function loadGardens (data: WebData, query: TableQuery, nowMs: number): Promise<GardensView> {
  const sorted = await data.sortedGardens(query.sort, query.dir)
  const page = pageOf(sorted.entries, query.page, query.size)
  return { query, page: { ...page, rows: page.rows.map(entry => entry.garden) }, nowMs }
}

export async function loadGarden (data: WebData, peer: string, nowMs: number): Promise<GardenView> {
  const garden = await data.store.garden(peer)
  if (garden == null) throw notFound(`garden ${peer}`)
  const [certificate, report, reportMeta, deployments, admins] = await Promise.all([
    garden.certificate != null ? data.store.get(garden.certificate) : undefined,
    garden.report != null ? data.store.get(garden.report) : undefined,
    garden.report != null ? data.store.getMeta(garden.report) : undefined,
    data.store.deployments({ garden: peer, limit: RELATED_DEPLOYMENTS_MAX }),
    data.adminNames()
  ])
  const view: GardenView = { garden, deployments, admins, nowMs }
  if (certificate?.type === 'certificate') {
    view.certificate = { id: certificate.id, body: (certificate as SignedRecord<'certificate'>).body }
  }
  if (report?.type === 'report') {
    view.report = { id: report.id, body: (report as SignedRecord<'report'>).body }
    if (reportMeta != null) view.report.receivedAt = reportMeta.receivedAt
  }
  return view
}

export interface DeploymentFilter {
  garden?: string
  intent?: string
}

export async function loadDeployments (data: WebData, filter: DeploymentFilter, limit: number, nowMs: number): Promise<DeploymentsView> {
  const [deployments, gardenNames] = await Promise.all([
    data.store.deployments({ ...filter, limit }),
    data.gardenNames()
  ])
  return { deployments, gardenNames, filter, limit, nowMs }
}

export async function loadDeployment (data: WebData, id: string, nowMs: number): Promise<DeploymentView> {
  const deployment = await data.store.deployment(id)
  if (deployment == null) throw notFound(`deployment ${id}`)
  const [records, admins, gardenNames] = await Promise.all([
    data.store.eventsOfDeployment(id),
    data.adminNames(),
    data.gardenNames()
  ])
  const events = records
    .map(record => ({ id: record.id, body: record.body }))
    .sort((a, b) => a.body.issuedAt.localeCompare(b.body.issuedAt) || a.body.seq - b.body.seq)
  const view: DeploymentView = { deployment, events, admins, nowMs }
  const gardenName = gardenNames.get(deployment.garden)
  if (gardenName != null) view.gardenName = gardenName
  return view
}

async function intentRows (data: WebData, summaries: readonly IntentSummary[]): Promise<IntentRow[]> {
  return await Promise.all(summaries.map(async summary => ({
    summary,
    targetCount: await data.countTargets(summary.targets)
  })))
}

export async function loadIntents (data: WebData, limit: number, nowMs: number): Promise<IntentsView> {
  const [summaries, admins] = await Promise.all([data.store.intents({ limit }), data.adminNames()])
  return { intents: await intentRows(data, summaries), admins, limit, nowMs }
}

export async function loadIntent (data: WebData, id: string, nowMs: number): Promise<IntentView> {
  const summary = await data.store.intent(id)
  if (summary == null) throw notFound(`intent ${id}`)
  const [record, [row], deployments, gardenNames, admins] = await Promise.all([
    data.store.get(id),
    intentRows(data, [summary]),
    data.store.deployments({ intent: id, limit: RELATED_DEPLOYMENTS_MAX }),
    data.gardenNames(),
    data.adminNames()
  ])
  const view: IntentView = { row, deployments, gardenNames, admins, nowMs }
  if (record?.type === 'intent') view.body = (record as SignedRecord<'intent'>).body
  return view
}

export async function loadAlerts (data: WebData, query: PageQuery): Promise<AlertsView> {
  return { query, page: pageOf(await data.alerts(), query.page, query.size) }
}

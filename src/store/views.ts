import type { SignedRecord } from '../records/index.ts'
import { joinKey } from './key-layout.ts'
import type { Staging } from './staging.ts'
import { deploymentWithEvent } from './deployment-summary.ts'
import type { DeploymentState } from './deployment-summary.ts'
import {
  combineResults, emptyIntent, gardenWithCertificate, gardenWithEvent,
  gardenWithReport, gardenWithRevocation, intentWithGardenChange, intentWithRecord
} from './summaries.ts'
import type { GardenState } from './summaries.ts'
import type { Tables } from './tables.ts'
import type { StoredMeta } from './types.ts'

/** Stages the changes that a newly stored record makes to the materialised views. */
export async function applyToViews (staging: Staging, tables: Tables, record: SignedRecord, meta: StoredMeta): Promise<void> {
  switch (record.type) {
    case 'certificate': {
      const certificate = record as SignedRecord<'certificate'>
      await updateGarden(staging, tables, certificate.body.peer, state => gardenWithCertificate(state, certificate))
      break
    }
    case 'revocation': {
      const revocation = record as SignedRecord<'revocation'>
      await updateGarden(staging, tables, revocation.body.peer, state => gardenWithRevocation(state, revocation))
      break
    }
    case 'report': {
      const report = record as SignedRecord<'report'>
      await updateGarden(staging, tables, report.author, state => gardenWithReport(state, report, meta))
      break
    }
    case 'event':
      await applyEvent(staging, tables, record as SignedRecord<'event'>, meta)
      break
    case 'intent': {
      const intent = await staging.get(tables.intents, record.id)
      staging.put(tables.intents, record.id, intentWithRecord(intent, record as SignedRecord<'intent'>))
      break
    }
    default:
      break
  }
}

async function updateGarden (
  staging: Staging, tables: Tables, peer: string, update: (state: GardenState | undefined) => GardenState
): Promise<void> {
  const before = await staging.get(tables.gardens, peer)
  const after = update(before)
  if (after !== before) {
    staging.put(tables.gardens, peer, after)
  }
}

async function applyEvent (staging: Staging, tables: Tables, record: SignedRecord<'event'>, meta: StoredMeta): Promise<void> {
  const id = record.body.deployment
  const before = await staging.get(tables.deployments, id)
  const after = deploymentWithEvent(before, record)
  staging.put(tables.deployments, id, after)
  moveDeploymentKeys(staging, tables, before, after)
  await updateGarden(staging, tables, record.author, state => gardenWithEvent(state, record, meta, after, before))
  if (before == null || before.result !== after.result) {
    await updateIntentGarden(staging, tables, after)
  }
}

/**
 * Keeps the deployment lists ordered by `startedAt`, which changes only when
 * an event older than all others arrives late: the old keys go then.
 */
function moveDeploymentKeys (staging: Staging, tables: Tables, before: DeploymentState | undefined, after: DeploymentState): void {
  if (before?.startedAt === after.startedAt) {
    return
  }
  const keysOf = (state: DeploymentState): Array<[typeof tables.deploymentsByTime, string]> => [
    [tables.deploymentsByGarden, joinKey(state.garden, state.startedAt, state.id)],
    [tables.deploymentsByIntent, joinKey(state.intent, state.startedAt, state.id)],
    [tables.deploymentsByTime, joinKey(state.startedAt, state.id)]
  ]
  if (before != null) {
    for (const [table, key] of keysOf(before)) {
      staging.del(table, key)
    }
  }
  for (const [table, key] of keysOf(after)) {
    staging.put(table, key, '')
  }
}

/** Records the deployment's result for its garden and seed, and moves the intent's counters to match. */
async function updateIntentGarden (staging: Staging, tables: Tables, deployment: DeploymentState): Promise<void> {
  const key = joinKey(deployment.intent, deployment.garden)
  const entry = await staging.get(tables.intentGardens, key)
  const seeds = { ...entry?.seeds, [deployment.seed]: deployment.result ?? null }
  staging.put(tables.intentGardens, key, { seeds })

  const before = entry == null ? undefined : combineResults(entry.seeds)
  const after = combineResults(seeds)
  if (entry != null && before === after) {
    return
  }
  const intent = await staging.get(tables.intents, deployment.intent) ?? emptyIntent(deployment.intent)
  staging.put(tables.intents, deployment.intent, intentWithGardenChange(intent, before, after, entry == null))
}

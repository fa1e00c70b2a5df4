import assert from 'node:assert/strict'
import { join } from 'node:path'
import { JobStore } from '../../../src/deploy/job-store.ts'
import { JobJournal } from '../../../src/deploy/journal.ts'
import type { Job } from '../../../src/deploy/types.ts'
import { silentLogger } from '../../../src/logger.ts'
import { deploymentId } from '../../../src/records/index.ts'
import type { SignedRecord } from '../../../src/records/index.ts'
import { RecordStore } from '../../../src/store/index.ts'
import { createTestFleet } from '../../utils/fleet.ts'
import { TempFolders } from './helpers.ts'

const INTENT = 'int_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
const NOW_MS = Date.parse('2025-06-10T14:00:00.000Z')

describe('job journal', function () {
  const folders = new TempFolders()
  const fleet = createTestFleet({ nowMs: NOW_MS })
  const key = fleet.enroll('garden-1').key
  let store: RecordStore

  beforeEach(async function () {
    store = await RecordStore.open(join(await folders.make('journal'), 'db'))
  })

  afterEach(async function () {
    await store.close()
    await folders.removeAll()
  })

  function journalOf (jobs: JobStore, announced: SignedRecord[]): JobJournal {
    return new JobJournal({
      store,
      nodeKey: key,
      jobs,
      fleet: fleet.fleet,
      now: () => NOW_MS,
      log: silentLogger(),
      announce: async record => { announced.push(record) },
      onEvent: () => {}
    })
  }

  function newJob (): Job {
    const job: Partial<Job> = {
      id: deploymentId(INTENT, 'web', key.id),
      intent: INTENT,
      seed: 'web',
      subscription: 'web',
      profile: '/p',
      seedType: 'service',
      sequence: 1,
      storePath: '/nix/store/hbj934l6b976hngff9fiv0cfm3znmz0l-web-1.0',
      actor: fleet.admin.id,
      trigger: 'realtime',
      step: 'received',
      attempts: 1,
      eventCount: 0,
      outbox: []
    }
    return job as Job
  }

  it('writes the job before announcing its events', async function () {
    const jobs = new JobStore(store)
    const announced: SignedRecord[] = []
    const job = newJob()
    await journalOf(jobs, announced).commit(job, { step: 'staging' }, [{ kind: 'received' }, { kind: 'staging' }])

    const reloaded = new JobStore(store)
    await reloaded.load()
    assert.equal(reloaded.jobs.get(job.id)?.step, 'staging')
    assert.deepEqual(reloaded.jobs.get(job.id)?.outbox, [])
    assert.deepEqual(announced.map(record => (record as SignedRecord<'event'>).body.kind), ['received', 'staging'])
    assert.equal((await store.eventsOfDeployment(job.id)).length, 2)
  })

  it('cuts long detail texts to the schema limit', async function () {
    const jobs = new JobStore(store)
    const job = newJob()
    // The emoji's surrogate pair straddles the cut at 4096 characters.
    const reason = `${'x'.repeat(4095)}\u{1F600}${'y'.repeat(100)}`
    await journalOf(jobs, []).commit(job, {}, [{ kind: 'result', result: 'failure', detail: { reason, missing: undefined as any } }])
    const [event] = await store.eventsOfDeployment(job.id)

    assert.equal(String(event.body.detail?.reason).length, 4096)
    assert.equal(String(event.body.detail?.reason).isWellFormed(), true)
    assert.equal(Object.hasOwn(event.body.detail ?? {}, 'missing'), false)
  })

  it('appends only the events a crash left unwritten', async function () {
    const jobs = new JobStore(store)
    const job = newJob()
    await journalOf(jobs, []).commit(job, {}, [{ kind: 'received' }])
    // A crash after appending `staging` but before the outbox was emptied leaves both drafts behind.
    job.outbox = [
      { number: 2, kind: 'staging', issuedAt: new Date(NOW_MS).toISOString() },
      { number: 3, kind: 'staged', issuedAt: new Date(NOW_MS).toISOString() }
    ]
    job.eventCount = 3
    await store.append('event', {
      fleet: fleet.fleet, issuedAt: new Date(NOW_MS).toISOString(), deployment: job.id, intent: INTENT, seed: 'web', kind: 'staging'
    }, key)
    await jobs.saveJob(job)

    const announced: SignedRecord[] = []
    await journalOf(jobs, announced).recover(job)
    const kinds = (await store.eventsOfDeployment(job.id)).map(record => record.body.kind)
    assert.deepEqual(kinds, ['received', 'staging', 'staged'])
    assert.deepEqual(announced.map(record => (record as SignedRecord<'event'>).body.kind), ['staged'])
    assert.deepEqual(job.outbox, [])
  })
})

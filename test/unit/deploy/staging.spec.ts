import assert from 'node:assert/strict'
import { LocalStager } from '../../../src/deploy/index.ts'
import type { StageOptions, StageOutcome, Stager } from '../../../src/deploy/index.ts'
import type { Release } from '../../../src/records/index.ts'
import { describeOnBackends, idOf, service } from './helpers.ts'

const PEER = '12D3KooWH3uVF6wv47WnArKHk5p6cvgCJEb74UTmxztmQDc298L3'

/** Reports progress like a transfer from a peer, then leaves the work to a stager for present paths. */
class PeerLikeStager implements Stager {
  readonly #local: Stager

  constructor (local: Stager) {
    this.#local = local
  }

  async stage (release: Release, options: StageOptions): Promise<StageOutcome> {
    options.onProgress?.({ bytesReceived: 100, bytesExpected: 200, source: PEER })
    options.onProgress?.({ bytesReceived: 200, bytesExpected: 200, source: PEER })
    await this.#local.stage(release, options)
    return { source: 'peer', peer: PEER, bytes: 200 }
  }
}

/** Never finishes until its signal aborts, like a transfer with no provider in reach. */
class StalledStager implements Stager {
  async stage (release: Release, options: StageOptions): Promise<StageOutcome> {
    return await new Promise((resolve, reject) => {
      options.signal?.addEventListener('abort', () => { reject(options.signal?.reason) }, { once: true })
    })
  }
}

describeOnBackends('deployment staging', suite => {
  it('records progress and source', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], {
      stager: backend => new PeerLikeStager(new LocalStager(backend))
    })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForResult(idOf(g, intent))
    const staging = g.eventsOf(idOf(g, intent)).filter(event => event.body.kind === 'staging')
    const staged = g.lastEvent(idOf(g, intent), 'staged')

    assert.deepEqual(staging.map(event => event.body.detail?.bytesReceived), [0, 100, 200])
    assert.equal(staging[1].body.detail?.source, PEER)
    assert.equal(staged?.body.detail?.source, 'peer')
    assert.equal(staged?.body.detail?.peer, PEER)
    assert.equal(staged?.body.detail?.bytes, 200)
  })

  it('fails when the closure is unavailable', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })])
    const release = await g.release(suite.closures.web1)
    release.manifest.push({ path: '/nix/store/00000000000000000000000000000000-missing-1.0', narHash: release.narHash, narSize: 1, references: [] })
    const intent = g.signer.deploy(1, [release])
    await g.receive(intent)
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'failure')
    assert.equal(result.body.detail?.code, 'ERR_CLOSURE_UNAVAILABLE')
    assert.match(String(result.body.detail?.reason), /^staging failed: closure of .* is not available/)
    assert.equal(await g.backend.currentGeneration(g.profile), null)
  })

  it('cancels a job while it stages', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], { stager: () => new StalledStager() })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'staging')
    await g.receive(g.signer.followUp('cancel', intent.id))
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'canceled')
    assert.deepEqual(g.kinds(idOf(g, intent)), ['received', 'staging', 'canceled', 'result'])
  })

  it('stages again after a restart', async function () {
    const g = await suite.garden(s => [service(s, { acceptRealtime: true })], { stager: () => new StalledStager() })
    const intent = g.signer.deploy(1, [await g.release(suite.closures.web1)])
    await g.receive(intent)
    await g.waitForEvent(idOf(g, intent), 'staging')
    g.options.stager = backend => new LocalStager(backend)
    await g.restart()
    const result = await g.waitForResult(idOf(g, intent))

    assert.equal(result.body.result, 'success')
  })
})

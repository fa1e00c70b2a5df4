import assert from 'node:assert/strict'
import { ClosureUnavailableError, LocalStager } from '../../../src/deploy/index.ts'
import { describeOnBackends, service } from './helpers.ts'

const MISSING = '/nix/store/00000000000000000000000000000000-missing-1.0'

describeOnBackends('LocalStager', suite => {
  it('stages a closure that is present', async function () {
    const g = await suite.garden(s => [service(s)])
    const outcome = await new LocalStager(g.backend).stage(await g.release(suite.closures.web1), {})

    assert.deepEqual(outcome, { source: 'present', bytes: 0 })
  })

  it('names the paths that are missing', async function () {
    const g = await suite.garden(s => [service(s)])
    const release = await g.release(suite.closures.web1)
    release.manifest.push({ path: MISSING, narHash: release.narHash, narSize: 1, references: [] })
    const error = await new LocalStager(g.backend).stage(release, {}).catch((err: unknown) => err)

    assert.ok(error instanceof ClosureUnavailableError)
    assert.equal(error.code, 'ERR_CLOSURE_UNAVAILABLE')
    assert.deepEqual(error.missing, [MISSING])
  })

  it('rejects a present path with another hash', async function () {
    const g = await suite.garden(s => [service(s)])
    const release = await g.release(suite.closures.web1)
    const other = await g.release(suite.closures.web2)
    release.manifest[0] = { ...release.manifest[0], narHash: other.narHash }
    const error = await new LocalStager(g.backend).stage(release, {}).catch((err: unknown) => err)

    assert.ok(error instanceof ClosureUnavailableError)
    assert.deepEqual(error.missing, [release.manifest[0].path])
  })

  it('stops when aborted', async function () {
    const g = await suite.garden(s => [service(s)])
    const signal = AbortSignal.abort(new Error('stopping'))

    await assert.rejects(new LocalStager(g.backend).stage(await g.release(suite.closures.web1), { signal }), /stopping/)
  })
})

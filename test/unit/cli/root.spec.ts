import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'
import { readRootFile } from '../../../src/garden/index.ts'
import { verifyPinnedRoot, verifyRootStep } from '../../../src/trust/index.ts'
import { runCli } from './run-cli.ts'

describe('sower root', () => {
  let folder: string
  let alice: string
  let bob: string
  let carol: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-root-'))
    alice = join(folder, 'alice.pem')
    bob = join(folder, 'bob.pem')
    carol = join(folder, 'carol.pem')
    for (const key of [alice, bob, carol]) {
      await runCli(['keygen', '--out', key])
    }
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  async function create (threshold: string, ...admins: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
    return await runCli(['root', 'create', '--fleet', 'acme', ...admins.flatMap(admin => ['--admin', admin]),
      '--threshold', threshold, '--out', join(folder, 'root.json')])
  }

  it('creates a valid pinned root', async () => {
    const run = await create('1', `alice=${alice}:root,enroll,deploy`)
    assert.equal(run.status, EXIT.ok)
    assert.match(run.out, /valid: pin .*root\.json as "root" in every node's config/)
    verifyPinnedRoot(await readRootFile(join(folder, 'root.json')), Date.now())
  })

  it('keeps scope limits', async () => {
    await create('1', `alice=${alice}:root`, `ci=${bob}:deploy:seeds=web:tags=eu`)
    const root = await readRootFile(join(folder, 'root.json'))
    assert.deepEqual(root.body.admins[1].scopes, [{ name: 'deploy', seeds: ['web'], tags: ['eu'] }])
  })

  it('asks for more signatures below the threshold', async () => {
    const keyId = (await runCli(['key-id', bob])).out.trim()
    const run = await create('2', `alice=${alice}:root`, `bob=${keyId}:root`)
    assert.equal(run.status, EXIT.ok)
    assert.match(run.out, /signatures of its own root keys: 1 of 2 needed/)
    assert.match(run.out, /add signatures with `sower root sign/)
  })

  it('adds a signature', async () => {
    const keyId = (await runCli(['key-id', bob])).out.trim()
    await create('2', `alice=${alice}:root`, `bob=${keyId}:root`)
    const run = await runCli(['root', 'sign', join(folder, 'root.json'), '--key', bob])
    assert.equal(run.status, EXIT.ok)
    verifyPinnedRoot(await readRootFile(join(folder, 'root.json')), Date.now())
  })

  it('rejects a threshold above the root keys', async () => {
    const run = await create('2', `alice=${alice}:root,deploy`)
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /error: invalid root: threshold: threshold 2 exceeds the 1 admins with root scope/)
  })

  it('never overwrites a root file', async () => {
    await create('1', `alice=${alice}:root`)
    const run = await create('1', `alice=${alice}:root`)
    assert.equal(run.status, EXIT.invalidInput)
    assert.match(run.err, /root\.json already exists/)
  })

  it('rotates a key', async () => {
    await create('1', `alice=${alice}:root,enroll,deploy`)
    const run = await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--remove-admin', 'alice', '--add-admin', `carol=${carol}:root,enroll,deploy`, '--key', alice])
    assert.equal(run.status, EXIT.ok)
    assert.match(run.out, /valid: publish it with `sower root publish/)
    const first = await readRootFile(join(folder, 'root.json'))
    const second = await readRootFile(join(folder, 'root-2.json'))
    verifyRootStep(first, second)
    assert.deepEqual(second.body.admins.map(admin => admin.name), ['carol'])
  })

  it('reports a rotation without the old keys', async () => {
    await create('1', `alice=${alice}:root`)
    const run = await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--add-admin', `carol=${carol}:root`])
    assert.match(run.out, /signatures of version 1's root keys: 0 of 1 needed/)
    assert.match(run.out, /not valid yet: root version 2 has 0 of the 1 signatures that version 1's root keys must give/)
  })

  it('rejects removing an unknown admin', async () => {
    await create('1', `alice=${alice}:root`)
    const run = await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--remove-admin', 'mallory', '--key', alice])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /--remove-admin names mallory, which the current root does not list \(its admins: alice\)/)
  })

  it('rejects a past expiry on create', async () => {
    const run = await runCli(['root', 'create', '--fleet', 'acme', '--admin', `alice=${alice}:root`, '--threshold', '1',
      '--expires', '2020-01-01T00:00:00Z', '--out', join(folder, 'root.json')])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /invalid --expires "2020-01-01T00:00:00Z": 2020-01-01T00:00:00.000Z has passed/)
    await assert.rejects(readRootFile(join(folder, 'root.json')))
  })

  it('rejects a past expiry on rotate', async () => {
    await create('1', `alice=${alice}:root`)
    const run = await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--add-admin', `carol=${carol}:root`, '--key', alice, '--expires', '2020-01-01T00:00:00Z'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /invalid --expires "2020-01-01T00:00:00Z"/)
  })

  it('rejects signing without root scope', async () => {
    await create('1', `alice=${alice}:root`, `ci=${bob}:deploy`)
    const run = await runCli(['root', 'sign', join(folder, 'root.json'), '--key', bob])
    assert.equal(run.status, EXIT.rejected)
    assert.match(run.err, new RegExp(`key ${bob} \\(12D3KooW\\w+\\) is no admin with root scope in root version 1`))
  })

  it('rejects an outsider with --previous', async () => {
    await create('1', `alice=${alice}:root`)
    await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--add-admin', `carol=${carol}:root`, '--key', alice])
    const run = await runCli(['root', 'sign', join(folder, 'root-2.json'), '--key', bob, '--previous', join(folder, 'root.json')])
    assert.equal(run.status, EXIT.rejected)
    assert.match(run.err, /no admin with root scope in root version 2 or 1/)
  })

  it('accepts a previous root admin', async () => {
    await create('1', `alice=${alice}:root`)
    await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--remove-admin', 'alice', '--add-admin', `carol=${carol}:root`, '--key', carol])
    const run = await runCli(['root', 'sign', join(folder, 'root-2.json'), '--key', alice, '--previous', join(folder, 'root.json')])
    assert.equal(run.status, EXIT.ok)
    assert.equal(run.err, '')
  })

  it('warns on an outsider without --previous', async () => {
    await create('1', `alice=${alice}:root`)
    await runCli(['root', 'rotate', '--from', join(folder, 'root.json'), '--out', join(folder, 'root-2.json'),
      '--add-admin', `carol=${carol}:root`, '--key', alice])
    const run = await runCli(['root', 'sign', join(folder, 'root-2.json'), '--key', bob])
    assert.equal(run.status, EXIT.ok)
    assert.match(run.err, /warning: key .* is no admin with root scope in root version 2, so its signature counts only/)
    assert.match(run.err, /pass --previous FILE to check/)
  })

  it('shows admins and scopes', async () => {
    await create('1', `alice=${alice}:root`, `ci=${bob}:deploy:seeds=web`)
    const run = await runCli(['root', 'show', join(folder, 'root.json')])
    assert.match(run.out, /ci +12D3KooW\w+ +deploy\(seeds=web\)/)
  })

  it('shows JSON', async () => {
    await create('1', `alice=${alice}:root`)
    const run = await runCli(['root', 'show', join(folder, 'root.json'), '--json'])
    const shown = JSON.parse(run.out)
    assert.equal(shown.state.valid, true)
    assert.match(shown.id, /^root_/)
  })
})

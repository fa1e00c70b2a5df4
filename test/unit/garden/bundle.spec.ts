import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../../src/config/index.ts'
import type { Config } from '../../../src/config/index.ts'
import { openStoreOnly, toEnvelope } from '../../../src/garden/index.ts'
import type { StoreOnlyNode } from '../../../src/garden/index.ts'
import { generateKey, writeKeyFile } from '../../../src/keys/index.ts'
import { silentLogger } from '../../../src/logger.ts'
import { signRecord } from '../../../src/records/index.ts'

describe('bundles', () => {
  let folder: string
  let nodes: StoreOnlyNode[]

  async function configFor (name: string, fleet = 'unit'): Promise<Config> {
    await writeKeyFile(join(folder, `${name}.pem`), generateKey())
    return parseConfig({
      fleet,
      root: fleet === 'unit' ? 'root.json' : 'other-root.json',
      nodeKey: `${name}.pem`,
      adminKeys: ['admin.pem'],
      dataDir: name,
      nix: { backend: 'plain' }
    }, join(folder, `${name}.json`))
  }

  async function open (config: Config): Promise<StoreOnlyNode> {
    const node = await openStoreOnly(config, silentLogger())
    nodes.push(node)
    return node
  }

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-bundle-'))
    nodes = []
    const admin = generateKey()
    await writeKeyFile(join(folder, 'admin.pem'), admin)
    for (const [file, fleet] of [['root.json', 'unit'], ['other-root.json', 'other']]) {
      const nowMs = Date.now()
      const root = signRecord('root', {
        fleet,
        version: 1,
        prev: null,
        issuedAt: new Date(nowMs - 60_000).toISOString(),
        expiresAt: new Date(nowMs + 86_400_000).toISOString(),
        threshold: 1,
        admins: [{ name: 'ops', key: admin.id, scopes: [{ name: 'root' }, { name: 'enroll' }, { name: 'deploy' }] }]
      }, [admin])
      await writeFile(join(folder, file), JSON.stringify(toEnvelope(root)))
    }
  })

  afterEach(async () => {
    await Promise.all(nodes.map(async node => { await node.close() }))
    await rm(folder, { recursive: true, force: true })
  })

  async function enrollOn (node: StoreOnlyNode, name: string): Promise<string> {
    const outcome = await node.api.sign({
      type: 'certificate',
      body: { peer: generateKey().id, name, roles: ['garden'], tags: [], expiresAt: new Date(Date.now() + 60_000).toISOString() }
    })
    return outcome.id
  }

  it('moves records to another node', async () => {
    const source = await open(await configFor('a'))
    const certificate = await enrollOn(source, 'web-1')
    const file = join(folder, 'out.bundle')
    const exported = await source.api.exportBundle({ file })
    assert.equal(exported.records, 2)

    const target = await open(await configFor('b'))
    const imported = await target.api.importBundle({ file })
    assert.equal(imported.accepted, 1)
    assert.equal(imported.known, 1)
    assert.equal(await target.store.has(certificate), true)
  })

  it('imports a bundle twice', async () => {
    const source = await open(await configFor('a'))
    await enrollOn(source, 'web-1')
    const file = join(folder, 'out.bundle')
    await source.api.exportBundle({ file })
    const target = await open(await configFor('b'))
    await target.api.importBundle({ file })
    const again = await target.api.importBundle({ file })
    assert.equal(again.accepted, 0)
    assert.equal(again.known, 2)
  })

  it('never overwrites a file', async () => {
    const source = await open(await configFor('a'))
    const file = join(folder, 'out.bundle')
    await writeFile(file, 'keep me')
    await assert.rejects(source.api.exportBundle({ file }), { code: 'ERR_BUNDLE_EXISTS' })
    assert.equal(await readFile(file, 'utf8'), 'keep me')
  })

  it('rejects another fleet', async () => {
    const source = await open(await configFor('a'))
    const file = join(folder, 'out.bundle')
    await source.api.exportBundle({ file })
    const other = await open(await configFor('c', 'other'))
    await assert.rejects(other.api.importBundle({ file }), {
      code: 'ERR_BUNDLE_FLEET',
      message: /belongs to fleet unit, not to this node's fleet other/
    })
  })

  it('reports a truncated file', async () => {
    const source = await open(await configFor('a'))
    await enrollOn(source, 'web-1')
    const file = join(folder, 'out.bundle')
    await source.api.exportBundle({ file })
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    await writeFile(join(folder, 'cut.bundle'), lines.slice(0, -1).join('\n') + '\n')
    const target = await open(await configFor('b'))
    await assert.rejects(target.api.importBundle({ file: join(folder, 'cut.bundle') }), {
      code: 'ERR_BUNDLE_TRUNCATED',
      message: /ends without its end line: it is truncated; 1 records were imported/
    })
  })

  it('rejects a file that is no bundle', async () => {
    await writeFile(join(folder, 'notes.txt'), 'hello\n')
    const target = await open(await configFor('b'))
    await assert.rejects(target.api.importBundle({ file: join(folder, 'notes.txt') }), {
      code: 'ERR_BUNDLE_FORMAT',
      message: /is not a Sower bundle/
    })
  })

  it('counts a forged record as rejected', async () => {
    const source = await open(await configFor('a'))
    await enrollOn(source, 'web-1')
    const file = join(folder, 'out.bundle')
    await source.api.exportBundle({ file })
    const text = await readFile(file, 'utf8')
    await writeFile(join(folder, 'forged.bundle'), text.replace('"name":"web-1"', '"name":"web-2"'))
    const target = await open(await configFor('b'))
    const imported = await target.api.importBundle({ file: join(folder, 'forged.bundle') })
    assert.equal(imported.rejected, 1)
    assert.equal(imported.problems[0].code, 'ERR_SIGNATURE')
  })
})

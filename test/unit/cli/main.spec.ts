import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'
import { runCli } from './run-cli.ts'

describe('sower command line', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'sower-cli-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  it('prints help with status 0', async () => {
    const run = await runCli(['--help'])
    assert.equal(run.status, EXIT.ok)
    assert.match(run.out, /Usage: sower/)
  })

  it('documents exit statuses in help', async () => {
    const run = await runCli(['--help'])
    assert.match(run.out, /Exit status: 0 success/)
  })

  const subcommands = ['keygen', 'key-id', 'root', 'enroll', 'revoke', 'node', 'deploy', 'retry', 'cancel', 'confirm',
    'status', 'policy', 'bundle', 'web', 'demo']
  for (const name of subcommands) {
    it(`has help for ${name}`, async () => {
      const run = await runCli([name, '--help'])
      assert.equal(run.status, EXIT.ok)
      assert.match(run.out, new RegExp(`Usage: sower ${name}`))
    })
  }

  it('shows each default once in help', async () => {
    const run = await runCli(['enroll', '--help'])
    assert.doesNotMatch(run.out, /\(default: \[\]\)/)
    assert.match(run.out, /repeatable \(default:\s+garden\)/)
  })

  it('rejects an unknown command', async () => {
    const run = await runCli(['deplyo'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /unknown command 'deplyo'/)
  })

  it('rejects a missing option', async () => {
    const run = await runCli(['root', 'create', '--threshold', '1', '--out', join(folder, 'root.json')])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /required option '--fleet <name>' not specified/)
  })

  it('rejects a malformed number', async () => {
    const run = await runCli(['root', 'create', '--fleet', 'f', '--admin', 'a=k.pem:root', '--threshold', 'two', '--out', 'x'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /error: invalid number "two": expected a whole number of at least 1/)
  })

  it('writes a key and prints its id', async () => {
    const run = await runCli(['keygen', '--out', join(folder, 'a.pem')])
    assert.equal(run.status, EXIT.ok)
    assert.match(run.out, /^12D3KooW\w+\n$/)
  })

  it('never overwrites a key', async () => {
    await runCli(['keygen', '--out', join(folder, 'a.pem')])
    const run = await runCli(['keygen', '--out', join(folder, 'a.pem')])
    assert.equal(run.status, EXIT.invalidInput)
    assert.match(run.err, /^error: key file .*a\.pem already exists; choose another path or remove it first\n$/)
  })

  it('names a missing config and its fix', async () => {
    const run = await runCli(['status', '--config', join(folder, 'none.json')])
    assert.equal(run.status, EXIT.invalidInput)
    assert.match(run.err, /error: invalid config file .*none\.json:\n {2}cannot read the file: ENOENT/)
  })

  it('reads the config path from SOWER_CONFIG', async () => {
    const run = await runCli(['status'], { env: { SOWER_CONFIG: join(folder, 'env.json') } })
    assert.match(run.err, /env\.json/)
  })

  it('rejects an enrollment of a non-key id', async () => {
    const config = join(folder, 'config.json')
    await writeFile(config, '{}')
    const run = await runCli(['enroll', 'web-1', '--name', 'web-1', '--config', config])
    assert.equal(run.status, EXIT.invalidInput)
    assert.match(run.err, /"web-1" is not a garden's key id \(12D3KooW\.\.\.\); print it on the garden with `sower key-id NODE_KEY_FILE`/)
  })

  it('rejects an unknown seed type', async () => {
    const run = await runCli(['deploy', 'web', './result', '--to', '*', '--type', 'vm'])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /error: unknown seed type "vm": use system, service, home/)
  })

  it('rejects a bad duration', async () => {
    const key = join(folder, 'a.pem')
    await runCli(['keygen', '--out', key])
    const run = await runCli(['root', 'create', '--fleet', 'f', '--admin', `a=${key}:root`, '--threshold', '1',
      '--expires', 'soon', '--out', join(folder, 'root.json')])
    assert.equal(run.status, EXIT.usage)
    assert.match(run.err, /invalid duration "soon"/)
  })

  it('reports an unreadable key file', async () => {
    const run = await runCli(['key-id', folder])
    assert.equal(run.status, EXIT.invalidInput)
    assert.match(run.err, /^error: cannot read key file/)
  })
})

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { EXIT } from '../../../src/cli/index.ts'

const BIN = join(import.meta.dirname, '../../../src/cli/bin.ts')

/** Runs `sower --version` as a child process that reports `nodeVersion` as its Node.js version. */
function runWithNodeVersion (nodeVersion: string): { status: number | null, stdout: string, stderr: string } {
  const fake = `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(nodeVersion)} })`
  const child = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(fake)}`, BIN, '--version'],
    { encoding: 'utf8', timeout: 20_000 })
  return { status: child.status, stdout: child.stdout, stderr: child.stderr }
}

describe('sower entry file', () => {
  for (const version of ['20.19.0', '22.17.9', '21.99.0']) {
    it(`rejects Node.js ${version}`, () => {
      const run = runWithNodeVersion(version)
      assert.equal(run.status, EXIT.unavailable)
      assert.match(run.stderr, new RegExp(`needs Node.js 22.18.0 or newer, but this is Node.js ${version}`))
      assert.match(run.stderr, /`npx sower` \(or `npm start`\) in the repository/)
      assert.equal(run.stdout, '')
    })
  }

  for (const version of ['22.18.0', '24.1.0', process.versions.node]) {
    it(`runs on Node.js ${version}`, () => {
      const run = runWithNodeVersion(version)
      assert.equal(run.stderr, '')
      assert.equal(run.status, EXIT.ok)
      assert.match(run.stdout, /^\d+\.\d+\.\d+/)
    })
  }
})

import assert from 'node:assert/strict'
import { open, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { NixCommandError, NixCommandTimeoutError } from '../../../src/nix/errors.ts'
import { runCommand, STDERR_TAIL_MAX_BYTES, streamCommand } from '../../../src/nix/run-command.ts'
import { collect, TempFolders } from './helpers.ts'

describe('run command', () => {
  const folders = new TempFolders()

  afterEach(async () => {
    await folders.removeAll()
  })

  describe('runCommand', () => {
    it('returns stdout', async () => {
      const { stdout } = await runCommand('/bin/sh', ['-c', 'echo hello'], { timeoutMs: 5000 })
      assert.equal(stdout, 'hello\n')
    })

    it('raises with the exit code', async () => {
      const script = 'echo "error: broken" >&2; exit 3'
      const error = await runCommand('/bin/sh', ['-c', script], { timeoutMs: 5000 }).catch((error: unknown) => error)
      assert.ok(error instanceof NixCommandError)
      assert.equal(error.exitCode, 3)
      assert.equal(error.stderrTail, 'error: broken\n')
      assert.match(error.message, /failed with exit code 3: error: broken$/)
    })

    it('keeps only the stderr tail', async () => {
      const script = `head -c ${STDERR_TAIL_MAX_BYTES * 3} /dev/zero | tr '\\0' x >&2; echo end >&2; exit 1`
      const error = await runCommand('/bin/sh', ['-c', script], { timeoutMs: 5000 }).catch((error: unknown) => error)
      assert.ok(error instanceof NixCommandError)
      assert.equal(error.stderrTail.length, STDERR_TAIL_MAX_BYTES)
      assert.ok(error.stderrTail.endsWith('end\n'))
    })

    it('kills a command that runs too long', async () => {
      const started = Date.now()
      await assert.rejects(runCommand('/bin/sleep', ['10'], { timeoutMs: 100 }), NixCommandTimeoutError)
      assert.ok(Date.now() - started < 5000)
    })

    it('raises for a missing program', async () => {
      const error = await runCommand('/nonexistent/nix-store', [], { timeoutMs: 5000 }).catch((error: unknown) => error)
      assert.ok(error instanceof NixCommandError)
      assert.match(error.message, /could not start/)
    })

    it('reads stdin from a descriptor', async () => {
      const file = join(await folders.make('stdin'), 'input')
      await writeFile(file, 'twelve bytes')
      const handle = await open(file, 'r')
      try {
        const { stdout } = await runCommand('/bin/sh', ['-c', 'wc -c'], { timeoutMs: 5000, stdinFd: handle.fd })
        assert.equal(stdout.trim(), '12')
      } finally {
        await handle.close()
      }
    })
  })

  describe('streamCommand', () => {
    it('streams stdout', async () => {
      const output = await collect(streamCommand('/bin/sh', ['-c', 'echo one; echo two'], { timeoutMs: 5000 }))
      assert.equal(output.toString(), 'one\ntwo\n')
    })

    it('fails the stream on a non-zero exit', async () => {
      const script = 'echo partial; echo "error: gone" >&2; exit 1'
      const stream = streamCommand('/bin/sh', ['-c', script], { timeoutMs: 5000 })
      const error = await collect(stream).catch((error: unknown) => error)
      assert.ok(error instanceof NixCommandError)
      assert.equal(error.stderrTail, 'error: gone\n')
    })

    it('fails the stream on timeout', async () => {
      await assert.rejects(collect(streamCommand('/bin/sleep', ['10'], { timeoutMs: 100 })), NixCommandTimeoutError)
    })
  })
})

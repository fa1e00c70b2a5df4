import assert from 'node:assert/strict'
import { runHostCommand, stripControlCharacters } from '../../../src/deploy/index.ts'
import { OUTPUT_TAIL_MAX_BYTES } from '../../../src/deploy/types.ts'

describe('host commands', function () {
  it('reports success and output', async function () {
    const outcome = await runHostCommand(['/bin/sh', '-c', 'echo out; echo err >&2'], { timeoutMs: 5000 })

    assert.equal(outcome.ok, true)
    assert.equal(outcome.exitCode, 0)
    assert.equal(outcome.problem, null)
    assert.match(outcome.output, /out\n/)
    assert.match(outcome.output, /err\n/)
  })

  it('reports a non-zero exit', async function () {
    const outcome = await runHostCommand(['/bin/sh', '-c', 'exit 7'], { timeoutMs: 5000 })

    assert.equal(outcome.ok, false)
    assert.equal(outcome.exitCode, 7)
    assert.equal(outcome.problem, 'exited with status 7')
  })

  it('kills a command that times out', async function () {
    const started = Date.now()
    const outcome = await runHostCommand(['sleep', '10'], { timeoutMs: 100 })

    assert.equal(outcome.ok, false)
    assert.equal(outcome.timedOut, true)
    assert.equal(outcome.problem, 'timed out after 100 ms')
    assert.ok(Date.now() - started < 3000)
  })

  it('reports a program that cannot start', async function () {
    const outcome = await runHostCommand(['/nonexistent/program'], { timeoutMs: 1000 })

    assert.equal(outcome.ok, false)
    assert.equal(outcome.exitCode, null)
    assert.match(outcome.problem ?? '', /could not start \/nonexistent\/program/)
  })

  it('passes arguments without a shell', async function () {
    const outcome = await runHostCommand(['/bin/echo', '$HOME; `id`'], { timeoutMs: 5000 })

    assert.equal(outcome.output, '$HOME; `id`\n')
  })

  it('passes the environment', async function () {
    const outcome = await runHostCommand(['/bin/sh', '-c', 'echo "$SOWER_ACTION"'], { timeoutMs: 5000, env: { SOWER_ACTION: 'switch' } })

    assert.equal(outcome.output, 'switch\n')
  })

  it('keeps the last 4 KiB of output', async function () {
    const outcome = await runHostCommand(['/bin/sh', '-c', 'i=0; while [ $i -lt 2000 ]; do echo "line $i"; i=$((i+1)); done'], { timeoutMs: 5000 })

    assert.ok(outcome.output.length <= OUTPUT_TAIL_MAX_BYTES)
    assert.ok(outcome.output.endsWith('line 1999\n'))
    assert.equal(outcome.output.includes('line 0\n'), false)
  })

  it('rejects when aborted', async function () {
    const controller = new AbortController()
    const running = runHostCommand(['sleep', '10'], { timeoutMs: 10_000, signal: controller.signal })
    setTimeout(() => { controller.abort(new Error('stopping')) }, 50)

    await assert.rejects(running, /stopping/)
  })
})

describe('stripControlCharacters', function () {
  const cases: Array<[string, string, string]> = [
    ['colour codes', 'a\x1b[31mred\x1b[0m b', 'ared b'],
    ['cursor moves', 'x\x1b[2Ky\x1b[1;1H', 'xy'],
    ['window title', '\x1b]0;title\x07text', 'text'],
    ['bell and backspace', 'a\x07b\x08c', 'abc'],
    ['carriage return line ends', 'a\r\nb\r\n', 'a\nb\n'],
    ['C1 controls', 'a\u009bb', 'ab'],
    ['replacement characters', '\ufffdok', 'ok']
  ]
  for (const [name, input, expected] of cases) {
    it(`removes ${name}`, function () {
      assert.equal(stripControlCharacters(input), expected)
    })
  }

  it('keeps tabs and newlines', function () {
    assert.equal(stripControlCharacters('a\tb\nc'), 'a\tb\nc')
  })
})

import assert from 'node:assert/strict'
import { eprintln, formatTable, printJson, println } from '../../../src/cli/output.ts'
import type { Io } from '../../../src/cli/output.ts'

function captureIo (): Io & { stdout: () => string, stderr: () => string } {
  let out = ''
  let err = ''
  return {
    out: text => { out += text },
    err: text => { err += text },
    isTty: true,
    stdout: () => out,
    stderr: () => err
  }
}

const hostile = [
  { name: 'clear screen', input: 'v1\x1b[2J\x1b[H', expected: 'v1' },
  { name: 'OSC 52 clipboard', input: 'v1\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07', expected: 'v1' },
  { name: 'carriage return', input: 'failure\rsuccess', expected: 'failuresuccess' },
  { name: 'C1 CSI', input: 'a\x9b2Jb', expected: 'a2Jb' },
  { name: 'bell and backspace', input: 'ok\x07\x08\x08', expected: 'ok' }
]

describe('cli output', () => {
  for (const { name, input, expected } of hostile) {
    it(`println strips ${name}`, () => {
      const io = captureIo()
      println(io, `version ${input}`)
      assert.equal(io.stdout(), `version ${expected}\n`)
    })

    it(`eprintln strips ${name}`, () => {
      const io = captureIo()
      eprintln(io, input)
      assert.equal(io.stderr(), `${expected}\n`)
    })

    it(`formatTable strips ${name}`, () => {
      const [, row] = formatTable(['garden', 'version'], [[input, 'x']])
      assert.equal(row, `${expected.padEnd(6)}  x`)
    })
  }

  it('formatTable keeps a cell on one line', () => {
    const lines = formatTable(['garden', 'version'], [['a\nfailure', '1']])
    assert.equal(lines.length, 2)
    assert.equal(lines[1], 'a failure  1')
  })

  it('printJson escapes C1 and DEL', () => {
    const io = captureIo()
    printJson(io, { agentVersion: 'a\x1b[2J\x9b\x7fb' })
    assert.equal(io.stdout().includes('\x1b'), false)
    assert.equal(io.stdout().includes('\x9b'), false)
    assert.equal(io.stdout().includes('\x7f'), false)
  })

  it('printJson stays valid JSON', () => {
    const io = captureIo()
    const value = { agentVersion: 'a\x1b[2J\x9b\x7fb\r', actor: 'é…' }
    printJson(io, value)
    assert.deepEqual(JSON.parse(io.stdout()), value)
  })
})

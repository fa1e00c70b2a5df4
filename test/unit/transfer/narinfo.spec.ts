import assert from 'node:assert/strict'
import { TransferProtocolError, parseNarInfo } from '../../../src/transfer/index.ts'

const PATH = '/nix/store/6h9lcbx523532ax1c5g2351w9bm8ykhy-f.txt'
const REFERENCE = '/nix/store/0c7jx3sb4w0l0k7y8b6y9n4b4p7m5f2a-hello-2.12'
const NAR_HASH = 'sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw'

/** A narinfo as `nix copy --to file://DIR?compression=none` writes it with Nix 2.8. */
const NIX_WRITTEN = `StorePath: ${PATH}
URL: nar/04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw.nar
Compression: none
FileHash: sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw
FileSize: 120
NarHash: ${NAR_HASH}
NarSize: 120
References: 
CA: fixed:r:sha256:04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw
`

function withField (key: string, value: string | null): string {
  const lines = NIX_WRITTEN.split('\n').filter(line => !line.startsWith(`${key}:`))
  return [...lines, ...(value === null ? [] : [`${key}: ${value}`])].join('\n')
}

describe('parseNarInfo', () => {
  it('reads a narinfo written by Nix', () => {
    assert.deepEqual(parseNarInfo(NIX_WRITTEN, 'test.narinfo'), {
      storePath: PATH,
      url: 'nar/04zwf782yjwnh3q6hz5izfd6jyip8kgw6g6yj43fiqhbyhdd0dqw.nar',
      compression: 'none',
      fileSize: 120,
      narHash: NAR_HASH,
      narSize: 120,
      references: [],
      deriver: null
    })
  })

  it('expands references to store paths', () => {
    const text = withField('References', `${REFERENCE.slice(11)} ${PATH.slice(11)}`)
    assert.deepEqual(parseNarInfo(text, 'test.narinfo').references, [REFERENCE, PATH])
  })

  it('reads the deriver', () => {
    const text = withField('Deriver', 'ihcksfcc1j3gvf0gbz7ax5kk1dl1ng25-f.txt.drv')
    assert.equal(parseNarInfo(text, 'test.narinfo').deriver, '/nix/store/ihcksfcc1j3gvf0gbz7ax5kk1dl1ng25-f.txt.drv')
  })

  it('normalises a hex NAR hash', () => {
    const text = withField('NarHash', `sha256:${'ab'.repeat(32)}`)
    assert.match(parseNarInfo(text, 'test.narinfo').narHash, /^sha256:[0-9a-z]{52}$/)
  })

  it('defaults the compression to none', () => {
    assert.equal(parseNarInfo(withField('Compression', null), 'test.narinfo').compression, 'none')
  })

  const invalid: Array<{ name: string, text: string, message: RegExp }> = [
    { name: 'a missing StorePath', text: withField('StorePath', null), message: /lacks the StorePath field/ },
    { name: 'a missing URL', text: withField('URL', null), message: /lacks the URL field/ },
    { name: 'a missing NarSize', text: withField('NarSize', null), message: /lacks the NarSize field/ },
    { name: 'an invalid StorePath', text: withField('StorePath', '/tmp/x'), message: /invalid StorePath/ },
    { name: 'an invalid NarHash', text: withField('NarHash', 'md5:abc'), message: /invalid NarHash/ },
    { name: 'a negative NarSize', text: withField('NarSize', '-1'), message: /invalid NarSize/ },
    { name: 'a fractional FileSize', text: withField('FileSize', '1.5'), message: /invalid FileSize/ },
    { name: 'an invalid reference', text: withField('References', 'not-a-path'), message: /invalid reference/ }
  ]
  for (const { name, text, message } of invalid) {
    it(`rejects ${name}`, () => {
      assert.throws(() => parseNarInfo(text, 'test.narinfo'), (error: unknown) =>
        error instanceof TransferProtocolError && message.test(error.message))
    })
  }
})

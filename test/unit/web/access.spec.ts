import assert from 'node:assert/strict'
import { TOKEN_MIN_CHARS, checkBinding, hostNameOf, isLoopback, urlWithoutToken } from '../../../src/web/access.ts'
import { WebViewConfigError } from '../../../src/web/errors.ts'

const TOKEN = 'a'.repeat(TOKEN_MIN_CHARS)

describe('web access', () => {
  describe('isLoopback', () => {
    const cases: Array<[string, boolean]> = [
      ['127.0.0.1', true],
      ['127.1.2.3', true],
      ['localhost', true],
      ['::1', true],
      ['[::1]', true],
      ['::ffff:127.0.0.1', true],
      ['0.0.0.0', false],
      ['::', false],
      ['10.0.0.5', false],
      ['192.168.1.10', false],
      ['128.0.0.1', false],
      ['localhost.example.com', false],
      ['127.0.0.1.example.com', false],
      ['', false]
    ]
    for (const [host, expected] of cases) {
      it(`${host === '' ? '(empty)' : host} is ${expected ? '' : 'not '}loopback`, () => {
        assert.equal(isLoopback(host), expected)
      })
    }
  })

  describe('checkBinding', () => {
    it('loopback without token starts', () => {
      assert.doesNotThrow(() => { checkBinding('127.0.0.1', undefined) })
    })

    it('public address without token fails', () => {
      assert.throws(() => { checkBinding('0.0.0.0', undefined) }, (err: unknown) => {
        assert.ok(err instanceof WebViewConfigError)
        assert.equal(err.code, 'ERR_WEB_TOKEN_REQUIRED')
        assert.match(err.message, /"token" option/)
        return true
      })
    })

    it('IPv6 any address without token fails', () => {
      assert.throws(() => { checkBinding('::', undefined) }, { code: 'ERR_WEB_TOKEN_REQUIRED' })
    })

    it('public address with token starts', () => {
      assert.doesNotThrow(() => { checkBinding('0.0.0.0', TOKEN) })
    })

    it('short token fails', () => {
      assert.throws(() => { checkBinding('0.0.0.0', TOKEN.slice(1)) }, { code: 'ERR_WEB_TOKEN_WEAK' })
    })

    it('short token fails on loopback too', () => {
      assert.throws(() => { checkBinding('127.0.0.1', 'short') }, { code: 'ERR_WEB_TOKEN_WEAK' })
    })
  })

  describe('hostNameOf', () => {
    const cases: Array<[string, string]> = [
      ['127.0.0.1:8080', '127.0.0.1'],
      ['localhost', 'localhost'],
      ['[::1]:8080', '[::1]'],
      ['evil.example:80', 'evil.example']
    ]
    for (const [header, expected] of cases) {
      it(header, () => {
        assert.equal(hostNameOf(header), expected)
      })
    }
  })

  describe('urlWithoutToken', () => {
    it('drops the token and keeps the rest', () => {
      assert.equal(urlWithoutToken('/?sort=name&token=secret&page=2'), '/?sort=name&page=2')
    })

    it('drops an empty query', () => {
      assert.equal(urlWithoutToken('/gardens/x?token=secret'), '/gardens/x')
    })
  })
})

import { createHash, timingSafeEqual } from 'node:crypto'
import { isIPv4, isIPv6 } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpError, WebViewConfigError } from './errors.ts'

export const TOKEN_COOKIE = 'sower_token'
export const TOKEN_MIN_CHARS = 16

/** Returns whether an address or host name only accepts connections from this machine. */
export function isLoopback (host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare === 'localhost') return true
  if (isIPv4(bare)) return bare.startsWith('127.')
  if (isIPv6(bare)) return bare === '::1' || /^::ffff:127\./i.test(bare)
  return false
}

/**
 * Rejects options that would expose the view: an address other than
 * loopback needs an access token, and a token must be long enough to resist
 * guessing.
 */
export function checkBinding (host: string, token: string | undefined): void {
  if (token == null && !isLoopback(host)) {
    throw new WebViewConfigError(`binding the web view to ${host} requires the "token" option: ` +
      `set an access token of at least ${TOKEN_MIN_CHARS} characters, or bind to 127.0.0.1`, 'ERR_WEB_TOKEN_REQUIRED')
  }
  if (token != null && token.length < TOKEN_MIN_CHARS) {
    throw new WebViewConfigError(`the "token" option has ${token.length} characters: ` +
      `use at least ${TOKEN_MIN_CHARS}, e.g. the output of \`openssl rand -hex 16\``, 'ERR_WEB_TOKEN_WEAK')
  }
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Returns the host name of a Host header value such as `127.0.0.1:8080` or `[::1]:8080`. */
export function hostNameOf (header: string): string {
  if (header.startsWith('[')) {
    const end = header.indexOf(']')
    return end === -1 ? header : header.slice(0, end + 1)
  }
  const colon = header.indexOf(':')
  return colon === -1 ? header : header.slice(0, colon)
}

function bearerOf (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  const match = header != null ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null
  return match?.[1]
}

function queryTokenOf (request: FastifyRequest): string | undefined {
  const value = (request.query as Record<string, unknown> | undefined)?.token
  return typeof value === 'string' ? value : undefined
}

/** Removes the `token` parameter from a request URL, so the token leaves the address bar and history. */
export function urlWithoutToken (url: string): string {
  const parsed = new URL(url, 'http://localhost')
  parsed.searchParams.delete('token')
  return parsed.pathname + parsed.search
}

/** Returns whether a path serves HTML pages, which a browser opens from a link with `?token=`. */
function isPagePath (path: string): boolean {
  return !path.startsWith('/api/') && path !== '/api' && path !== '/events' && !path.startsWith('/assets/')
}

export interface AccessInit {
  /** The address the server is bound to. */
  host: string
  token?: string
}

/**
 * Creates the `onRequest` hook that guards every request. On a loopback
 * binding, requests must name a loopback host, which stops DNS rebinding
 * from a web page. With a token, every request must carry it in the
 * `sower_token` cookie, an `Authorization: Bearer` header or `?token=`. A
 * page opened with a valid `?token=` sets the cookie and redirects to its
 * URL without the token. Tokens are compared in constant time.
 */
export function createAccessHook (init: AccessInit) {
  const expected = init.token != null ? digest(init.token) : undefined
  const loopbackOnly = isLoopback(init.host)
  const matches = (candidate: string | undefined): boolean =>
    candidate != null && expected != null && timingSafeEqual(digest(candidate), expected)

  return async function checkAccess (request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const hostHeader = request.headers.host
    if (loopbackOnly && hostHeader != null && !isLoopback(hostNameOf(hostHeader))) {
      throw new HttpError(403, 'ERR_HOST_NOT_ALLOWED',
        `host ${hostNameOf(hostHeader).slice(0, 80)} is not allowed: open the view at 127.0.0.1 or localhost`)
    }
    if (expected == null) return

    const fromQuery = queryTokenOf(request)
    if (matches(fromQuery)) {
      reply.setCookie(TOKEN_COOKIE, init.token as string, { path: '/', httpOnly: true, sameSite: 'strict' })
      if (request.method === 'GET' && isPagePath(request.url.split('?')[0])) {
        return reply.redirect(urlWithoutToken(request.url), 303)
      }
      return
    }
    if (matches(bearerOf(request)) || matches(request.cookies[TOKEN_COOKIE])) return
    reply.header('www-authenticate', 'Bearer realm="sower"')
    throw new HttpError(401, 'ERR_UNAUTHORIZED',
      'access token missing or invalid: open the view with ?token=<token> or send "Authorization: Bearer <token>"')
  }
}

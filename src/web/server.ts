import fastifyCookie from '@fastify/cookie'
import Fastify, { LogController } from 'fastify'
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Logger } from '../logger.ts'
import { createAccessHook } from './access.ts'
import { HttpError } from './errors.ts'
import { setSecurityHeaders } from './headers.ts'
import { ErrorPage, errorTitle } from './render/error-page.ts'
import { html } from './render/html.ts'
import { registerApi } from './routes/api.ts'
import { registerAssets } from './routes/assets.ts'
import { sendPage } from './routes/context.ts'
import type { RouteContext } from './routes/context.ts'
import { registerPages } from './routes/pages.ts'

/** Requests carry no body: every route is a GET. */
const BODY_LIMIT_BYTES = 1024
/** Route parameters are ids of at most a few dozen characters. */
const PARAM_MAX_CHARS = 200

export interface ServerInit {
  host: string
  token?: string
  logger: Logger
}

function wantsJson (request: FastifyRequest): boolean {
  const path = request.url.split('?')[0]
  return path.startsWith('/api/') || path === '/api' || path === '/events'
}

/** Maps any error to a status, code and message; an unexpected error returns only `ERR_INTERNAL`. */
function toHttpError (error: FastifyError | Error): HttpError {
  if (error instanceof HttpError) return error
  const statusCode = (error as FastifyError).statusCode
  if (statusCode != null && statusCode >= 400 && statusCode < 500) {
    return new HttpError(statusCode, (error as FastifyError).code ?? 'ERR_BAD_REQUEST', error.message)
  }
  return new HttpError(500, 'ERR_INTERNAL', 'internal error: the node log has the details')
}

async function sendError (context: RouteContext, request: FastifyRequest, reply: FastifyReply, error: HttpError): Promise<FastifyReply> {
  const { statusCode, code, message } = error
  if (wantsJson(request)) {
    return await reply.code(statusCode).header('cache-control', 'no-store').send({ error: { code, message } })
  }
  return await sendPage(context, reply, {
    title: errorTitle(statusCode),
    page: { view: 'error' },
    statusCode,
    body: html`<${ErrorPage} statusCode=${statusCode} code=${code} message=${message} />`
  })
}

/**
 * Builds the HTTP server of the web view without listening: security
 * headers and the access check on every request, then the assets, the
 * pages, the JSON API and the event stream.
 */
export async function buildServer (init: ServerInit, context: RouteContext): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: init.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    forceCloseConnections: true,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: PARAM_MAX_CHARS, ignoreTrailingSlash: true }
  })
  await app.register(fastifyCookie)
  app.addHook('onRequest', setSecurityHeaders)
  app.addHook('onRequest', createAccessHook({ host: init.host, token: init.token }))

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    const httpError = toHttpError(error)
    if (httpError.statusCode >= 500) {
      request.log.error({ err: error, url: request.url }, 'web view request failed')
    }
    return await sendError(context, request, reply, httpError)
  })
  app.setNotFoundHandler(async (request, reply) => {
    const path = request.url.split('?')[0].slice(0, 200)
    return await sendError(context, request, reply, new HttpError(404, 'ERR_NOT_FOUND', `nothing at ${request.method} ${path}`))
  })

  await registerAssets(app)
  registerPages(app, context)
  registerApi(app, context)
  app.get('/events', (_request, reply) => {
    if (!context.hub.hasRoom()) {
      throw new HttpError(503, 'ERR_TOO_MANY_CLIENTS', 'too many live update clients: close other tabs of this view or retry later')
    }
    context.hub.accept(reply)
  })
  return app
}

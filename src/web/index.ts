import type { AddressInfo } from 'node:net'
import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { checkBinding } from './access.ts'
import { WebData } from './data.ts'
import { WebViewConfigError } from './errors.ts'
import { LiveHub } from './live.ts'
import type { LiveHubInit } from './live.ts'
import type { NodeInfo, OwnFeedView } from './render/layout.ts'
import { buildServer } from './server.ts'

export { WebViewConfigError, HttpError } from './errors.ts'
export { TOKEN_MIN_CHARS, TOKEN_COOKIE } from './access.ts'
export type { NodeInfo, OwnFeedView } from './render/layout.ts'
export type { LiveChange } from './live.ts'

export interface WebViewComponents {
  store: RecordStore
  logger: Logger
}

export interface WebViewInit {
  /** Address to bind. Anything but loopback requires `token`. @default '127.0.0.1' */
  host?: string
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /** Access token of at least 16 characters, checked on every request when set. */
  token?: string
  /** The view has no actions, so it is always read-only; `false` is rejected. @default true */
  readOnly?: boolean
  /** The serving node, shown in the page header. */
  nodeInfo?: NodeInfo
  /** Returns the serving node's own feed, shown in the page header and, unless ready, in a banner. */
  ownFeed?: () => OwnFeedView | null
  /** Limits of the live update stream. */
  live?: LiveHubInit
  /** Clock for "3 min ago" and expiry marks. @default Date.now */
  nowMs?: () => number
}

export interface WebView {
  /** Base URL, e.g. `http://127.0.0.1:41234/`. */
  url: string
  /** Ends the event streams, stops listening and detaches from the store. Safe to call twice. */
  close: () => Promise<void>
}

export const WEB_VIEW_DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  readOnly: true
} as const

function formatUrl (address: AddressInfo): string {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return `http://${host}:${address.port}/`
}

/**
 * Starts the read-only web view of the fleet over a record store: the
 * gardens, deployments and intents pages, a JSON API under /api/ and live
 * updates over server-sent events at /events.
 */
export async function startWebView (components: WebViewComponents, init: WebViewInit = {}): Promise<WebView> {
  const host = init.host ?? WEB_VIEW_DEFAULTS.host
  const port = init.port ?? WEB_VIEW_DEFAULTS.port
  if (init.readOnly === false) {
    throw new WebViewConfigError('the web view has no actions, so the "readOnly" option cannot be false', 'ERR_WEB_READ_ONLY')
  }
  checkBinding(host, init.token)

  const logger = components.logger.child({ component: 'web' })
  const data = new WebData({ store: components.store, logger })
  const hub = new LiveHub({ logger }, init.live)
  const app = await buildServer({ host, token: init.token, logger }, {
    data,
    hub,
    nodeInfo: init.nodeInfo,
    ...(init.ownFeed == null ? {} : { ownFeed: init.ownFeed }),
    nowMs: init.nowMs ?? Date.now
  })

  const onRecord = (record: SignedRecord): void => {
    data.recordStored(record)
    hub.notify(record)
  }
  const onFork = (): void => {
    data.forkDetected()
    hub.notifyAlert()
  }
  components.store.on('record', onRecord)
  components.store.on('fork', onFork)

  try {
    await app.listen({ host, port })
  } catch (err) {
    components.store.off('record', onRecord)
    components.store.off('fork', onFork)
    hub.close()
    await app.close()
    throw err
  }
  const url = formatUrl(app.server.address() as AddressInfo)
  logger.info({ url, token: init.token != null }, 'web view started')

  let closing: Promise<void> | undefined
  return {
    url,
    close: async () => {
      closing ??= (async () => {
        components.store.off('record', onRecord)
        components.store.off('fork', onFork)
        hub.close()
        await app.close()
        logger.info({ url }, 'web view stopped')
      })()
      await closing
    }
  }
}

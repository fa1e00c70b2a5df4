import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'
import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'

/** Changes since the last message; the client refreshes the pages they concern. */
export interface LiveChange {
  gardens: string[]
  deployments: string[]
  intents: string[]
  /** A fork alert was raised. */
  alerts: boolean
  /** Too much changed to list, or a client missed messages: every page refreshes. */
  all: boolean
}

export interface LiveHubInit {
  /** Clients beyond this get 503, so a tab storm cannot exhaust the node. @default 64 */
  maxClients?: number
  /** Records stored within this time after a first one go out as one message. @default 250 */
  coalesceMs?: number
  /** A comment is sent this often, so proxies keep the stream open and dead clients are noticed. @default 15000 */
  heartbeatMs?: number
  /** Reconnect delay sent to the browser in the `retry:` field. @default 1000 */
  retryMs?: number
}

export const LIVE_DEFAULTS = {
  maxClients: 64,
  coalesceMs: 250,
  heartbeatMs: 15_000,
  retryMs: 1000
} as const

/** Ids per kind in one message; past this the message sets `all` instead. */
const CHANGE_IDS_MAX = 200

interface Client {
  response: ServerResponse
  /** The socket buffer was full: messages are dropped until it drains, then `all` is sent. */
  lagging: boolean
}

class PendingChange {
  gardens = new Set<string>()
  deployments = new Set<string>()
  intents = new Set<string>()
  alerts = false
  all = false

  add (record: SignedRecord): void {
    const body = record.body as unknown as Record<string, unknown>
    switch (record.type) {
      case 'report':
        this.gardens.add(record.author)
        break
      case 'event':
        this.gardens.add(record.author)
        this.deployments.add(body.deployment as string)
        this.intents.add(body.intent as string)
        break
      case 'certificate':
      case 'revocation':
        this.gardens.add(body.peer as string)
        break
      case 'intent':
        this.intents.add(record.id)
        break
      case 'alert':
        this.alerts = true
        break
      default:
        this.all = true
    }
  }

  toChange (): LiveChange {
    const tooMany = this.gardens.size > CHANGE_IDS_MAX || this.deployments.size > CHANGE_IDS_MAX ||
      this.intents.size > CHANGE_IDS_MAX
    if (this.all || tooMany) return { gardens: [], deployments: [], intents: [], alerts: this.alerts, all: true }
    return {
      gardens: [...this.gardens],
      deployments: [...this.deployments],
      intents: [...this.intents],
      alerts: this.alerts,
      all: false
    }
  }
}

function formatMessage (change: LiveChange): string {
  return `event: change\ndata: ${JSON.stringify(change)}\n\n`
}

/**
 * Server-sent events for open pages. Stored records are gathered for
 * `coalesceMs` and sent as one `change` message, so a burst of records
 * causes one refresh per page.
 */
export class LiveHub {
  readonly #logger: Logger
  readonly #options: Required<LiveHubInit>
  readonly #clients = new Set<Client>()
  #pending: PendingChange | undefined
  #flushTimer: NodeJS.Timeout | undefined
  #heartbeatTimer: NodeJS.Timeout | undefined
  #closed = false

  constructor (components: { logger: Logger }, init: LiveHubInit = {}) {
    this.#logger = components.logger
    this.#options = { ...LIVE_DEFAULTS, ...init }
  }

  get clientCount (): number {
    return this.#clients.size
  }

  /** Records a stored record; a message follows within `coalesceMs`. */
  notify (record: SignedRecord): void {
    if (this.#closed) return
    this.#pending ??= new PendingChange()
    this.#pending.add(record)
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.coalesceMs)
  }

  /** Records a fork that the store detected; every page refreshes its alert banner. */
  notifyAlert (): void {
    if (this.#closed) return
    this.#pending ??= new PendingChange()
    this.#pending.alerts = true
    this.#flushTimer ??= setTimeout(() => this.#flush(), this.#options.coalesceMs)
  }

  /** Whether another client fits under `maxClients`. */
  hasRoom (): boolean {
    return !this.#closed && this.#clients.size < this.#options.maxClients
  }

  /** Takes over a request's socket as an event stream until either side closes it. */
  accept (reply: FastifyReply): void {
    reply.hijack()
    const response = reply.raw
    response.writeHead(200, {
      ...reply.getHeaders() as OutgoingHttpHeaders,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no'
    })
    response.write(`retry: ${this.#options.retryMs}\n: connected\n\n`)
    const client: Client = { response, lagging: false }
    this.#clients.add(client)
    this.#heartbeatTimer ??= setInterval(() => this.#heartbeat(), this.#options.heartbeatMs)
    response.on('close', () => { this.#remove(client) })
    response.on('error', (err) => {
      this.#logger.debug({ err }, 'event stream client failed')
      this.#remove(client)
    })
    this.#logger.debug({ clients: this.#clients.size }, 'event stream client connected')
  }

  /** Ends every stream and stops the timers. Safe to call twice. */
  close (): void {
    this.#closed = true
    clearTimeout(this.#flushTimer)
    clearInterval(this.#heartbeatTimer)
    this.#flushTimer = undefined
    this.#heartbeatTimer = undefined
    this.#pending = undefined
    for (const client of this.#clients) {
      client.response.end()
    }
    this.#clients.clear()
  }

  #remove (client: Client): void {
    if (!this.#clients.delete(client)) return
    if (this.#clients.size === 0) {
      clearInterval(this.#heartbeatTimer)
      this.#heartbeatTimer = undefined
    }
  }

  #flush (): void {
    this.#flushTimer = undefined
    const pending = this.#pending
    this.#pending = undefined
    if (pending == null) return
    const message = formatMessage(pending.toChange())
    for (const client of this.#clients) {
      this.#send(client, message)
    }
  }

  #heartbeat (): void {
    for (const client of this.#clients) {
      this.#send(client, ': heartbeat\n\n')
    }
  }

  #send (client: Client, message: string): void {
    if (client.lagging) return
    if (client.response.write(message)) return
    client.lagging = true
    client.response.once('drain', () => {
      client.lagging = false
      client.response.write(formatMessage({ gardens: [], deployments: [], intents: [], alerts: false, all: true }))
    })
  }
}

import type { AbortOptions, Connection } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../logger.ts'
import { DIAL_TIMEOUT_MS } from './options.ts'
import { withTimeout } from './frames.ts'
import { Redialer } from './redial.ts'
import type { FleetLibp2p } from './libp2p.ts'
import type { PeerStatusChange, TrustState } from './trust-state.ts'

export interface MemberGateComponents {
  libp2p: FleetLibp2p
  trust: TrustState
  logger: Logger
}

export interface MemberGateInit {
  graceMs: number
  bootstrap: string[]
  redialDelaysMs: number[]
  redialMaxDelayMs: number
  redialMaxMembers: number
  /** Called for every new connection, after the revocation check. */
  onConnection: (connection: Connection) => void
  /** Called when a connected peer becomes a member. */
  onMember: (peer: string) => void
}

/**
 * Decides who stays connected: a peer without a valid certificate gets a
 * grace period to present one, a revoked peer is closed at once and never
 * redialled, and bootstrap addresses and members are redialled with
 * backoff while disconnected.
 */
export class MemberGate {
  readonly #libp2p: FleetLibp2p
  readonly #trust: TrustState
  readonly #log: Logger
  readonly #init: MemberGateInit
  readonly #redialer: Redialer
  readonly #graceTimers = new Map<string, ReturnType<typeof setTimeout>>()
  readonly #onOpen = (event: CustomEvent<Connection>): void => { this.#opened(event.detail) }
  readonly #onClose = (event: CustomEvent<Connection>): void => { this.#closed(event.detail) }

  constructor (components: MemberGateComponents, init: MemberGateInit) {
    this.#libp2p = components.libp2p
    this.#trust = components.trust
    this.#log = components.logger
    this.#init = init
    this.#redialer = new Redialer({
      delaysMs: init.redialDelaysMs,
      maxDelayMs: init.redialMaxDelayMs,
      logger: components.logger,
      dial: async (target, signal) => { await this.#redial(target, signal) },
      isConnected: target => this.#isConnected(target)
    })
  }

  start (): void {
    this.#libp2p.addEventListener('connection:open', this.#onOpen)
    this.#libp2p.addEventListener('connection:close', this.#onClose)
    for (const address of this.#init.bootstrap) {
      this.#redialer.add(address)
    }
    for (const peer of this.#trust.members().slice(0, this.#init.redialMaxMembers)) {
      this.#addMember(peer)
    }
    this.#redialer.start()
  }

  stop (): void {
    this.#libp2p.removeEventListener('connection:open', this.#onOpen)
    this.#libp2p.removeEventListener('connection:close', this.#onClose)
    this.#redialer.stop()
    for (const timer of this.#graceTimers.values()) {
      clearTimeout(timer)
    }
    this.#graceTimers.clear()
  }

  /** Dials a target now and keeps redialling it while disconnected. */
  async dial (target: string, options?: AbortOptions): Promise<void> {
    this.#redialer.add(target)
    await this.#libp2p.dial(toDialTarget(target), options)
  }

  /**
   * Dials a bootstrap address, or a member by peer id: its known addresses
   * first, else the ones the DHT finds. Each step has its own timeout, so a
   * lookup with no DHT peers cannot hold up other dials to that peer.
   */
  async #redial (target: string, signal: AbortSignal): Promise<void> {
    await withTimeout(signal, DIAL_TIMEOUT_MS, async bounded => {
      if (target.startsWith('/')) {
        await this.#libp2p.dial(multiaddr(target), { signal: bounded })
        return
      }
      const peerId = peerIdFromString(target)
      const known = await this.#libp2p.peerStore.get(peerId).then(peer => peer.addresses.length, () => 0)
      if (known === 0) {
        const found = await this.#libp2p.peerRouting.findPeer(peerId, { signal: bounded })
        await this.#libp2p.peerStore.merge(peerId, { multiaddrs: found.multiaddrs })
      }
      await this.#libp2p.dial(peerId, { signal: bounded })
    })
  }

  statusChanged ({ peer, status }: PeerStatusChange): void {
    if (status.member) {
      this.#clearGrace(peer)
      refreshGossipScore(this.#libp2p, peer)
      this.#addMember(peer)
      if (this.#isConnected(peer)) {
        this.#init.onMember(peer)
      }
      return
    }
    refreshGossipScore(this.#libp2p, peer)
    if (status.code === 'ERR_REVOKED') {
      this.#log.warn({ peer }, 'peer revoked; closing its connections')
      this.#redialer.remove(peer)
      this.#hangUp(peer).catch(() => {})
    } else if (this.#isConnected(peer)) {
      this.#startGrace(peer)
    }
  }

  #addMember (peer: string): void {
    if (peer === this.#libp2p.peerId.toString() || this.#redialer.has(peer)) {
      return
    }
    const memberTargets = this.#trust.members().filter(member => this.#redialer.has(member)).length
    if (memberTargets < this.#init.redialMaxMembers) {
      this.#redialer.add(peer)
    }
  }

  #opened (connection: Connection): void {
    const peer = connection.remotePeer.toString()
    const status = this.#trust.status(peer)
    if (!status.member && status.code === 'ERR_REVOKED') {
      connection.close().catch(() => {})
      return
    }
    if (!status.member) {
      this.#startGrace(peer)
    }
    this.#init.onConnection(connection)
  }

  #closed (connection: Connection): void {
    const peer = connection.remotePeer.toString()
    if (this.#isConnected(peer)) {
      return
    }
    this.#clearGrace(peer)
    this.#redialer.disconnected(peer)
    for (const address of this.#init.bootstrap) {
      if (address.endsWith(`/p2p/${peer}`)) {
        this.#redialer.disconnected(address)
      }
    }
  }

  #startGrace (peer: string): void {
    if (this.#graceTimers.has(peer)) {
      return
    }
    this.#graceTimers.set(peer, setTimeout(() => {
      this.#graceTimers.delete(peer)
      if (!this.#trust.isMember(peer)) {
        this.#log.info({ peer, graceMs: this.#init.graceMs }, 'peer presented no valid certificate in time; closing')
        this.#hangUp(peer).catch(() => {})
      }
    }, this.#init.graceMs))
  }

  #clearGrace (peer: string): void {
    clearTimeout(this.#graceTimers.get(peer))
    this.#graceTimers.delete(peer)
  }

  async #hangUp (peer: string): Promise<void> {
    try {
      await this.#libp2p.hangUp(peerIdFromString(peer))
    } catch (err) {
      this.#log.debug({ peer, err: (err as Error).message }, 'closing connections to peer failed')
    }
  }

  #isConnected (target: string): boolean {
    const peer = peerOf(target)
    if (peer == null) {
      return false
    }
    return this.#libp2p.getConnections(peerIdFromString(peer)).some(connection => connection.status === 'open')
  }
}

/** Extracts the peer id of a target: the target itself, or the `/p2p/` part of a multiaddr. */
function peerOf (target: string): string | undefined {
  if (!target.startsWith('/')) {
    return target
  }
  return multiaddr(target).getComponents().find(component => component.name === 'p2p')?.value
}

function toDialTarget (target: string): ReturnType<typeof multiaddr> | ReturnType<typeof peerIdFromString> {
  return target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
}

/**
 * Drops gossipsub's cached score of a peer so that its membership counts at
 * once rather than at the next heartbeat. `score.scoreCache` is a public
 * field of the GossipSub class in @libp2p/gossipsub 17.
 */
function refreshGossipScore (libp2p: FleetLibp2p, peer: string): void {
  const pubsub = libp2p.services.pubsub as unknown as { score?: { scoreCache?: Map<string, unknown> } }
  pubsub.score?.scoreCache?.delete(peer)
}

import { isPeerId } from '@libp2p/interface'
import type { PeerId, PeerInfo, StreamHandler, Topology, TypedEventTarget } from '@libp2p/interface'
import type { KadDHT, KadDHTComponents } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Logger } from '../logger.ts'
import { NotMemberError } from './errors.ts'
import type { PeerStatusChange } from './trust-state.ts'

type Registrar = KadDHTComponents['registrar']
type ConnectionManager = KadDHTComponents['connectionManager']
type DialTarget = Parameters<ConnectionManager['openStream']>[0]
type KadDHTFactory = (components: KadDHTComponents) => KadDHT

/**
 * Routing table of kad-dht 16, read from the `routingTable` field of its
 * `KadDHT` class because the exported `KadDHT` interface leaves it out.
 */
interface KadRoutingTable extends TypedEventTarget<{ 'peer:add': CustomEvent<PeerId> }> {
  remove: (peer: PeerId) => Promise<void>
}

export interface DhtGateInit {
  isMember: (peer: string) => boolean
  logger: Logger
}

/**
 * Keeps a Kademlia DHT to fleet members. kad-dht 16 takes no peer filter,
 * and libp2p 3.3.11's stream middleware (`use`) calls the handler once
 * more for every earlier inbound stream, so the gate hands the DHT a view
 * of libp2p's components instead. In that view:
 *
 * - Every handler that the DHT registers, at each start and mode change,
 *   aborts a stream from a non-member before reading from it.
 * - Opening a stream to a non-member throws `NotMemberError` before any
 *   dial, so no query reaches one.
 * - The DHT's topology is kept, so that a peer which connected before it
 *   was admitted is offered to the routing table once it is a member.
 *
 * `mapPeerInfo`, the DHT's peer info mapper, drops non-members from routing
 * table updates and from the peers that the DHT sends in replies. A peer
 * that stops being a member, or that enters the routing table by another
 * path, is removed from it at once.
 */
export class DhtGate {
  readonly #isMember: (peer: string) => boolean
  readonly #log: Logger
  readonly #topologies = new Map<string, { protocol: string, topology: Topology }>()
  #components?: KadDHTComponents
  #routingTable?: KadRoutingTable

  constructor (init: DhtGateInit) {
    this.#isMember = init.isMember
    this.#log = init.logger
  }

  /** Wraps a kad-dht service factory so that the DHT it creates deals with members only. */
  wrap (factory: KadDHTFactory): KadDHTFactory {
    return components => {
      this.#components = components
      const dht = factory(withOverrides(components, {
        registrar: this.#registrar(components.registrar),
        connectionManager: this.#connectionManager(components.connectionManager)
      }))
      this.#watchRoutingTable(dht)
      return dht
    }
  }

  /** Keeps the addresses of members and of this node, and empties those of other peers, which the DHT then skips. */
  mapPeerInfo (peer: PeerInfo): PeerInfo {
    if (this.#isMember(peer.id.toString()) || this.#components?.peerId.equals(peer.id) === true) {
      return peer
    }
    return { ...peer, multiaddrs: [] }
  }

  statusChanged ({ peer, status }: PeerStatusChange): void {
    if (status.member) {
      this.#admit(peer).catch(err => {
        this.#log.debug({ peer, err: (err as Error).message }, 'offering a new member to the DHT routing table failed')
      })
    } else {
      this.#expel(peer)
    }
  }

  #registrar (registrar: Registrar): Registrar {
    return withOverrides(registrar, {
      handle: async (protocol, handler, options) => {
        await registrar.handle(protocol, this.#membersOnly(protocol, handler), options)
      },
      register: async (protocol, topology, options) => {
        const id = await registrar.register(protocol, topology, options)
        this.#topologies.set(id, { protocol, topology })
        return id
      },
      unregister: id => {
        this.#topologies.delete(id)
        registrar.unregister(id)
      }
    })
  }

  #connectionManager (connectionManager: ConnectionManager): ConnectionManager {
    return withOverrides(connectionManager, {
      openStream: async (target, protocol, options) => {
        const peer = peerOf(target)
        if (peer == null || !this.#isMember(peer)) {
          throw new NotMemberError(`the fleet DHT sends no request to ${peer ?? target.toString()}, which is not a member`)
        }
        return await connectionManager.openStream(target, protocol, options)
      }
    })
  }

  #membersOnly (protocol: string, handler: StreamHandler): StreamHandler {
    return async (stream, connection) => {
      const peer = connection.remotePeer.toString()
      if (!this.#isMember(peer)) {
        this.#log.debug({ peer, protocol }, 'DHT stream from a non-member aborted')
        stream.abort(new NotMemberError(`peer ${peer} is not a member`))
        return
      }
      await handler(stream, connection)
    }
  }

  #watchRoutingTable (dht: KadDHT): void {
    const table = (dht as unknown as { routingTable?: Partial<KadRoutingTable> }).routingTable
    if (typeof table?.remove !== 'function' || typeof table.addEventListener !== 'function') {
      this.#log.warn('kad-dht routing table not found (kad-dht 16 has a routingTable field), so peers that stop being members stay in it')
      return
    }
    this.#routingTable = table as KadRoutingTable
    this.#routingTable.addEventListener('peer:add', event => {
      const peer = event.detail.toString()
      if (!this.#isMember(peer)) {
        this.#log.debug({ peer }, 'removing a non-member that entered the DHT routing table')
        this.#expel(peer)
      }
    })
  }

  /**
   * Offers a connected member to the routing table through the DHT's own
   * topology, as identify does for a peer that is a member when it
   * connects. A peer that identify has not stored yet needs no offer,
   * because identify notifies the topology later.
   */
  async #admit (peer: string): Promise<void> {
    const components = this.#components
    if (components == null || this.#topologies.size === 0) {
      return
    }
    const peerId = peerIdFromString(peer)
    const connection = components.connectionManager.getConnections(peerId).find(open => open.status === 'open')
    const stored = await components.peerStore.get(peerId).catch(() => undefined)
    if (connection == null || stored == null) {
      return
    }
    for (const { protocol, topology } of this.#topologies.values()) {
      if (stored.protocols.includes(protocol)) {
        await topology.onConnect?.(peerId, connection)
      }
    }
  }

  #expel (peer: string): void {
    this.#routingTable?.remove(peerIdFromString(peer)).catch(err => {
      this.#log.debug({ peer, err: (err as Error).message }, 'removing a non-member from the DHT routing table failed')
    })
  }
}

/** Returns the peer id that a dial target names, or undefined when it names none or several. */
function peerOf (target: DialTarget): string | undefined {
  if (isPeerId(target)) {
    return target.toString()
  }
  const addresses = Array.isArray(target) ? target : [target]
  const peers = new Set(addresses.map(address => address.getComponents().find(component => component.name === 'p2p')?.value))
  return peers.size === 1 ? [...peers][0] : undefined
}

/** Returns a view of `target` in which `overrides` replace properties; every other property reads through. */
function withOverrides<T extends object> (target: T, overrides: Partial<T>): T {
  return new Proxy(target, {
    get (object, property) {
      if (Object.hasOwn(overrides, property)) {
        return overrides[property as keyof T]
      }
      const value: unknown = Reflect.get(object, property)
      return typeof value === 'function' ? value.bind(object) : value
    }
  })
}

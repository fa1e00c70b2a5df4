import { noise } from '@chainsafe/libp2p-noise'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import type { ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { kadDHT } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { createLibp2p } from 'libp2p'
import type { SigningKey } from '../keys/index.ts'
import type { DhtGate } from './dht-gate.ts'
import { fleetGossipsub } from './gossip.ts'
import { CONNECTION_PING_INTERVAL_MS } from './options.ts'
import type { FleetProtocols, ResolvedInit } from './options.ts'
import type { TrustState } from './trust-state.ts'
import { sendWindowUpdatesAtHalf } from './yamux-window.ts'

export type FleetLibp2p = Libp2p<{ pubsub: GossipSub, dht: KadDHT }>

/**
 * Builds (without starting) the libp2p node of a garden. Revoked peers are
 * refused at the connection gater, in both directions. Only loopback is on
 * the allow list, because it bypasses the connection limits and pruning
 * too. Gardens behind one NAT share the raised per-host inbound limit.
 * The DHT deals with members only, through `dhtGate`. Yamux streams send
 * window updates at half the window (see `sendWindowUpdatesAtHalf`).
 */
export async function createFleetLibp2p (nodeKey: SigningKey, init: ResolvedInit, protocols: FleetProtocols,
  trust: TrustState, dhtGate: DhtGate): Promise<FleetLibp2p> {
  const revoked = (peer: PeerId): boolean => {
    const status = trust.status(peer.toString())
    return !status.member && status.code === 'ERR_REVOKED'
  }
  sendWindowUpdatesAtHalf()
  const connectionGater: ConnectionGater = {
    denyDialPeer: revoked,
    denyInboundEncryptedConnection: revoked,
    denyOutboundEncryptedConnection: revoked
  }
  return await createLibp2p({
    start: false,
    privateKey: nodeKey.toLibp2pKey(),
    addresses: { listen: init.listenAddresses },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater,
    connectionManager: {
      allow: init.allowList,
      inboundConnectionThreshold: init.inboundConnectionsPerHostPerSec
    },
    connectionMonitor: {
      pingInterval: CONNECTION_PING_INTERVAL_MS
    },
    services: {
      identify: identify(),
      ping: ping(),
      pubsub: fleetGossipsub({ isMember: peer => trust.isMember(peer), topics: Object.values(protocols.topics) }),
      dht: dhtGate.wrap(kadDHT({
        protocol: protocols.kad,
        clientMode: false,
        // Keeps every address of a member, because gardens on one LAN or host find each other by private addresses.
        peerInfoMapper: peer => dhtGate.mapPeerInfo(peer),
        logPrefix: 'libp2p:sower-kad'
      }))
    }
  }) as unknown as FleetLibp2p
}

import { StrictNoSign, TopicValidatorResult, gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub'
import type { TopicScoreParams } from '@libp2p/gossipsub/score'
import type { PeerId } from '@libp2p/interface'
import { sha256 } from '../records/index.ts'
import type { IngestAction, IngestMeta, Ingest } from './ingest.ts'
import type { FleetProtocols } from './options.ts'
import type { Logger } from '../logger.ts'

/**
 * Application score of peers that are not members. Times gossipsub's
 * default weight of 10 it is -60, below the publish threshold (-50), so
 * nothing is published or gossiped to them and they never join a mesh.
 * It stays above the graylist threshold (-80), so their subscriptions
 * still register and they become full gossip peers once admitted.
 */
export const NON_MEMBER_APP_SCORE = -6

/**
 * Mesh degrees below gossipsub's defaults (6, 4, 12, 6). Only members join
 * a mesh and sync delivers every record as well, so the mesh needs less
 * redundancy than on an open network. Each extra copy costs CPU on small
 * machines. With 50 gardens on 2 cores, a record reached all of them in
 * about 110 ms with degrees 4, 3 and 8, and about 90 ms with these, once
 * yamux sent window updates only at half the window.
 */
export const MESH_DEGREE = { D: 3, Dlo: 2, Dhi: 4, Dlazy: 3 }

/**
 * Records below this size are forwarded without IDONTWANT. Gossipsub sends
 * that message to the mesh before it validates a record, so for a small
 * record it delays the store by a round of sends. Large records (alerts
 * with evidence, big intents) still save bandwidth with it.
 */
export const IDONTWANT_MIN_BYTES = 16 * 1024

const ACTION_RESULT: Record<IngestAction, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

export interface GossipInit {
  isMember: (peer: string) => boolean
  logger?: Logger
}

export interface FleetGossipsubInit extends GossipInit {
  /** The fleet's topics, each scored by its invalid messages. */
  topics: string[]
}

/**
 * Score weight of invalid messages on a topic, applied to the square of
 * their count. A peer that sent 3 is graylisted (-90, below gossipsub's
 * -80), so its messages are dropped unread. Two, as a relay with an older
 * root might send, only stop gossip about message ids with it (-40).
 */
export const INVALID_MESSAGE_WEIGHT = -10
/** Share of the invalid message count kept each second (gossipsub decays scores once a second): it halves in about 70 s. */
export const INVALID_MESSAGE_DECAY = 0.99

/**
 * Topic score parameters that count invalid messages only. Gossipsub's
 * other topic terms reward or demand a message rate, and fleet topics
 * carry a few records an hour: a quiet honest peer would lose score.
 */
export function topicScoreParams (): TopicScoreParams {
  return {
    topicWeight: 1,
    timeInMeshWeight: 0,
    timeInMeshQuantum: 1,
    timeInMeshCap: 0,
    firstMessageDeliveriesWeight: 0,
    firstMessageDeliveriesDecay: 0.5,
    firstMessageDeliveriesCap: 0,
    meshMessageDeliveriesWeight: 0,
    meshMessageDeliveriesDecay: 0.5,
    meshMessageDeliveriesCap: 0,
    meshMessageDeliveriesThreshold: 0,
    meshMessageDeliveriesWindow: 0,
    meshMessageDeliveriesActivation: 0,
    meshFailurePenaltyWeight: 0,
    meshFailurePenaltyDecay: 0.5,
    invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
    invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY
  }
}

/**
 * Gossipsub for one fleet. Records carry their authors' signatures, so
 * messages carry none (`StrictNoSign`) and the message id is the sha256 of
 * the data, which is the record's canonical envelope: a record republished
 * by any node deduplicates. The IP colocation penalty is off because many
 * gardens share one NAT address or host and membership, not addresses,
 * keeps strangers out of the mesh. A peer that sends invalid records loses
 * score on their topic, so its messages are dropped after a few.
 */
export function fleetGossipsub (init: FleetGossipsubInit): ReturnType<typeof gossipsub> {
  const options: Partial<GossipsubOpts> = {
    globalSignaturePolicy: StrictNoSign,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    floodPublish: true,
    ...MESH_DEGREE,
    // IHAVE goes to `Dlazy` peers per heartbeat, not to a share of every peer outside the mesh.
    gossipFactor: 0,
    idontwantMinDataSize: IDONTWANT_MIN_BYTES,
    msgIdFn: (message: Message) => sha256(message.data),
    scoreParams: {
      topics: Object.fromEntries(init.topics.map(topic => [topic, topicScoreParams()])),
      IPColocationFactorWeight: 0,
      appSpecificScore: (peer: string) => init.isMember(peer) ? 0 : NON_MEMBER_APP_SCORE
    }
  }
  return gossipsub(options)
}

/**
 * Subscribes to the fleet's topics and routes every message through the
 * ingest pipeline. Messages relayed by non-members are ignored.
 */
export function attachValidators (pubsub: GossipSub, protocols: FleetProtocols, ingest: Ingest, init: GossipInit): void {
  for (const [kind, topic] of Object.entries(protocols.topics)) {
    pubsub.topicValidators.set(topic, async (peer: PeerId, message: Message) => {
      const from = peer.toString()
      if (!init.isMember(from)) {
        return TopicValidatorResult.Ignore
      }
      const meta: IngestMeta = { via: 'gossip', from, topic: kind as IngestMeta['topic'] }
      const outcome = await ingest(message.data, meta)
      if (outcome.action !== 'accept') {
        init.logger?.debug({ peer: from, topic: kind, code: outcome.code, record: outcome.record?.id }, 'gossip message not accepted')
      }
      return ACTION_RESULT[outcome.action]
    })
    pubsub.subscribe(topic)
  }
}

export function detachValidators (pubsub: GossipSub, protocols: FleetProtocols): void {
  for (const topic of Object.values(protocols.topics)) {
    pubsub.topicValidators.delete(topic)
    if (pubsub.getTopics().includes(topic)) {
      pubsub.unsubscribe(topic)
    }
  }
}

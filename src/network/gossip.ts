import { StrictNoSign, TopicValidatorResult, gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubOpts, Message } from '@libp2p/gossipsub'
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

const ACTION_RESULT: Record<IngestAction, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

export interface GossipInit {
  isMember: (peer: string) => boolean
  logger?: Logger
}

/**
 * Gossipsub for one fleet. Records carry their authors' signatures, so
 * messages carry none (`StrictNoSign`) and the message id is the sha256 of
 * the data, which is the record's canonical envelope: a record republished
 * by any node deduplicates. The IP colocation penalty is off because many
 * gardens share one NAT address or host and membership, not addresses,
 * keeps strangers out of the mesh.
 */
export function fleetGossipsub (init: GossipInit): ReturnType<typeof gossipsub> {
  const options: Partial<GossipsubOpts> = {
    globalSignaturePolicy: StrictNoSign,
    allowPublishToZeroTopicPeers: true,
    ignoreDuplicatePublishError: true,
    emitSelf: false,
    floodPublish: true,
    msgIdFn: (message: Message) => sha256(message.data),
    scoreParams: {
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

import type { ForkEvidence } from '../store/index.ts'
import type { OwnFeedState } from './own-feed.ts'

/** Short names of the own feed's states, for status lines and the web view. */
export const OWN_FEED_STATE_LABELS = {
  waiting: 'waiting for a first sync',
  ready: 'ready',
  behind: 'read-only, behind its feed head mark',
  forked: 'forked',
  stopped: 'stopped'
} as const satisfies Record<OwnFeedState, string>

/** Explains the wait at start, which ends at `endsAt` (UTC ISO 8601) at the latest. */
export function waitingMessage (endsAt: string): string {
  return 'this node signs no report, event or alert, and starts no deployment, until it has synced with a member ' +
    `(until ${endsAt} at the latest), so that its feed continues after the newest record that the fleet holds of it`
}

/**
 * Explains a store below the feed head mark, and how to fix it. `running`
 * is false for a node that is stopped, as `sower status` shows it then.
 */
export function behindMessage (author: string, storedSeq: number, markSeq: number, markFile: string, running = true): string {
  const missing = markSeq === storedSeq + 1 ? `seq ${markSeq}` : `seq ${storedSeq + 1} to ${markSeq}`
  const stored = storedSeq === 0 ? 'none of them' : `only up to seq ${storedSeq}`
  const outcome = running
    ? 'so the node signs nothing and deploys nothing until the records come back. It keeps syncing: connect a member that holds them'
    : 'so once started, the node signs nothing and deploys nothing until the records come back. ' +
      'Start it where it reaches a member that holds them'
  return `the feed of this node (${author}) is missing ${missing}: the feed head mark ${markFile} shows that ` +
    `its key signed them, but the record store has ${stored}, as after a lost or restored data folder. ` +
    `Signing again would fork the feed, and every node would then reject this key, ${outcome}, or run ` +
    '`sower bundle export --out FILE` on such a node and `sower bundle import FILE` here. If no copy exists anywhere, ' +
    `give this node a new key (${newKeySteps(author)}).`
}

/** Explains a fork of this node's own key, and how to fix it. */
export function forkedMessage (author: string, evidence: ForkEvidence): string {
  return `this node's key ${author} signed two histories of its feed (${evidence.reason}: records ` +
    `${evidence.records[0]} and ${evidence.records[1]}): another machine runs with the same key, or this node's ` +
    'data was restored from an old copy and it signed again before it received its newer records. Every node now ' +
    'rejects the records of this key, so this node signs nothing more. Stop any other machine that uses this key, ' +
    `then give this node a new key (${newKeySteps(author)}).`
}

function newKeySteps (author: string): string {
  return '`sower keygen --out FILE` and `sower key-id FILE` here, `sower enroll NEW_KEY_ID --name NAME` with the ' +
    'same tags on an admin node, point nodeKey in the config at FILE and restart the node, then ' +
    `\`sower revoke ${author} --reason "forked key"\` on the admin node`
}

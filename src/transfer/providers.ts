import type { Logger } from '../logger.ts'
import type { FleetNode } from '../network/index.ts'
import { probePeer } from './peer-source.ts'
import type { PeerSourceInit, ProbeResult } from './peer-source.ts'

export interface HolderSearchInit extends PeerSourceInit {
  node: FleetNode
  findProvidersTimeoutMs: number
  providersMax: number
  logger: Logger
}

/** A peer's reply to "do you have this closure?": a probe result, or the error that stopped the probe. */
export type ProbeReply = ProbeResult | { peer: string, error: unknown }

/**
 * Probes peers for the closure of `storePath` and yields their replies in
 * the order they arrive, so the nearest and fastest holders come first.
 * Connected members are probed at once, and providers that the DHT lookup
 * finds are probed as they appear: at most `providersMax` peers, never this
 * node and none that `skip` excludes. Leaving the loop early cancels the
 * probes still open.
 */
export async function * probePeers (init: HolderSearchInit, storePath: string, skip: (peer: string) => boolean,
  signal: AbortSignal): AsyncGenerator<ProbeReply> {
  const controller = new AbortController()
  const searchSignal = AbortSignal.any([signal, controller.signal])
  const replies: ProbeReply[] = []
  const probed = new Set<string>()
  let open = 0
  let lookupDone = false
  let wake: (() => void) | undefined
  const notify = (): void => {
    wake?.()
    wake = undefined
  }
  const probe = (peer: string): void => {
    if (peer === init.node.peerId || probed.has(peer) || probed.size >= init.providersMax || skip(peer)) {
      return
    }
    probed.add(peer)
    open++
    probePeer(peer, storePath, init, searchSignal)
      .then(result => { replies.push(result) }, (error: unknown) => { replies.push({ peer, error }) })
      .finally(() => {
        open--
        notify()
      })
  }

  const members = init.node.connectedMembers()
  members.forEach(probe)
  // Only members stay connected, so without one the DHT has no peer to query and the lookup would only wait for its timeout.
  const lookup = (members.length === 0 ? Promise.resolve() : lookUpProviders(init, storePath, probe, searchSignal)).finally(() => {
    lookupDone = true
    notify()
  })
  try {
    while (true) {
      const reply = replies.shift()
      if (reply !== undefined) {
        yield reply
      } else if (lookupDone && open === 0) {
        return
      } else {
        await new Promise<void>(resolve => { wake = resolve })
      }
    }
  } finally {
    controller.abort()
    await lookup
  }
}

async function lookUpProviders (init: HolderSearchInit, storePath: string, probe: (peer: string) => void,
  signal: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(init.findProvidersTimeoutMs)
  try {
    for await (const provider of init.node.findProviders(storePath, { signal: AbortSignal.any([signal, timeout]) })) {
      probe(provider.id.toString())
    }
  } catch (error) {
    if (!signal.aborted && !timeout.aborted) {
      init.logger.debug({ storePath, err: (error as Error).message }, 'provider lookup failed')
    }
  }
}

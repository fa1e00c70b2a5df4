import { EventEmitter } from 'node:events'
import type { Logger } from '../logger.ts'
import type { SignedRecord } from '../records/index.ts'
import type { RecordStore } from '../store/index.ts'
import { Membership, isRootExpired, rootExpiredMessage, verifyPinnedSignatures, walkRootChain } from '../trust/index.ts'
import type { MemberStatus, RootRecord } from '../trust/index.ts'

export interface PeerStatusChange {
  peer: string
  status: MemberStatus
}

export interface TrustStateEvents {
  /** A peer became a member or stopped being one. */
  status: [PeerStatusChange]
  /** The current root advanced to a new version. */
  root: [RootRecord]
  /** The current root advanced from an expired version to an unexpired one. */
  rootValid: [RootRecord]
}

export interface TrustStateComponents {
  store: RecordStore
  logger: Logger
}

/**
 * The fleet's trust from this node's records: the current root (walked from the
 * pinned one through stored versions) and the membership of every peer with
 * a certificate. Accepted control records update it in place.
 *
 * While the current root has expired, no peer is a member, and the node
 * takes nothing but newer root versions, which the root keys of the expired
 * one may still sign. The first unexpired version restores membership.
 */
export class TrustState extends EventEmitter<TrustStateEvents> {
  readonly #store: RecordStore
  readonly #log: Logger
  readonly #pinned: RootRecord
  readonly #nowMs: () => number
  #root: RootRecord
  #membership: Membership
  /** Last member flag reported per peer, to emit only changes. */
  readonly #known = new Map<string, boolean>()
  /** Certificates by the peer they enroll, for hello replies. */
  readonly #certificates = new Map<string, Array<SignedRecord<'certificate'>>>()

  constructor (components: TrustStateComponents, init: { root: RootRecord, nowMs?: () => number }) {
    super()
    this.#store = components.store
    this.#log = components.logger
    this.#pinned = init.root
    this.#root = init.root
    this.#nowMs = init.nowMs ?? Date.now
    this.#membership = new Membership(init.root.body)
  }

  /** Stores the pinned root if needed, walks the stored root chain and loads certificates and revocations. */
  async load (): Promise<void> {
    const nowMs = this.#nowMs()
    verifyPinnedSignatures(this.#pinned)
    if (!(await this.#store.has(this.#pinned.id))) {
      await this.#store.put(this.#pinned, { via: 'local', receivedAt: new Date(nowMs).toISOString() })
    }
    const roots: RootRecord[] = []
    for await (const record of this.#store.listByType('root')) {
      roots.push(record as RootRecord)
    }
    this.#root = walkStoredChain(this.#pinned, roots)
    this.#membership = new Membership(this.#root.body)
    for await (const record of this.#store.listByType('certificate')) {
      this.#addCertificate(record as SignedRecord<'certificate'>)
    }
    for await (const record of this.#store.listByType('revocation')) {
      this.#membership.addRevocation(record as SignedRecord<'revocation'>)
    }
    this.#refresh(this.#membership.peers())
    const { version, expiresAt } = this.#root.body
    this.#log.info({ rootVersion: version, rootExpiresAt: expiresAt, rootExpired: this.rootExpired, peers: this.#membership.peers().length },
      'trust state loaded')
  }

  get root (): RootRecord {
    return this.#root
  }

  get fleet (): string {
    return this.#pinned.body.fleet
  }

  /** True while the current root has expired, so that no peer is a member and only newer roots are taken. */
  get rootExpired (): boolean {
    return isRootExpired(this.#root, this.#nowMs())
  }

  /**
   * Judges `peer` against the current root. A revoked peer stays revoked
   * while the root has expired, so that the connection gater keeps it out.
   */
  status (peer: string): MemberStatus {
    const status = this.#membership.status(peer, this.#nowMs())
    if (this.rootExpired && (status.member || status.code !== 'ERR_REVOKED')) {
      return { member: false, code: 'ERR_ROOT_EXPIRED', reason: rootExpiredMessage(this.#root.body) }
    }
    return status
  }

  isMember (peer: string): boolean {
    return this.status(peer).member
  }

  /** Peers with at least one certificate that are members now. */
  members (): string[] {
    return this.#membership.peers().filter(peer => this.isMember(peer))
  }

  /**
   * Applies an accepted and stored control record. Roots must already have
   * passed `verifyRootStep` against the current root.
   */
  apply (record: SignedRecord): void {
    if (record.type === 'root') {
      this.#advanceRoot(record as RootRecord)
    } else if (record.type === 'certificate') {
      this.#addCertificate(record as SignedRecord<'certificate'>)
      this.#refresh([(record as SignedRecord<'certificate'>).body.peer])
    } else if (record.type === 'revocation') {
      this.#membership.addRevocation(record as SignedRecord<'revocation'>)
      this.#refresh([(record as SignedRecord<'revocation'>).body.peer])
    }
  }

  /** Certificates that enroll `peer`, newest issue time first. */
  certificatesOf (peer: string): Array<SignedRecord<'certificate'>> {
    return this.#certificates.get(peer) ?? []
  }

  #addCertificate (record: SignedRecord<'certificate'>): void {
    this.#membership.addCertificate(record)
    const list = this.#certificates.get(record.body.peer) ?? []
    if (!list.some(known => known.id === record.id)) {
      list.push(record)
      list.sort((a, b) => Date.parse(b.body.issuedAt) - Date.parse(a.body.issuedAt))
      this.#certificates.set(record.body.peer, list)
    }
  }

  #advanceRoot (record: RootRecord): void {
    if (record.body.version !== this.#root.body.version + 1) {
      return
    }
    const wasExpired = this.rootExpired
    this.#root = record
    this.#membership.setRoot(record.body)
    this.#log.info({ rootVersion: record.body.version, root: record.id }, 'root advanced')
    const valid = wasExpired && !this.rootExpired
    if (valid) {
      this.#log.info({ rootVersion: record.body.version, rootExpiresAt: record.body.expiresAt },
        'the current root is valid again, so peers are judged as members again')
    } else if (this.rootExpired) {
      this.#log.warn({ rootVersion: record.body.version, rootExpiresAt: record.body.expiresAt }, rootExpiredMessage(record.body))
    }
    this.emit('root', record)
    this.#refresh(this.#membership.peers())
    if (valid) {
      this.emit('rootValid', record)
    }
  }

  /** Re-judges peers, e.g. connected ones whose certificates may have expired, and emits changes. */
  recheck (peers: Iterable<string> = this.#known.keys()): void {
    this.#refresh([...peers])
  }

  #refresh (peers: string[]): void {
    for (const peer of peers) {
      const status = this.status(peer)
      const previous = this.#known.get(peer)
      this.#known.set(peer, status.member)
      if (previous !== status.member && (previous != null || status.member)) {
        this.emit('status', { peer, status })
      }
    }
  }
}

/**
 * Walks from the pinned root through every stored version. One walk of
 * `walkRootChain` advances at most `ROOT_CHAIN_MAX_STEPS` versions, so the
 * walk repeats until it stops advancing. Throws when a present next version
 * is invalid. The newest version may have expired, which the caller judges.
 */
function walkStoredChain (pinned: RootRecord, roots: RootRecord[]): RootRecord {
  let current = pinned
  while (true) {
    // A time before every expiry, so that no walk throws for an expired version.
    const next = walkRootChain(current, roots, Number.NEGATIVE_INFINITY)
    if (next.body.version === current.body.version) {
      return current
    }
    current = next
  }
}

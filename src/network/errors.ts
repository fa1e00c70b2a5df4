import { SowerError } from '../errors.ts'

/** A node may only open Sower protocols to members, and serve them only to members. */
export class NotMemberError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_NOT_MEMBER')
  }
}

/** A peer opened a sync session while its previous one with this node was still being served. */
export class SyncSessionBusyError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_SYNC_SESSION_BUSY')
  }
}

import { SowerError } from '../errors.ts'

/** A node may only open Sower protocols to members, and serve them only to members. */
export class NotMemberError extends SowerError {
  constructor (message: string) {
    super(message, 'ERR_NOT_MEMBER')
  }
}

import { deploymentIdSchema, peerIdSchema, recordIdSchema } from '../../records/index.ts'
import { invalidId } from '../errors.ts'

const intentIdSchema = recordIdSchema('int')

export const EXPECTED_PEER_ID = 'a peer id of an ed25519 key: 12D3KooW followed by 44 base58 characters'
export const EXPECTED_DEPLOYMENT_ID = 'a deployment id: dep_ followed by 52 base32 characters'
export const EXPECTED_INTENT_ID = 'an intent id: int_ followed by 52 base32 characters'

/** Returns the peer id of a path segment or throws a 400 error that names the expected form. */
export function parsePeerId (value: string): string {
  if (!peerIdSchema.safeParse(value).success) throw invalidId(value, EXPECTED_PEER_ID)
  return value
}

export function parseDeploymentId (value: string): string {
  if (!deploymentIdSchema.safeParse(value).success) throw invalidId(value, EXPECTED_DEPLOYMENT_ID)
  return value
}

export function parseIntentId (value: string): string {
  if (!intentIdSchema.safeParse(value).success) throw invalidId(value, EXPECTED_INTENT_ID)
  return value
}

/** Parses a `limit` query value between 1 and `max`; anything else gives `fallback`. */
export function parseLimit (value: unknown, fallback: number, max: number): number {
  const text = Array.isArray(value) ? value[0] : value
  if (typeof text !== 'string' || !/^[0-9]{1,6}$/.test(text)) return fallback
  const limit = Number(text)
  return limit >= 1 && limit <= max ? limit : fallback
}

/** Parses an optional list filter: returns a valid id or undefined, or throws a 400 error. */
export function optionalFilter (value: unknown, parse: (value: string) => string): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (typeof text !== 'string' || text === '') return undefined
  return parse(text)
}

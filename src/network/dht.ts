import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import { sha256 } from '../records/index.ts'
import { InvalidInputError } from '../errors.ts'

const SHA2_256_CODE = 0x12
const STORE_PATH = /^\/nix\/store\/([0-9a-df-np-sv-z]{32})-[^/]+$/

/**
 * Returns the DHT key under which gardens announce a closure: a CIDv1
 * (raw codec) of the sha256 of the store path's hash part. The hash part
 * alone names the closure, so two spellings of one path map to one key.
 */
export function storePathKey (storePath: string): CID {
  const match = STORE_PATH.exec(storePath)
  if (match == null) {
    throw new InvalidInputError(`"${storePath.slice(0, 300)}" is not a /nix/store/<hash>-<name> path`)
  }
  return CID.createV1(raw.code, createDigest(SHA2_256_CODE, sha256(match[1])))
}

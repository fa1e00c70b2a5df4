import { NIX_STORE_DIR, isStorePath, parseNarHash, formatNarHash } from '../nix/index.ts'
import { TransferProtocolError } from './errors.ts'

/** Largest `.narinfo` file read. Real ones are well under 4 KiB, plus about 45 bytes per reference. */
export const NARINFO_MAX_BYTES = 512 * 1024

/** The fields of a `.narinfo` file that fetching and verifying a NAR needs. */
export interface NarInfo {
  storePath: string
  /** NAR file location relative to the cache, e.g. `nar/<file hash>.nar.zst`. */
  url: string
  /** `none` when the field is absent, as Nix reads it. */
  compression: string
  /** Size of the (compressed) NAR file in bytes, when the cache states it. */
  fileSize: number | null
  /** `sha256:<base32>`. */
  narHash: string
  narSize: number
  /** Full store paths, sorted. */
  references: string[]
  deriver: string | null
}

/**
 * Parses a `.narinfo` file: `Key: value` lines as Nix's binary cache
 * writes them (NarInfo::to_string in Nix 2.8). Unknown keys such as `Sig`
 * and `CA` are ignored, because the NAR hash is checked against the signed
 * manifest instead. Raises TransferProtocolError naming the first problem.
 */
export function parseNarInfo (text: string, source: string): NarInfo {
  const fields = new Map<string, string>()
  for (const line of text.split('\n')) {
    const colon = line.indexOf(': ')
    if (colon > 0) {
      fields.set(line.slice(0, colon), line.slice(colon + 2).trim())
    } else if (line.endsWith(':')) {
      fields.set(line.slice(0, -1), '')
    }
  }
  const require = (key: string): string => {
    const value = fields.get(key)
    if (value === undefined || value === '') {
      throw new TransferProtocolError(`${source} lacks the ${key} field`)
    }
    return value
  }
  const storePath = require('StorePath')
  if (!isStorePath(storePath)) {
    throw new TransferProtocolError(`${source} has an invalid StorePath ${JSON.stringify(storePath)}`)
  }
  const digest = parseNarHash(require('NarHash'))
  if (digest === null) {
    throw new TransferProtocolError(`${source} has an invalid NarHash ${JSON.stringify(fields.get('NarHash'))}`)
  }
  return {
    storePath,
    url: require('URL'),
    compression: fields.get('Compression') ?? 'none',
    fileSize: optionalSize(fields.get('FileSize'), 'FileSize', source),
    narHash: formatNarHash(digest),
    narSize: optionalSize(require('NarSize'), 'NarSize', source) as number,
    references: parseReferences(fields.get('References') ?? '', source),
    deriver: parseDeriver(fields.get('Deriver'))
  }
}

function optionalSize (text: string | undefined, key: string, source: string): number | null {
  if (text === undefined || text === '') {
    return null
  }
  const value = Number(text)
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new TransferProtocolError(`${source} has an invalid ${key} ${JSON.stringify(text)}`)
  }
  return value
}

/** References are base names (`<hash>-<name>`) separated by spaces. */
function parseReferences (text: string, source: string): string[] {
  const references = text.split(' ').filter(name => name !== '').map(name => `${NIX_STORE_DIR}/${name}`)
  const invalid = references.find(reference => !isStorePath(reference))
  if (invalid !== undefined) {
    throw new TransferProtocolError(`${source} has an invalid reference ${JSON.stringify(invalid)}`)
  }
  return references.sort()
}

/** Returns the deriver as a store path, or null when it is absent or `unknown-deriver`. */
function parseDeriver (text: string | undefined): string | null {
  if (text === undefined || text === '' || text === 'unknown-deriver') {
    return null
  }
  const path = `${NIX_STORE_DIR}/${text}`
  return isStorePath(path) ? path : null
}

import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { z } from 'zod'
import { SowerError } from '../errors.ts'
import { anyRecordIdSchema, peerIdSchema, seqSchema, timeSchema } from '../records/index.ts'

/**
 * Suffix of the feed head mark, the file beside the node key that contains
 * the highest seq the key has signed. It lives beside the key rather than
 * in the data folder, so it survives whenever the key does.
 */
export const FEED_MARK_SUFFIX = '.feed-head'

/** Bytes read from a mark file at most; a valid one has about 200. */
const FEED_MARK_MAX_BYTES = 4096

const feedMarkSchema = z.strictObject({
  author: peerIdSchema,
  seq: seqSchema,
  record: anyRecordIdSchema,
  writtenAt: timeSchema
})

/** The highest record that a key has signed, as its feed head mark contains it. */
export type FeedMark = z.infer<typeof feedMarkSchema>

/** A feed head mark that exists but cannot be read or parsed. */
export class FeedMarkError extends SowerError {
  constructor (message: string, options?: ErrorOptions) {
    super(message, 'ERR_FEED_MARK', options)
  }
}

/** Returns the path of the feed head mark of the key file at `keyPath`. */
export function feedMarkPath (keyPath: string): string {
  return keyPath + FEED_MARK_SUFFIX
}

/** Reads a feed head mark; returns undefined when the file does not exist. */
export async function readFeedMark (path: string): Promise<FeedMark | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined
    }
    throw new FeedMarkError(`cannot read the feed head mark ${path}: ${(err as Error).message}`, { cause: err })
  }
  if (text.length > FEED_MARK_MAX_BYTES) {
    throw new FeedMarkError(`the feed head mark ${path} has more than ${FEED_MARK_MAX_BYTES} bytes`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new FeedMarkError(`the feed head mark ${path} is not JSON: ${(err as Error).message}`, { cause: err })
  }
  const parsed = feedMarkSchema.safeParse(json)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(issue => `${issue.path.join('.') || 'the file'}: ${issue.message}`)
    throw new FeedMarkError(`invalid feed head mark ${path}: ${problems.join('; ')}`)
  }
  return parsed.data
}

/**
 * Replaces the feed head mark at `path`: the new content goes to a
 * temporary file that is synced and renamed over the mark, and the folder
 * is synced, so a crash leaves either the old mark or the new one.
 */
export async function writeFeedMark (path: string, mark: FeedMark): Promise<void> {
  const temporary = `${path}.tmp`
  const file = await open(temporary, 'w', 0o600)
  try {
    await file.writeFile(JSON.stringify(mark) + '\n')
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(temporary, path)
  const folder = await open(dirname(path), 'r')
  try {
    await folder.sync()
  } finally {
    await folder.close()
  }
}

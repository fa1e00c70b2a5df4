import type { RecordStore } from '../store/index.ts'
import { adminBehindMessage } from './admin-feed.ts'
import { readFeedMark } from './feed-mark.ts'
import { behindMessage } from './own-feed-words.ts'

/** A feed head mark compared with the record store, as `sower status` shows it. */
export interface FeedMarkCheck {
  /** `own` for the node key's feed, `admin` for the feed of an admin key in the config. */
  feed: 'own' | 'admin'
  author: string
  markFile: string
  /** Seq in the mark; null without a mark, or when the mark is ignored (see `markProblem`). */
  markSeq: number | null
  /** Highest seq of the author's feed in the store; 0 when it has none. */
  storedSeq: number
  /** Whether the store has the feed up to the mark, which is also true without a usable mark. */
  complete: boolean
  /** Why the mark is ignored: unreadable, invalid or of another key; null otherwise. */
  markProblem: string | null
  /** While incomplete: what is missing and how to bring it back, in the words of the append errors. */
  detail: string | null
}

/**
 * Reads the feed head mark of `author` at `markFile` and compares it with
 * the store, for a node that is stopped or, for admin keys, running. A mark that the feed guards would ignore is reported in
 * `markProblem` and counts as no mark, as the guards treat it.
 */
export async function checkFeedMark (store: RecordStore, feed: 'own' | 'admin', author: string, markFile: string): Promise<FeedMarkCheck> {
  const storedSeq = store.feed(author).last
  const { markSeq, markProblem } = await readMarkSeq(author, markFile)
  const complete = storedSeq >= (markSeq ?? 0)
  let detail: string | null = null
  if (!complete && markSeq != null) {
    detail = feed === 'own'
      ? behindMessage(author, storedSeq, markSeq, markFile, false)
      : adminBehindMessage(author, storedSeq, markSeq, markFile, 'status')
  }
  return { feed, author, markFile, markSeq, storedSeq, complete, markProblem, detail }
}

async function readMarkSeq (author: string, markFile: string): Promise<{ markSeq: number | null, markProblem: string | null }> {
  try {
    const mark = await readFeedMark(markFile)
    if (mark != null && mark.author !== author) {
      return {
        markSeq: null,
        markProblem: `the feed head mark ${markFile} belongs to key ${mark.author}, not ${author}, so it is ignored; ` +
          'the next record of this key replaces it'
      }
    }
    return { markSeq: mark?.seq ?? null, markProblem: null }
  } catch (err) {
    return { markSeq: null, markProblem: `${(err as Error).message}, so it is ignored; the next record of this key replaces it` }
  }
}

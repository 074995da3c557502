// Warming a database after a start: seeks spread across each kind of key, so LevelDB opens its
// table files (and reads their index and filter blocks) before the first lookups need them.

import type { Level } from 'level';
import { AFTER, midpoints } from './keys.js';
import { SEP } from './postings.js';
import type { NormalizedDn } from './types.js';

/**
 * Seeks across each kind of key (entries, postings, children, substrings, presence, large
 * equality values) by bisection of the key space, 511 seeks per kind at most: LevelDB opens a
 * table file, reads its index and filter blocks and the pages below on the first read that
 * needs it, which made each of the first lookups after a start cost 0.1-3 ms instead of ~15 µs.
 */
export async function warmKeys(
  db: Level<string, string>,
  deadline: number,
  /** The kinds of key (layout 2's by default) and how an entry's ndn is read off a sampled key. */
  kinds: readonly string[] = ['e', 'q', 'c', 's', 'p', 'i'],
  sample: (key: string) => NormalizedDn | undefined = (k) => (k.charCodeAt(0) === 101 /* e */ ? k.slice(2) : undefined),
  /**
   * Keys between two keys of a kind, to seek to (midpoints of text by default): a kind whose keys
   * are not text (layout 3's records, by ID) bisects its own way, or most of its keys are never
   * reached (text midpoints step through an ID's digits as if they were a word's letters).
   */
  between: (from: string, to: string) => string[] = midpoints,
): Promise<NormalizedDn[]> {
  const sampled: NormalizedDn[] = [];
  const first = async (opts: { gte?: string; lt: string; reverse?: boolean }): Promise<string | undefined> => {
    const keys = await db.keys({ ...opts, limit: 1 }).all();
    return keys[0];
  };
  for (const kind of kinds) {
    const lo = kind + SEP;
    const hi = kind + AFTER;
    const a = await first({ gte: lo, lt: hi });
    const b = await first({ gte: lo, lt: hi, reverse: true });
    if (a === undefined || b === undefined) continue;
    const spans: Array<[string, string, number]> = [[a, b, 0]];
    while (spans.length && Date.now() < deadline) {
      const [from, to, depth] = spans.shift()!;
      if (depth >= 9) continue;
      let k: string | undefined;
      for (const m of between(from, to)) {
        k = await first({ gte: m, lt: hi });
        if (k !== undefined && k > from && k < to) break;
        k = undefined;
      }
      if (k === undefined) continue;
      const ndn = sample(k);
      if (ndn !== undefined) sampled.push(ndn);
      spans.push([from, k, depth + 1], [k, to, depth + 1]);
    }
  }
  return sampled;
}

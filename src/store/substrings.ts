// The store's substring lookups (layout 2): each component of an assertion as the entries that
// have all of its even- or odd-offset trigrams (s keys), and an initial component, on an
// attribute that also has an equality index, as the range of its values among the q keys when
// few values start with it (cached in a PrefixCache, exact across writes).

import type { Level } from 'level';
import { gramsAt, prefixEnd, under } from './keys.js';
import { LARGE, SEP } from './postings.js';
import type { PrefixCache } from './prefix-cache.js';
import type { NormalizedDn, SubstringQuery } from './types.js';

/** Values an initial substring may span in the equality index before its trigrams are used instead. */
const INITIAL_RANGE_MAX = 64;

export class Substrings {
  constructor(
    private readonly db: Level<string, string>,
    private readonly prefixCache: PrefixCache,
  ) {}

  /** A superset of the entries matching q on attr (which has an equality index when `eq`), or undefined. */
  async lookup(attr: string, eq: boolean, q: SubstringQuery): Promise<NormalizedDn[] | undefined> {
    const parts = [q.initial ?? '', q.final ?? '', ...q.any];
    if (parts.some((p) => p.includes(SEP))) return undefined; // such values are never indexed
    // Each component as alternatives of trigram sets: an entry matches a component when it has
    // every trigram of one alternative. A component too short for that narrows nothing.
    const components: string[][][] = [];
    if (q.initial !== undefined) components.push([gramsAt('^' + q.initial, 0)]);
    if (q.final !== undefined) components.push([gramsAt(q.final + '$', 0), gramsAt(q.final + '$', 1)]);
    for (const a of q.any) components.push([gramsAt(a, 0), gramsAt(a, 1)]);
    let acc: Set<NormalizedDn> | undefined;
    // An initial component is its values' range of the equality index, when that is short: one
    // scan of a few posting lists instead of every entry with each of its trigrams (a PJSIP
    // contact lookup, cn=ID;@*, read ~1,500 trigram keys for one entry).
    const initial = q.initial !== undefined && eq ? await this.initialRange(attr, q.initial) : undefined;
    if (initial) {
      if (components.length === 1) return initial;
      acc = new Set(initial);
      components.shift();
    }
    for (const alternatives of components) {
      if (alternatives.some((g) => g.length === 0)) continue;
      const found = new Set<NormalizedDn>();
      for (const grams of alternatives) for (const ndn of await this.withAllGrams(attr, grams, acc)) found.add(ndn);
      acc = found;
      if (acc.size === 0) break;
    }
    return acc ? [...acc] : undefined;
  }

  /**
   * The entries whose value of attr starts with prefix, from the equality index, when at most
   * INITIAL_RANGE_MAX values start with it and none is LARGE; else undefined.
   */
  private async initialRange(attr: string, prefix: string): Promise<NormalizedDn[] | undefined> {
    const base = `q${SEP}${attr}${SEP}`;
    const end = prefixEnd(base + prefix);
    if (!end) return undefined;
    const hit = this.prefixCache.get(attr, prefix);
    if (hit) return [...hit];
    const generation = this.prefixCache.generation(attr);
    const rows = await this.db.iterator({ gte: base + prefix, lt: end, limit: INITIAL_RANGE_MAX + 1 }).all();
    if (rows.length > INITIAL_RANGE_MAX || rows.some(([, v]) => v === LARGE)) return undefined;
    const out: NormalizedDn[] = [];
    for (const [, v] of rows) for (const ndn of v.split(SEP)) out.push(ndn);
    const answer = rows.length > 1 ? [...new Set(out)] : out;
    this.prefixCache.keep(attr, prefix, generation, [...answer]);
    return answer;
  }

  /** Entries (within `within`, when given) whose indexed trigrams include every gram. */
  private async withAllGrams(attr: string, grams: string[], within?: Set<NormalizedDn>): Promise<Set<NormalizedDn>> {
    let acc = within;
    for (const g of new Set(grams)) {
      const prefix = `s${SEP}${attr}${SEP}${g}`;
      const skip = prefix.length + 1;
      const list = new Set<NormalizedDn>();
      for (const key of await this.db.keys(under(prefix)).all()) {
        const ndn = key.slice(skip);
        if (!acc || acc.has(ndn)) list.add(ndn);
      }
      acc = list;
      if (acc.size === 0) break;
    }
    return acc ?? new Set();
  }
}

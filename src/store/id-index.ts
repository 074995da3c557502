// Layout 3's indexes (id-store.ts): the equality, presence and substring keys of layout 2 with
// the entry's ID where layout 2 has its ndn, the keys an entry's change adds and removes, and
// the lookups, which answer with IDs (the store names them). The posting-list and prefix caches
// are exact: a batch drops the posting lists it wrote (forget).

import type { Level } from 'level';
import { postingBytes } from './cache-weight.js';
import { AFTER, indexedTrigrams, under } from './keys.js';
import { Lru } from './lru.js';
import { LARGE, MARK, SEP, type Postings } from './postings.js';
import { PrefixCache } from './prefix-cache.js';
import { Substrings } from './substrings.js';
import type { EntryRecord, IndexSpec, Indexer, NormalizedDn, SubstringQuery } from './types.js';

const MISS: unique symbol = Symbol('miss');

export interface IdIndexOptions {
  db: Level<string, string>;
  specs: readonly IndexSpec[];
  indexer: Indexer;
  /** One synchronous read of a key (the store's). */
  read: (key: string) => string | undefined;
  /** Entries at most in the posting-list cache; the two caches' shares of store.cacheMiB in bytes. */
  size: number;
  postingBytes: number;
  prefixBytes: number;
}

export class IdIndex {
  readonly specs: ReadonlyMap<string, IndexSpec>;
  private readonly heads: Array<{ spec: IndexSpec; p: string; i: string; q: string; s: string }>;
  private readonly postingCache: Lru<string, string | undefined>;
  private readonly prefixCache: PrefixCache;
  private readonly substrings: Substrings;

  constructor(private readonly opts: IdIndexOptions) {
    this.specs = new Map(opts.specs.map((s) => [s.attr, s]));
    this.heads = opts.specs.map((spec) => ({
      spec,
      p: `p${SEP}${spec.attr}`,
      i: `i${SEP}${spec.attr}${SEP}`,
      q: `q${SEP}${spec.attr}${SEP}`,
      s: `s${SEP}${spec.attr}${SEP}`,
    }));
    this.postingCache = new Lru(opts.size, { maxBytes: opts.postingBytes, weigh: postingBytes });
    this.prefixCache = new PrefixCache(opts.prefixBytes);
    this.substrings = new Substrings(opts.db, this.prefixCache);
  }

  /** Both caches emptied (a reopen, a clear, a reindex). */
  clear(): void {
    this.postingCache.clear();
    this.prefixCache.clear();
  }

  /** A batch wrote these posting lists (q keys): their cached lists and prefix answers go. */
  forget(postingKeys: Iterable<string>): void {
    const keys = [...postingKeys];
    for (const qk of keys) this.postingCache.delete(qk);
    this.prefixCache.changed(keys);
  }

  /** What the two caches hold (for the check). */
  cached(): { postings: Iterable<[string, string | undefined]>; prefixes: Iterable<[string, NormalizedDn[]]> } {
    return { postings: this.postingCache.entries(), prefixes: this.prefixCache.entries() };
  }

  private require(attr: string, kind: 'eq' | 'pres' | 'sub'): void {
    if (!this.specs.get(attr)?.[kind]) throw new Error(`no ${kind} index on attribute ${attr}`);
  }

  private async tails(range: { gt?: string; gte?: string; lt: string }): Promise<Set<string>> {
    const out = new Set<string>();
    for (const key of await this.opts.db.keys(range).all()) out.add(key.slice(key.lastIndexOf(SEP) + 1));
    return out;
  }

  private posting(qk: string): string | undefined {
    const hit = this.postingCache.lookup(qk, MISS);
    if (hit !== MISS) return hit;
    const v = this.opts.read(qk);
    this.postingCache.offer(qk, v);
    return v;
  }

  /** The IDs of the entries with an equality value of attr. */
  async equality(attr: string, value: string): Promise<Iterable<string>> {
    this.require(attr, 'eq');
    if (value.includes(SEP)) return [];
    const posting = this.posting(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return [];
    if (posting !== LARGE) return posting.split(SEP);
    return this.tails(under(`i${SEP}${attr}${SEP}${value}`));
  }

  /** How many entries have an equality value of attr (Infinity: a LARGE list). */
  equalitySize(attr: string, value: string): number {
    this.require(attr, 'eq');
    if (value.includes(SEP)) return 0;
    const posting = this.posting(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return 0;
    if (posting === LARGE) return Infinity;
    return posting.split(SEP).length;
  }

  /** The IDs of the entries with a value of attr from low to high (either open). */
  async range(attr: string, low?: string, high?: string): Promise<Iterable<string>> {
    this.require(attr, 'eq');
    const base = `q${SEP}${attr}${SEP}`;
    const range = {
      ...(low === undefined ? { gt: base } : { gte: base + low }),
      ...(high === undefined ? { lt: `q${SEP}${attr}${AFTER}` } : { lte: base + high }),
    };
    const out = new Set<string>();
    for (const [qk, v] of await this.opts.db.iterator(range).all()) {
      if (v !== LARGE) for (const id of v.split(SEP)) out.add(id);
      else for (const id of await this.tails(under('i' + qk.slice(1)))) out.add(id);
    }
    return out;
  }

  /** The IDs of the entries that have attr. */
  present(attr: string): Promise<Iterable<string>> {
    this.require(attr, 'pres');
    return this.tails(under(`p${SEP}${attr}`));
  }

  /** A superset of the IDs of the entries matching q on attr, or undefined (nothing narrows it). */
  async matching(attr: string, q: SubstringQuery): Promise<Iterable<string> | undefined> {
    this.require(attr, 'sub');
    return this.substrings.lookup(attr, this.specs.get(attr)!.eq, q);
  }

  /**
   * Calls emit with each presence and substring key of one entry (a substring key may come more
   * than once) and value with the q key of each equality value (for its posting list).
   */
  private eachKey(id: string, rec: EntryRecord, emit: (k: string) => void, value: (qk: string) => void): void {
    const tail = SEP + id;
    for (const { spec, p, q, s } of this.heads) {
      const vals = this.opts.indexer(rec, spec.attr);
      if (spec.pres && (vals.length || rec.attrs[spec.attr]?.length)) emit(p + tail);
      for (const v of vals) {
        if (v.includes(SEP)) continue;
        if (spec.eq) value(q + v);
        if (spec.sub) for (const g of indexedTrigrams(v)) emit(s + g + tail);
      }
    }
  }

  /** The index keys of one entry by ID (equality ones as i keys), as layout 2 builds them by ndn. */
  keysOf(id: string, rec: EntryRecord | undefined): Set<string> {
    const keys = new Set<string>();
    if (!rec) return keys;
    const tail = SEP + id;
    for (const { spec, p, i, s } of this.heads) {
      const vals = this.opts.indexer(rec, spec.attr);
      if (spec.pres && (vals.length || rec.attrs[spec.attr]?.length)) keys.add(p + tail);
      for (const v of vals) {
        if (v.includes(SEP)) continue;
        if (spec.eq) keys.add(i + v + tail);
        if (spec.sub) for (const g of indexedTrigrams(v)) keys.add(s + g + tail);
      }
    }
    return keys;
  }

  /** The index keys (and posting list members) an entry's change adds and removes. */
  delta(
    id: string,
    before: EntryRecord | undefined,
    after: EntryRecord | undefined,
    postings: Postings,
    put: (k: string, v: string) => void,
    del: (k: string) => void,
  ): void {
    if (before && after && before.attrs === after.attrs) return; // moved unchanged: same keys
    if (!before) {
      // A new entry (nearly every write of an import): its keys straight out, no sets compared.
      if (after)
        this.eachKey(
          id,
          after,
          (k) => put(k, MARK),
          (qk) => postings.add(qk, id),
        );
      return;
    }
    const valueOf = (ik: string) => 'q' + ik.slice(1, ik.lastIndexOf(SEP));
    const was = this.keysOf(id, before);
    const is = this.keysOf(id, after);
    for (const k of was) {
      if (is.has(k)) continue;
      if (k.charCodeAt(0) === 105 /* i */) postings.remove(valueOf(k), id);
      else del(k);
    }
    for (const k of is) {
      if (was.has(k)) continue;
      if (k.charCodeAt(0) === 105 /* i */) postings.add(valueOf(k), id);
      else put(k, MARK);
    }
  }
}

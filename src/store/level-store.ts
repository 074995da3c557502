// The Store contract (store/types.ts) on a LevelDB-compatible database: `level` (classic-level,
// on disk) or `memory-level`. One keyspace, partitioned by a one-letter prefix and NUL
// separators (NUL never occurs in a normalised DN, and index values containing it are not
// indexed), so every range scan `<prefix>\0 … <prefix>\1` is exact:
//
//   e\0<ndn>                        → JSON EntryRecord
//   c\0<parent>\0<child>            → ''   (children index; parent '' for top-level entries)
//   i\0<attr>\0<value>\0<ndn>       → ''   (equality index, normalised values)
//   q\0<attr>\0<value>              → posting list: the ndns joined by NUL, or LARGE (\x01)
//                                     once more than POSTING_MAX entries had the value
//   p\0<attr>\0<ndn>                → ''   (presence index)
//   s\0<attr>\0<trigram>\0<ndn>     → ''   (substring index: trigrams of '^' + value + '$')
//   m\0<key>                        → meta value
//   x\0count, x\0indexspec          → bookkeeping (entry count, index configuration fingerprint)
//   x\0layout                       → LAYOUT, the version of this key layout
//
// An equality lookup is one synchronous point read of its posting list (getSync: no round trip
// to the thread pool); only values shared by many entries (objectClass) fall back to the range
// scan of their i keys. Entries are read the same way, or from the exact LRU cache in front.
//
// Every write is one db.batch() (synced when durable): entries, children, index deltas, meta and
// the entry count together, so a crash leaves either all of it or none. Writes, reindex and
// clear run one at a time on an internal promise chain, so count deltas are never lost.

import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import type { EntryRecord, IndexSpec, Indexer, NormalizedDn, Store, SubstringQuery, WriteBatch } from './types.js';

const SEP = '\x00';
/** The byte after SEP: `p + SEP` .. `p + AFTER` bounds exactly the keys starting with `p + SEP`. */
const AFTER = '\x01';
const COUNT_KEY = 'x\x00count';
export const INDEXSPEC_KEY = 'x\x00indexspec';
const LAYOUT_KEY = 'x\x00layout';
/** The key layout written by this code; older layouts are migrated by rebuilding the indexes. */
export const LAYOUT = 2;
/** Entries a posting list holds before its value is marked LARGE and read by range scan. */
const POSTING_MAX = 64;
const LARGE = '\x01';
/** Operations per batch while rebuilding the indexes. */
const REINDEX_CHUNK = 5000;
/** Entries fetched per getMany while walking a subtree. */
const SUBTREE_CHUNK = 256;

/** Both classes share the abstract-level API; typed as the disk one. */
type Db = Level<string, string>;

export interface LevelStoreOptions {
  /** Directory of the LevelDB database; without it the store lives in memory. */
  path?: string;
  indexes: IndexSpec[];
  indexer: Indexer;
  /** fsync every batch (durable acknowledgements). */
  sync?: boolean;
  /** Entries kept parsed in memory (least recently used go first); 0 disables the cache. */
  cacheSize?: number;
}

/** Parent of a normalised DN: everything after the first ',' ('' for a top-level entry). */
export function parentOf(ndn: NormalizedDn): NormalizedDn {
  const i = ndn.indexOf(',');
  return i < 0 ? '' : ndn.slice(i + 1);
}

/** Trigrams of a normalised value, optionally padded with start/end markers, by code point. */
export function trigrams(value: string, anchorStart: boolean, anchorEnd: boolean): string[] {
  const cps = [...((anchorStart ? '^' : '') + value + (anchorEnd ? '$' : ''))];
  const out = new Set<string>();
  for (let i = 0; i + 3 <= cps.length; i++) out.add(cps[i]! + cps[i + 1]! + cps[i + 2]!);
  return [...out];
}

/** Order-independent fingerprint of an index configuration. */
export function indexFingerprint(specs: Iterable<IndexSpec>): string {
  const rows = [...specs].map((s) => [s.attr, !!s.eq, !!s.pres, !!s.sub] as const);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(rows);
}

/** Bounds of every key starting with `prefix + SEP`. */
const under = (prefix: string) => ({ gt: prefix + SEP, lt: prefix + AFTER });

export class LevelStore implements Store {
  readonly indexes: ReadonlyMap<string, IndexSpec>;
  private readonly db: Db;
  private readonly indexer: Indexer;
  private readonly sync: boolean;
  private readonly fingerprint: string;
  private entryCount = 0;
  /** Serialises batches so the count delta of each write is computed on the latest state. */
  private chain: Promise<void> = Promise.resolve();
  /**
   * Parsed entries by ndn, in least-recently-used order. Every write goes through this store,
   * so the cache is updated with each batch; a read that raced a write does not fill it
   * (writeGen tells), so it never holds a stale entry. Callers must not mutate what they get.
   */
  private readonly cache = new Map<NormalizedDn, EntryRecord>();
  private readonly cacheSize: number;
  private writeGen = 0;

  constructor(opts: LevelStoreOptions) {
    this.db = opts.path
      ? new Level<string, string>(opts.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
      : (new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
    this.indexes = new Map(opts.indexes.map((s) => [s.attr, s]));
    this.indexer = opts.indexer;
    this.sync = opts.sync ?? false;
    this.fingerprint = indexFingerprint(opts.indexes);
    this.cacheSize = opts.cacheSize ?? 20_000;
  }

  private cached(ndn: NormalizedDn): EntryRecord | undefined {
    const rec = this.cache.get(ndn);
    if (rec) {
      this.cache.delete(ndn);
      this.cache.set(ndn, rec);
    }
    return rec;
  }

  private remember(ndn: NormalizedDn, rec: EntryRecord, gen: number): void {
    if (this.cacheSize <= 0 || gen !== this.writeGen) return;
    this.cache.set(ndn, rec);
    if (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as NormalizedDn);
  }

  /**
   * Opens the database; rebuilds the indexes when their configuration or the key layout changed
   * since last time (an older layout's entries are kept; its indexes are rebuilt in this one).
   */
  async open(): Promise<void> {
    await this.db.open();
    const c = this.db.getSync(COUNT_KEY);
    this.entryCount = c === undefined ? 0 : Number(c);
    const stored = this.db.getSync(LAYOUT_KEY);
    // Layout 1 had no layout key; an empty database takes the current layout as it is.
    const layout = Number(stored ?? (this.entryCount ? 1 : LAYOUT));
    if (layout > LAYOUT) {
      await this.db.close();
      throw new Error(`the database has key layout ${layout}, newer than this astldap understands (${LAYOUT}); upgrade astldap`);
    }
    const had = this.db.getSync(INDEXSPEC_KEY);
    if (had !== this.fingerprint || layout !== LAYOUT || stored === undefined) {
      if (had !== this.fingerprint || layout !== LAYOUT) await this.reindex();
      await this.db.batch(
        [
          { type: 'put', key: INDEXSPEC_KEY, value: this.fingerprint },
          { type: 'put', key: LAYOUT_KEY, value: String(LAYOUT) },
        ],
        { sync: this.sync },
      );
    }
  }

  async close(): Promise<void> {
    await this.chain;
    await this.db.close();
  }

  /** Synchronous read (a point read needs no round trip to the thread pool). */
  getNow(ndn: NormalizedDn): EntryRecord | undefined {
    const hit = this.cached(ndn);
    if (hit) return hit;
    const v = this.db.getSync('e' + SEP + ndn);
    if (v === undefined) return undefined;
    const rec = JSON.parse(v) as EntryRecord;
    this.remember(ndn, rec, this.writeGen);
    return rec;
  }

  async get(ndn: NormalizedDn): Promise<EntryRecord | undefined> {
    return this.getNow(ndn);
  }

  async getMany(ndns: NormalizedDn[]): Promise<Array<EntryRecord | undefined>> {
    return ndns.map((n) => this.getNow(n));
  }

  async *children(ndn: NormalizedDn): AsyncIterable<NormalizedDn> {
    const prefix = 'c' + SEP + ndn;
    const skip = prefix.length + 1;
    for await (const key of this.db.keys(under(prefix))) yield key.slice(skip);
  }

  async countChildren(ndn: NormalizedDn): Promise<number> {
    let n = 0;
    for await (const _ of this.db.keys(under('c' + SEP + ndn))) n++;
    return n;
  }

  async hasChildren(ndn: NormalizedDn): Promise<boolean> {
    return (await this.db.keys({ ...under('c' + SEP + ndn), limit: 1 }).all()).length > 0;
  }

  async *subtree(ndn: NormalizedDn): AsyncIterable<[NormalizedDn, EntryRecord]> {
    const base = await this.get(ndn);
    if (base) yield [ndn, base];
    // Breadth-first over the children index: parents always come before their children. Below
    // the root, the top of the walk is every entry whose parent is not stored (the top-level
    // entries and the naming contexts, e.g. dc=example,dc=com without dc=com).
    let level: NormalizedDn[] = ndn === '' ? await this.forestRoots() : [ndn];
    let parents = ndn !== '';
    while (level.length) {
      const next: NormalizedDn[] = [];
      const ndns: NormalizedDn[] = [];
      if (parents) for (const parent of level) for await (const k of this.children(parent)) ndns.push(k);
      else ndns.push(...level);
      for (let i = 0; i < ndns.length; i += SUBTREE_CHUNK) {
        const slice = ndns.slice(i, i + SUBTREE_CHUNK);
        const recs = await this.getMany(slice);
        for (let j = 0; j < slice.length; j++) {
          const rec = recs[j];
          if (!rec) continue;
          yield [slice[j]!, rec];
          next.push(slice[j]!);
        }
      }
      level = next;
      parents = true;
    }
  }

  /** Entries whose parent is not stored: one seek per distinct parent in the children index. */
  private async forestRoots(): Promise<NormalizedDn[]> {
    const roots: NormalizedDn[] = [];
    const it = this.db.keys(under('c'));
    try {
      for (let key = await it.next(); key !== undefined; key = await it.next()) {
        const parent = key.slice(2, key.indexOf(SEP, 2));
        if (parent === '' || (await this.db.get('e' + SEP + parent)) === undefined) {
          for await (const child of this.children(parent)) roots.push(child);
        }
        it.seek('c' + SEP + parent + AFTER);
      }
    } finally {
      await it.close();
    }
    return roots;
  }

  async count(): Promise<number> {
    return this.entryCount;
  }

  private requireIndex(attr: string, kind: 'eq' | 'pres' | 'sub'): void {
    if (!this.indexes.get(attr)?.[kind]) throw new Error(`no ${kind} index on attribute ${attr}`);
  }

  /** The ndns (last NUL-separated component) of the index keys in a range, deduplicated. */
  private async tails(range: { gt?: string; gte?: string; lt: string }): Promise<NormalizedDn[]> {
    // One round trip to the database thread for the whole range.
    const out = new Set<NormalizedDn>();
    for (const key of await this.db.keys(range).all()) out.add(key.slice(key.lastIndexOf(SEP) + 1));
    return [...out];
  }

  async lookupEquality(attr: string, value: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'eq');
    if (value.includes(SEP)) return []; // never indexed
    const posting = this.db.getSync(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return [];
    if (posting !== LARGE) return posting.split(SEP);
    return this.tails(under(`i${SEP}${attr}${SEP}${value}`));
  }

  equalitySize(attr: string, value: string): number {
    this.requireIndex(attr, 'eq');
    if (value.includes(SEP)) return 0;
    const posting = this.db.getSync(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return 0;
    if (posting === LARGE) return Infinity;
    let n = 1;
    for (let i = posting.indexOf(SEP); i >= 0; i = posting.indexOf(SEP, i + 1)) n++;
    return n;
  }

  async lookupRange(attr: string, low?: string, high?: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'eq');
    const base = `i${SEP}${attr}${SEP}`;
    // Inclusive bounds: `value\0ndn` keys of low sort at or after `low\0`, those of high before `high\1`.
    const gte = low === undefined ? base : base + low + SEP;
    const lt = high === undefined ? `i${SEP}${attr}${AFTER}` : base + high + AFTER;
    return this.tails({ gte, lt });
  }

  async lookupPresent(attr: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'pres');
    return this.tails(under(`p${SEP}${attr}`));
  }

  async lookupSubstrings(attr: string, q: SubstringQuery): Promise<NormalizedDn[] | undefined> {
    this.requireIndex(attr, 'sub');
    const parts = [q.initial ?? '', q.final ?? '', ...q.any];
    if (parts.some((p) => p.includes(SEP))) return undefined; // such values are never indexed
    const grams = new Set<string>();
    if (q.initial !== undefined) for (const g of trigrams(q.initial, true, false)) grams.add(g);
    if (q.final !== undefined) for (const g of trigrams(q.final, false, true)) grams.add(g);
    for (const a of q.any) for (const g of trigrams(a, false, false)) grams.add(g);
    if (grams.size === 0) return undefined;
    // Intersect the posting lists; stop early once nothing is left.
    let acc: Set<NormalizedDn> | undefined;
    for (const g of grams) {
      const prefix = `s${SEP}${attr}${SEP}${g}`;
      const skip = prefix.length + 1;
      const list = new Set<NormalizedDn>();
      for await (const key of this.db.keys(under(prefix))) {
        const ndn = key.slice(skip);
        if (!acc || acc.has(ndn)) list.add(ndn);
      }
      acc = list;
      if (acc.size === 0) break;
    }
    return [...acc!];
  }

  /** Index keys (eq, pres, sub) of one entry. */
  private indexKeys(ndn: NormalizedDn, rec: EntryRecord | undefined): Set<string> {
    const keys = new Set<string>();
    if (!rec) return keys;
    const values = this.indexer(rec);
    for (const [attr, spec] of this.indexes) {
      const vals = values.get(attr) ?? [];
      // Presence also counts values the indexer could not normalise.
      if (spec.pres && (vals.length || rec.attrs[attr]?.length)) keys.add(`p${SEP}${attr}${SEP}${ndn}`);
      for (const v of vals) {
        if (v.includes(SEP)) continue;
        if (spec.eq) keys.add(`i${SEP}${attr}${SEP}${v}${SEP}${ndn}`);
        if (spec.sub) for (const g of trigrams(v, true, true)) keys.add(`s${SEP}${attr}${SEP}${g}${SEP}${ndn}`);
      }
    }
    return keys;
  }

  /** Runs fn after every earlier write/reindex/clear, and before any later one. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  write(batch: WriteBatch): Promise<void> {
    return this.exclusive(() => this.applyBatch(batch));
  }

  private async applyBatch(batch: WriteBatch): Promise<void> {
    const b = this.db.batch();
    let n = 0;
    const put = (key: string, value: string) => (b.put(key, value), n++);
    const del = (key: string) => (b.del(key), n++);
    const postings = new Postings(this.db);
    let delta = 0;
    for (const w of batch.entries) {
      const ek = 'e' + SEP + w.ndn;
      if (w.new) put(ek, JSON.stringify(w.new));
      else del(ek);
      if (w.new && !w.old) delta++;
      else if (!w.new && w.old) delta--;
      // The root DSE is nobody's child.
      if (w.ndn !== '') {
        const ck = 'c' + SEP + parentOf(w.ndn) + SEP + w.ndn;
        if (w.new && !w.old) put(ck, '');
        else if (!w.new && w.old) del(ck);
      }
      const before = this.indexKeys(w.ndn, w.old);
      const after = this.indexKeys(w.ndn, w.new);
      for (const k of before) {
        if (after.has(k)) continue;
        del(k);
        if (k.charCodeAt(0) === 105 /* i */) postings.remove(k, w.ndn);
      }
      for (const k of after) {
        if (before.has(k)) continue;
        put(k, '');
        if (k.charCodeAt(0) === 105 /* i */) postings.add(k, w.ndn);
      }
    }
    postings.flush(put, del);
    for (const m of batch.meta ?? []) {
      if (m.value === null) del('m' + SEP + m.key);
      else put('m' + SEP + m.key, m.value);
    }
    if (delta !== 0) put(COUNT_KEY, String(this.entryCount + delta));
    if (!n) {
      await b.close();
      return;
    }
    this.writeGen++;
    try {
      await b.write({ sync: this.sync });
    } finally {
      // Whatever happened, reads from before this batch must not repopulate the cache.
      this.writeGen++;
      for (const w of batch.entries) this.cache.delete(w.ndn);
    }
    for (const w of batch.entries) if (w.new) this.remember(w.ndn, w.new, this.writeGen);
    this.entryCount += delta;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return (await this.db.get('m' + SEP + key)) as string | undefined;
  }

  async *scanMeta(prefix: string): AsyncIterable<[string, string]> {
    const p = 'm' + SEP + prefix;
    for await (const [k, v] of this.db.iterator({ gte: p, lt: 'm' + AFTER })) {
      if (!k.startsWith(p)) break;
      yield [k.slice(2), v];
    }
  }

  reindex(): Promise<void> {
    return this.exclusive(async () => {
      for (const prefix of ['i', 'p', 's', 'q']) await this.db.clear(under(prefix));
      let b = this.db.batch();
      for await (const [k, v] of this.db.iterator(under('e'))) {
        for (const key of this.indexKeys(k.slice(2), JSON.parse(v) as EntryRecord)) b.put(key, '');
        if (b.length >= REINDEX_CHUNK) {
          await b.write({ sync: this.sync });
          b = this.db.batch();
        }
      }
      await b.write({ sync: this.sync });
      await this.buildPostings();
    });
  }

  /** The posting lists from the equality keys, one value at a time (bounded memory). */
  private async buildPostings(): Promise<void> {
    let b = this.db.batch();
    let cur = '';
    let list: string[] = [];
    const emit = () => {
      if (cur) b.put(cur, list.length > POSTING_MAX ? LARGE : list.join(SEP));
    };
    for await (const key of this.db.keys(under('i'))) {
      const cut = key.lastIndexOf(SEP);
      const qk = 'q' + key.slice(1, cut);
      if (qk !== cur) {
        emit();
        cur = qk;
        list = [];
        if (b.length >= REINDEX_CHUNK) {
          await b.write({ sync: this.sync });
          b = this.db.batch();
        }
      }
      if (list.length <= POSTING_MAX) list.push(key.slice(cut + 1));
    }
    emit();
    await b.write({ sync: this.sync });
  }

  /**
   * Compares everything kept besides the entries with the entries themselves: the cached
   * records, the entry count, the children, equality/presence/substring keys and the posting
   * lists. Returns the differences found (none when consistent). Reads the whole database.
   */
  check(): Promise<string[]> {
    return this.exclusive(async () => {
      const problems: string[] = [];
      const want = new Set<string>();
      let n = 0;
      for await (const [k, v] of this.db.iterator(under('e'))) {
        const ndn = k.slice(2);
        const rec = JSON.parse(v) as EntryRecord;
        n++;
        if (ndn !== '') want.add('c' + SEP + parentOf(ndn) + SEP + ndn);
        for (const key of this.indexKeys(ndn, rec)) want.add(key);
      }
      if (n !== this.entryCount) problems.push(`count ${this.entryCount}, entries ${n}`);
      const postings = new Map<string, string[]>();
      for (const prefix of ['c', 'i', 'p', 's']) {
        for await (const key of this.db.keys(under(prefix))) {
          if (!want.delete(key)) problems.push(`stray key ${JSON.stringify(key)}`);
          if (prefix !== 'i') continue;
          const cut = key.lastIndexOf(SEP);
          const qk = 'q' + key.slice(1, cut);
          const list = postings.get(qk) ?? [];
          list.push(key.slice(cut + 1));
          postings.set(qk, list);
        }
      }
      for (const key of want) problems.push(`missing key ${JSON.stringify(key)}`);
      for await (const [qk, v] of this.db.iterator(under('q'))) {
        const truth = postings.get(qk) ?? [];
        postings.delete(qk);
        // LARGE only says "read the i keys", whatever their number now.
        if (v !== LARGE && v.split(SEP).sort().join(SEP) !== truth.sort().join(SEP)) {
          problems.push(`posting list ${JSON.stringify(qk)} differs`);
        }
      }
      for (const qk of postings.keys()) problems.push(`posting list ${JSON.stringify(qk)} missing`);
      // A decoded entry must be an entry of the store, as stored.
      for (const [ndn, rec] of this.cache) {
        const v = this.db.getSync('e' + SEP + ndn);
        if (v === undefined) problems.push(`cache holds deleted ${ndn}`);
        else if (JSON.stringify(rec) !== v) problems.push(`cache differs for ${ndn}`);
      }
      return problems;
    });
  }

  clear(): Promise<void> {
    return this.exclusive(async () => {
      this.writeGen++;
      this.cache.clear();
      await this.db.clear();
      // The indexes (now empty) still match the configuration: keep its fingerprint.
      await this.db.batch(
        [
          { type: 'put', key: INDEXSPEC_KEY, value: this.fingerprint },
          { type: 'put', key: LAYOUT_KEY, value: String(LAYOUT) },
        ],
        { sync: this.sync },
      );
      this.entryCount = 0;
    });
  }
}

/**
 * The posting lists one batch changes: read once (synchronously: the writer runs alone, so the
 * database holds the latest state), changed for every equality key added or removed, written
 * with the batch. A list that outgrows POSTING_MAX becomes LARGE and stays so until a reindex.
 */
class Postings {
  private readonly lists = new Map<string, string[] | null>();
  constructor(private readonly db: Db) {}

  private list(ikey: string): { qk: string; list: string[] | null } {
    const qk = 'q' + ikey.slice(1, ikey.lastIndexOf(SEP));
    let list = this.lists.get(qk);
    if (list === undefined) {
      const v = this.db.getSync(qk);
      list = v === undefined ? [] : v === LARGE ? null : v.split(SEP);
      this.lists.set(qk, list);
    }
    return { qk, list };
  }

  add(ikey: string, ndn: NormalizedDn): void {
    const { qk, list } = this.list(ikey);
    if (!list || list.includes(ndn)) return;
    list.push(ndn);
    if (list.length > POSTING_MAX) this.lists.set(qk, null);
  }

  remove(ikey: string, ndn: NormalizedDn): void {
    const { list } = this.list(ikey);
    const i = list ? list.indexOf(ndn) : -1;
    if (i >= 0) list!.splice(i, 1);
  }

  flush(put: (k: string, v: string) => void, del: (k: string) => void): void {
    for (const [qk, list] of this.lists) {
      if (!list) put(qk, LARGE);
      else if (list.length) put(qk, list.join(SEP));
      else del(qk);
    }
  }
}

// The Store contract (store/types.ts) on a LevelDB-compatible database: `level` (classic-level,
// on disk) or `memory-level`. One keyspace, partitioned by a one-letter prefix and NUL
// separators (NUL never occurs in a normalised DN, and index values containing it are not
// indexed), so every range scan `<prefix>\0 … <prefix>\1` is exact:
//
//   e\0<ndn>                        → JSON EntryRecord
//   c\0<parent>\0<child>            → MARK (children index; parent '' for top-level entries)
//   q\0<attr>\0<value>              → equality index (normalised values): the ndns joined by
//                                     NUL, or LARGE (\x01) once more than POSTING_MAX entries
//                                     had the value; then its entries are the i keys:
//   i\0<attr>\0<value>\0<ndn>       → MARK (only for LARGE values)
//   p\0<attr>\0<ndn>                → MARK (presence index)
//   s\0<attr>\0<trigram>\0<ndn>     → MARK (substring index: trigrams of '^' + value + '$' at even offsets)
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
import { postingBytes, recordBytes } from './cache-weight.js';
import { PrefixCache } from './prefix-cache.js';
import { Substrings } from './substrings.js';
import { commitOps, WriteGuard } from './write-guard.js';
import { storeProblems } from './consistency.js';
import { openExplained } from './health.js';
import { KeyFilter } from './key-filter.js';
import { AFTER, indexedTrigrams, parentOf, under } from './keys.js';
import { Lru } from './lru.js';
import { NativeBatch } from './native-batch.js';
import { ArrayOps, buildPostings, LARGE, MARK, Postings, SEP } from './postings.js';
import { warmKeys } from './warm-keys.js';
import type { EntryRecord, IndexSpec, Indexer, NormalizedDn, Store, StoreHealth, SubstringQuery, WriteBatch } from './types.js';

const COUNT_KEY = 'x\x00count';
export const INDEXSPEC_KEY = 'x\x00indexspec';
const LAYOUT_KEY = 'x\x00layout';
/** The key layout written by this code; older layouts are migrated by rebuilding the indexes. */
export const LAYOUT = 2;
/** Operations per batch while rebuilding the indexes. */
const REINDEX_CHUNK = 5000;
/**
 * LevelDB's memtable size for a bulk load: 32 MiB instead of the default 4 lets it run without
 * LevelDB stalling writes for level-0 compactions (2× faster wall-clock on 2 cores). A serving
 * store keeps the default, as the memtable (and its immutable twin) count in resident memory.
 */
const BULK_WRITE_BUFFER = 32 << 20;
/** Batches of more entries than this do not use the reused native batch (see applyBatch). */
const NATIVE_MAX_ENTRIES = 5000;
/** The caches' default budget (store.cacheMiB's default, 32 MiB). */
export const DEFAULT_CACHE_BYTES = 32 << 20;
/** Batches of at most this many entries leave them in the cache. */
const REMEMBER_MAX = 64;
/** Entries fetched per getMany while walking a subtree. */
const SUBTREE_CHUNK = 256;
/** Entries of a subtree walk's next level held before only the parents among them are kept. */
const LEVEL_HELD = 1024;

/** Told one key (an index key, or a posting list's q key). */
type KeySink = (key: string) => void;

/** Both classes share the abstract-level API; typed as the disk one. */
type Db = Level<string, string>;

export interface LevelStoreOptions {
  /** Directory of the LevelDB database; without it the store lives in memory. */
  path?: string;
  indexes: IndexSpec[];
  indexer: Indexer;
  /** fsync every batch (durable acknowledgements). */
  sync?: boolean;
  /**
   * Bytes the caches may hold (cache-weight.ts counts them): parsed entries (least recently used
   * go first) with 13/16, posting lists with 1/8, initial-substring ranges with 1/16; 0 disables
   * the caches.
   * Default DEFAULT_CACHE_BYTES.
   */
  cacheBytes?: number;
  /** At most this many entries (and as many posting lists) besides the byte budget; default no such cap. */
  cacheSize?: number;
  /** Tuned for loading many entries (a larger write buffer). */
  bulk?: boolean;
  /** Told when the store starts failing and when it has recovered (for the log). */
  onHealth?: (health: StoreHealth) => void;
  /** Told once when classic-level's internal batch paths are missing (the public API is used). */
  onWarning?: (message: string) => void;
  /** Open as found (`astldap verify`): nothing rebuilt or written; see indexesCurrent. */
  asFound?: boolean;
}

/** Order-independent fingerprint of an index configuration. */
export function indexFingerprint(specs: Iterable<IndexSpec>): string {
  const rows = [...specs].map((s) => [s.attr, !!s.eq, !!s.pres, !!s.sub] as const);
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return JSON.stringify(rows);
}

/** The posting cache's answer for a key it does not hold (undefined is a cached value). */
const MISS: unique symbol = Symbol('miss');

export class LevelStore implements Store {
  readonly indexes: ReadonlyMap<string, IndexSpec>;
  private readonly db: Db;
  private readonly onDisk: boolean;
  private readonly indexer: Indexer;
  /** Per index, the start of its keys (presence key: the start of p keys before the tail). */
  private readonly keyHeads: Array<{ spec: IndexSpec; p: string; i: string; q: string; s: string }>;
  private readonly sync: boolean;
  private readonly fingerprint: string;
  private entryCount = 0;
  /**
   * Serialises batches so the count delta of each write is computed on the latest state; failing
   * after a disk error until a reopen succeeds.
   */
  private readonly guard: WriteGuard;
  /**
   * Parsed entries by ndn, in least-recently-used order. Every write goes through this store:
   * a batch drops its entries once written (a read while it was written may have cached the old
   * record), then caches the new ones of a small batch (likely read next). A read offers what it
   * parsed (Lru.offer: a full cache takes an entry read again soon). Callers must not mutate what
   * they get.
   */
  private readonly cache: Lru<NormalizedDn, EntryRecord>;
  /**
   * Posting lists by q key (undefined: no entry has the value), least recently used first.
   * Reads are synchronous, so a value is offered as the database holds it at that moment; a
   * batch drops the lists it changed once written.
   */
  private readonly postingCache: Lru<string, string | undefined>;
  /** Initial-substring answers from the equality index (prefix-cache.ts). */
  private readonly prefixCache: PrefixCache;
  private readonly substrings: Substrings;
  /** The reusable native batch of an on-disk store (see native-batch.ts). */
  private native: NativeBatch | undefined;
  private warnedInternals = false;
  private readonly bulk: boolean;
  /** Whether the stored indexes were built for this index configuration and key layout. */
  indexesCurrent = true;
  /**
   * A bulk load into an empty store: the entry and posting-list keys written since it was
   * opened. A load reads back every new entry's key and every value's list, nearly all absent,
   * and a LevelDB read of an absent key searches every table it might be in (7% of an import's
   * main thread): a key not in the filter is not read.
   */
  private written: KeyFilter | undefined;
  /** What the posting lists of a batch read (through the filter). */
  private readonly reader = { getSync: (key: string) => this.read(key) };

  constructor(private readonly opts: LevelStoreOptions) {
    this.db = opts.path
      ? new Level<string, string>(opts.path, {
          keyEncoding: 'utf8',
          valueEncoding: 'utf8',
          ...(opts.bulk ? { writeBufferSize: BULK_WRITE_BUFFER } : {}),
        })
      : (new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
    this.onDisk = opts.path !== undefined;
    this.guard = new WriteGuard({
      db: this.db,
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      ...(opts.onHealth ? { onHealth: opts.onHealth } : {}),
      reopened: () => this.opened(),
    });
    this.bulk = opts.bulk ?? false;
    this.indexes = new Map(opts.indexes.map((s) => [s.attr, s]));
    this.keyHeads = opts.indexes.map((spec) => ({
      spec,
      p: `p${SEP}${spec.attr}`,
      i: `i${SEP}${spec.attr}${SEP}`,
      q: `q${SEP}${spec.attr}${SEP}`,
      s: `s${SEP}${spec.attr}${SEP}`,
    }));
    this.indexer = opts.indexer;
    this.sync = opts.sync ?? false;
    this.fingerprint = indexFingerprint(opts.indexes);
    const cacheSize = Math.max(0, opts.cacheSize ?? Infinity);
    const bytes = Math.max(0, opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.cache = new Lru(cacheSize, { maxBytes: bytes - Math.floor(bytes / 8) - Math.floor(bytes / 16), weigh: recordBytes });
    this.postingCache = new Lru(cacheSize, { maxBytes: Math.floor(bytes / 8), weigh: postingBytes });
    this.prefixCache = new PrefixCache(Math.floor(bytes / 16));
    this.substrings = new Substrings(this.db, this.prefixCache);
  }

  /** A posting list's stored value, from the cache or one synchronous read. */
  private posting(qk: string): string | undefined {
    const hit = this.postingCache.lookup(qk, MISS);
    if (hit !== MISS) return hit;
    const v = this.read(qk);
    this.postingCache.offer(qk, v);
    return v;
  }

  /**
   * Opens the database; rebuilds the indexes when their configuration or the key layout changed
   * since last time (an older layout's entries are kept; its indexes are rebuilt in this one).
   */
  async open(): Promise<void> {
    await openExplained(this.db, this.opts.path);
    this.opened();
    const stored = this.db.getSync(LAYOUT_KEY);
    // Layout 1 had no layout key; an empty database takes the current layout as it is.
    const layout = Number(stored ?? (this.entryCount ? 1 : LAYOUT));
    if (layout > LAYOUT) {
      await this.db.close();
      throw new Error(`the database has key layout ${layout}, newer than this astldap understands (${LAYOUT}); upgrade astldap`);
    }
    const had = this.db.getSync(INDEXSPEC_KEY);
    this.indexesCurrent = (had === this.fingerprint || (had === undefined && !this.entryCount)) && layout === LAYOUT;
    if (this.opts.asFound) return;
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
    if (this.bulk && this.onDisk && !(await this.holds('e')) && !(await this.holds('q'))) this.written = new KeyFilter();
  }

  /** Whether any key of a kind is stored. */
  private async holds(kind: string): Promise<boolean> {
    return (await this.db.keys({ ...under(kind), limit: 1 }).all()).length > 0;
  }

  /** One synchronous read, skipped for an entry or posting-list key a bulk load has not written. */
  private read(key: string): string | undefined {
    if (this.written && !this.written.mayHave(key)) return undefined;
    return this.db.getSync(key);
  }

  async close(): Promise<void> {
    await this.guard.settled();
    await this.db.close();
  }

  /** How batches reach LevelDB: one reused native batch, or an array of operations. */
  get batchKind(): 'native' | 'array' {
    return this.native ? 'native' : 'array';
  }

  /** Synchronous read (a point read needs no round trip to the thread pool). */
  getNow(ndn: NormalizedDn): EntryRecord | undefined {
    const hit = this.cache.get(ndn);
    if (hit) return hit;
    const v = this.read('e' + SEP + ndn);
    if (v === undefined) return undefined;
    const rec = JSON.parse(v) as EntryRecord;
    this.cache.offer(ndn, rec);
    return rec;
  }

  keeps(ndn: NormalizedDn, rec: EntryRecord): boolean {
    return this.cache.peek(ndn) === rec && this.cache.wasRead(ndn);
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
    // entries and the naming contexts, e.g. dc=example,dc=com without dc=com). Each parent's
    // children are read as the index lists them, a chunk at a time. Once a level holds more than
    // LEVEL_HELD of them, only those that are parents themselves are kept for the next level (the
    // parents below ndn, found then, one seek per distinct parent in the children index): a level
    // of a million leaves (ou=people) is never held (a 1M-entry migration's heap was mostly that
    // level), and a small subtree costs no scan of the parents.
    const tail = ',' + ndn;
    const within = async () => new Set((await this.distinctParents()).filter((p) => ndn === '' || p === ndn || p.endsWith(tail)));
    let parents: Set<NormalizedDn> | undefined;
    let level: NormalizedDn[] = [];
    if (ndn === '') {
      parents = await within(); // the forest's roots are found from them anyway
      const roots = await this.forestRoots(parents);
      for (let i = 0; i < roots.length; i += SUBTREE_CHUNK) yield* this.walked(roots.slice(i, i + SUBTREE_CHUNK), parents, level);
    } else level = [ndn];
    while (level.length) {
      const next: NormalizedDn[] = [];
      const held = async () => {
        if (parents || next.length <= LEVEL_HELD) return;
        parents = await within();
        const kept = next.filter((n) => parents!.has(n));
        next.splice(0, next.length, ...kept);
      };
      for (const parent of level) {
        let chunk: NormalizedDn[] = [];
        for await (const k of this.children(parent)) {
          chunk.push(k);
          if (chunk.length < SUBTREE_CHUNK) continue;
          yield* this.walked(chunk, parents, next);
          await held();
          chunk = [];
        }
        yield* this.walked(chunk, parents, next);
        await held();
      }
      level = next;
    }
  }

  /** The entries of ndns that exist, read together; those among parents (all, while unknown) are added to next. */
  private async *walked(
    ndns: NormalizedDn[],
    parents: Set<NormalizedDn> | undefined,
    next: NormalizedDn[],
  ): AsyncIterable<[NormalizedDn, EntryRecord]> {
    if (!ndns.length) return;
    const recs = await this.getMany(ndns);
    for (let j = 0; j < ndns.length; j++) {
      const rec = recs[j];
      if (!rec) continue;
      yield [ndns[j]!, rec];
      if (!parents || parents.has(ndns[j]!)) next.push(ndns[j]!);
    }
  }

  /** Every ndn with an entry filed under it in the children index: one seek per distinct parent. */
  private async distinctParents(): Promise<NormalizedDn[]> {
    const out: NormalizedDn[] = [];
    const it = this.db.keys(under('c'));
    try {
      for (let key = await it.next(); key !== undefined; key = await it.next()) {
        const parent = key.slice(2, key.indexOf(SEP, 2));
        out.push(parent);
        it.seek('c' + SEP + parent + AFTER);
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /** Entries whose parent is not stored (parents: every parent in the children index). */
  private async forestRoots(parents: Set<NormalizedDn>): Promise<NormalizedDn[]> {
    const roots: NormalizedDn[] = [];
    for (const parent of new Set(['', ...parents])) {
      if (parent !== '' && (await this.db.get('e' + SEP + parent)) !== undefined) continue;
      for await (const child of this.children(parent)) roots.push(child);
    }
    return roots;
  }

  /** Opens LevelDB's table files across the key space until the deadline (warm-keys.ts). */
  async warm(deadline: number): Promise<NormalizedDn[]> {
    return this.onDisk ? warmKeys(this.db, deadline) : [];
  }

  /** Every stored entry as its key and stored text, in key order, whatever the children index says. */
  async *storedEntries(): AsyncIterable<[NormalizedDn, string]> {
    for await (const [k, v] of this.db.iterator(under('e'))) yield [k.slice(2), v];
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
    const posting = this.posting(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return [];
    if (posting !== LARGE) return posting.split(SEP);
    return this.tails(under(`i${SEP}${attr}${SEP}${value}`));
  }

  equalitySize(attr: string, value: string): number {
    this.requireIndex(attr, 'eq');
    if (value.includes(SEP)) return 0;
    const posting = this.posting(`q${SEP}${attr}${SEP}${value}`);
    if (posting === undefined) return 0;
    if (posting === LARGE) return Infinity;
    let n = 1;
    for (let i = posting.indexOf(SEP); i >= 0; i = posting.indexOf(SEP, i + 1)) n++;
    return n;
  }

  async lookupRange(attr: string, low?: string, high?: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'eq');
    const base = `q${SEP}${attr}${SEP}`;
    // Inclusive bounds on the values; one scan of the posting lists, one more per LARGE value.
    const range = {
      ...(low === undefined ? { gt: base } : { gte: base + low }),
      ...(high === undefined ? { lt: `q${SEP}${attr}${AFTER}` } : { lte: base + high }),
    };
    const out = new Set<NormalizedDn>();
    for (const [qk, v] of await this.db.iterator(range).all()) {
      if (v !== LARGE) for (const ndn of v.split(SEP)) out.add(ndn);
      else for (const ndn of await this.tails(under('i' + qk.slice(1)))) out.add(ndn);
    }
    return [...out];
  }

  async lookupPresent(attr: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'pres');
    return this.tails(under(`p${SEP}${attr}`));
  }

  async lookupSubstrings(attr: string, q: SubstringQuery): Promise<NormalizedDn[] | undefined> {
    this.requireIndex(attr, 'sub');
    return this.substrings.lookup(attr, this.indexes.get(attr)!.eq, q);
  }

  /** Index keys (eq, pres, sub) of one entry (of some of the indexes: `heads`). */
  private indexKeys(ndn: NormalizedDn, rec: EntryRecord | undefined, heads = this.keyHeads): Set<string> {
    const keys = new Set<string>();
    if (rec) this.eachIndexKey(ndn, rec, (k) => keys.add(k), undefined, heads);
    return keys;
  }

  /**
   * Calls emit with each index key of one entry (a substring key may come more than once); with
   * `value`, an equality key goes to it as its value's q key instead (a new entry's keys go
   * straight to the posting lists: no i key built to be cut back to its q key).
   */
  private eachIndexKey(ndn: NormalizedDn, rec: EntryRecord, emit: KeySink, value?: KeySink, heads = this.keyHeads): void {
    // Keys are built as a short head (flat) plus one shared tail: no chain of partial strings.
    const tail = SEP + ndn;
    for (const { spec, p, i, q, s } of heads) {
      const vals = this.indexer(rec, spec.attr);
      // Presence also counts values the indexer could not normalise.
      if (spec.pres && (vals.length || rec.attrs[spec.attr]?.length)) emit(p + tail);
      for (const v of vals) {
        if (v.includes(SEP)) continue;
        if (spec.eq) {
          if (value) value(q + v);
          else emit(i + v + tail);
        }
        if (spec.sub) for (const g of indexedTrigrams(v)) emit(s + g + tail);
      }
    }
  }

  write(batch: WriteBatch): Promise<void> {
    // Entries kept by DN: a subtree moves entry by entry (it does not say movesSubtrees).
    for (const w of batch.entries) if (w.subtree) return Promise.reject(new Error('layout 2 cannot move a subtree by its top entry alone'));
    return this.guard.exclusive(() => this.guard.guarded(() => this.applyBatch(batch)));
  }

  health(): StoreHealth {
    return this.guard.health();
  }

  /** One batch to LevelDB (write-guard.ts: classic-level's _batch on disk). */
  private commitOps(b: ArrayOps | NativeBatch): Promise<void> {
    return commitOps(this.db, this.onDisk, this.sync, b);
  }

  /**
   * The state read from a database just opened: its native batch and its entry count; nothing
   * cached survives (after a reopen, what the database holds is what was durable).
   */
  private opened(): void {
    this.cache.clear();
    this.postingCache.clear();
    this.prefixCache.clear();
    if (this.onDisk) this.native = NativeBatch.of(this.db);
    // classic-level's binding batch is private (package.json pins the version, and
    // test/unit/store-internals.test.ts fails when an upgrade changes it): without it the store
    // writes array batches through _batch (abstract-level's implementation hook), with a warning.
    if (this.onDisk && !this.native && !this.warnedInternals) {
      this.warnedInternals = true;
      this.opts.onWarning?.(
        "classic-level's native batch is not there: writing through its array batch (imports are slower); check the installed classic-level against package.json",
      );
    }
    const c = this.db.getSync(COUNT_KEY);
    this.entryCount = c === undefined ? 0 : Number(c);
  }

  private async applyBatch(batch: WriteBatch): Promise<void> {
    // The native paths skip abstract-level's own check (a write to a closed database).
    if (this.db.status !== 'open') throw new Error(`the store is ${this.db.status}`);
    // Batches run one at a time (exclusive): the store's one native batch is free here. A batch
    // of very many entries (a rename of a large subtree) takes the array path, whose buffer is
    // freed once written, rather than growing the reused one.
    const b = (batch.entries.length <= NATIVE_MAX_ENTRIES && this.native) || new ArrayOps();
    try {
      await this.fillAndCommit(batch, b);
    } finally {
      // Nothing staged survives a batch that failed before its write (a write clears it itself).
      if (b instanceof NativeBatch && b.length) b.clear();
    }
  }

  private async fillAndCommit(batch: WriteBatch, b: ArrayOps | NativeBatch): Promise<void> {
    const written = this.written;
    const put = written
      ? (key: string, value: string) => {
          const kind = key.charCodeAt(0);
          if (kind === 101 /* e */ || kind === 113 /* q */) written.add(key);
          b.put(key, value);
        }
      : (key: string, value: string) => b.put(key, value);
    const del = (key: string) => b.del(key);
    const postings = new Postings(this.reader, put, del);
    // Equality keys go through their posting lists (which write i keys only for LARGE values).
    const valueOf = (ik: string) => 'q' + ik.slice(1, ik.lastIndexOf(SEP));
    const addKey = (k: string, ndn: NormalizedDn) => (k.charCodeAt(0) === 105 /* i */ ? postings.add(valueOf(k), ndn) : put(k, MARK));
    const removeKey = (k: string, ndn: NormalizedDn) => (k.charCodeAt(0) === 105 /* i */ ? postings.remove(valueOf(k), ndn) : del(k));
    const mark = (k: string) => put(k, MARK);
    let delta = 0;
    for (const w of batch.entries) {
      const ndn = w.ndn;
      const ek = 'e' + SEP + ndn;
      if (w.new) put(ek, JSON.stringify(w.new));
      else del(ek);
      if (w.new && !w.old) delta++;
      else if (!w.new && w.old) delta--;
      // The root DSE is nobody's child.
      if (ndn !== '') {
        const ck = 'c' + SEP + parentOf(ndn) + SEP + ndn;
        if (w.new && !w.old) put(ck, MARK);
        else if (!w.new && w.old) del(ck);
      }
      if (w.new && !w.old) {
        // A new entry (every entry of a load): its keys are all added (a key twice is harmless:
        // the same put, and a posting list holds an ndn once).
        this.eachIndexKey(ndn, w.new, mark, (qk) => postings.add(qk, ndn));
        continue;
      }
      const after = this.indexKeys(ndn, w.new);
      const before = this.indexKeys(ndn, w.old);
      for (const k of before) if (!after.has(k)) removeKey(k, ndn);
      for (const k of after) if (!before.has(k)) addKey(k, ndn);
    }
    postings.flush();
    for (const m of batch.meta ?? []) {
      if (m.value === null) del('m' + SEP + m.key);
      else put('m' + SEP + m.key, m.value);
    }
    if (delta !== 0) put(COUNT_KEY, String(this.entryCount + delta));
    if (!b.length) return;
    try {
      await this.commitOps(b);
    } finally {
      // Whatever happened: what reads cached while the batch was written may be the old state.
      for (const w of batch.entries) this.cache.delete(w.ndn);
      for (const qk of postings.keys()) this.postingCache.delete(qk);
      this.prefixCache.changed(postings.keys());
    }
    // What one write changed is likely read next; a bulk load's chunk is not (and would only
    // push the entries being read out of the cache).
    if (batch.entries.length <= REMEMBER_MAX) for (const w of batch.entries) if (w.new) this.cache.set(w.ndn, w.new);
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
    return this.guard.exclusive(async () => {
      this.written = undefined; // it writes posting lists past the filter
      for (const prefix of ['i', 'p', 's', 'q']) await this.db.clear(under(prefix));
      let b = new ArrayOps();
      for await (const [k, v] of this.db.iterator(under('e'))) {
        for (const key of this.indexKeys(k.slice(2), JSON.parse(v) as EntryRecord)) b.put(key, MARK);
        if (b.length >= REINDEX_CHUNK) {
          await this.commitOps(b);
          b = new ArrayOps();
        }
      }
      await this.commitOps(b);
      await buildPostings(this.db.keys(under('i')), (ops) => this.commitOps(ops), REINDEX_CHUNK);
      this.postingCache.clear();
      this.prefixCache.clear();
    });
  }

  /**
   * Compares everything kept besides the entries with the entries themselves (consistency.ts).
   * Returns the differences found (none when consistent). Reads the whole database; with `part`,
   * only some attributes' indexes, and the count, children and caches with `bookkeeping`.
   */
  check(part?: { attrs: readonly string[]; bookkeeping: boolean }): Promise<string[]> {
    const attrs = part && new Set(part.attrs);
    const heads = attrs ? this.keyHeads.filter((h) => attrs.has(h.spec.attr)) : this.keyHeads;
    return this.guard.exclusive(() =>
      storeProblems({
        db: this.db,
        entryCount: this.entryCount,
        indexKeys: (ndn, rec) => this.indexKeys(ndn, rec, heads),
        postingCache: this.postingCache.entries(),
        prefixCache: this.prefixCache.entries(),
        entryCache: this.cache.entries(),
        ...(part ? { attrs, bookkeeping: part.bookkeeping } : {}),
      }),
    );
  }

  clear(): Promise<void> {
    return this.guard.exclusive(() => this.guard.guarded(() => this.clearAll()));
  }

  private async clearAll(): Promise<void> {
    await this.db.clear();
    // After the database: a read while it was cleared may have cached what is now gone.
    this.cache.clear();
    this.postingCache.clear();
    this.prefixCache.clear();
    // The indexes (now empty) still match the configuration: keep its fingerprint.
    await this.db.batch(
      [
        { type: 'put', key: INDEXSPEC_KEY, value: this.fingerprint },
        { type: 'put', key: LAYOUT_KEY, value: String(LAYOUT) },
      ],
      { sync: this.sync },
    );
    this.entryCount = 0;
  }
}

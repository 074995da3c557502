// The Store contract (store/types.ts) in key layout 3 (docs/store-layout-3.md, keys in
// id-tree.ts): entries by ID, dn2id by parent ID and RDN, records in the compact codec
// (record-codec.ts), and the equality, presence and substring keys of layout 2 with the entry's
// ID key where layout 2 has its ndn. Callers still speak normalised DNs: a DN is resolved to its
// ID down the dn2id keys (parents' IDs cached), an ID back to its DN up the records' heads.
//
// Every write is one batch, as in layout 2: records, dn2id keys, index deltas, new attribute
// names, the next ID, meta and the count together.

import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import { IdIndex } from './id-index.js';
import { cacheShares, IdReads, placeUnder } from './id-reads.js';
import { idStoreProblems } from './id-check.js';
import { openExplained } from './health.js';
import { idKey, parseIdKey } from './id-list.js';
import { attrKey, dn2idKey, encodeStored, isOperational, rdnEnd, readHead, recordKey, ROOT } from './id-tree.js';
import { AFTER, midpoints, parentOf, under } from './keys.js';
import { INDEXSPEC_KEY, indexFingerprint, type LevelStoreOptions } from './level-store.js';
import { KeyFilter } from './key-filter.js';
import { NativeBatch } from './native-batch.js';
import { ArrayOps, buildPostings, MARK, Postings, SEP } from './postings.js';
import { AttrTable, decodeRecordText, encodeRecord } from './record-codec.js';
import { commitOps, WriteGuard } from './write-guard.js';
import { warmKeys } from './warm-keys.js';
import type { EntryRecord, IndexSpec, NormalizedDn, Store, StoreHealth, SubstringQuery, WriteBatch } from './types.js';

const COUNT_KEY = 'x\x00count';
const LAYOUT_KEY = 'x\x00layout';
const NEXT_ID_KEY = 'x\x00nextid';
/** The key layout of this store. */
export const ID_LAYOUT = 3;
const CHUNK = 5000;
const REMEMBER_MAX = 64;
const NATIVE_MAX_ENTRIES = 5000;
/**
 * The caches' default budget (store.cacheMiB null): 64 MiB, twice layout 2's, as most of it holds
 * compact forms (stored records, dn2id answers, posting lists) rather than parsed entries:
 * BENCHMARKS.md, session 13.
 */
const DEFAULT_CACHE_BYTES = 64 << 20;

type Db = Level<string, string>;

export class IdStore implements Store {
  /** A renamed entry's descendants stay filed under its ID: the batch names the top entry only. */
  readonly movesSubtrees = true;
  readonly indexes: ReadonlyMap<string, IndexSpec>;
  private readonly db: Db;
  private readonly onDisk: boolean;
  private readonly sync: boolean;
  private readonly fingerprint: string;
  private entryCount = 0;
  private nextId = 1;
  private table = new AttrTable();
  /** Writes one at a time; failing after a disk error until a reopen succeeds. */
  private readonly guard: WriteGuard;
  /** The entries, their IDs and their names, cached exactly (id-reads.ts). */
  private readonly reads: IdReads;
  /** The index keys and their lookups by ID (id-index.ts). */
  private readonly index: IdIndex;
  /**
   * A bulk load into an empty store (layout 2's KeyFilter): the dn2id, record and posting-list
   * keys written since it was opened. Nearly every key a load reads back is absent, and LevelDB
   * looks for an absent key in every table it might be in: a key not in the filter is not read.
   */
  private written: KeyFilter | undefined;
  private readonly reader = { getSync: (key: string) => this.read(key) };
  private native: NativeBatch | undefined;
  indexesCurrent = true;

  constructor(private readonly opts: LevelStoreOptions) {
    this.db = opts.path
      ? new Level<string, string>(opts.path, {
          keyEncoding: 'utf8',
          valueEncoding: 'utf8',
          ...(opts.bulk ? { writeBufferSize: 32 << 20 } : {}),
        })
      : (new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
    this.onDisk = opts.path !== undefined;
    this.guard = new WriteGuard({
      db: this.db,
      ...(opts.path !== undefined ? { path: opts.path } : {}),
      ...(opts.onHealth ? { onHealth: opts.onHealth } : {}),
      reopened: () => this.opened(),
    });
    this.sync = opts.sync ?? false;
    this.fingerprint = indexFingerprint(opts.indexes);
    const size = Math.max(0, opts.cacheSize ?? Infinity);
    const bytes = Math.max(0, opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    const shares = cacheShares(bytes);
    this.reads = new IdReads({ size, bytes, read: (k) => this.read(k), table: () => this.table });
    this.index = new IdIndex({
      db: this.db,
      specs: opts.indexes,
      indexer: opts.indexer,
      read: (k) => this.read(k),
      size,
      postingBytes: shares.postings,
      prefixBytes: shares.prefixes,
    });
    this.indexes = this.index.specs;
  }

  async open(): Promise<void> {
    await openExplained(this.db, this.opts.path);
    await this.opened();
    const stored = this.db.getSync(LAYOUT_KEY);
    if (stored === undefined && this.entryCount === 0 && !(await this.holds('e'))) {
      await this.db.batch([{ type: 'put', key: LAYOUT_KEY, value: String(ID_LAYOUT) }], { sync: this.sync });
    } else if (stored !== String(ID_LAYOUT)) {
      await this.db.close();
      throw new Error(`the database has key layout ${stored ?? 1}, not ${ID_LAYOUT}: open it with store.layout: ${stored ?? 2}`);
    }
    const had = this.db.getSync(INDEXSPEC_KEY);
    this.indexesCurrent = had === this.fingerprint || (had === undefined && !this.entryCount);
    if (!this.opts.asFound && had !== this.fingerprint) {
      if (had !== undefined || this.entryCount) await this.reindex();
      await this.db.batch([{ type: 'put', key: INDEXSPEC_KEY, value: this.fingerprint }], { sync: this.sync });
    }
    if (
      this.opts.bulk &&
      this.onDisk &&
      !this.opts.asFound &&
      !(await this.holds('n')) &&
      !(await this.holds('r')) &&
      !(await this.holds('q'))
    ) {
      this.written = new KeyFilter();
    }
  }

  /** Puts into a batch; during a bulk load, the keys it reads back are noted in the filter. */
  private putter(b: ArrayOps | NativeBatch): (k: string, v: string) => void {
    const written = this.written;
    if (!written) return (k, v) => b.put(k, v);
    return (k, v) => {
      const kind = k.charCodeAt(0);
      if (kind === 110 /* n */ || kind === 114 /* r */ || kind === 113 /* q */) written.add(k);
      b.put(k, v);
    };
  }

  /** One synchronous read, skipped for a dn2id, record or posting-list key a bulk load has not written. */
  private read(key: string): string | undefined {
    if (this.written && !this.written.mayHave(key)) return undefined;
    return this.db.getSync(key);
  }

  private async holds(kind: string): Promise<boolean> {
    return (await this.db.keys({ ...under(kind), limit: 1 }).all()).length > 0;
  }

  /** What a database just opened holds besides the entries: count, next ID, attribute names; caches emptied. */
  private async opened(): Promise<void> {
    this.dropCaches();
    if (this.onDisk) this.native = NativeBatch.of(this.db);
    this.entryCount = Number(this.db.getSync(COUNT_KEY) ?? 0);
    this.nextId = Number(this.db.getSync(NEXT_ID_KEY) ?? 1);
    const rows: Array<[number, string]> = [];
    for await (const [k, v] of this.db.iterator(under('a'))) rows.push([parseIdKey(k, 2)!, v]);
    this.table = AttrTable.of(rows);
  }

  private dropCaches(): void {
    this.reads.clear();
    this.index.clear();
  }

  async close(): Promise<void> {
    await this.guard.settled();
    await this.db.close();
  }

  get batchKind(): 'native' | 'array' {
    return this.native ? 'native' : 'array';
  }

  /** The ID of an entry, down the dn2id keys. */
  idOf(ndn: NormalizedDn): string | undefined {
    return this.reads.idOf(ndn);
  }

  /** Opens LevelDB's table files across the key space until the deadline (warm-keys.ts); sampled entries' ndns. */
  async warm(deadline: number): Promise<NormalizedDn[]> {
    if (!this.onDisk) return [];
    const sample = (k: string) => (k.charCodeAt(0) === 114 /* r */ ? this.reads.load(k.slice(2))?.[0] : undefined);
    // Records are bisected by ID; the other kinds' keys are text after the first ID.
    const between = (a: string, b: string): string[] => {
      if (a.charCodeAt(0) !== 114 /* r */) return midpoints(a, b);
      const lo = parseIdKey(a, 2);
      const hi = parseIdKey(b, 2);
      return lo === undefined || hi === undefined || hi - lo < 2 ? [] : [recordKey(idKey(Math.floor((lo + hi) / 2)))];
    };
    return warmKeys(this.db, deadline, ['r', 'n', 'q', 's', 'p', 'i'], sample, between);
  }

  getNow(ndn: NormalizedDn): EntryRecord | undefined {
    return this.reads.get(ndn);
  }

  keeps(ndn: NormalizedDn, rec: EntryRecord): boolean {
    return this.reads.keeps(ndn, rec);
  }

  async get(ndn: NormalizedDn): Promise<EntryRecord | undefined> {
    return this.getNow(ndn);
  }

  async getMany(ndns: NormalizedDn[]): Promise<Array<EntryRecord | undefined>> {
    return ndns.map((n) => this.getNow(n));
  }

  /** The IDs and nrdns of the entries filed under an ID. */
  private async filedUnder(id: string): Promise<Array<[string, string]>> {
    const skip = 2 + id.length + 1;
    return (await this.db.iterator(under('n' + SEP + id)).all()).map(([k, v]) => [v, k.slice(skip)]);
  }

  /**
   * The children of ndn as [ndn, ID], as LevelDB reads them (an ou of a million entries is not
   * held in memory for a warm-up that wants a few of them): those under its ID, then those
   * without a stored parent filed under ROOT.
   */
  private async *childIds(ndn: NormalizedDn): AsyncIterable<[NormalizedDn, string]> {
    const id = ndn === '' ? undefined : this.idOf(ndn);
    if (id !== undefined) {
      const skip = 2 + id.length + 1;
      for await (const [k, cid] of this.db.iterator(under('n' + SEP + id))) yield [k.slice(skip) + ',' + ndn, cid];
    }
    for (const [cid, full] of await this.filedUnder(ROOT)) if (parentOf(full) === ndn && full !== '') yield [full, cid];
  }

  async *children(ndn: NormalizedDn): AsyncIterable<NormalizedDn> {
    for await (const [child] of this.childIds(ndn)) yield child;
  }

  async countChildren(ndn: NormalizedDn): Promise<number> {
    let n = 0;
    for await (const _ of this.childIds(ndn)) n++;
    return n;
  }

  async hasChildren(ndn: NormalizedDn): Promise<boolean> {
    for await (const _ of this.childIds(ndn)) return true;
    return false;
  }

  async *subtree(ndn: NormalizedDn): AsyncIterable<[NormalizedDn, EntryRecord]> {
    const base = this.getNow(ndn);
    if (base) yield [ndn, base];
    // Breadth-first down the dn2id keys; below the root, the top is everything filed under ROOT.
    let level: Array<[NormalizedDn, string]> = [];
    if (ndn === '') level = await this.rootLevel();
    else for await (const child of this.childIds(ndn)) level.push(child);
    while (level.length) {
      const next: Array<[NormalizedDn, string]> = [];
      for (const [n, id] of level) {
        const rec = this.reads.load(id)?.[1];
        if (!rec) continue;
        yield [n, rec];
        for (const [cid, nrdn] of await this.filedUnder(id)) next.push([nrdn + ',' + n, cid]);
      }
      level = next;
    }
  }

  private async rootLevel(): Promise<Array<[NormalizedDn, string]>> {
    return (await this.filedUnder(ROOT)).filter(([, full]) => full !== '').map(([id, full]) => [full, id]);
  }

  async count(): Promise<number> {
    return this.entryCount;
  }

  /**
   * The ndns of ID keys (entries gone meanwhile left out). The ndn of a list's only ID (a unique
   * value's: a uid, an extension) is not remembered: the search reads that entry next and the
   * caches keep it by its ndn; remembering it too cost ~4 µs a uid lookup (a map of up to 100k
   * IDs filled and emptied by lookups spread over many entries; bench/store-reads.mjs search).
   */
  private ndnsOf(ids: Iterable<string>): NormalizedDn[] {
    const list = Array.isArray(ids) ? (ids as string[]) : [...ids];
    const keep = list.length > 1;
    const out: NormalizedDn[] = [];
    for (const id of list) {
      const ndn = this.reads.ndnOf(id, keep);
      if (ndn !== undefined) out.push(ndn);
    }
    return out;
  }

  async lookupEquality(attr: string, value: string): Promise<NormalizedDn[]> {
    return this.ndnsOf(await this.index.equality(attr, value));
  }

  equalitySize(attr: string, value: string): number {
    return this.index.equalitySize(attr, value);
  }

  async lookupRange(attr: string, low?: string, high?: string): Promise<NormalizedDn[]> {
    return this.ndnsOf(await this.index.range(attr, low, high));
  }

  async lookupPresent(attr: string): Promise<NormalizedDn[]> {
    return this.ndnsOf(await this.index.present(attr));
  }

  async lookupSubstrings(attr: string, q: SubstringQuery): Promise<NormalizedDn[] | undefined> {
    const ids = await this.index.matching(attr, q);
    return ids && this.ndnsOf(ids);
  }

  /** The index keys of one entry by ID (equality ones as i keys). */
  indexKeys(id: string, rec: EntryRecord | undefined): Set<string> {
    return this.index.keysOf(id, rec);
  }

  write(batch: WriteBatch): Promise<void> {
    return this.guard.exclusive(() => this.guard.guarded(() => this.applyBatch(batch)));
  }

  health(): StoreHealth {
    return this.guard.health();
  }

  private commitOps(b: ArrayOps | NativeBatch): Promise<void> {
    return commitOps(this.db, this.onDisk, this.sync, b);
  }

  private async applyBatch(batch: WriteBatch): Promise<void> {
    if (this.db.status !== 'open') throw new Error(`the store is ${this.db.status}`);
    const b = (batch.entries.length <= NATIVE_MAX_ENTRIES && this.native) || new ArrayOps();
    const fresh: Array<[number, string]> = [];
    try {
      await this.fillAndCommit(batch, b, fresh);
    } catch (err) {
      this.table.giveBack(fresh);
      throw err;
    } finally {
      if (b instanceof NativeBatch && b.length) b.clear();
    }
  }

  private async fillAndCommit(batch: WriteBatch, b: ArrayOps | NativeBatch, fresh: Array<[number, string]>): Promise<void> {
    const put = this.putter(b);
    const del = (k: string) => b.del(k);
    const postings = new Postings(this.reader, put, del);
    /** IDs this batch gave or took (null: removed), so later writes of it resolve through them. */
    const staged = new Map<NormalizedDn, string | null>();
    const resolve = (ndn: NormalizedDn) => {
      const s = staged.get(ndn);
      return s === null ? undefined : (s ?? this.idOf(ndn));
    };
    let delta = 0;
    let next = this.nextId;
    const dropped = new Set<string>();
    // Renames: a write at a new ndn `from` one the batch removes keeps that entry's ID.
    const removed = new Set<NormalizedDn>();
    for (const w of batch.entries) if (w.old && !w.new) removed.add(w.ndn);
    const moving = new Set<NormalizedDn>();
    for (const w of batch.entries) if (w.from !== undefined && w.new && !w.old && removed.has(w.from)) moving.add(w.from);
    /** Entries moving out, by the ndn they leave: ID, old record, and the dn2id key left (deleted at the end unless taken again). */
    const leaving = new Map<NormalizedDn, { id: string; old: EntryRecord; place: string; rdn: string }>();
    const unplaced = new Set<string>();
    const deltas = (id: string, before: EntryRecord | undefined, after: EntryRecord | undefined) =>
      this.index.delta(id, before, after, postings, put, del);
    for (const w of batch.entries) {
      const out = w.from !== undefined && !w.old ? leaving.get(w.from) : undefined;
      let id = out ? out.id : resolve(w.ndn);
      if (w.old && id === undefined) throw new Error(`the store holds no entry ${w.ndn} to change`);
      if (!w.old && !out && id !== undefined) throw new Error(`the store holds ${w.ndn} already`);
      if (w.new) {
        const parentNdn = parentOf(w.ndn);
        const pid = w.ndn === '' || parentNdn === '' ? undefined : resolve(parentNdn);
        const at = placeUnder(w.ndn, pid);
        const place = dn2idKey(at.parent, at.nrdn);
        const rdn = at.parent === ROOT ? w.new.dn : w.new.dn.slice(0, rdnEnd(w.new.dn));
        if (id === undefined) {
          id = w.ndn === '' ? ROOT : idKey(next++);
          delta++;
        }
        if (out && place === out.place) unplaced.delete(place);
        else if (w.ndn !== '' && (out || !w.old)) put(place, id);
        staged.set(w.ndn, id);
        // A descendant that moves with its parent keeps its key, its record and its index keys.
        if (!(out && place === out.place && rdn === out.rdn && out.old.attrs === w.new.attrs))
          put(recordKey(id), encodeStored(at.parent, at.nrdn, rdn, encodeRecord(w.new.attrs, this.table, isOperational)));
        deltas(id, out ? out.old : w.old, w.new);
        continue;
      }
      const v = this.reads.stored(id!);
      const h = v === undefined ? undefined : readHead(v);
      staged.set(w.ndn, null);
      if (moving.has(w.ndn) && h && w.old) {
        const place = dn2idKey(h.parent, h.nrdn);
        leaving.set(w.ndn, { id: id!, old: w.old, place, rdn: h.rdn });
        unplaced.add(place);
        continue;
      }
      if (h && w.ndn !== '') del(dn2idKey(h.parent, h.nrdn));
      del(recordKey(id!));
      dropped.add(id!);
      delta--;
      deltas(id!, w.old, undefined);
    }
    for (const place of unplaced) del(place);
    postings.flush();
    fresh.push(...this.table.takeFresh());
    for (const [n, name] of fresh) put(attrKey(n), name);
    for (const m of batch.meta ?? []) {
      if (m.value === null) del('m' + SEP + m.key);
      else put('m' + SEP + m.key, m.value);
    }
    if (next !== this.nextId) put(NEXT_ID_KEY, String(next));
    if (delta !== 0) put(COUNT_KEY, String(this.entryCount + delta));
    if (!b.length) return;
    try {
      await this.commitOps(b);
    } finally {
      this.reads.forget(batch, dropped, staged.values(), leaving.size > 0);
      this.index.forget(postings.keys());
    }
    if (batch.entries.length <= REMEMBER_MAX) for (const w of batch.entries) if (w.new) this.reads.keep(w.ndn, w.new);
    this.nextId = next;
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

  /** Every record as its ID and stored value, in ID order. */
  async *records(): AsyncIterable<[string, string]> {
    for await (const [k, v] of this.db.iterator(under('r'))) yield [k.slice(2), v];
  }

  /** The attributes of a stored record value. */
  attrsOf(stored: string): Record<string, string[]> {
    return decodeRecordText(stored, readHead(stored).body, this.table);
  }

  reindex(): Promise<void> {
    return this.guard.exclusive(async () => {
      this.written = undefined; // it writes posting lists past the filter
      for (const prefix of ['i', 'p', 's', 'q']) await this.db.clear(under(prefix));
      let b = new ArrayOps();
      for await (const [id, v] of this.records()) {
        for (const key of this.indexKeys(id, { dn: '', attrs: this.attrsOf(v) })) b.put(key, MARK);
        if (b.length >= CHUNK) {
          await this.commitOps(b);
          b = new ArrayOps();
        }
      }
      await this.commitOps(b);
      await buildPostings(this.db.keys(under('i')), (ops) => this.commitOps(ops), CHUNK);
      this.index.clear();
    });
  }

  clear(): Promise<void> {
    return this.guard.exclusive(() =>
      this.guard.guarded(async () => {
        this.written = undefined;
        await this.db.clear();
        this.dropCaches();
        this.table = new AttrTable();
        await this.db.batch(
          [
            { type: 'put', key: INDEXSPEC_KEY, value: this.fingerprint },
            { type: 'put', key: LAYOUT_KEY, value: String(ID_LAYOUT) },
          ],
          { sync: this.sync },
        );
        this.entryCount = 0;
        this.nextId = 1;
      }),
    );
  }

  /**
   * Every stored entry as its ndn and its JSON text (`astldap check` reads entries so in both
   * layouts). As found: an entry below a record that is gone is named through the dn2id key of
   * what is gone (so verify says it has no parent); one whose record cannot be read is left to
   * the check (id-check.ts names it).
   */
  async *storedEntries(): AsyncIterable<[NormalizedDn, string]> {
    let placeOf: Map<string, string> | undefined;
    for await (const [id, v] of this.records()) {
      let e: [NormalizedDn, EntryRecord] | undefined;
      try {
        const attrs = this.attrsOf(v);
        e = this.reads.load(id);
        if (!e) {
          placeOf ??= new Map((await this.db.iterator(under('n')).all()).map(([k, i]) => [i, k]));
          const named = this.namesAsFound(id, placeOf);
          if (named) e = [named.ndn, { dn: named.dn, attrs }];
        }
      } catch {
        e = undefined; // a record (or an ancestor's head) that cannot be read: named by the check
      }
      if (e) yield [e[0], JSON.stringify(e[1])];
    }
  }

  /** An ID's ndn and DN up the records' heads, past a record that is gone by its dn2id key (its RDN as the normalised one). */
  private namesAsFound(id: string, placeOf: Map<string, string>, depth = 0): { ndn: NormalizedDn; dn: string } | undefined {
    if (id === ROOT) return { ndn: '', dn: '' };
    const v = this.reads.stored(id);
    let at: { parent: string; nrdn: string; rdn: string };
    if (v !== undefined) at = readHead(v);
    else {
      const k = placeOf.get(id);
      if (k === undefined) return undefined;
      const cut = k.indexOf(SEP, 2);
      at = { parent: k.slice(2, cut), nrdn: k.slice(cut + 1), rdn: k.slice(cut + 1) };
    }
    if (at.parent === ROOT) return { ndn: at.nrdn, dn: at.rdn };
    const up = depth < 1000 ? this.namesAsFound(at.parent, placeOf, depth + 1) : undefined;
    return up && { ndn: at.nrdn + ',' + up.ndn, dn: at.rdn + ',' + up.dn };
  }

  /**
   * Compares everything kept besides the records with the records (id-check.ts): the differences
   * found. One pass over everything: a `part` that is not the bookkeeping one finds nothing more.
   */
  check(part?: { attrs: readonly string[]; bookkeeping: boolean }): Promise<string[]> {
    if (part && !part.bookkeeping) return Promise.resolve([]);
    return this.guard.exclusive(() =>
      idStoreProblems({
        db: this.db,
        entryCount: this.entryCount,
        nextId: this.nextId,
        records: () => this.records(),
        attrsOf: (v) => this.attrsOf(v),
        indexKeys: (id, rec) => this.indexKeys(id, rec),
        postingCache: this.index.cached().postings,
        prefixCache: this.index.cached().prefixes,
        entryCache: this.reads.cached().entries,
        recordCache: this.reads.cached().records,
      }),
    );
  }
}

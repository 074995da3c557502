// The Store contract (store/types.ts) on a LevelDB-compatible database: `level` (classic-level,
// on disk) or `memory-level`. One keyspace, partitioned by a one-letter prefix and NUL
// separators, so every range scan is exact:
//
//   e\0<ndn>                        → JSON EntryRecord
//   c\0<parent>\0<child>            → ''   (children index; parent '' for top-level entries)
//   i\0<attr>\0<value>\0<ndn>       → ''   (equality index, normalised values)
//   p\0<attr>\0<ndn>                → ''   (presence index)
//   s\0<attr>\0<trigram>\0<ndn>     → ''   (substring index: trigrams of '^' + value + '$')
//   m\0<key>                        → meta value
//   x\0count, x\0indexspec          → bookkeeping
//
// Every write is one db.batch() (synced when durable): entries, children, index deltas, meta and
// the entry count together, so a crash leaves either all of it or none.

import { Level } from 'level';
import { MemoryLevel } from 'memory-level';
import type { EntryRecord, IndexSpec, Indexer, NormalizedDn, Store, SubstringQuery, WriteBatch } from './types.js';

const SEP = '\x00';
const END = '\u{10FFFF}'; // sorts after every UTF-8 key byte sequence
const COUNT_KEY = 'x\x00count';
export const INDEXSPEC_KEY = 'x\x00indexspec';

/** Both classes share the abstract-level API; typed as the disk one. */
type Db = Level<string, string>;
type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

export interface LevelStoreOptions {
  /** Directory of the LevelDB database; without it the store lives in memory. */
  path?: string;
  indexes: IndexSpec[];
  indexer: Indexer;
  /** fsync every batch (durable acknowledgements). */
  sync?: boolean;
}

export function parentOf(ndn: NormalizedDn): NormalizedDn {
  const i = ndn.indexOf(',');
  return i < 0 ? '' : ndn.slice(i + 1);
}

/** Trigrams of a normalised value padded with start/end markers, by code point. */
export function trigrams(value: string, anchorStart: boolean, anchorEnd: boolean): string[] {
  const cps = [...((anchorStart ? '^' : '') + value + (anchorEnd ? '$' : ''))];
  const out = new Set<string>();
  for (let i = 0; i + 3 <= cps.length; i++) out.add(cps[i]! + cps[i + 1]! + cps[i + 2]!);
  return [...out];
}

export class LevelStore implements Store {
  readonly indexes: ReadonlyMap<string, IndexSpec>;
  private readonly db: Db;
  private readonly indexer: Indexer;
  private readonly sync: boolean;
  private entryCount = 0;
  /** Serialises batches so the count delta of each write is computed on the latest state. */
  private chain: Promise<void> = Promise.resolve();

  constructor(opts: LevelStoreOptions) {
    this.db = opts.path
      ? new Level<string, string>(opts.path, { keyEncoding: 'utf8', valueEncoding: 'utf8' })
      : (new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' }) as unknown as Db);
    this.indexes = new Map(opts.indexes.map((s) => [s.attr, s]));
    this.indexer = opts.indexer;
    this.sync = opts.sync ?? false;
  }

  async open(): Promise<void> {
    await this.db.open();
    const c = await this.db.get(COUNT_KEY);
    this.entryCount = c === undefined ? 0 : Number(c);
    const fingerprint = JSON.stringify([...this.indexes.values()].sort((a, b) => (a.attr < b.attr ? -1 : 1)));
    const had = await this.db.get(INDEXSPEC_KEY);
    if (had !== fingerprint) {
      if (this.entryCount > 0) await this.reindex();
      await this.db.put(INDEXSPEC_KEY, fingerprint, { sync: this.sync } as never);
    }
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    await this.db.close();
  }

  async get(ndn: NormalizedDn): Promise<EntryRecord | undefined> {
    const v = await this.db.get('e' + SEP + ndn);
    return v === undefined ? undefined : (JSON.parse(v) as EntryRecord);
  }

  async getMany(ndns: NormalizedDn[]): Promise<Array<EntryRecord | undefined>> {
    if (!ndns.length) return [];
    const vals = await this.db.getMany(ndns.map((n) => 'e' + SEP + n));
    return vals.map((v) => (v === undefined ? undefined : (JSON.parse(v) as EntryRecord)));
  }

  async *children(ndn: NormalizedDn): AsyncIterable<NormalizedDn> {
    const prefix = 'c' + SEP + ndn + SEP;
    for await (const key of this.db.keys({ gt: prefix, lt: prefix + END })) yield key.slice(prefix.length);
  }

  async countChildren(ndn: NormalizedDn): Promise<number> {
    let n = 0;
    for await (const _ of this.children(ndn)) n++;
    return n;
  }

  async hasChildren(ndn: NormalizedDn): Promise<boolean> {
    const prefix = 'c' + SEP + ndn + SEP;
    for await (const _ of this.db.keys({ gt: prefix, lt: prefix + END, limit: 1 })) return true;
    return false;
  }

  async *subtree(ndn: NormalizedDn): AsyncIterable<[NormalizedDn, EntryRecord]> {
    // Breadth-first over the children index: parents always come before their children.
    let level: NormalizedDn[] = [ndn];
    if (ndn !== '') {
      const base = await this.get(ndn);
      if (!base) return;
      yield [ndn, base];
    }
    while (level.length) {
      const next: NormalizedDn[] = [];
      for (const p of level) {
        const kids: NormalizedDn[] = [];
        for await (const k of this.children(p)) kids.push(k);
        for (let i = 0; i < kids.length; i += 256) {
          const slice = kids.slice(i, i + 256);
          const recs = await this.getMany(slice);
          for (let j = 0; j < slice.length; j++) {
            const rec = recs[j];
            if (rec) {
              yield [slice[j]!, rec];
              next.push(slice[j]!);
            }
          }
        }
      }
      level = next;
    }
  }

  async count(): Promise<number> {
    return this.entryCount;
  }

  private requireIndex(attr: string, kind: 'eq' | 'pres' | 'sub'): void {
    if (!this.indexes.get(attr)?.[kind]) throw new Error(`no ${kind} index on ${attr}`);
  }

  async lookupEquality(attr: string, value: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'eq');
    if (value.includes(SEP)) return [];
    const prefix = `i${SEP}${attr}${SEP}${value}${SEP}`;
    const out: NormalizedDn[] = [];
    for await (const key of this.db.keys({ gt: prefix, lt: prefix + END })) out.push(key.slice(prefix.length));
    return out;
  }

  async lookupRange(attr: string, low?: string, high?: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'eq');
    const base = `i${SEP}${attr}${SEP}`;
    const out = new Set<NormalizedDn>();
    const gte = low === undefined ? base : base + low + SEP;
    const lt = high === undefined ? base + END : base + high + SEP + END;
    for await (const key of this.db.keys({ gte, lt })) {
      const rest = key.slice(base.length);
      out.add(rest.slice(rest.indexOf(SEP) + 1));
    }
    return [...out];
  }

  async lookupPresent(attr: string): Promise<NormalizedDn[]> {
    this.requireIndex(attr, 'pres');
    const prefix = `p${SEP}${attr}${SEP}`;
    const out: NormalizedDn[] = [];
    for await (const key of this.db.keys({ gt: prefix, lt: prefix + END })) out.push(key.slice(prefix.length));
    return out;
  }

  async lookupSubstrings(attr: string, q: SubstringQuery): Promise<NormalizedDn[] | undefined> {
    this.requireIndex(attr, 'sub');
    const grams = new Set<string>();
    if (q.initial !== undefined) for (const g of trigrams(q.initial, true, false)) grams.add(g);
    if (q.final !== undefined) for (const g of trigrams(q.final, false, true)) grams.add(g);
    for (const a of q.any) for (const g of trigrams(a, false, false)) grams.add(g);
    if (grams.size === 0) return undefined;
    let acc: Set<NormalizedDn> | undefined;
    // Intersect posting lists; stop early once nothing is left.
    for (const g of grams) {
      if (g.includes(SEP)) return undefined;
      const prefix = `s${SEP}${attr}${SEP}${g}${SEP}`;
      const list = new Set<NormalizedDn>();
      for await (const key of this.db.keys({ gt: prefix, lt: prefix + END })) {
        const ndn = key.slice(prefix.length);
        if (!acc || acc.has(ndn)) list.add(ndn);
      }
      acc = list;
      if (acc.size === 0) break;
    }
    return [...(acc ?? [])];
  }

  /** Index keys of one entry. */
  private indexKeys(ndn: NormalizedDn, rec: EntryRecord | undefined): Set<string> {
    const keys = new Set<string>();
    if (!rec) return keys;
    for (const [attr, values] of this.indexer(rec)) {
      const spec = this.indexes.get(attr);
      if (!spec || !values.length) continue;
      if (spec.pres) keys.add(`p${SEP}${attr}${SEP}${ndn}`);
      for (const v of values) {
        if (v.includes(SEP)) continue;
        if (spec.eq) keys.add(`i${SEP}${attr}${SEP}${v}${SEP}${ndn}`);
        if (spec.sub) for (const g of trigrams(v, true, true)) if (!g.includes(SEP)) keys.add(`s${SEP}${attr}${SEP}${g}${SEP}${ndn}`);
      }
    }
    return keys;
  }

  write(batch: WriteBatch): Promise<void> {
    const run = this.chain.then(() => this.applyBatch(batch));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async applyBatch(batch: WriteBatch): Promise<void> {
    const ops: Op[] = [];
    let delta = 0;
    for (const w of batch.entries) {
      const ek = 'e' + SEP + w.ndn;
      const ck = 'c' + SEP + parentOf(w.ndn) + SEP + w.ndn;
      if (w.new) ops.push({ type: 'put', key: ek, value: JSON.stringify(w.new) });
      else ops.push({ type: 'del', key: ek });
      if (w.new && !w.old) {
        ops.push({ type: 'put', key: ck, value: '' });
        delta++;
      } else if (!w.new && w.old) {
        ops.push({ type: 'del', key: ck });
        delta--;
      }
      const before = this.indexKeys(w.ndn, w.old);
      const after = this.indexKeys(w.ndn, w.new);
      for (const k of before) if (!after.has(k)) ops.push({ type: 'del', key: k });
      for (const k of after) if (!before.has(k)) ops.push({ type: 'put', key: k, value: '' });
    }
    for (const m of batch.meta ?? []) {
      if (m.value === null) ops.push({ type: 'del', key: 'm' + SEP + m.key });
      else ops.push({ type: 'put', key: 'm' + SEP + m.key, value: m.value });
    }
    if (delta !== 0) ops.push({ type: 'put', key: COUNT_KEY, value: String(this.entryCount + delta) });
    await this.db.batch(ops, { sync: this.sync } as never);
    this.entryCount += delta;
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.db.get('m' + SEP + key);
  }

  async *scanMeta(prefix: string): AsyncIterable<[string, string]> {
    const p = 'm' + SEP + prefix;
    for await (const [k, v] of this.db.iterator({ gte: p, lt: p + END })) yield [k.slice(2), v];
  }

  async reindex(): Promise<void> {
    await this.chain;
    for (const prefix of ['i', 'p', 's']) await this.db.clear({ gt: prefix + SEP, lt: prefix + SEP + END });
    let ops: Op[] = [];
    for await (const [k, v] of this.db.iterator({ gt: 'e' + SEP, lt: 'e' + SEP + END })) {
      const ndn = k.slice(2);
      for (const key of this.indexKeys(ndn, JSON.parse(v) as EntryRecord)) ops.push({ type: 'put', key, value: '' });
      if (ops.length >= 5000) {
        await this.db.batch(ops);
        ops = [];
      }
    }
    if (ops.length) await this.db.batch(ops);
  }

  async clear(): Promise<void> {
    await this.chain;
    const spec = await this.db.get(INDEXSPEC_KEY);
    await this.db.clear();
    if (spec !== undefined) await this.db.put(INDEXSPEC_KEY, spec);
    this.entryCount = 0;
  }
}

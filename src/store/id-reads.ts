// Layout 3's read side (id-store.ts): an ndn to its ID down the dn2id keys, an ID to its ndn up
// the records' heads, an ID to its entry, and the caches that keep those answers exact. What a
// read costs and why each cache is there: docs/store-layout-3.md, "What a read costs".
//
// Every cache is dropped for what a batch wrote (forget), so none can serve a value the store no
// longer holds; `astldap check` compares the entry and record caches with the records.

import { postingBytes, recordBytes } from './cache-weight.js';
import { dn2idKey, readHead, recordKey, ROOT, type RecordHead } from './id-tree.js';
import { parentOf } from './keys.js';
import { Lru } from './lru.js';
import { decodeRecordText, type AttrTable } from './record-codec.js';
import type { EntryRecord, NormalizedDn, WriteBatch } from './types.js';

/** IDs whose ndn is remembered, at most (then forgotten at once: a map, not an LRU, as a hit costs nothing). */
const NDNS_MAX = 100_000;
/** Parents' names remembered (cleared beyond: a tree of that many parents is rare). */
const PARENT_NAMES_MAX = 10_000;
/** Entries lookups named and the search has not read yet, at most (recent). */
const RECENT_MAX = 256;
const MISS: unique symbol = Symbol('miss');

/**
 * How store.cacheMiB is shared out, in bytes: parsed entries 5/16, stored record values 3/8,
 * dn2id answers 1/8, posting lists 1/8, substring prefixes 1/16. A parsed entry (with the
 * formatted form kept beside it) weighs about six times its stored record, and a miss of the
 * entry cache that hits the record cache costs a decode (a few µs) where a miss of both costs
 * LevelDB reads: at the default 64 MiB, about 8,000 people of the benchmark parsed, 55,000
 * records, 45,000 dn2id answers (a bind's first read) and 55,000 posting lists.
 */
export function cacheShares(bytes: number): { entries: number; records: number; ids: number; postings: number; prefixes: number } {
  const sixteenth = Math.floor(bytes / 16);
  return {
    entries: bytes - 11 * sixteenth,
    records: 6 * sixteenth,
    ids: 2 * sixteenth,
    postings: 2 * sixteenth,
    prefixes: sixteenth,
  };
}

/** The dn2id key's place of an ndn: its parent's ID and the key's nrdn, given the parent's ID (or none stored). */
export function placeUnder(ndn: NormalizedDn, parentId: string | undefined): { parent: string; nrdn: string } {
  const p = parentOf(ndn);
  if (p === '' || parentId === undefined) return { parent: ROOT, nrdn: ndn };
  return { parent: parentId, nrdn: ndn.slice(0, ndn.length - p.length - 1) };
}

export interface IdReadsOptions {
  /** Entries at most in each cache (the test suites' small caches); bytes: the whole budget. */
  size: number;
  bytes: number;
  /** One synchronous read of a key (the store's, which skips keys a bulk load has not written). */
  read: (key: string) => string | undefined;
  /** The attribute names' table as it is now (a reopen or clear replaces it). */
  table: () => AttrTable;
}

export class IdReads {
  /** Records by ndn (exact: a batch drops what it wrote, then keeps a small batch's new entries). */
  private readonly cache: Lru<NormalizedDn, EntryRecord>;
  /** Stored record values by ID (their bytes as the store reads them); a batch drops the records it writes or removes. */
  private readonly raw: Lru<string, string>;
  /** dn2id, by ndn (undefined: no such entry); a batch drops the ndns it wrote. */
  private readonly ids: Lru<NormalizedDn, string | undefined>;
  /** id2dn of entries read by ID (an ID's ndn changes only when it or an ancestor moves). */
  private readonly ndns = new Map<string, NormalizedDn>();
  /**
   * What lookups just named from records they read (ndn → its ID and record): the search reads the
   * candidates it keeps next, without the dn2id and record reads again (an ndn known beforehand
   * has its ID in the dn2id cache, most often). Each is used once; at most RECENT_MAX; emptied by
   * every batch.
   */
  private readonly recent = new Map<NormalizedDn, { id: string; v: string }>();
  /** Parent ID → its ndn and DN (names()); emptied by any batch that moves or removes a parent, or renames an entry. */
  private readonly parentNames = new Map<string, { ndn: NormalizedDn; dn: string }>();
  private readonly read: (key: string) => string | undefined;
  private readonly table: () => AttrTable;

  constructor(opts: IdReadsOptions) {
    const shares = cacheShares(opts.bytes);
    this.cache = new Lru(opts.size, { maxBytes: shares.entries, weigh: recordBytes });
    this.raw = new Lru<string, string>(opts.size, { maxBytes: shares.records, weigh: postingBytes });
    this.ids = new Lru(opts.size, { maxBytes: shares.ids, weigh: (k, v) => postingBytes(k, v) });
    this.read = opts.read;
    this.table = opts.table;
  }

  /** Everything forgotten (a database reopened or cleared). */
  clear(): void {
    this.cache.clear();
    this.raw.clear();
    this.recent.clear();
    this.ids.clear();
    this.ndns.clear();
    this.parentNames.clear();
  }

  /** The ID of an entry, down the dn2id keys (each parent's from the cache or resolved the same way). */
  idOf(ndn: NormalizedDn): string | undefined {
    if (ndn === '') return this.read(recordKey(ROOT)) === undefined ? undefined : ROOT;
    const hit = this.ids.lookup(ndn, MISS);
    if (hit !== MISS) return hit;
    const p = parentOf(ndn);
    const pid = p === '' ? undefined : this.idOf(p);
    let id: string | undefined;
    if (pid !== undefined) {
      const at = placeUnder(ndn, pid);
      id = this.read(dn2idKey(at.parent, at.nrdn));
    }
    id ??= this.read(dn2idKey(ROOT, ndn));
    this.ids.offer(ndn, id);
    return id;
  }

  /**
   * The stored value of an ID's record: from the cache of record values, else read (and offered
   * to that cache). A record holds its parent's ID and its own RDN, not its DN: a move leaves the
   * records below it as they were, so only a batch that writes or removes a record drops it here.
   */
  stored(id: string): string | undefined {
    const hit = this.raw.get(id);
    if (hit !== undefined) return hit;
    const v = this.read(recordKey(id));
    if (v !== undefined) this.raw.offer(id, v);
    return v;
  }

  /**
   * A parent's ndn and user DN, up the records' heads; remembered (parents are few and read for
   * every child an entry cache miss loads: one read per ancestor otherwise).
   */
  private names(id: string): { ndn: NormalizedDn; dn: string } | undefined {
    if (id === ROOT) return { ndn: '', dn: '' };
    const known = this.parentNames.get(id);
    if (known) return known;
    const v = this.stored(id);
    if (v === undefined) return undefined;
    const out = this.named(id, readHead(v));
    if (!out) return undefined;
    if (this.parentNames.size >= PARENT_NAMES_MAX) this.parentNames.clear();
    this.parentNames.set(id, out);
    return out;
  }

  /** The ndn and DN of the entry of an ID whose record has head h (undefined: a parent is missing). */
  private named(id: string, h: RecordHead): { ndn: NormalizedDn; dn: string } | undefined {
    if (id === ROOT) return { ndn: '', dn: '' };
    if (h.parent === ROOT) return { ndn: h.nrdn, dn: h.rdn };
    const up = this.names(h.parent);
    return up && { ndn: h.nrdn + ',' + up.ndn, dn: h.rdn + ',' + up.dn };
  }

  /** An ID's ndn remembered (and the ndn's ID offered to the dn2id cache). */
  private remember(id: string, ndn: NormalizedDn): void {
    if (this.ndns.size >= NDNS_MAX) this.ndns.clear();
    // An ndn made up the heads is a concatenation of slices of the records read; charCodeAt
    // flattens it, so it no longer keeps those records' text alive while it is remembered (100k
    // such ndns: 64 MiB of heap against 15 MiB, in a standalone check; optimised code may already
    // build it flat).
    if (ndn.charCodeAt(0) < 0) return;
    this.ndns.set(id, ndn);
    this.ids.offer(ndn, id);
  }

  /**
   * The ndn of an ID, from its record's head alone (nothing decoded): what a lookup hands back
   * for each ID of a posting list, most of which the search then drops by scope or filter.
   * `keep`: the ID's ndn is remembered (a list of several, read again for its next search).
   */
  ndnOf(id: string, keep = true): NormalizedDn | undefined {
    const known = this.ndns.get(id);
    if (known !== undefined) return known;
    const v = this.stored(id);
    if (v === undefined) return undefined;
    const named = this.named(id, readHead(v));
    if (named) {
      if (keep) this.remember(id, named.ndn);
      if (this.recent.size >= RECENT_MAX) this.recent.clear();
      this.recent.set(named.ndn, { id, v });
    }
    return named?.ndn;
  }

  /**
   * The entry of an ID with its ndn (offered to the entry cache); given: its stored record, when
   * already read. The ID's ndn is not remembered here: a read by DN has its ID from the dn2id cache
   * and a walk has no use for it, and remembering every entry read made each bind keep an ndn
   * (and, through it, the record text it was sliced from) until the map was full.
   */
  load(id: string, given?: string): [NormalizedDn, EntryRecord] | undefined {
    const known = this.ndns.get(id);
    if (known !== undefined) {
      const rec = this.cache.get(known);
      if (rec) return [known, rec];
    }
    return this.decoded(id, given ?? this.stored(id));
  }

  /** The entry of an ID from its stored record v (offered to the entry cache), with its ndn. */
  private decoded(id: string, v: string | undefined): [NormalizedDn, EntryRecord] | undefined {
    if (v === undefined) return undefined;
    const h = readHead(v);
    const named = this.named(id, h);
    if (!named) return undefined;
    const rec: EntryRecord = { dn: named.dn, attrs: decodeRecordText(v, h.body, this.table()) };
    this.cache.offer(named.ndn, rec);
    return [named.ndn, rec];
  }

  /** The entry of an ndn: cached, just named by a lookup, or down dn2id and read. */
  get(ndn: NormalizedDn): EntryRecord | undefined {
    const hit = this.cache.get(ndn);
    if (hit) return hit;
    const named = this.recent.get(ndn);
    if (named) {
      this.recent.delete(ndn);
      return this.decoded(named.id, named.v)?.[1];
    }
    // The entry cache has just missed ndn: straight to the record.
    const id = this.idOf(ndn);
    return id === undefined ? undefined : this.decoded(id, this.stored(id))?.[1];
  }

  /** Whether the entry cache holds rec for ndn and a read has used it (the Store's keeps()). */
  keeps(ndn: NormalizedDn, rec: EntryRecord): boolean {
    return this.cache.peek(ndn) === rec && this.cache.wasRead(ndn);
  }

  /** A small batch's new entries, kept as written (a write is most often read back). */
  keep(ndn: NormalizedDn, rec: EntryRecord): void {
    this.cache.set(ndn, rec);
  }

  /** Drops the cached records of every entry below ndn. */
  private forgetBelow(ndn: NormalizedDn): void {
    const tail = ',' + ndn;
    const gone: NormalizedDn[] = [];
    for (const [k] of this.cache.entries()) if (k.endsWith(tail)) gone.push(k);
    for (const k of gone) this.cache.delete(k);
  }

  /**
   * After a batch was committed (or failed to be): what the caches held of what it wrote goes.
   * `written`: the IDs of the entries it wrote (null: removed, those are in `dropped`). `moved`: it
   * moved entries, whose descendants now have other ndns under the IDs they keep.
   */
  forget(batch: WriteBatch, dropped: Set<string>, written: Iterable<string | null>, moved: boolean): void {
    this.recent.clear();
    for (const w of batch.entries) {
      this.cache.delete(w.ndn);
      this.ids.delete(w.ndn);
    }
    for (const id of dropped) {
      this.ndns.delete(id);
      this.raw.delete(id);
    }
    for (const id of written) if (id !== null) this.raw.delete(id);
    // A parent removed, moved or renamed (its RDN's spelling too): names below it change. A leaf
    // removed (a contact replaced at each re-registration) is nobody's parent.
    const parentGone = [...dropped].some((id) => this.parentNames.has(id));
    if (parentGone || moved || batch.entries.some((w) => w.old && w.new && w.old.dn !== w.new.dn)) this.parentNames.clear();
    if (moved) {
      this.ids.clear();
      this.ndns.clear();
    }
    // Those of a subtree moved by its top alone are not in the batch: their cached records
    // (which carry their old DN) go too.
    for (const w of batch.entries) if (w.subtree && w.from !== undefined) this.forgetBelow(w.from);
    // A new spelling of an entry's DN (same ndn) is its descendants' too: their cached records go.
    for (const w of batch.entries) if (w.old && w.new && w.old.dn !== w.new.dn) this.forgetBelow(w.ndn);
  }

  /** What the entry and record caches hold (for the check). */
  cached(): { entries: Iterable<[NormalizedDn, EntryRecord]>; records: Iterable<[string, string]> } {
    return { entries: this.cache.entries(), records: this.raw.entries() };
  }
}

// The consistency check of layout 3 (id-store.ts): every record read, and what it implies (its
// dn2id key, its parent, its index keys, the posting lists of IDs, the count and the next ID)
// compared with what is stored, and the caches in front of them (posting lists, initial-substring
// ranges, entries, record values) with what they cache. Reads the whole database; for tests and
// `astldap check`.

import { postingCacheProblems } from './consistency.js';
import { parseIdKey } from './id-list.js';
import { dn2idKey, readHead, recordKey, ROOT, type RecordHead } from './id-tree.js';
import { parentOf, under } from './keys.js';
import { LARGE, SEP } from './postings.js';
import type { EntryRecord, NormalizedDn } from './types.js';

/** What the check reads of a layout-3 store. */
export interface IdStoreView {
  db: {
    iterator(range: { gt?: string; gte?: string; lt: string }): AsyncIterable<[string, string]>;
    keys(range: { gt: string; lt: string }): AsyncIterable<string>;
    getSync(key: string): string | undefined;
  };
  entryCount: number;
  nextId: number;
  records(): AsyncIterable<[string, string]>;
  attrsOf(stored: string): Record<string, string[]>;
  indexKeys(id: string, rec: EntryRecord): Set<string>;
  postingCache: Iterable<[string, string | undefined]>;
  /** Initial-substring answers (ID keys) by attr SEP prefix (prefix-cache.ts). */
  prefixCache: Iterable<[string, string[]]>;
  entryCache: Iterable<[NormalizedDn, EntryRecord]>;
  /** Stored record values by ID. */
  recordCache: Iterable<[string, string]>;
}

/** The differences found (none when consistent). */
export async function idStoreProblems(view: IdStoreView): Promise<string[]> {
  const problems: string[] = [];
  const want = new Set<string>();
  const places = new Map<string, string>();
  const ids = new Set<string>();
  const unreadable = new Set<string>();
  let n = 0;
  let maxId = 0;
  for await (const [id, v] of view.records()) {
    ids.add(id);
    if (id !== ROOT) n++;
    maxId = Math.max(maxId, parseIdKey(id) ?? 0);
    // A record that cannot be read is named once: its place if its head reads, its keys unknown.
    let h: RecordHead | undefined;
    let attrs: Record<string, string[]> | undefined;
    try {
      h = readHead(v);
      attrs = view.attrsOf(v);
    } catch (err) {
      problems.push(`record ${id} cannot be read: ${(err as Error).message}`);
      unreadable.add(id);
    }
    if (h && id !== ROOT) places.set(dn2idKey(h.parent, h.nrdn), id);
    if (attrs) for (const k of view.indexKeys(id, { dn: '', attrs })) want.add(k);
  }
  if (n !== view.entryCount) problems.push(`entry count is ${view.entryCount}, the records are ${n}`);
  if (maxId >= view.nextId) problems.push(`next ID ${view.nextId} is not above the largest ID ${maxId}`);
  // The dn2id keys under a parent that is not stored, by that parent (one line for all of them).
  const orphans = new Map<string, { first: string; n: number }>();
  for await (const [k, id] of view.db.iterator(under('n'))) {
    if (places.get(k) !== id) problems.push(`dn2id key ${JSON.stringify(k)} names ${id}, whose record is not there`);
    places.delete(k);
    const parent = k.slice(2, k.indexOf(SEP, 2));
    if (parent === ROOT || ids.has(parent)) continue;
    const seen = orphans.get(parent);
    if (seen) seen.n++;
    else orphans.set(parent, { first: k, n: 1 });
  }
  for (const [parent, { first, n }] of orphans) {
    const which = n === 1 ? `dn2id key ${JSON.stringify(first)} is` : `${n} dn2id keys (the first ${JSON.stringify(first)}) are`;
    problems.push(`${which} under ${parent}, which is not stored`);
  }
  for (const [k, id] of places) problems.push(`record ${id} has no dn2id key ${JSON.stringify(k)}`);
  // Equality keys as i keys: the posting lists are expanded into them first.
  const have = new Set<string>();
  for await (const [qk, v] of view.db.iterator(under('q'))) {
    if (v === LARGE) continue;
    for (const id of v.split(SEP)) have.add('i' + qk.slice(1) + SEP + id);
  }
  for (const kind of ['i', 'p', 's']) for await (const k of view.db.keys(under(kind))) have.add(k);
  for (const k of want) if (!have.has(k)) problems.push(`missing index key ${JSON.stringify(k)}`);
  for (const k of have)
    if (!want.has(k) && !unreadable.has(k.slice(k.lastIndexOf(SEP) + 1))) problems.push(`stale index key ${JSON.stringify(k)}`);
  await cacheProblems(view, problems);
  return problems;
}

/** The caches against what they cache (as consistency.ts checks layout 2's). */
async function cacheProblems(view: IdStoreView, problems: string[]): Promise<void> {
  await postingCacheProblems(view, problems);
  const get = (k: string) => view.db.getSync(k);
  // A cached entry's attributes must be its record's, found down the dn2id keys (not their cache).
  const idAt = (ndn: NormalizedDn): string | undefined => {
    if (ndn === '') return get(recordKey(ROOT)) === undefined ? undefined : ROOT;
    const p = parentOf(ndn);
    const pid = p === '' ? undefined : idAt(p);
    return (pid === undefined ? undefined : get(dn2idKey(pid, ndn.slice(0, ndn.length - p.length - 1)))) ?? get(dn2idKey(ROOT, ndn));
  };
  for (const [ndn, rec] of view.entryCache) {
    const id = idAt(ndn);
    const v = id === undefined ? undefined : get(recordKey(id));
    if (v === undefined) problems.push(`cache holds deleted ${ndn}`);
    else if (JSON.stringify(rec.attrs) !== attrsText(view, v)) problems.push(`cache differs for ${ndn}`);
  }
  for (const [id, cached] of view.recordCache) {
    const v = get(recordKey(id));
    if (v === undefined) problems.push(`record cache holds deleted ID ${id}`);
    else if (v !== cached) problems.push(`record cache differs for ID ${id}`);
  }
}

function attrsText(view: IdStoreView, stored: string): string | undefined {
  try {
    return JSON.stringify(view.attrsOf(stored));
  } catch {
    return undefined; // named as a record that cannot be read
  }
}

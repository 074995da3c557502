// The consistency check of layout 3 (id-store.ts): every record read, and what it implies (its
// dn2id key, its parent, its index keys, the posting lists of IDs, the count and the next ID)
// compared with what is stored. Reads the whole database; for tests and `astldap check`.

import { parseIdKey } from './id-list.js';
import { dn2idKey, readHead, ROOT } from './id-tree.js';
import { under } from './keys.js';
import { LARGE, SEP } from './postings.js';
import type { EntryRecord } from './types.js';

/** What the check reads of a layout-3 store. */
export interface IdStoreView {
  db: {
    iterator(range: { gt: string; lt: string }): AsyncIterable<[string, string]>;
    keys(range: { gt: string; lt: string }): AsyncIterable<string>;
  };
  entryCount: number;
  nextId: number;
  records(): AsyncIterable<[string, string]>;
  attrsOf(stored: string): Record<string, string[]>;
  indexKeys(id: string, rec: EntryRecord): Set<string>;
}

/** The differences found (none when consistent). */
export async function idStoreProblems(view: IdStoreView): Promise<string[]> {
  const problems: string[] = [];
  const want = new Set<string>();
  const places = new Map<string, string>();
  const ids = new Set<string>();
  let n = 0;
  let maxId = 0;
  for await (const [id, v] of view.records()) {
    ids.add(id);
    if (id !== ROOT) n++;
    maxId = Math.max(maxId, parseIdKey(id) ?? 0);
    let attrs: Record<string, string[]>;
    try {
      attrs = view.attrsOf(v);
    } catch (err) {
      problems.push(`record ${id} cannot be read: ${(err as Error).message}`);
      continue;
    }
    const h = readHead(v);
    if (id !== ROOT) places.set(dn2idKey(h.parent, h.nrdn), id);
    for (const k of view.indexKeys(id, { dn: '', attrs })) want.add(k);
  }
  if (n !== view.entryCount) problems.push(`entry count is ${view.entryCount}, the records are ${n}`);
  if (maxId >= view.nextId) problems.push(`next ID ${view.nextId} is not above the largest ID ${maxId}`);
  for await (const [k, id] of view.db.iterator(under('n'))) {
    if (places.get(k) !== id) problems.push(`dn2id key ${JSON.stringify(k)} names ${id}, whose record is not there`);
    places.delete(k);
    const parent = k.slice(2, k.indexOf(SEP, 2));
    if (parent !== ROOT && !ids.has(parent)) problems.push(`dn2id key ${JSON.stringify(k)} is under ${parent}, which is not stored`);
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
  for (const k of have) if (!want.has(k)) problems.push(`stale index key ${JSON.stringify(k)}`);
  return problems;
}

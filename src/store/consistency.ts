// The store's consistency check: everything kept besides the entries (the entry count, the
// children, equality/presence/substring keys, the posting lists, and the caches in front of
// them) compared with the entries themselves. Reads the whole database; for tests and
// `astldap check`.

import { LARGE, SEP } from './postings.js';
import { parentOf, prefixEnd, under } from './keys.js';
import type { EntryRecord, NormalizedDn } from './types.js';

/** What the check reads of a store. */
export interface StoreView {
  db: {
    iterator(range: { gt?: string; gte?: string; lt: string }): AsyncIterable<[string, string]>;
    keys(range: { gt: string; lt: string }): AsyncIterable<string>;
    getSync(key: string): string | undefined;
  };
  entryCount: number;
  indexKeys(ndn: NormalizedDn, rec: EntryRecord): Set<string>;
  postingCache: Iterable<[string, string | undefined]>;
  /** Initial-substring answers by attr SEP prefix (prefix-cache.ts). */
  prefixCache: Iterable<[string, NormalizedDn[]]>;
  entryCache: Iterable<[NormalizedDn, EntryRecord]>;
  /**
   * Only these attributes' index keys (indexKeys gives no others), and the count, the children and
   * the caches only with `bookkeeping`: one pass of a check done a few attributes at a time, in
   * the memory of their keys alone. Undefined: everything in one pass.
   */
  attrs?: ReadonlySet<string>;
  bookkeeping?: boolean;
}

/** The differences found (none when consistent). */
export async function storeProblems(view: StoreView): Promise<string[]> {
  const problems: string[] = [];
  const want = new Set<string>();
  const books = view.bookkeeping ?? true;
  // The key ranges of a kind of index key: all of them, or those of the attributes checked.
  const ranges = (kind: string) => (view.attrs ? [...view.attrs].map((a) => under(kind + SEP + a)) : [under(kind)]);
  let n = 0;
  for await (const [k, v] of view.db.iterator(under('e'))) {
    const ndn = k.slice(2);
    const rec = JSON.parse(v) as EntryRecord;
    n++;
    if (ndn !== '' && books) want.add('c' + SEP + parentOf(ndn) + SEP + ndn);
    for (const key of view.indexKeys(ndn, rec)) want.add(key);
  }
  if (books && n !== view.entryCount) problems.push(`count ${view.entryCount}, entries ${n}`);
  // Equality: what each value's entries are, by the entries; by the store, its posting list
  // or (LARGE) its i keys.
  const truth = new Map<string, string[]>();
  const ikeys = new Map<string, string[]>();
  const byValue = (m: Map<string, string[]>, key: string) => {
    const cut = key.lastIndexOf(SEP);
    const qk = 'q' + key.slice(1, cut);
    const list = m.get(qk) ?? [];
    list.push(key.slice(cut + 1));
    m.set(qk, list);
  };
  for (const key of want) {
    if (key.charCodeAt(0) !== 105 /* i */) continue;
    byValue(truth, key);
    want.delete(key);
  }
  const children = books ? [under('c')] : [];
  for (const range of [...children, ...ranges('i'), ...ranges('p'), ...ranges('s')]) {
    for await (const key of view.db.keys(range)) {
      if (key.charCodeAt(0) === 105 /* i */) byValue(ikeys, key);
      else if (!want.delete(key)) problems.push(`stray key ${JSON.stringify(key)}`);
    }
  }
  for (const key of want) problems.push(`missing key ${JSON.stringify(key)}`);
  const same = (a: string[] = [], b: string[] = []) => [...a].sort().join(SEP) === [...b].sort().join(SEP);
  for (const range of ranges('q')) {
    for await (const [qk, v] of view.db.iterator(range)) {
      const stored = v === LARGE ? ikeys.get(qk) : v.split(SEP);
      if (v !== LARGE && ikeys.has(qk)) problems.push(`i keys beside the posting list ${JSON.stringify(qk)}`);
      if (!same(stored, truth.get(qk))) problems.push(`equality index of ${JSON.stringify(qk)} differs`);
      truth.delete(qk);
      ikeys.delete(qk);
    }
  }
  for (const qk of truth.keys()) problems.push(`posting list ${JSON.stringify(qk)} missing`);
  for (const qk of ikeys.keys()) problems.push(`i keys without a posting list ${JSON.stringify(qk)}`);
  if (!books) return problems;
  await postingCacheProblems(view, problems);
  // A decoded entry must be an entry of the store, as stored.
  for (const [ndn, rec] of view.entryCache) {
    const v = view.db.getSync('e' + SEP + ndn);
    if (v === undefined) problems.push(`cache holds deleted ${ndn}`);
    else if (JSON.stringify(rec) !== v) problems.push(`cache differs for ${ndn}`);
  }
  return problems;
}

/**
 * The cached posting lists and initial-substring answers against the database (both layouts:
 * their members are ndns in layout 2, ID keys in layout 3, read the same way).
 */
export async function postingCacheProblems(
  view: Pick<StoreView, 'db'> & { postingCache: StoreView['postingCache']; prefixCache: Iterable<[string, string[]]> },
  problems: string[],
): Promise<void> {
  for (const [qk, v] of view.postingCache)
    if (view.db.getSync(qk) !== v) problems.push(`cached posting list ${JSON.stringify(qk)} differs`);
  for (const [key, members] of view.prefixCache) {
    const at = key.indexOf(SEP);
    const low = `q${SEP}${key.slice(0, at)}${SEP}${key.slice(at + 1)}`;
    const truth = new Set<string>();
    for await (const [qk, v] of view.db.iterator({ gte: low, lt: prefixEnd(low)! })) {
      if (v !== LARGE) for (const m of v.split(SEP)) truth.add(m);
      else for await (const ik of view.db.keys(under('i' + qk.slice(1)))) truth.add(ik.slice(ik.lastIndexOf(SEP) + 1));
    }
    if (truth.size !== new Set(members).size || members.some((m) => !truth.has(m))) {
      problems.push(`cached initial-substring range ${JSON.stringify(key)} differs`);
    }
  }
}

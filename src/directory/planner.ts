// Chooses the entries a search must look at: from the attribute indexes when the filter allows
// (an AND needs one indexed item, an OR needs all of them), else the whole scope. Candidates are
// always re-checked against the full filter, so an index only has to give a superset.

import type { IndexHint } from './filter.js';
import type { Store } from '../store/types.js';

/** Candidate ndns, or undefined when the scope must be scanned. */
export async function planCandidates(store: Store, hint: IndexHint): Promise<string[] | undefined> {
  switch (hint.kind) {
    case 'none':
      return undefined;
    case 'and': {
      // Take every indexed item, intersect: the smallest set first keeps it cheap.
      const sets: string[][] = [];
      for (const item of hint.items) {
        const s = await planCandidates(store, item);
        if (s) {
          if (s.length === 0) return [];
          sets.push(s);
        }
      }
      if (!sets.length) return undefined;
      sets.sort((a, b) => a.length - b.length);
      let acc = new Set(sets[0]);
      for (let i = 1; i < sets.length && acc.size > 0; i++) {
        const next = new Set(sets[i]);
        acc = new Set([...acc].filter((x) => next.has(x)));
      }
      return [...acc];
    }
    case 'or': {
      const acc = new Set<string>();
      for (const item of hint.items) {
        const s = await planCandidates(store, item);
        if (!s) return undefined;
        for (const x of s) acc.add(x);
      }
      return [...acc];
    }
    case 'eq':
      return unionOver(hint.keys, (k) => (store.indexes.get(k)?.eq ? store.lookupEquality(k, hint.value) : undefined));
    case 'pres':
      return unionOver(hint.keys, (k) => (store.indexes.get(k)?.pres ? store.lookupPresent(k) : undefined));
    case 'range':
      return unionOver(hint.keys, (k) => (store.indexes.get(k)?.eq ? store.lookupRange(k, hint.low, hint.high) : undefined));
    case 'sub':
      return unionOver(hint.keys, (k) =>
        store.indexes.get(k)?.sub ? store.lookupSubstrings(k, { initial: hint.initial, any: hint.any, final: hint.final }) : undefined,
      );
    case 'objectClass': {
      if (!store.indexes.get('objectclass')?.eq) return undefined;
      // objectClass values are stored by name; the index holds their normalised (lowercased) form.
      return unionOver(hint.values, (v) => store.lookupEquality('objectclass', v));
    }
  }
}

async function unionOver(keys: string[], lookup: (k: string) => Promise<string[] | undefined> | undefined): Promise<string[] | undefined> {
  const acc = new Set<string>();
  for (const k of keys) {
    const p = lookup(k);
    if (!p) return undefined;
    const s = await p;
    if (!s) return undefined;
    for (const x of s) acc.add(x);
  }
  return keys.length === 1 ? [...acc] : [...acc].sort();
}

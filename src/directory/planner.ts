// Chooses the entries a search must look at: from the attribute indexes when the filter allows
// (an AND needs one indexed item, an OR needs all of them), else the whole scope. Candidates are
// always re-checked against the full filter, so an index only has to give a superset.

import type { Checkpoint, IndexHint } from './filter.js';
import type { Store } from '../store/types.js';

/** Below this many candidates, broad index lists are not worth reading. */
const SMALL = 64;

/**
 * Selectivity order of index hints: an equality item by the size of its posting list (read
 * synchronously, exact for small lists), then the other kinds by their usual narrowness.
 */
function cost(store: Store, h: IndexHint): number {
  switch (h.kind) {
    case 'eq': {
      let n = 0;
      for (const k of h.keys) n += store.indexes.get(k)?.eq ? store.equalitySize(k, h.value) : Infinity;
      return n <= SMALL ? n / (SMALL + 1) : 0.99;
    }
    case 'and':
      return 1;
    case 'sub':
      return 2;
    case 'range':
      return 3;
    case 'or':
      return 4;
    case 'objectClass':
      return 5;
    case 'pres':
      return 6;
    default:
      return 7;
  }
}

/**
 * Candidate ndns, or undefined when the scope must be scanned. `pace` runs between the items of
 * an AND or OR, so planning a filter of thousands of items yields to other work and can stop.
 */
export async function planCandidates(store: Store, hint: IndexHint, pace?: Checkpoint): Promise<string[] | undefined> {
  switch (hint.kind) {
    case 'none':
      return undefined;
    case 'and': {
      // Most selective first; once the candidate set is small, stop looking things up: the full
      // filter re-checks every candidate anyway, and an objectClass or presence list (or an
      // equality value shared by many entries) can hold every entry of the directory.
      const costs = new Map(hint.items.map((h) => [h, cost(store, h)]));
      const items = [...hint.items].sort((a, b) => costs.get(a)! - costs.get(b)!);
      let acc: Set<string> | undefined;
      for (const item of items) {
        if (acc && acc.size <= SMALL) break;
        const s = await planCandidates(store, item, pace);
        await pace?.();
        if (!s) continue;
        if (s.length === 0) return [];
        if (!acc) acc = new Set(s);
        else {
          const next = new Set<string>();
          for (const x of s) if (acc.has(x)) next.add(x);
          acc = next;
        }
        if (acc.size === 0) return [];
      }
      return acc ? [...acc] : undefined;
    }
    case 'or': {
      const acc = new Set<string>();
      for (const item of hint.items) {
        const s = await planCandidates(store, item, pace);
        await pace?.();
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

async function unionOver(
  keys: readonly string[],
  lookup: (k: string) => Promise<string[] | undefined> | undefined,
): Promise<string[] | undefined> {
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

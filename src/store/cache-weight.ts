// What the store's caches hold, in bytes, for their budget (store.cacheMiB): a model of V8's
// heap for a parsed record and a posting list's string, calibrated against the heap measured
// after a full collection (test/unit/store-cache-budget.test.ts checks it stays close).

import type { EntryRecord } from './types.js';

/** A cache node, its Map slot and the key's own string (when not shared with the record). */
const NODE = 96;
/** The record object and its attrs object. */
const RECORD = 64 + 32;
/** Per attribute: its slot in attrs and the array of values (attribute names are interned). */
const ATTRIBUTE = 40;
/** Per value: its slot in the array (the string itself is counted by stringBytes). */
const VALUE = 8;

/** A string on V8's heap: a 16-byte header, then one byte per code unit (two if any is not Latin-1), 8-aligned. */
export function stringBytes(s: string): number {
  const width = /[^\u0000-\u00ff]/.test(s) ? 2 : 1;
  return 16 + ((s.length * width + 7) & ~7);
}

/**
 * Bytes a cached record costs: the parsed record (within about 10% of the measured heap for the
 * bench's people and PJSIP entries), and as much again for the formatted form the directory
 * keeps beside a record the cache serves (its encoded attributes, about the record's size).
 */
export function recordBytes(ndn: string, rec: EntryRecord): number {
  return NODE + stringBytes(ndn) + 2 * parsedBytes(rec);
}

/** The model of a parsed record's heap: the objects, the arrays and the value strings. */
export function parsedBytes(rec: EntryRecord): number {
  let n = RECORD + stringBytes(rec.dn);
  for (const k in rec.attrs) {
    n += ATTRIBUTE;
    for (const v of rec.attrs[k]!) n += VALUE + stringBytes(v);
  }
  return n;
}

/** Bytes a cached posting list costs: its key and its value (undefined: an absent list). */
export function postingBytes(key: string, value: string | undefined): number {
  return NODE + stringBytes(key) + (value === undefined ? 0 : stringBytes(value));
}

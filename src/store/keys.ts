// Key arithmetic of the store: ranges of one kind of key, parents, the trigrams the substring
// index keeps, points between two keys for sampling the key space (the start-up warm-up), and
// the hash the store's bit sets (a cache's doorkeeper, a bulk load's key filter) index by.

import { SEP } from './postings.js';
import type { NormalizedDn } from './types.js';

/** The byte after SEP: `p + SEP` .. `p + AFTER` bounds exactly the keys starting with `p + SEP`. */
export const AFTER = '\x01';

/** FNV-1a, 32 bits, over a string's UTF-16 code units (the hash of the store's bit sets). */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Bounds of every key starting with `prefix + SEP`. */
export const under = (prefix: string) => ({ gt: prefix + SEP, lt: prefix + AFTER });

/** Parent of a normalised DN: everything after the first ',' ('' for a top-level entry). */
export function parentOf(ndn: NormalizedDn): NormalizedDn {
  const i = ndn.indexOf(',');
  return i < 0 ? '' : ndn.slice(i + 1);
}

/**
 * The substring index keeps the trigrams of '^' + value + '$' that start at an even code point
 * (half the keys of every trigram). A substring found at an unknown offset then has either all
 * its even-offset or all its odd-offset trigrams indexed; an initial substring, at offset 0,
 * always its even ones.
 */
export function indexedTrigrams(value: string): string[] {
  const s = '^' + value + '$';
  // Without surrogate pairs, code points are code units and a trigram is a slice.
  const cps = /[\ud800-\udfff]/.test(s) ? [...s] : undefined;
  const n = cps ? cps.length : s.length;
  // Repeats are found by scanning the few trigrams of a short value, with a set for a long one.
  const seen = n > 64 ? new Set<string>() : undefined;
  const out: string[] = [];
  for (let i = 0; i + 3 <= n; i += 2) {
    const g = cps ? cps[i]! + cps[i + 1]! + cps[i + 2]! : s.slice(i, i + 3);
    if (seen ? seen.has(g) : out.includes(g)) continue;
    seen?.add(g);
    out.push(g);
  }
  return out;
}

/**
 * The least string above every string that starts with prefix, in the order LevelDB keeps utf8
 * keys (code point order): prefix with its last code point raised by one. Undefined when that
 * is not simple: an empty prefix, a surrogate pair, or a last code unit of U+D7FF or U+FFFF.
 */
export function prefixEnd(prefix: string): string | undefined {
  if (prefix === '' || /[\ud800-\udfff]/.test(prefix)) return undefined;
  const last = prefix.charCodeAt(prefix.length - 1);
  if (last === 0xd7ff || last === 0xffff) return undefined;
  return prefix.slice(0, -1) + String.fromCharCode(last + 1);
}

/** The trigrams of s starting at code points of the given parity (0 even, 1 odd). */
export function gramsAt(s: string, parity: number): string[] {
  const cps = [...s];
  const out: string[] = [];
  for (let i = parity; i + 3 <= cps.length; i += 2) out.push(cps[i]! + cps[i + 1]! + cps[i + 2]!);
  return out;
}

/** The end of the run of characters c belongs to (digits, lower case, upper case), exclusive. */
function runEnd(c: number): number {
  if (c >= 0x30 && c <= 0x39) return 0x3a;
  if (c >= 0x61 && c <= 0x7a) return 0x7b;
  if (c >= 0x41 && c <= 0x5a) return 0x5b;
  return 0x7f;
}

/**
 * Strings between a and b (a < b) in code-unit order, to try in turn, roughly halfway at their first
 * difference. Where a and b differ by one code unit there: the start of b's side (u0240..u0399
 * -> u03); else, as keys use few characters (digits, letters), halfway through the run of
 * characters a has at the next position (u0000..u01 -> u005).
 */
export function midpoints(a: string, b: string): string[] {
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const lo = i < a.length ? a.charCodeAt(i) : 0;
  const hi = i < b.length ? b.charCodeAt(i) : 0xffff;
  const mid = Math.floor((lo + hi) / 2);
  if (mid > lo) return [a.slice(0, i) + String.fromCharCode(mid)];
  const out: string[] = [];
  // Adjacent code units: where b's side starts (u0240..u0399 splits at u03), and within a's run.
  if (i + 1 < b.length) out.push(b.slice(0, i + 1));
  for (let j = i + 1; ; j++) {
    const c = j < a.length ? a.charCodeAt(j) : 0x2f;
    const m = Math.floor((c + runEnd(c)) / 2);
    if (m > c) return [...out, a.slice(0, j) + String.fromCharCode(m)];
  }
}

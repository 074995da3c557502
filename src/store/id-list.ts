// Entry IDs of store layout 3 (docs/store-layout-3.md): an ID as a short string key that sorts
// as the number does, and ID lists (the posting lists of layout 3) as sorted, delta-encoded
// varints, with the set operations a search plans with (intersection, union) on sorted arrays.

/** The digits of an ID key: 64 consecutive ASCII code points from '0', so keys sort as numbers. */
const DIGIT0 = 0x30;
/** The largest ID an ID key or list holds (2^48 - 1: six bytes of IDs is beyond any directory). */
export const MAX_ID = 2 ** 48 - 1;

/**
 * An ID as a key component: one character giving the count of base-64 digits, then the digits,
 * most significant first. Shorter IDs sort first, equal lengths digit by digit, so the order of
 * keys is the order of IDs; never NUL or the store's separators; 4 bytes up to 262,143.
 */
export function idKey(id: number): string {
  if (!Number.isInteger(id) || id < 0 || id > MAX_ID) throw new RangeError(`entry ID out of range: ${id}`);
  let digits = '';
  do {
    digits = String.fromCharCode(DIGIT0 + (id % 64)) + digits;
    id = Math.floor(id / 64);
  } while (id > 0);
  return String.fromCharCode(DIGIT0 + digits.length) + digits;
}

/** The ID an idKey made, read at `at` of s; undefined when s holds none there. */
export function parseIdKey(s: string, at = 0): number | undefined {
  const n = s.charCodeAt(at) - DIGIT0;
  if (!(n >= 1 && n <= 8) || at + 1 + n > s.length) return undefined;
  let id = 0;
  for (let i = at + 1; i <= at + n; i++) {
    const d = s.charCodeAt(i) - DIGIT0;
    if (!(d >= 0 && d < 64)) return undefined;
    id = id * 64 + d;
  }
  return id;
}

/** Characters idKey(id) takes. */
export const idKeyLength = (s: string, at = 0): number => 1 + s.charCodeAt(at) - DIGIT0;

/** Appends an unsigned LEB128 varint (up to MAX_ID) to out. */
export function pushVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
}

/** A reader of varints over bytes, from a position it moves on. */
export class VarintReader {
  constructor(
    readonly bytes: Uint8Array,
    public pos = 0,
  ) {}

  get done(): boolean {
    return this.pos >= this.bytes.length;
  }

  next(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (this.pos >= this.bytes.length) throw new RangeError('truncated varint');
      const b = this.bytes[this.pos++]!;
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 49) throw new RangeError('varint too long');
    }
  }
}

/** An ID list's bytes: the count, then the first ID and each gap to the next (strictly ascending). */
export function encodeIds(ids: readonly number[]): Uint8Array {
  const out: number[] = [];
  pushVarint(out, ids.length);
  let prev = -1;
  for (const id of ids) {
    if (!(id > prev) || id > MAX_ID) throw new RangeError('an ID list must be ascending IDs without repeats');
    pushVarint(out, prev < 0 ? id : id - prev);
    prev = id;
  }
  return Uint8Array.from(out);
}

/** The IDs of an encoded list, ascending. */
export function decodeIds(bytes: Uint8Array): number[] {
  const r = new VarintReader(bytes);
  const n = r.next();
  const ids = new Array<number>(n);
  let prev = 0;
  for (let i = 0; i < n; i++) ids[i] = prev = i === 0 ? r.next() : prev + r.next();
  if (!r.done) throw new RangeError('bytes after the last ID of a list');
  return ids;
}

/** How many IDs an encoded list holds (its first varint: no decoding of the rest). */
export const idCount = (bytes: Uint8Array): number => new VarintReader(bytes).next();

/** Where id is in an ascending list, or where it would go (~index - 1 when absent, as a bitwise not). */
function search(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return ~lo;
}

/** Adds id to an ascending list in place; false when it was there. */
export function insertId(ids: number[], id: number): boolean {
  const at = search(ids, id);
  if (at >= 0) return false;
  ids.splice(~at, 0, id);
  return true;
}

/** Removes id from an ascending list in place; false when it was not there. */
export function removeId(ids: number[], id: number): boolean {
  const at = search(ids, id);
  if (at < 0) return false;
  ids.splice(at, 1);
  return true;
}

export const hasId = (ids: readonly number[], id: number): boolean => search(ids, id) >= 0;

/** The IDs in both ascending lists (a merge; a binary search per ID when one is much shorter). */
export function intersectIds(a: readonly number[], b: readonly number[]): number[] {
  if (a.length > b.length) [a, b] = [b, a];
  const out: number[] = [];
  if (a.length * 16 < b.length) {
    for (const id of a) if (search(b, id) >= 0) out.push(id);
    return out;
  }
  for (let i = 0, j = 0; i < a.length && j < b.length;) {
    const x = a[i]!;
    const y = b[j]!;
    if (x === y) {
      out.push(x);
      i++;
      j++;
    } else if (x < y) i++;
    else j++;
  }
  return out;
}

/** The IDs in either ascending list, ascending. */
export function unionIds(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i]!;
    const y = b[j]!;
    if (x <= y) {
      out.push(x);
      i++;
      if (x === y) j++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++]!);
  while (j < b.length) out.push(b[j++]!);
  return out;
}

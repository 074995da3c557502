// The entry record of store layout 3 (docs/store-layout-3.md): length-prefixed attributes and
// values instead of JSON, each attribute description interned as a small number (AttrTable),
// operational attributes marked so a reader passes over them, decoded lazily (RecordView reads
// one attribute's values without decoding the others).
//
//   byte 0        FORMAT
//   varint        the number of attributes
//   per attribute varint (attrNumber * 2 + operational), varint value count, per value varint
//                 byte length and the UTF-8 bytes
//
// Attributes keep their order (an export of what was imported is byte-identical).

import { VarintReader } from './id-list.js';

/** The first byte of every record of this format. */
export const FORMAT = 3;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Attribute descriptions by number and back. A name seen for the first time gets the next
 * number and waits in `fresh` until the store takes it into the batch that writes the record
 * using it (so a number on disk always has its name on disk).
 */
export class AttrTable {
  private readonly numbers = new Map<string, number>();
  private readonly names: string[] = [];
  private fresh: Array<[number, string]> = [];

  /** The table as stored: [number, name] pairs. */
  static of(rows: Iterable<[number, string]>): AttrTable {
    const t = new AttrTable();
    for (const [n, name] of rows) t.define(n, name);
    return t;
  }

  private define(n: number, name: string): void {
    if (this.names[n] !== undefined && this.names[n] !== name)
      throw new Error(`attribute number ${n} is both ${this.names[n]} and ${name}`);
    this.names[n] = name;
    this.numbers.set(name, n);
  }

  /** The number of a name, allocating one (recorded as fresh) when it has none. */
  numberOf(name: string): number {
    let n = this.numbers.get(name);
    if (n === undefined) {
      n = this.names.length;
      this.define(n, name);
      this.fresh.push([n, name]);
    }
    return n;
  }

  /** The number of a name, without allocating. */
  find(name: string): number | undefined {
    return this.numbers.get(name);
  }

  nameOf(n: number): string {
    const name = this.names[n];
    if (name === undefined) throw new RangeError(`record names attribute number ${n}, which the table lacks`);
    return name;
  }

  /** The names allocated since the last call, to be written with the batch that uses them. */
  takeFresh(): Array<[number, string]> {
    const out = this.fresh;
    this.fresh = [];
    return out;
  }

  /** A batch that took fresh names failed: they are fresh again (kept allocated in memory). */
  giveBack(rows: Array<[number, string]>): void {
    this.fresh = [...rows, ...this.fresh];
  }

  get size(): number {
    return this.names.length;
  }
}

/** Bytes written into one buffer that grows by doubling. */
class ByteWriter {
  buf = new Uint8Array(512);
  pos = 0;

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  varint(n: number): void {
    this.room(8);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.pos++] = n;
  }

  /** A string's UTF-8 bytes after their length. */
  string(s: string): void {
    // At most 3 bytes per UTF-16 code unit; the length's varint is written once they are known.
    this.room(s.length * 3 + 8);
    const lenBytes = s.length * 3 < 0x80 ? 1 : s.length * 3 < 0x4000 ? 2 : s.length * 3 < 0x200000 ? 3 : 5;
    const start = this.pos + lenBytes;
    const { written } = utf8.encodeInto(s, this.buf.subarray(start));
    let n = written;
    for (let i = 0; i < lenBytes; i++) {
      this.buf[this.pos + i] = (n % 0x80) | (i < lenBytes - 1 ? 0x80 : 0);
      n = Math.floor(n / 0x80);
    }
    this.pos = start + written;
  }

  bytes(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

/** Encodes attributes (their order kept); `operational` says which are marked as such. */
export function encodeRecord(attrs: Record<string, string[]>, table: AttrTable, operational: (attr: string) => boolean): Uint8Array {
  const w = new ByteWriter();
  w.varint(FORMAT);
  const keys = Object.keys(attrs);
  w.varint(keys.length);
  for (const k of keys) {
    const vals = attrs[k]!;
    w.varint(table.numberOf(k) * 2 + (operational(k) ? 1 : 0));
    w.varint(vals.length);
    for (const v of vals) w.string(v);
  }
  return w.bytes();
}

/**
 * The string of len UTF-8 bytes at pos: short ASCII ones (nearly every value of a directory) by
 * char codes, as TextDecoder's call costs more than the decoding of a few bytes.
 */
function decodeString(bytes: Uint8Array, pos: number, len: number): string {
  if (len > 48) return fromUtf8.decode(bytes.subarray(pos, pos + len));
  let s = '';
  for (let i = pos; i < pos + len; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) return fromUtf8.decode(bytes.subarray(pos, pos + len));
    s += String.fromCharCode(b);
  }
  return s;
}

/** One attribute's place in a record: where its first value's length starts, and its count. */
interface Slot {
  name: string;
  operational: boolean;
  pos: number;
  count: number;
}

/**
 * A record read lazily: the first access walks the attribute headers (skipping value bytes),
 * an attribute's values are decoded when asked for. The bytes must not change meanwhile.
 */
export class RecordView {
  private slots: Map<string, Slot> | undefined;

  constructor(
    readonly bytes: Uint8Array,
    private readonly table: AttrTable,
  ) {
    if (bytes[0] !== FORMAT) throw new RangeError(`not a layout-3 record (format byte ${bytes[0]})`);
  }

  private index(): Map<string, Slot> {
    if (this.slots) return this.slots;
    const slots = new Map<string, Slot>();
    const r = new VarintReader(this.bytes, 1);
    for (let n = r.next(); n > 0; n--) {
      const tag = r.next();
      const name = this.table.nameOf(Math.floor(tag / 2));
      const count = r.next();
      slots.set(name, { name, operational: tag % 2 === 1, pos: r.pos, count });
      for (let i = 0; i < count; i++) {
        const len = r.next();
        r.pos += len;
      }
    }
    if (r.pos !== this.bytes.length) throw new RangeError('a record ends inside its last attribute, or has bytes after it');
    return (this.slots = slots);
  }

  has(attr: string): boolean {
    return this.index().has(attr);
  }

  /** The names of the attributes, in order; without the operational ones unless asked. */
  names(withOperational = true): string[] {
    const out: string[] = [];
    for (const s of this.index().values()) if (withOperational || !s.operational) out.push(s.name);
    return out;
  }

  /** The values of one attribute (undefined when the record lacks it). */
  get(attr: string): string[] | undefined {
    const s = this.index().get(attr);
    if (!s) return undefined;
    const r = new VarintReader(this.bytes, s.pos);
    const out = new Array<string>(s.count);
    for (let i = 0; i < s.count; i++) {
      const len = r.next();
      out[i] = decodeString(this.bytes, r.pos, len);
      r.pos += len;
    }
    return out;
  }

  /** Every attribute decoded, in order (the record as an EntryRecord's attrs). */
  attrs(withOperational = true): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const s of this.index().values()) if (withOperational || !s.operational) out[s.name] = this.get(s.name)!;
    return out;
  }
}

/** The attributes of a record, all decoded. */
export const decodeRecord = (bytes: Uint8Array, table: AttrTable): Record<string, string[]> => new RecordView(bytes, table).attrs();

/**
 * The attributes of a record as the store reads it: a latin1 string (each byte one code unit)
 * whose codec bytes start at `start`. One pass, nothing copied into bytes first: an ASCII value
 * is a slice of the string, any other is decoded as UTF-8. The same answer as decodeRecord.
 */
export function decodeRecordText(s: string, start: number, table: AttrTable): Record<string, string[]> {
  let pos = start;
  const end = s.length;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (;;) {
      if (pos >= end) throw new RangeError('truncated varint');
      const b = s.charCodeAt(pos++);
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
      if (scale > 2 ** 49) throw new RangeError('varint too long');
    }
  };
  if (s.charCodeAt(pos++) !== FORMAT) throw new RangeError(`not a layout-3 record (format byte ${s.charCodeAt(start)})`);
  const out: Record<string, string[]> = {};
  for (let n = varint(); n > 0; n--) {
    const name = table.nameOf(Math.floor(varint() / 2));
    const count = varint();
    // Each value takes at least its length's byte: a larger count is damage, not an array to allocate.
    if (count > end - pos) throw new RangeError('a record ends inside its last attribute, or has bytes after it');
    const vals = new Array<string>(count);
    for (let i = 0; i < count; i++) {
      const len = varint();
      if (pos + len > end) throw new RangeError('a record ends inside its last attribute, or has bytes after it');
      vals[i] = textAt(s, pos, len);
      pos += len;
    }
    out[name] = vals;
  }
  if (pos !== end) throw new RangeError('a record ends inside its last attribute, or has bytes after it');
  return out;
}

/** The value of len bytes at pos of a latin1 string: itself when ASCII, else its UTF-8 decoded. */
function textAt(s: string, pos: number, len: number): string {
  for (let i = pos; i < pos + len; i++) if (s.charCodeAt(i) >= 0x80) return fromUtf8.decode(Buffer.from(s.slice(pos, pos + len), 'latin1'));
  return s.slice(pos, pos + len);
}

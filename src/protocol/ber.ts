// A lean BER reader and writer for the subset LDAP uses (RFC 4511 §5.1): single-octet tags,
// definite lengths only. The reader walks a Buffer in place; the writer builds one response into
// one Buffer, back-patching sequence lengths, so each response is encoded exactly once.

export type BerErrorReason = 'truncated' | 'indefinite-length' | 'length-too-large' | 'unexpected-tag' | 'bad-value';

/** A malformed or unacceptable BER encoding. */
export class BerError extends Error {
  readonly reason: BerErrorReason;
  constructor(reason: BerErrorReason, message: string) {
    super(message);
    this.name = 'BerError';
    this.reason = reason;
  }
}

export const Tag = {
  boolean: 0x01,
  integer: 0x02,
  octetString: 0x04,
  null: 0x05,
  enumerated: 0x0a,
  sequence: 0x30,
  set: 0x31,
} as const;

/**
 * Reads the TLV header at `offset` of a stream buffer. Returns undefined while the header is not
 * complete yet; throws for indefinite lengths, over-long length fields and lengths above `maxLength`,
 * so a framer can refuse a PDU before buffering it.
 */
export function readFrameHeader(
  buf: Buffer,
  offset: number,
  maxLength: number,
): { tag: number; headerLength: number; length: number } | undefined {
  const avail = buf.length - offset;
  if (avail < 2) return undefined;
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new BerError('unexpected-tag', 'multi-octet tags are not used by LDAP');
  const first = buf[offset + 1]!;
  if (first < 0x80) {
    if (first > maxLength) throw new BerError('length-too-large', `length ${first} exceeds ${maxLength}`);
    return { tag, headerLength: 2, length: first };
  }
  if (first === 0x80) throw new BerError('indefinite-length', 'indefinite length is not allowed in LDAP');
  const n = first & 0x7f;
  if (n > 4) throw new BerError('length-too-large', `length field of ${n} octets`);
  if (avail < 2 + n) return undefined;
  let length = 0;
  for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 2 + i]!;
  if (length > maxLength) throw new BerError('length-too-large', `length ${length} exceeds ${maxLength}`);
  return { tag, headerLength: 2 + n, length };
}

/** Reads BER elements from buf[pos, end) in place; strings and octets are views, not copies. */
export class BerReader {
  pos: number;
  end: number;
  readonly buf: Buffer;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** The tag of the next element, or -1 at the end. */
  peek(): number {
    return this.pos < this.end ? this.buf[this.pos]! : -1;
  }

  atEnd(): boolean {
    return this.pos >= this.end;
  }

  /**
   * Reads a tag and length; leaves pos at the content and returns the content's end offset.
   * With `expected`, a different tag is an error.
   */
  readHeader(expected?: number): number {
    const buf = this.buf;
    let p = this.pos;
    if (p + 2 > this.end) throw new BerError('truncated', 'truncated element header');
    const tag = buf[p++]!;
    if (expected !== undefined && tag !== expected) {
      throw new BerError('unexpected-tag', `expected tag 0x${expected.toString(16)}, got 0x${tag.toString(16)}`);
    }
    if ((tag & 0x1f) === 0x1f) throw new BerError('unexpected-tag', 'multi-octet tags are not used by LDAP');
    let length = buf[p++]!;
    if (length >= 0x80) {
      if (length === 0x80) throw new BerError('indefinite-length', 'indefinite length is not allowed in LDAP');
      const n = length & 0x7f;
      if (n > 4) throw new BerError('length-too-large', `length field of ${n} octets`);
      if (p + n > this.end) throw new BerError('truncated', 'truncated length');
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + buf[p++]!;
    }
    const contentEnd = p + length;
    if (contentEnd > this.end) throw new BerError('truncated', 'element runs past its container');
    this.pos = p;
    return contentEnd;
  }

  /** The tag at pos and the element's content bounds; pos moves past the element. */
  readElement(): { tag: number; start: number; end: number } {
    const tag = this.peek();
    const end = this.readHeader();
    const start = this.pos;
    this.pos = end;
    return { tag, start, end };
  }

  skip(): void {
    this.pos = this.readHeader();
  }

  /**
   * Enters a constructed element (any tag when `tag` is undefined): the reader is then bounded by
   * its content. Returns the outer bound, to hand back to leave().
   */
  enter(tag?: number): number {
    const contentEnd = this.readHeader(tag);
    const outer = this.end;
    this.end = contentEnd;
    return outer;
  }

  /** Skips what is left of the entered element and restores the outer bound. */
  leave(outer: number): void {
    this.pos = this.end;
    this.end = outer;
  }

  readInteger(tag: number = Tag.integer): number {
    const end = this.readHeader(tag);
    const len = end - this.pos;
    if (len < 1 || len > 6) throw new BerError('bad-value', `integer of ${len} octets`);
    const v = this.buf.readIntBE(this.pos, len);
    this.pos = end;
    return v;
  }

  readEnumerated(): number {
    return this.readInteger(Tag.enumerated);
  }

  readBoolean(tag: number = Tag.boolean): boolean {
    const end = this.readHeader(tag);
    if (end - this.pos !== 1) throw new BerError('bad-value', 'boolean must be one octet');
    const v = this.buf[this.pos]! !== 0;
    this.pos = end;
    return v;
  }

  readOctets(tag: number = Tag.octetString): Buffer {
    const end = this.readHeader(tag);
    const v = this.buf.subarray(this.pos, end);
    this.pos = end;
    return v;
  }

  readString(tag: number = Tag.octetString): string {
    const end = this.readHeader(tag);
    const v = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return v;
  }
}

function lengthOctets(len: number): number {
  return len < 0x80 ? 1 : len < 0x100 ? 2 : len < 0x10000 ? 3 : len < 0x1000000 ? 4 : 5;
}

/**
 * Builds one BER message in a growable Buffer. Sequences reserve one length octet and shift their
 * content right at the end when the long form is needed (a memmove, rarer than a second pass).
 */
export class BerWriter {
  private buf: Buffer;
  private pos = 0;
  private readonly stack: number[] = [];

  constructor(initialSize = 512) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  private writeLength(len: number): void {
    const buf = this.buf;
    if (len < 0x80) {
      buf[this.pos++] = len;
      return;
    }
    const n = lengthOctets(len) - 1;
    buf[this.pos++] = 0x80 | n;
    for (let i = n - 1; i >= 0; i--) buf[this.pos++] = Math.floor(len / 2 ** (8 * i)) & 0xff;
  }

  startSequence(tag: number = Tag.sequence): void {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.stack.push(this.pos);
    this.pos++;
  }

  endSequence(): void {
    const at = this.stack.pop();
    if (at === undefined) throw new Error('endSequence without startSequence');
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const extra = lengthOctets(len) - 1;
    this.ensure(extra);
    this.buf.copyWithin(at + 1 + extra, at + 1, this.pos);
    const end = this.pos + extra;
    this.pos = at;
    this.writeLength(len);
    this.pos = end;
  }

  writeInteger(value: number, tag: number = Tag.integer): void {
    if (!Number.isSafeInteger(value)) throw new RangeError(`not an integer: ${value}`);
    let n = 1;
    // Minimal two's complement: grow while the value does not fit in n signed octets.
    while (n < 7 && (value < -(2 ** (8 * n - 1)) || value >= 2 ** (8 * n - 1))) n++;
    this.ensure(2 + n);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = n;
    this.buf.writeIntBE(value, this.pos, n);
    this.pos += n;
  }

  writeEnumerated(value: number): void {
    this.writeInteger(value, Tag.enumerated);
  }

  writeBoolean(value: boolean, tag: number = Tag.boolean): void {
    this.ensure(3);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 1;
    this.buf[this.pos++] = value ? 0xff : 0x00;
  }

  writeNull(tag: number = Tag.null): void {
    this.ensure(2);
    this.buf[this.pos++] = tag;
    this.buf[this.pos++] = 0;
  }

  writeOctets(value: Uint8Array, tag: number = Tag.octetString): void {
    const len = value.length;
    this.ensure(6 + len);
    this.buf[this.pos++] = tag;
    this.writeLength(len);
    this.buf.set(value, this.pos);
    this.pos += len;
  }

  writeString(value: string, tag: number = Tag.octetString): void {
    // At most 3 UTF-8 octets per UTF-16 unit: short strings fit the short length form unmeasured.
    if (value.length <= 42) {
      this.ensure(2 + value.length * 3);
      this.buf[this.pos] = tag;
      const n = this.buf.write(value, this.pos + 2, 'utf8');
      this.buf[this.pos + 1] = n;
      this.pos += 2 + n;
      return;
    }
    const len = Buffer.byteLength(value, 'utf8');
    this.ensure(6 + len);
    this.buf[this.pos++] = tag;
    this.writeLength(len);
    this.pos += this.buf.write(value, this.pos, 'utf8');
  }

  /** Appends already-encoded BER as is. */
  writeRaw(value: Uint8Array): void {
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** The encoded bytes (a view of the writer's buffer; the writer must not be reused after). */
  toBuffer(): Buffer {
    if (this.stack.length) throw new Error('unterminated sequence');
    return this.buf.subarray(0, this.pos);
  }
}

/**
 * A well-formed element whose content is not acceptable (a bad enumeration, an unknown filter
 * choice, a malformed control value): the operation is answered with resultCode, the
 * connection stays open. BerError, by contrast, means the framing itself is broken.
 */
export class InvalidValue extends Error {
  constructor(
    message: string,
    readonly resultCode: number = 2, // protocolError
  ) {
    super(message);
    this.name = 'InvalidValue';
  }
}

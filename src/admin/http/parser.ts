// A streaming HTTP/1.1 request parser (RFC 9112): bytes go in as they arrive, and it hands out
// a request's head as soon as the head is complete, then (once the caller has decided the body
// may be read, and how much of it) the body. It keeps its place: every byte is looked at once,
// and only the unparsed remainder (bounded by the head and chunk-line limits) is ever copied.

/** A refusal of the request: the status to answer with; the connection is closed after it. */
export class HttpParseError extends Error {
  override name = 'HttpParseError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** How the body is delimited (RFC 9112 6.3). */
export type BodyFraming = { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };

export interface RequestHead {
  /** Upper-cased, as the router compares it. */
  method: string;
  /** The request target as sent. */
  target: string;
  version: '1.0' | '1.1';
  /** Lower-cased names; repeated fields joined with ", " (RFC 9110 5.3). */
  headers: Record<string, string>;
  keepAlive: boolean;
  expectContinue: boolean;
  framing: BodyFraming;
}

export interface ParserLimits {
  /** Bytes of request line and header fields together (and of a chunked body's trailers). */
  maxHeadSize: number;
  /** Header field lines. */
  maxHeaders: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = { maxHeadSize: 64 * 1024, maxHeaders: 100 };

export type ParseStep =
  { kind: 'more' } | { kind: 'head'; head: RequestHead } | { kind: 'body'; body: Buffer } | { kind: 'error'; error: HttpParseError };

/** A chunk-size line with its extensions; longer ones are refused (no client needs more). */
const MAX_CHUNK_LINE = 4096;
/** 8 hex digits: far above any body bound, and exact in a double. */
const MAX_CHUNK_DIGITS = 8;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: visible characters, spaces, tabs and obs-text; no controls (NUL, CR, LF...). */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
const CHUNK_EXT =
  /^[\t ]*(;[\t ]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+([\t ]*=[\t ]*([!#$%&'*+\-.^_`|~0-9A-Za-z]+|"([\t\x20-\x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t\x20-\x7e\x80-\xff])*"))?[\t ]*)*$/;

type State =
  | 'head' // reading the request line and header fields
  | 'admit' // the head was handed out; waiting for startBody()
  | 'length' // a Content-Length body
  | 'chunk-size'
  | 'chunk-data'
  | 'chunk-end' // the line end after a chunk's data
  | 'trailers'
  | 'failed';

/** The bytes received and not yet parsed, appended to in place (amortised linear). */
class ByteQueue {
  private buf: Buffer = Buffer.alloc(0);
  private start = 0;
  private end = 0;

  get length(): number {
    return this.end - this.start;
  }

  append(chunk: Buffer): void {
    if (this.length === 0) {
      // Nothing pending: take the chunk as it is (nothing ever keeps a view into it).
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      return;
    }
    if (this.end + chunk.length > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(2 * (this.length + chunk.length), 4096));
      this.buf.copy(next, 0, this.start, this.end);
      this.buf = next;
      this.end = this.length;
      this.start = 0;
    }
    chunk.copy(this.buf, this.end);
    this.end += chunk.length;
  }

  /** Offset (from the start) of the first LF at or after `from`, or -1. */
  indexOfLf(from: number): number {
    // Within the bytes held only: the spare room past them is never searched.
    return this.buf.subarray(this.start, this.end).indexOf(0x0a, from);
  }

  /** The first n bytes as latin1 text, consumed. */
  takeText(n: number): string {
    const s = this.buf.toString('latin1', this.start, this.start + n);
    this.skip(n);
    return s;
  }

  /** Copies up to n bytes into dst at offset; returns how many. */
  takeInto(dst: Buffer, offset: number, n: number): number {
    const k = Math.min(n, this.length);
    this.buf.copy(dst, offset, this.start, this.start + k);
    this.skip(k);
    return k;
  }

  byteAt(i: number): number {
    return this.buf[this.start + i]!;
  }

  skip(n: number): void {
    this.start += n;
    if (this.start >= this.end) {
      this.buf = Buffer.alloc(0);
      this.start = this.end = 0;
    }
  }
}

const fail = (status: number, message: string): HttpParseError => new HttpParseError(status, message);

/**
 * One connection's requests, one after another (pipelining: what follows a request's body is
 * the next request). Call push() with each chunk read, then next() until it says 'more'. After
 * a 'head', next() says 'more' until startBody() gives the body bound; after an error it keeps
 * returning that error.
 */
export class RequestParser {
  private readonly q = new ByteQueue();
  private state: State = 'head';
  private error: HttpParseError | undefined;
  /** Where the LF search of the current line resumes (bytes already known to hold none). */
  private scanned = 0;
  private headLines: string[] = [];
  private headBytes = 0;
  private head: RequestHead | undefined;
  private maxBody = 0;
  /** Body bytes still to come: of the Content-Length, or of the current chunk. */
  private remaining = 0;
  /** The body so far; a chunked body's grows (doubling) as chunk sizes announce more. */
  private body: Buffer = Buffer.alloc(0);
  private bodyLength = 0;
  /** Empty lines skipped before this request line, or trailer fields seen. */
  private count = 0;

  constructor(private readonly limits: ParserLimits = DEFAULT_PARSER_LIMITS) {}

  push(chunk: Buffer): void {
    if (chunk.length) this.q.append(chunk);
  }

  /** Bytes received and not yet parsed (the start of a request counts once there are any). */
  get buffered(): number {
    return this.q.length;
  }

  /** True between the first byte of a request's head and its end. */
  get inHead(): boolean {
    return this.state === 'head' && (this.q.length > 0 || this.headBytes > 0);
  }

  /** True once the request is refused (next() gives the error). */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /** True while a body is being read. */
  get inBody(): boolean {
    return this.state === 'length' || this.state.startsWith('chunk') || this.state === 'trailers';
  }

  next(): ParseStep {
    if (this.error) return { kind: 'error', error: this.error };
    try {
      return this.step();
    } catch (e) {
      if (!(e instanceof HttpParseError)) throw e;
      this.error = e;
      this.state = 'failed';
      return { kind: 'error', error: e };
    }
  }

  /**
   * The head was accepted: read its body, refusing it (413) once it would pass maxBody. A
   * Content-Length above the bound is refused at once, before a byte of the body is read.
   */
  startBody(maxBody: number): void {
    if (this.state !== 'admit' || !this.head) throw new Error('startBody() without a head');
    this.maxBody = maxBody;
    const f = this.head.framing;
    if (f.kind === 'chunked') {
      this.body = Buffer.alloc(0);
      this.bodyLength = 0;
      this.state = 'chunk-size';
      return;
    }
    const length = f.kind === 'length' ? f.length : 0;
    if (length > maxBody) {
      this.error = fail(413, `request body too large (Content-Length ${length}, at most ${maxBody} bytes here)`);
      this.state = 'failed';
      return;
    }
    this.body = Buffer.alloc(length);
    this.bodyLength = 0;
    this.remaining = length;
    this.state = 'length';
  }

  private step(): ParseStep {
    for (;;) {
      switch (this.state) {
        case 'head': {
          const line = this.line(this.limits.maxHeadSize - this.headBytes, () => fail(431, 'request header fields too large'));
          if (line === undefined) return { kind: 'more' };
          if (line === '' && this.headLines.length === 0) {
            // RFC 9112 2.2: an empty line before the request line is ignored (a few, not forever).
            if (++this.count > 4) throw fail(400, 'empty lines instead of a request');
            continue;
          }
          if (line !== '') {
            if (this.headLines.length > this.limits.maxHeaders) throw fail(431, 'too many header fields');
            this.headLines.push(line);
            continue;
          }
          this.head = parseHead(this.headLines);
          this.headLines = [];
          this.headBytes = 0;
          this.count = 0;
          this.state = 'admit';
          return { kind: 'head', head: this.head };
        }
        case 'admit':
        case 'failed':
          return { kind: 'more' };
        case 'length': {
          this.bodyLength += this.q.takeInto(this.body, this.bodyLength, this.remaining);
          this.remaining = this.body.length - this.bodyLength;
          if (this.remaining > 0) return { kind: 'more' };
          return this.finish(this.body);
        }
        case 'chunk-size': {
          const line = this.line(MAX_CHUNK_LINE, () => fail(400, 'chunk size line too long'));
          if (line === undefined) return { kind: 'more' };
          this.chunkSize(line);
          continue;
        }
        case 'chunk-data': {
          const k = this.q.takeInto(this.body, this.bodyLength, this.remaining);
          if (k === 0) return { kind: 'more' };
          this.bodyLength += k;
          this.remaining -= k;
          if (this.remaining === 0) this.state = 'chunk-end';
          continue;
        }
        case 'chunk-end': {
          const line = this.line(2, () => fail(400, 'malformed chunked body: chunk data longer than its size'));
          if (line === undefined) return { kind: 'more' };
          if (line !== '') throw fail(400, 'malformed chunked body: chunk data longer than its size');
          this.state = 'chunk-size';
          continue;
        }
        case 'trailers': {
          const line = this.line(this.limits.maxHeadSize - this.headBytes, () => fail(431, 'trailer fields too large'));
          if (line === undefined) return { kind: 'more' };
          if (line !== '') {
            // Trailers are checked as fields and then dropped: nothing here reads them.
            fieldOf(line);
            if (++this.count > this.limits.maxHeaders) throw fail(431, 'too many trailer fields');
            continue;
          }
          this.headBytes = 0;
          this.count = 0;
          return this.finish(this.body.subarray(0, this.bodyLength));
        }
      }
    }
  }

  private finish(body: Buffer): ParseStep {
    this.state = 'head';
    this.head = undefined;
    this.body = Buffer.alloc(0);
    this.bodyLength = 0;
    this.remaining = 0;
    return { kind: 'body', body };
  }

  /** A chunk-size line: hex size, optional extensions (ignored); size 0 starts the trailers. */
  private chunkSize(line: string): void {
    const m = /^([0-9A-Fa-f]+)(.*)$/.exec(line);
    if (!m) throw fail(400, 'malformed chunked body: bad chunk size');
    if (!CHUNK_EXT.test(m[2]!)) throw fail(400, 'malformed chunked body: bad chunk extension');
    const digits = m[1]!.replace(/^0+(?=.)/, '');
    const size = digits.length > MAX_CHUNK_DIGITS ? Infinity : parseInt(digits, 16);
    const total = this.bodyLength + size;
    // Refused on the announced size, before any of the chunk's data is read.
    if (total > this.maxBody) throw fail(413, `request body too large (at most ${this.maxBody} bytes here)`);
    if (size === 0) {
      this.state = 'trailers';
      this.headBytes = 0;
      return;
    }
    if (total > this.body.length) {
      const grown = Buffer.alloc(Math.min(this.maxBody, Math.max(total, 2 * this.body.length, 1024)));
      this.body.copy(grown, 0, 0, this.bodyLength);
      this.body = grown;
    }
    this.remaining = size;
    this.state = 'chunk-data';
  }

  /**
   * The next line (without its CRLF or bare LF, RFC 9112 2.2), consumed; undefined while it is
   * incomplete. `room` bounds it, line end included; `tooLong` is thrown past that.
   */
  private line(room: number, tooLong: () => HttpParseError): string | undefined {
    const lf = this.q.indexOfLf(this.scanned);
    if (lf < 0) {
      this.scanned = this.q.length;
      if (this.q.length > room) throw tooLong();
      return undefined;
    }
    if (lf + 1 > room) throw tooLong();
    this.scanned = 0;
    this.headBytes += lf + 1;
    const end = lf > 0 && this.q.byteAt(lf - 1) === 0x0d ? lf - 1 : lf;
    const text = this.q.takeText(end);
    this.q.skip(lf + 1 - end);
    if (text.includes('\r')) throw fail(400, 'bare CR in the request');
    return text;
  }
}

/** One header field line: name (a token, no space before the colon) and trimmed value. */
function fieldOf(line: string): [string, string] {
  if (line[0] === ' ' || line[0] === '\t') throw fail(400, 'obsolete line folding is not accepted');
  const i = line.indexOf(':');
  const name = i < 0 ? '' : line.slice(0, i);
  if (!TOKEN.test(name)) throw fail(400, 'malformed header field');
  const value = line.slice(i + 1).replace(/^[\t ]+|[\t ]+$/g, '');
  if (!FIELD_VALUE.test(value)) throw fail(400, `invalid characters in header field ${name}`);
  return [name.toLowerCase(), value];
}

/** The comma-separated members of a list-valued field, lower-cased, empty ones dropped. */
function listOf(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

function parseHead(lines: string[]): RequestHead {
  const m = /^([^ ]+) ([^ ]+) (HTTP\/\d\.\d)$/.exec(lines[0] ?? '');
  if (!m || !TOKEN.test(m[1]!) || !TARGET.test(m[2]!)) throw fail(400, 'malformed request line');
  if (m[3] !== 'HTTP/1.1' && m[3] !== 'HTTP/1.0') throw fail(505, `${m[3]} is not supported`);
  const version = m[3] === 'HTTP/1.1' ? '1.1' : '1.0';
  const headers: Record<string, string> = {};
  const lengths: string[] = [];
  let hosts = 0;
  for (const line of lines.slice(1)) {
    const [k, v] = fieldOf(line);
    if (k === 'content-length') lengths.push(...v.split(',').map((s) => s.trim()));
    if (k === 'host') hosts++;
    headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
  }
  if (hosts > 1) throw fail(400, 'more than one Host header field');
  const connection = listOf(headers['connection']);
  return {
    method: m[1]!.toUpperCase(),
    target: m[2]!,
    version,
    headers,
    keepAlive: version === '1.1' ? !connection.includes('close') : connection.includes('keep-alive'),
    expectContinue: listOf(headers['expect']).includes('100-continue'),
    framing: framingOf(headers, lengths, version),
  };
}

/** RFC 9112 6.1-6.3: chunked, a Content-Length, or no body; anything ambiguous is refused. */
function framingOf(headers: Record<string, string>, lengths: string[], version: '1.0' | '1.1'): BodyFraming {
  const te = headers['transfer-encoding'];
  if (te !== undefined) {
    // Both framings at once is how requests are smuggled past a proxy (RFC 9112 6.3 item 3).
    if (lengths.length) throw fail(400, 'Content-Length and Transfer-Encoding together');
    if (version === '1.0') throw fail(400, 'Transfer-Encoding in an HTTP/1.0 request');
    const codings = listOf(te);
    if (codings.length === 0) throw fail(400, 'empty Transfer-Encoding');
    if (codings.length !== 1 || codings[0] !== 'chunked') throw fail(501, `transfer coding not implemented: ${te}`);
    return { kind: 'chunked' };
  }
  if (!lengths.length) return { kind: 'none' };
  if (lengths.some((l) => !/^\d+$/.test(l))) throw fail(400, 'bad Content-Length');
  const values = lengths.map((l) => l.replace(/^0+(?=.)/, ''));
  if (values.some((v) => v !== values[0])) throw fail(400, 'conflicting Content-Length values');
  const digits = values[0]!;
  // Anything longer than 15 digits is past every bound; startBody() refuses it with 413.
  const length = digits.length > 15 ? Number.MAX_SAFE_INTEGER : Number(digits);
  return length === 0 ? { kind: 'none' } : { kind: 'length', length };
}

// The admin API's streaming HTTP/1.1 request parser (src/admin/http/parser.ts) as a parser:
// RFC 9112 framing, limits, and the same result whatever the bytes' split into reads.

import { describe, expect, it } from 'vitest';
import { RequestParser, type ParseStep, type RequestHead } from '../../src/admin/http/parser.js';

interface Parsed {
  heads: RequestHead[];
  bodies: string[];
  error?: { status: number; message: string };
}

/** Feeds `input` in pieces of `split` bytes, admitting each head with `maxBody`. */
function parse(input: string | Buffer, split = Infinity, maxBody = 1 << 20): Parsed {
  const bytes = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const p = new RequestParser();
  const out: Parsed = { heads: [], bodies: [] };
  const drain = () => {
    for (;;) {
      const s: ParseStep = p.next();
      if (s.kind === 'more') return;
      if (s.kind === 'error') {
        out.error = { status: s.error.status, message: s.error.message };
        return;
      }
      if (s.kind === 'head') {
        out.heads.push(s.head);
        p.startBody(maxBody);
      } else out.bodies.push(s.body.toString('latin1'));
    }
  };
  const step = Math.min(split, bytes.length) || 1;
  for (let i = 0; i < bytes.length && !out.error; i += step) {
    p.push(bytes.subarray(i, i + step));
    drain();
  }
  return out;
}

const GET = 'GET /v1/sys/health HTTP/1.1\r\nHost: a\r\n\r\n';

describe('HTTP request parser', () => {
  it('parses a request line and header fields, LIST included, the same whatever the split', () => {
    const req = 'LIST /v1/openldap/static-role?x=1 HTTP/1.1\r\nHost: a\r\nX-Vault-Token:  t1 \r\nAccept: a\r\nAccept: b\r\n\r\n';
    for (const split of [1, 2, 7, Infinity]) {
      const r = parse(req, split);
      expect(r.error).toBeUndefined();
      expect(r.heads).toHaveLength(1);
      const h = r.heads[0]!;
      expect([h.method, h.target, h.version, h.keepAlive]).toEqual(['LIST', '/v1/openldap/static-role?x=1', '1.1', true]);
      expect(h.headers['x-vault-token']).toBe('t1');
      expect(h.headers['accept']).toBe('a, b');
      expect(r.bodies).toEqual(['']);
    }
  });

  it('reads pipelined requests one after another, bodies of both framings between them', () => {
    const req =
      GET +
      'POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
      'GET /c HTTP/1.0\r\n\r\n';
    for (const split of [1, 5, Infinity]) {
      const r = parse(req, split);
      expect(r.error).toBeUndefined();
      expect(r.heads.map((h) => h.target)).toEqual(['/v1/sys/health', '/a', '/b', '/c']);
      expect(r.bodies).toEqual(['', 'hello', 'abc', '']);
      expect(r.heads[3]!.keepAlive).toBe(false);
    }
  });

  it('reads chunked bodies with chunk extensions and trailer fields', () => {
    const req =
      'POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n' +
      '4;name=value;flag\r\nWiki\r\n' +
      '5 ; q="quoted \\" ; string"\r\npedia\r\n' +
      '000E\r\n in\r\n\r\nchunks.\r\n' +
      '0;last\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n';
    for (const split of [1, 3, Infinity]) {
      const r = parse(req, split);
      expect(r.error).toBeUndefined();
      expect(r.bodies).toEqual(['Wikipedia in\r\n\r\nchunks.']);
    }
  });

  it('accepts bare LF as a line end (RFC 9112 2.2) and an empty line before the request line', () => {
    const r = parse(
      '\r\n\nPOST /x HTTP/1.1\nHost: a\nContent-Length: 2\n\nok' + 'POST /y HTTP/1.1\nTransfer-Encoding: chunked\n\n2\nab\n0\n\n',
    );
    expect(r.error).toBeUndefined();
    expect(r.bodies).toEqual(['ok', 'ab']);
  });

  it.each([
    ['Content-Length with Transfer-Encoding', 'POST /x HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['Transfer-Encoding with Content-Length', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n', 400],
    ['xchunked', 'POST /x HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n', 501],
    ['gzip, chunked', 'POST /x HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['chunked twice', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
    ['identity', 'POST /x HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n', 501],
    ['Transfer-Encoding in HTTP/1.0', 'POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['conflicting Content-Length', 'POST /x HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n', 400],
    ['conflicting Content-Length list', 'POST /x HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n', 400],
    ['signed Content-Length', 'POST /x HTTP/1.1\r\nContent-Length: +3\r\n\r\n', 400],
    ['hex Content-Length', 'POST /x HTTP/1.1\r\nContent-Length: 0x3\r\n\r\n', 400],
    ['space before the colon', 'POST /x HTTP/1.1\r\nContent-Length : 3\r\n\r\n', 400],
    ['obsolete line folding', 'GET /x HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n', 400],
    ['a bare CR', 'GET /x HTTP/1.1\r\nX-A: 1\r2\r\n\r\n', 400],
    ['NUL in a value', 'GET /x HTTP/1.1\r\nX-A: 1\x002\r\n\r\n', 400],
    ['two Host fields', 'GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['a malformed request line', 'GET  /x HTTP/1.1\r\n\r\n', 400],
    ['HTTP/2.0', 'GET /x HTTP/2.0\r\n\r\n', 505],
    ['a bad chunk size', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n', 400],
    ['a chunk size with 0x', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n', 400],
    ['chunk data longer than its size', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n', 400],
    ['a bad chunk extension', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2 x\r\nab\r\n0\r\n\r\n', 400],
    ['a bad trailer field', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnot a field\r\n\r\n', 400],
    // A smuggling corpus: what one parser reads one way and another differently.
    ['a vertical tab after chunked', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\x0b\r\n\r\n', 400],
    ['a folded Transfer-Encoding', 'POST /x HTTP/1.1\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n', 400],
    ['an empty Content-Length', 'POST /x HTTP/1.1\r\nContent-Length: \r\n\r\n', 400],
    ['two numbers in one Content-Length', 'POST /x HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n', 400],
    ['a chunk size after a space', 'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n', 400],
    [
      "a request where the last chunk's empty line should be",
      'POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nGET /y HTTP/1.1\r\n\r\n',
      400,
    ],
    ['an empty Transfer-Encoding', 'POST /x HTTP/1.1\r\nTransfer-Encoding: \r\n\r\n', 400],
  ])('refuses %s', (_name, req, status) => {
    for (const split of [1, Infinity]) expect(parse(req, split).error?.status).toBe(status);
  });

  it('accepts the same Content-Length repeated', () => {
    const r = parse('POST /x HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 2, 02\r\n\r\nok');
    expect(r.error).toBeUndefined();
    expect(r.bodies).toEqual(['ok']);
  });

  it('bounds the head: its size and its field count (431)', () => {
    expect(parse(`GET /x HTTP/1.1\r\nX-A: ${'a'.repeat(70_000)}\r\n\r\n`, 1000).error?.status).toBe(431);
    // Without a line end too: the bound holds on a line that never ends.
    expect(parse(`GET /${'a'.repeat(70_000)}`, 1000).error?.status).toBe(431);
    const many = Array.from({ length: 120 }, (_, i) => `X-${i}: ${i}\r\n`).join('');
    expect(parse(`GET /x HTTP/1.1\r\n${many}\r\n`).error?.status).toBe(431);
  });

  it('bounds the body: a Content-Length or a chunk size past the bound is refused before its data (413)', () => {
    const cl = parse('POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n', Infinity, 1000);
    expect(cl.error?.status).toBe(413);
    expect(cl.error?.message).toMatch(/at most 1000/);
    const huge = parse('POST /x HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n', Infinity, 1000);
    expect(huge.error?.status).toBe(413);
    // 600 + 600 > 1000: refused on the second chunk's size line, its data not sent at all.
    const chunked = parse(`POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n258\r\n${'a'.repeat(600)}\r\n258\r\n`, Infinity, 1000);
    expect(chunked.error?.status).toBe(413);
    expect(parse('POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n', Infinity, 1000).error?.status).toBe(413);
  });

  it('reads a 4 MiB body in 16-byte chunks, fed 64 bytes at a time, completely (it keeps its place)', () => {
    const chunk = '10\r\n' + 'abcdefghijklmnop' + '\r\n';
    const n = (4 * 1024 * 1024) / 16;
    const body = Buffer.from('POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' + chunk.repeat(n) + '0\r\n\r\n' + GET, 'latin1');
    const r = parse(body, 64, 8 * 1024 * 1024);
    expect(r.error).toBeUndefined();
    expect(r.bodies).toHaveLength(2);
    expect(r.bodies[0]!.length).toBe(4 * 1024 * 1024);
    expect(r.heads[1]!.target).toBe('/v1/sys/health');
  });

  it('reads a 60 KB head sent one byte at a time (each byte looked at once)', () => {
    const r = parse(`GET /x HTTP/1.1\r\nX-Long: ${'v'.repeat(60_000)}\r\n\r\n`, 1);
    expect(r.error).toBeUndefined();
    expect(r.heads[0]!.headers['x-long']).toHaveLength(60_000);
  });

  it('says when the head starts and when a body is being read (for the deadlines)', () => {
    const p = new RequestParser();
    expect(p.inHead).toBe(false);
    p.push(Buffer.from('GET / HT'));
    expect(p.next().kind).toBe('more');
    expect(p.inHead).toBe(true);
    p.push(Buffer.from('TP/1.1\r\nContent-Length: 3\r\n\r\na'));
    expect(p.next().kind).toBe('head');
    expect(p.inHead).toBe(false);
    p.startBody(10);
    expect(p.next().kind).toBe('more');
    expect(p.inBody).toBe(true);
    p.push(Buffer.from('bc'));
    const s = p.next();
    expect(s.kind === 'body' && s.body.toString()).toBe('abc');
    expect(p.inBody).toBe(false);
  });
});

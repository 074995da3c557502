// The admin API's HTTP/1.1 layer against the real server, as an attacker would drive it with raw
// sockets: token and route checked on the head before any body is read (issue 25 F1), the
// listener's own caps and timeouts (F2), RFC 9112 framing (F5), and the parser as a parser
// (issue 23): chunked bodies, pipelining, 100-continue, limits, slow heads, a seeded fuzz run.

import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { spawnAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { startAdminServer } from '../helpers/vault.js';

const TOKEN = 'hvs.admin-http-test-token';
const B = 'dc=example,dc=domain';

interface Res {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** The complete responses at the front of `buf` (each with Content-Length, as the server sends them). */
function responses(buf: Buffer): Res[] {
  const out: Res[] = [];
  let p = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', p);
    if (end < 0) return out;
    const lines = buf.subarray(p, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) headers[l.slice(0, l.indexOf(':')).toLowerCase()] = l.slice(l.indexOf(':') + 1).trim();
    const len = Number(headers['content-length'] ?? 0);
    if (buf.length < end + 4 + len) return out;
    out.push({ status: Number(lines[0]!.split(' ')[1]), headers, body: buf.subarray(end + 4, end + 4 + len).toString() });
    p = end + 4 + len;
  }
}

/** A raw client connection: what it has received, and whether the server closed it. */
class Raw {
  readonly sock: net.Socket;
  /** What arrived, joined when read (a large response comes in thousands of pieces). */
  private chunks: Buffer[] = [];
  closed = false;
  /** The server ended its side (FIN) or the connection was reset. */
  ended = false;
  private readonly opened: Promise<void>;
  private waiters: Array<() => void> = [];

  constructor(port: number, localAddress?: string) {
    this.sock = net.connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    this.opened = new Promise((resolve, reject) => {
      this.sock.once('connect', () => resolve());
      this.sock.once('error', reject);
    });
    this.sock.on('data', (b: Buffer) => {
      this.chunks.push(b);
      this.wake();
    });
    this.sock.on('end', () => {
      this.ended = true;
      this.wake();
    });
    this.sock.on('error', () => undefined);
    this.sock.on('close', () => {
      this.closed = this.ended = true;
      this.wake();
    });
  }

  static async open(port: number, localAddress?: string): Promise<Raw> {
    const r = new Raw(port, localAddress);
    await r.opened;
    return r;
  }

  get received(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!;
  }

  set received(b: Buffer) {
    this.chunks = [b];
  }

  get responses(): Res[] {
    return responses(this.received);
  }

  send(data: string | Buffer): void {
    if (!this.sock.destroyed) this.sock.write(data);
  }

  /** Resolves once `cond` holds; rejects after a generous deadline. */
  async until(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (Date.now() > deadline)
        throw new Error(`${what}: not within ${ms} ms (received ${JSON.stringify(this.received.toString('latin1').slice(0, 300))})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** One request on a new connection: its responses once `n` have come, or the connection closed. */
async function exchange(port: number, data: string | Buffer, n = 1): Promise<{ res: Res[]; ended: boolean }> {
  const r = await Raw.open(port);
  r.send(data);
  await r.until(() => r.responses.length >= n || r.ended, 'a response');
  // A close follows a refusal at once; give it the chance to be seen.
  if (r.responses.length >= n && r.responses[n - 1]!.headers['connection'] === 'close') await r.until(() => r.ended, 'the close');
  const out = { res: r.responses, ended: r.ended };
  r.destroy();
  return out;
}

/** A request head; token null sends none. */
const head = (method: string, path: string, extra: string[] = [], token: string | null = TOKEN) =>
  [`${method} ${path} HTTP/1.1`, 'Host: 127.0.0.1', ...(token ? [`X-Vault-Token: ${token}`] : []), ...extra].join('\r\n') + '\r\n\r\n';

const policyBody = (name: string) => JSON.stringify({ policy: `path "secret/${name}" { capabilities = ["read"] }` });

async function ldapAnswers(url: string): Promise<void> {
  const c = new Client({ url, timeout: 20_000, connectTimeout: 20_000 });
  try {
    await c.bind(`cn=admin,${B}`, 'secret');
    const { searchEntries } = await c.search(B, { scope: 'base' });
    expect(searchEntries).toHaveLength(1);
  } finally {
    await c.unbind().catch(() => undefined);
  }
}

async function healthOk(port: number): Promise<void> {
  const { res } = await exchange(port, head('GET', '/v1/sys/health', [], null));
  expect(res[0]?.status).toBe(200);
}

async function start(
  limits: Record<string, number>,
  https?: (dir: string) => { cert: string; key: string },
): Promise<{ server: AstldapServer; port: number; logs: string[]; dir: string }> {
  const dir = tempDir('astldap-admin-http-');
  const logs: string[] = [];
  const sink = (level: string) => (m: string) => logs.push(`${level} ${m}`);
  const server = await startAdminServer(dir, TOKEN, {
    ...(https ? { adminApi: 'https://127.0.0.1:0' } : {}),
    config: { adminApi: { limits, ...(https ? { tls: https(dir) } : {}) } },
    logger: { error: sink('ERROR'), warn: sink('WARN'), info: sink('INFO'), debug: () => undefined },
  });
  return { server, port: Number(new URL(server.adminUrl!).port), logs, dir };
}

describe('admin HTTP: requests refused on their head, before the body (issue 25 F1)', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start({ idleTimeout: 20, headTimeout: 10, bodyTimeout: 20 });
  });
  afterAll(async () => {
    await s.server.close();
    removeDir(s.dir);
  });

  it('answers a chunked POST without a token with 403 as soon as its head is in, and closes without reading the body', async () => {
    // Fails on main: the server waited for the body before looking at the token.
    for (const token of [null, 'hvs.not-a-token']) {
      const r = await Raw.open(s.port);
      r.send(head('POST', '/v1/sys/policies/acl/x', ['Transfer-Encoding: chunked'], token));
      await r.until(() => r.responses.length === 1 && r.ended, 'a 403 and a close');
      expect(r.responses[0]!.status).toBe(403);
      expect(r.responses[0]!.headers['connection']).toBe('close');
      r.destroy();
    }
  });

  it('refuses a body for a path the token may not use, or no route has, on the head (403 / 404)', async () => {
    const create = await exchange(s.port, head('POST', '/v1/auth/token/create', ['Content-Length: 2']) + '{}');
    const narrow = JSON.parse(create.res[0]!.body).auth.client_token as string;
    expect(narrow).toBeTruthy();
    const forbidden = await exchange(s.port, head('POST', '/v1/sys/policies/acl/x', ['Content-Length: 1000000'], narrow));
    expect([forbidden.res[0]?.status, forbidden.ended]).toEqual([403, true]);
    const unknown = await exchange(s.port, head('POST', '/v1/nowhere/at/all', ['Content-Length: 1000000']));
    expect([unknown.res[0]?.status, unknown.ended]).toEqual([404, true]);
    // Without a body a refusal is an ordinary answer: the connection stays usable.
    const r = await Raw.open(s.port);
    r.send(head('GET', '/v1/sys/policies/acl/x', [], null) + head('GET', '/v1/sys/health', [], null));
    await r.until(() => r.responses.length === 2, 'two responses');
    expect(r.responses.map((x) => x.status)).toEqual([403, 200]);
    r.destroy();
  });

  it('refuses a 4 MiB chunked body in small chunks to an authorised route by the body bound, long before its end', async () => {
    // On main the bound was 4 MiB of buffered bytes, re-read on every read: the refusal came
    // only once (nearly) the whole body had been sent.
    const r = await Raw.open(s.port);
    r.send(head('POST', '/v1/sys/policies/acl/big', ['Transfer-Encoding: chunked']));
    const chunk = Buffer.from('400\r\n' + 'x'.repeat(1024) + '\r\n');
    let sent = 0;
    while (sent < 4096 && r.responses.length === 0 && !r.ended) {
      if (!r.sock.write(chunk)) await new Promise<void>((resolve) => r.sock.once('drain', resolve).once('close', resolve));
      sent++;
      if (sent % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await r.until(() => r.responses.length === 1, 'the 413');
    // The bound is 256 KiB: the refusal came with at most a few socket buffers' worth more sent.
    expect(sent).toBeLessThan(2048);
    expect(r.responses[0]!.status).toBe(413);
    expect(r.responses[0]!.body).toMatch(/at most 262144 bytes/);
    r.destroy();
    await ldapAnswers(s.server.url);
    await healthOk(s.port);
  });

  it('refuses a Content-Length past the route bound before any of the body is sent (413)', async () => {
    // Fails on main (its bound was 4 MiB everywhere: it waited for the 1 MiB).
    const { res, ended } = await exchange(s.port, head('POST', '/v1/sys/policies/acl/big', ['Content-Length: 1048576']));
    expect([res[0]?.status, ended]).toEqual([413, true]);
    // A dynamic role's LDIF may be larger (adminApi.limits.maxLdifBody): the same length is read there.
    const r = await Raw.open(s.port);
    r.send(head('POST', '/v1/openldap/role/big', ['Content-Length: 1048576']));
    r.send(Buffer.alloc(1048576, 0x20));
    await r.until(() => r.responses.length === 1, 'the role answer');
    expect(r.responses[0]!.status).toBe(400); // an empty JSON document: a user error, not a size refusal
    r.destroy();
  });
});

describe('admin HTTP: framing (RFC 9112, issue 25 F5) and the parser as a parser (issue 23)', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start({ idleTimeout: 2, headTimeout: 1, bodyTimeout: 2, maxConnectionsPerAddress: 256 });
  });
  afterAll(async () => {
    await s.server.close();
    removeDir(s.dir);
  });

  it('answers Content-Length with Transfer-Encoding with 400 and closes (request smuggling)', async () => {
    // Fails on main: the body was read as chunked and the connection kept.
    const smuggled = head('GET', '/v1/sys/health', [], null);
    for (const order of [
      ['Content-Length: 5', 'Transfer-Encoding: chunked'],
      ['Transfer-Encoding: chunked', 'Content-Length: 5'],
    ]) {
      const { res, ended } = await exchange(s.port, head('POST', '/v1/sys/policies/acl/x', order) + '0\r\n\r\n' + smuggled, 2);
      expect(res.map((x) => x.status)).toEqual([400]);
      expect(ended).toBe(true);
    }
  });

  it('answers a transfer coding other than exactly chunked with 501 and closes', async () => {
    // Fails on main: `xchunked` was read as chunked.
    for (const te of ['xchunked', 'gzip, chunked', 'chunked, chunked', 'identity']) {
      const { res, ended } = await exchange(s.port, head('POST', '/v1/sys/policies/acl/x', [`Transfer-Encoding: ${te}`]) + '0\r\n\r\n');
      expect([te, res[0]?.status, ended]).toEqual([te, 501, true]);
    }
  });

  it('takes bare LF as a line end: answered, never a hang', async () => {
    // Fails on main: the head never ended and the request hung until the idle timeout.
    const { res } = await exchange(s.port, 'GET /v1/sys/health HTTP/1.1\nHost: a\n\n');
    expect(res[0]?.status).toBe(200);
    const body = policyBody('lf');
    const post = await exchange(
      s.port,
      `PUT /v1/sys/policies/acl/lf HTTP/1.1\nX-Vault-Token: ${TOKEN}\nContent-Length: ${body.length}\n\n${body}`,
    );
    expect(post.res[0]?.status).toBe(204);
  });

  it('refuses differing Content-Length values (400, closed) and accepts the same one repeated', async () => {
    // The second half fails on main: `Content-Length: 2, 2` was refused as a bad length.
    for (const cl of [['Content-Length: 2', 'Content-Length: 3'], ['Content-Length: 2, 3']]) {
      const { res, ended } = await exchange(s.port, head('POST', '/v1/sys/policies/acl/x', cl) + '{}');
      expect([res[0]?.status, ended]).toEqual([400, true]);
    }
    const body = policyBody('cl');
    const len = String(body.length);
    const { res } = await exchange(
      s.port,
      head('POST', '/v1/sys/policies/acl/cl', [`Content-Length: ${len}`, `Content-Length: ${len}, ${len}`]) + body,
    );
    expect(res[0]?.status).toBe(204);
  });

  it('reads chunked bodies with chunk extensions and trailers', async () => {
    const body = policyBody('chunked');
    const a = body.slice(0, 10);
    const b = body.slice(10);
    const req =
      head('POST', '/v1/sys/policies/acl/chunked', ['Transfer-Encoding: chunked', 'Trailer: X-Checksum']) +
      `${a.length.toString(16)};ext=1\r\n${a}\r\n${b.length.toString(16)} ; name="quoted;value"\r\n${b}\r\n0;last\r\nX-Checksum: 1\r\n\r\n`;
    const { res } = await exchange(s.port, req);
    expect(res[0]?.status).toBe(204);
    const read = await exchange(s.port, head('GET', '/v1/sys/policies/acl/chunked'));
    expect(JSON.parse(read.res[0]!.body).data.policy).toContain('secret/chunked');
  });

  it('answers pipelined requests in order on one connection, each handled after the one before', async () => {
    // Fails on main: pipelined handlers ran at once, so the GET could read before the POST wrote.
    const body = policyBody('pipe');
    const req =
      head('GET', '/v1/sys/health', [], null) +
      head('POST', '/v1/sys/policies/acl/pipe', [`Content-Length: ${body.length}`]) +
      body +
      head('GET', '/v1/sys/policies/acl/pipe') +
      head('GET', '/v1/sys/policies/acl/none-such') +
      head('GET', '/v1/sys/health', ['Connection: close'], null);
    const { res, ended } = await exchange(s.port, req, 5);
    expect(res.map((x) => x.status)).toEqual([200, 204, 200, 404, 200]);
    expect(JSON.parse(res[2]!.body).data.policy).toContain('secret/pipe');
    expect(ended).toBe(true);
  });

  it('answers HEAD without a body, so the next response on the connection is read right', async () => {
    // Fails on main: a HEAD's answer carried the body, which a client takes for the next response.
    const r = await Raw.open(s.port);
    r.send(head('HEAD', '/v1/sys/health', [], null) + head('GET', '/v1/sys/health', [], null));
    const answered = () => {
      const t = r.received.toString();
      return (t.match(/HTTP\/1\.1 200 OK/g) ?? []).length === 2 && t.endsWith('}\n');
    };
    await r.until(answered, 'two answers');
    const text = r.received.toString();
    const second = text.indexOf('HTTP/1.1 200 OK', 1);
    expect(text.indexOf('\r\n\r\n') + 4).toBe(second);
    expect(Number(/content-length: (\d+)/i.exec(text)![1])).toBeGreaterThan(0);
    r.destroy();
  });

  it('sends 100 Continue before the body of an admitted request, and a refusal instead of it to one without a token', async () => {
    const body = policyBody('continue');
    const r = await Raw.open(s.port);
    r.send(head('POST', '/v1/sys/policies/acl/continue', [`Content-Length: ${body.length}`, 'Expect: 100-continue']));
    await r.until(() => r.received.toString().startsWith('HTTP/1.1 100 Continue\r\n\r\n'), '100 Continue');
    r.received = r.received.subarray('HTTP/1.1 100 Continue\r\n\r\n'.length);
    r.send(body);
    await r.until(() => r.responses.length === 1, 'the answer');
    expect(r.responses[0]!.status).toBe(204);
    r.destroy();
    // Fails on main: it sent 100 Continue to a request without a token and waited for the body.
    const { res, ended } = await exchange(
      s.port,
      head('POST', '/v1/sys/policies/acl/continue', ['Content-Length: 100000', 'Expect: 100-continue'], null),
    );
    expect([res[0]?.status, ended]).toEqual([403, true]);
    // Nor to a body past the route's bound: 413 at once.
    const big = await exchange(s.port, head('POST', '/v1/sys/policies/acl/continue', ['Content-Length: 1000000', 'Expect: 100-continue']));
    expect([big.res[0]?.status, big.ended, big.res.length]).toEqual([413, true, 1]);
  });

  it('bounds the header: too large or too many fields are refused with 431', async () => {
    const big = await exchange(s.port, head('GET', '/v1/sys/health', [`X-Big: ${'a'.repeat(70 * 1024)}`], null));
    expect([big.res[0]?.status, big.ended]).toEqual([431, true]);
    const many = Array.from({ length: 150 }, (_, i) => `X-F${i}: ${i}`);
    const lots = await exchange(s.port, head('GET', '/v1/sys/health', many, null));
    expect([lots.res[0]?.status, lots.ended]).toEqual([431, true]);
  });

  it('closes a connection whose head does not arrive within headTimeout, however slowly it trickles (408)', async () => {
    // Fails on main: every byte restarted its 60 s timer, so a trickled head was never cut off.
    const r = await Raw.open(s.port);
    const text = head('GET', '/v1/sys/health', [`X-Slow: ${'s'.repeat(200)}`], null);
    let i = 0;
    while (!r.ended && i < text.length - 1) {
      r.send(text[i++]!);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await r.until(() => r.ended, 'the close');
    expect(i).toBeLessThan(text.length - 1);
    expect(r.responses[0]?.status).toBe(408);
    r.destroy();
  });

  it('closes a connection that sends nothing after idleTimeout, and one whose body stalls after bodyTimeout', async () => {
    // Fails on main: its idle timeout was 60 s whatever the configuration said.
    const idle = await Raw.open(s.port);
    await idle.until(() => idle.ended, 'the idle close');
    expect(idle.received.length).toBe(0);
    const stalled = await Raw.open(s.port);
    stalled.send(head('POST', '/v1/sys/policies/acl/x', ['Content-Length: 100']) + '{');
    await stalled.until(() => stalled.ended, 'the body deadline');
    expect(stalled.responses[0]?.status).toBe(408);
    idle.destroy();
    stalled.destroy();
  });

  it('survives a seeded run of random and mutated requests, then answers normally', async () => {
    let seed = 0x2545f491;
    const rand = () => {
      // mulberry32: a fixed sequence for a fixed seed.
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    const body = policyBody('fuzz');
    const templates = [
      head('GET', '/v1/sys/health', [], null),
      head('LIST', '/v1/sys/policies/acl'),
      head('POST', '/v1/sys/policies/acl/fuzz', [`Content-Length: ${body.length}`]) + body,
      head('POST', '/v1/sys/policies/acl/fuzz', ['Transfer-Encoding: chunked']) + `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
      head('GET', '/metrics', [], null),
      head('DELETE', '/v1/sys/policies/acl/fuzz2'),
    ];
    const noise = [
      '\r',
      '\n',
      '\r\n',
      ':',
      ' ',
      '\t',
      '\0',
      ';',
      '0',
      'f',
      '-',
      ',',
      'chunked',
      'Content-Length: 7\r\n',
      'Transfer-Encoding: chunked\r\n',
      '\xff',
    ];
    const mutate = (t: string): string => {
      let out = t;
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rand() * out.length);
        const kind = rand();
        if (kind < 0.3) out = out.slice(0, at) + pick(noise) + out.slice(at);
        else if (kind < 0.5) out = out.slice(0, at) + out.slice(at + 1 + Math.floor(rand() * 8));
        else if (kind < 0.65) out = out.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + out.slice(at + 1);
        else if (kind < 0.75)
          out = out.slice(0, at); // cut short
        else if (kind < 0.85)
          out = out + pick(templates); // pipelined
        else out = Array.from({ length: 1 + Math.floor(rand() * 64) }, () => String.fromCharCode(Math.floor(rand() * 256))).join('');
      }
      return out;
    };
    const cases = Array.from({ length: 200 }, () => Buffer.from(mutate(pick(templates)), 'latin1'));
    const outcomes = { answered: 0, closed: 0 };
    for (let i = 0; i < cases.length; i += 40) {
      await Promise.all(
        cases.slice(i, i + 40).map(async (bytes) => {
          const r = await Raw.open(s.port);
          // Sent in two pieces, split at a random place.
          const cut = Math.floor(rand() * bytes.length);
          r.send(bytes.subarray(0, cut));
          await new Promise((resolve) => setImmediate(resolve));
          r.send(bytes.subarray(cut));
          // Every case ends with the server closing: after an error at once, after an answer
          // when the idle timeout (2 s) passes, after a cut-short request at its deadline.
          await r.until(() => r.ended, 'the server closing the connection', 30_000);
          if (r.responses.length) outcomes.answered++;
          else outcomes.closed++;
          r.destroy();
        }),
      );
    }
    expect(outcomes.answered + outcomes.closed).toBe(cases.length);
    expect(outcomes.answered).toBeGreaterThan(0);
    await healthOk(s.port);
    const list = await exchange(s.port, head('LIST', '/v1/sys/policies/acl'));
    expect(list.res[0]?.status).toBe(200);
    await ldapAnswers(s.server.url);
    expect(s.logs.filter((l) => l.startsWith('ERROR'))).toEqual([]);
  });
});

describe('admin HTTP: the listener caps connections and closes idle ones; LDAP keeps answering (issue 25 F2)', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    // Idle and head deadlines past the refusal hold (5 s), so the connections held open while the
    // refused ones wait for their 503 are still there when the next ones arrive.
    s = await start({ maxConnections: 8, maxConnectionsPerAddress: 4, idleTimeout: 8, headTimeout: 8 });
  });
  afterAll(async () => {
    await s.server.close();
    removeDir(s.dir);
  });

  it('refuses connections past the per-address and total caps with 503, answers LDAP meanwhile, and closes the idle ones', async () => {
    // Fails on main: the admin listener had no cap (and a fixed 60 s idle timeout).
    const held: Raw[] = [];
    for (let i = 0; i < 4; i++) held.push(await Raw.open(s.port, '127.0.0.1'));
    const fifth = await Raw.open(s.port, '127.0.0.1');
    await fifth.until(() => fifth.ended, 'the per-address refusal');
    expect(fifth.responses[0]?.status).toBe(503);
    expect(fifth.responses[0]?.body).toMatch(/from one address/);
    for (const a of ['127.0.0.2', '127.0.0.2', '127.0.0.3', '127.0.0.3']) held.push(await Raw.open(s.port, a));
    const ninth = await Raw.open(s.port, '127.0.0.4');
    await ninth.until(() => ninth.ended, 'the total refusal');
    expect(ninth.responses[0]?.status).toBe(503);
    expect(ninth.responses[0]?.body).toMatch(/limit of 8 connections/);
    expect(s.logs.some((l) => /^WARN admin api: limit of \d+ connections/.test(l))).toBe(true);
    await ldapAnswers(s.server.url);
    // The held connections sent nothing: the idle timeout closes them, and places free up.
    for (const h of held) await h.until(() => h.ended, 'the idle close', 30_000);
    expect(held.every((h) => h.received.length === 0)).toBe(true);
    await healthOk(s.port);
    for (const r of [...held, fifth, ninth]) r.destroy();
  });
});

describe('admin HTTP: the connection caps fit the open-files limit (issue 25 F2)', () => {
  it('lowers the caps with a warning under a small RLIMIT_NOFILE, and still serves LDAP and the admin API', async () => {
    // Fails on main: nothing compared the caps (4,096 + unbounded admin) with the limit.
    const dir = tempDir('astldap-nofile-');
    try {
      const args = ['serve', '--config', path.join(repoRoot, 'config.yaml'), '--data', path.join(dir, 'data')];
      const srv = await spawnAstldap([...args, '--listen', 'ldap://127.0.0.1:0', '--admin-listen', 'http://127.0.0.1:0'], {
        cwd: dir,
        nofile: 1024,
      });
      try {
        expect(srv.output()).toMatch(
          /WARN the open-files limit \(1024, .*: limits\.maxConnections 4096 -> \d+, .*adminApi\.limits\.maxConnections 256 -> \d+/,
        );
        await ldapAnswers(srv.url);
        const admin = /astldap admin api on http:\/\/127\.0\.0\.1:(\d+)/.exec(srv.output());
        expect(admin).not.toBeNull();
        await healthOk(Number(admin![1]));
      } finally {
        await srv.kill();
      }
      // Too small for even a minimal server: a clear refusal, not a server that fails later.
      await expect(spawnAstldap([...args, '--listen', 'ldap://127.0.0.1:0', '--no-admin'], { cwd: dir, nofile: 100 })).rejects.toThrow(
        /open-files limit \(\d+\) leaves room for \d+ LDAP connections: raise it/,
      );
    } finally {
      removeDir(dir);
    }
  });
});

describe('admin HTTP over TLS: a connection counts from accept, and the handshake has the head deadline', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start({ maxConnections: 8, maxConnectionsPerAddress: 2, headTimeout: 2, idleTimeout: 5 }, (dir) => {
      const cert = path.join(dir, 'admin.crt');
      const key = path.join(dir, 'admin.key');
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=127.0.0.1', '-days', '2'],
        {
          stdio: 'ignore',
        },
      );
      return { cert, key };
    });
  });
  afterAll(async () => {
    await s.server.close();
    removeDir(s.dir);
  });

  it('refuses TLS 1.2 renegotiation: the connection ends', async () => {
    // Fails without disableRenegotiation(): the server renegotiated as often as asked.
    const c = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const t = tls.connect({ host: '127.0.0.1', port: s.port, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }, () => resolve(t));
      t.once('error', reject);
    });
    c.on('error', () => undefined);
    const outcome = await new Promise<string>((resolve) => {
      c.once('close', () => resolve('closed'));
      c.renegotiate({}, (err) => resolve(err ? 'refused' : 'renegotiated'));
    });
    expect(outcome).not.toBe('renegotiated');
    await new Promise<void>((resolve) => (c.destroyed ? resolve() : c.once('close', () => resolve())));
  });

  it('refuses a third connection from one address while two sit before their handshake, and closes those at the deadline', async () => {
    const silent = [await Raw.open(s.port), await Raw.open(s.port)];
    const third = await Raw.open(s.port);
    await third.until(() => third.ended, 'the refusal');
    for (const r of silent) await r.until(() => r.ended, 'the handshake deadline', 30_000);
    // Places are free again: a real client gets its answer.
    const res = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port: s.port, rejectUnauthorized: false }, () =>
        c.write(head('GET', '/v1/sys/health', [], null)),
      );
      let got = '';
      c.on('data', (b: Buffer) => {
        got += b.toString();
        if (got.includes('"initialized"')) {
          c.destroy();
          resolve(got);
        }
      });
      c.on('error', reject);
    });
    expect(res).toMatch(/^HTTP\/1\.1 200 OK/);
    for (const r of [...silent, third]) r.destroy();
  });
});

describe('admin HTTP: a large response to a slow reader', () => {
  let s: Awaited<ReturnType<typeof start>>;
  beforeAll(async () => {
    s = await start({ idleTimeout: 5 });
  });
  afterAll(async () => {
    await s.server.close();
    removeDir(s.dir);
  });

  it('is written out in full while the client keeps reading, however long that takes in all', async () => {
    // 24 entries of ~900 KB make the backup ~22 MB, more than loopback buffers; the client reads
    // 1.5 MB a second, so the whole takes about 15 s, three times idleTimeout (5 s).
    // Fails without send()'s slices: the idle timer ran from the one big write and cut it off.
    const c = new Client({ url: s.server.url, timeout: 30_000 });
    await c.bind(`cn=admin,${B}`, 'secret');
    for (let i = 0; i < 24; i++) {
      await c.add(`cn=big${i},${B}`, { objectClass: ['person'], cn: `big${i}`, sn: 'big', description: String(i % 10).repeat(900_000) });
    }
    await c.unbind();
    const r = await Raw.open(s.port);
    let since = 0;
    r.sock.on('data', (b: Buffer) => {
      since += b.length;
      if (since >= 1_500_000) r.sock.pause();
    });
    r.sock.pause();
    r.send(head('GET', '/v1/sys/astldap/backup'));
    const deadline = Date.now() + 180_000;
    while (r.responses.length === 0 && !r.ended && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      since = 0;
      r.sock.resume();
    }
    const backup = r.responses[0];
    expect(backup?.status).toBe(200);
    expect(backup!.body.length).toBeGreaterThan(21_000_000);
    expect(backup!.body).toContain(`dn: cn=big23,${B}`);
    r.destroy();
  });
});

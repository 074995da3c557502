// Unit tests of the protocol layer (framing, dispatch, encoding) against a fake in-test
// RequestHandler, driven by the ldapts client, raw sockets and, when present, OpenLDAP ldapsearch.

import { execFile } from 'node:child_process';
import net from 'node:net';
import { Attribute, Change, Client, Control } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/config/logger.js';
import type {
  AddRequest,
  BindRequest,
  CompareRequest,
  DeleteRequest,
  ModifyDNRequest,
  ModifyRequest,
  OperationContext,
  RequestHandler,
  SearchRequest,
} from '../../src/ldap/messages.js';
import { LdapError, ResultCode } from '../../src/ldap/result.js';
import { BerReader, readFrameHeader } from '../../src/protocol/ber.js';
import { listen } from '../../src/protocol/listener.js';

const ok = { code: 0, matchedDN: '', message: '' };

/** A control with a value given as raw octets (to send malformed values too). */
class RawControl extends Control {
  constructor(
    oid: string,
    private readonly raw: Buffer,
  ) {
    super(oid);
  }
  protected override writeControl(writer: { writeBuffer(b: Buffer, tag: number): void }): void {
    writer.writeBuffer(this.raw, 0x04);
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Call {
  op: string;
  ctx: OperationContext;
  req: unknown;
}

/** Records every call; a few magic DNs trigger errors, delays or abandon waits. */
function fakeHandler() {
  const calls: Call[] = [];
  const events: string[] = [];
  const aborted: number[] = [];
  let disconnects = 0;
  let backpressured = 0;
  // Resolved the first time a search's send() returns a Promise (the socket buffer is full).
  let onBackpressure: () => void = () => {};
  const firstBackpressure = new Promise<void>((resolve) => (onBackpressure = resolve));
  const record = (op: string, ctx: OperationContext, req: unknown) => calls.push({ op, ctx, req });
  const handler: RequestHandler = {
    async bind(ctx, req: BindRequest) {
      record('bind', ctx, req);
      events.push('bind');
      if (req.name === 'cn=bad') throw new LdapError(ResultCode.invalidCredentials, 'wrong password');
      if (req.name === 'cn=boom') throw new Error('kaboom');
      if (req.name === 'cn=bound') ctx.session.bindNdn = 'cn=bound';
      return ok;
    },
    async search(ctx, req: SearchRequest, send) {
      record('search', ctx, req);
      if (req.base === 'cn=slow') {
        // Waits until abandoned, then still tries to send: nothing may reach the client.
        await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve()));
        aborted.push(ctx.messageId);
        await send({ dn: 'cn=late', attributes: [] });
        return ok;
      }
      if (req.base === 'cn=big') {
        // Enough data to fill the socket buffers: send must start returning Promises.
        const big = 'x'.repeat(16 * 1024);
        for (let i = 0; i < 400; i++) {
          const r = send({ dn: `cn=b${i}`, attributes: [{ type: 'description', values: [big] }] });
          if (r instanceof Promise) {
            backpressured++;
            onBackpressure();
            await r;
          }
        }
        return ok;
      }
      for (let i = 1; i <= 3; i++) {
        await send({
          dn: `cn=a${i},dc=x`,
          attributes: [
            { type: 'cn', values: [`a${i}`] },
            { type: 'sn', values: [Buffer.from('s')] },
          ],
        });
      }
      return ok;
    },
    async add(ctx, req: AddRequest) {
      record('add', ctx, req);
      return ok;
    },
    async modify(ctx, req: ModifyRequest) {
      record('modify', ctx, req);
      return ok;
    },
    async delete(ctx, req: DeleteRequest) {
      record('delete', ctx, req);
      if (req.dn === 'cn=wait') {
        events.push('delete-start');
        await sleep(100);
        events.push('delete-end');
      }
      return ok;
    },
    async modifyDN(ctx, req: ModifyDNRequest) {
      record('modifyDN', ctx, req);
      return ok;
    },
    async compare(ctx, req: CompareRequest) {
      record('compare', ctx, req);
      return { code: ResultCode.compareTrue, matchedDN: '', message: '' };
    },
    async extended(ctx, req) {
      record('extended', ctx, req);
      return { ...ok, ...(req.kind === 'unknown' ? { oid: req.oid } : {}) };
    },
    disconnect() {
      disconnects++;
    },
  };
  return { handler, calls, events, aborted, disconnects: () => disconnects, backpressured: () => backpressured, firstBackpressure };
}

// ---- raw BER helpers ----------------------------------------------------------------------------

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const content = Buffer.concat(parts);
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const int = (n: number, tag = 0x02) => tlv(tag, Buffer.from([n]));
const str = (s: string, tag = 0x04) => tlv(tag, Buffer.from(s));
const bool = (b: boolean) => tlv(0x01, Buffer.from([b ? 0xff : 0]));
const message = (id: number, op: Buffer, ...rest: Buffer[]) => tlv(0x30, int(id), op, ...rest);

function searchOp(base: string, scope = 2): Buffer {
  return tlv(0x63, str(base), int(scope, 0x0a), int(0, 0x0a), int(0), int(0), bool(false), str('objectClass', 0x87), tlv(0x30));
}

interface Pdu {
  messageId: number;
  opTag: number;
  code?: number;
  oid?: string;
}

/** Parses the responses received so far (LDAPResult fields when the op has them). */
function parsePdus(buf: Buffer): Pdu[] {
  return parseFrames(buf).pdus;
}

/** The complete PDUs at the start of buf and the octets they take. */
function parseFrames(buf: Buffer): { pdus: Pdu[]; used: number } {
  const out: Pdu[] = [];
  let off = 0;
  for (;;) {
    const h = readFrameHeader(buf, off, 1 << 20);
    if (!h || buf.length - off < h.headerLength + h.length) break;
    const r = new BerReader(buf, off, off + h.headerLength + h.length);
    r.enter(0x30);
    const messageId = r.readInteger();
    const opTag = r.peek();
    const pdu: Pdu = { messageId, opTag };
    if (opTag !== 0x64) {
      r.enter();
      pdu.code = r.readEnumerated();
      r.readString();
      r.readString();
      if (r.peek() === 0x8a) pdu.oid = r.readString(0x8a);
    }
    out.push(pdu);
    off += h.headerLength + h.length;
  }
  return { pdus: out, used: off };
}

/** A raw socket collecting everything it receives. */
class Raw {
  readonly socket: net.Socket;
  data = Buffer.alloc(0);
  closed = false;
  readonly ready: Promise<void>;
  /** collect=false: the caller reads the socket itself (large responses). */
  constructor(port: number, collect = true) {
    this.socket = net.connect(port, '127.0.0.1');
    this.ready = new Promise((r) => this.socket.once('connect', () => r()));
    if (collect) this.socket.on('data', (d) => (this.data = Buffer.concat([this.data, d])));
    this.socket.on('error', () => {});
    this.socket.on('close', () => (this.closed = true));
  }
  send(b: Buffer): void {
    this.socket.write(b);
  }
  get pdus(): Pdu[] {
    return parsePdus(this.data);
  }
  async until(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await sleep(10);
    }
  }
}

// ---- the suite ----------------------------------------------------------------------------------

const SUPPORTED = '2.16.840.1.113730.3.4.2'; // ManageDsaIT: implemented, valid on every operation
const PAGED = '1.2.840.113556.1.4.319';
const MAX_PDU = 4096;

describe('protocol layer', () => {
  const fake = fakeHandler();
  let server: Awaited<ReturnType<typeof listen>>;
  let url: string;
  let port: number;
  const clients: Client[] = [];
  const client = () => {
    const c = new Client({ url, timeout: 5000, connectTimeout: 5000 });
    clients.push(c);
    return c;
  };
  const last = (op: string) => fake.calls.filter((c) => c.op === op).at(-1)!;

  beforeAll(async () => {
    server = await listen(['ldap://127.0.0.1:0'], {
      handler: fake.handler,
      maxPduSize: MAX_PDU,
      idleTimeout: 0,
      maxConnections: 50,
      logger: silentLogger,
    });
    url = server.urls[0]!;
    port = Number(/:(\d+)$/.exec(url)![1]);
  });

  afterAll(async () => {
    for (const c of clients) await c.unbind().catch(() => {});
    await server.close();
  });

  it('reports the ephemeral port', () => {
    expect(url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
    expect(port).toBeGreaterThan(0);
  });

  it('delivers a simple bind', async () => {
    const c = client();
    await c.bind('cn=admin,dc=x', 'secret');
    const call = last('bind');
    const req = call.req as BindRequest;
    expect(req.version).toBe(3);
    expect(req.name).toBe('cn=admin,dc=x');
    expect(req.auth).toEqual({ kind: 'simple', password: Buffer.from('secret') });
    expect(call.ctx.session.transport).toBe('tcp');
    expect(call.ctx.session.remoteAddress).toBe('127.0.0.1');
  });

  it('maps handler errors: LdapError as is, others to 80', async () => {
    await expect(client().bind('cn=bad', 'x')).rejects.toMatchObject({ code: 49 });
    await expect(client().bind('cn=boom', 'x')).rejects.toMatchObject({ code: 80, message: expect.stringContaining('internal error') });
  });

  it('delivers a search with filter, attributes and limits; entries arrive in order', async () => {
    const c = client();
    const res = await c.search('dc=x', {
      scope: 'one',
      sizeLimit: 5,
      timeLimit: 7,
      filter: '(&(cn=a*b*c)(|(sn=x)(!(uid=y)))(age>=3)(mail=*))',
      attributes: ['cn', 'sn'],
    });
    expect(res.searchEntries.map((e) => e.dn)).toEqual(['cn=a1,dc=x', 'cn=a2,dc=x', 'cn=a3,dc=x']);
    expect(res.searchEntries[0]!.cn).toBe('a1');
    const req = last('search').req as SearchRequest;
    expect(req).toMatchObject({ base: 'dc=x', scope: 'one', sizeLimit: 5, timeLimit: 7, typesOnly: false, attributes: ['cn', 'sn'] });
    expect(req.filter).toEqual({
      type: 'and',
      filters: [
        { type: 'substrings', attribute: 'cn', initial: Buffer.from('a'), any: [Buffer.from('b')], final: Buffer.from('c') },
        {
          type: 'or',
          filters: [
            { type: 'equality', attribute: 'sn', value: Buffer.from('x') },
            { type: 'not', filter: { type: 'equality', attribute: 'uid', value: Buffer.from('y') } },
          ],
        },
        { type: 'ge', attribute: 'age', value: Buffer.from('3') },
        { type: 'present', attribute: 'mail' },
      ],
    });
  });

  it('delivers add, modify, delete, compare and modifyDN', async () => {
    const c = client();
    await c.add('cn=n,dc=x', { objectClass: ['top', 'person'], cn: 'n', sn: 's' });
    expect(last('add').req).toEqual({
      dn: 'cn=n,dc=x',
      attributes: [
        { type: 'objectClass', values: [Buffer.from('top'), Buffer.from('person')] },
        { type: 'cn', values: [Buffer.from('n')] },
        { type: 'sn', values: [Buffer.from('s')] },
      ],
    });

    await c.modify('cn=n,dc=x', [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'sn', values: ['t'] }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'mail', values: ['a@b', 'c@d'] }) }),
      new Change({ operation: 'delete', modification: new Attribute({ type: 'description', values: [] }) }),
    ]);
    expect(last('modify').req).toEqual({
      dn: 'cn=n,dc=x',
      changes: [
        { operation: 'replace', type: 'sn', values: [Buffer.from('t')] },
        { operation: 'add', type: 'mail', values: [Buffer.from('a@b'), Buffer.from('c@d')] },
        { operation: 'delete', type: 'description', values: [] },
      ],
    });

    await c.del('cn=n,dc=x');
    expect(last('delete').req).toEqual({ dn: 'cn=n,dc=x' });

    expect(await c.compare('cn=n,dc=x', 'sn', 't')).toBe(true);
    expect(last('compare').req).toEqual({ dn: 'cn=n,dc=x', attribute: 'sn', value: Buffer.from('t') });

    await c.modifyDN('cn=n,dc=x', 'cn=m,ou=p,dc=x');
    expect(last('modifyDN').req).toMatchObject({ dn: 'cn=n,dc=x', newRdn: 'cn=m', deleteOldRdn: true, newSuperior: 'ou=p,dc=x' });
  });

  it('refuses an unknown critical control with 12 and ignores a non-critical one', async () => {
    const c = client();
    const before = fake.calls.length;
    await expect(c.del('cn=z,dc=x', new Control('1.2.3.4.5', { critical: true }))).rejects.toMatchObject({ code: 12 });
    expect(fake.calls.length).toBe(before); // the handler was not called

    await c.del('cn=z,dc=x', new Control('1.2.3.4.5', { critical: false }));
    expect(last('delete').ctx.controls).toEqual({});

    await c.del('cn=z,dc=x', new Control(SUPPORTED, { critical: true }));
    expect(last('delete').ctx.controls).toEqual({ manageDsaIT: true });
  });

  it('decodes implemented controls into typed fields; a malformed value fails only that operation', async () => {
    const c = client();
    // RFC 2696 value: SEQUENCE { size 5, cookie '' }
    await c.search('dc=x', { scope: 'base' }, new RawControl(PAGED, Buffer.from([0x30, 0x05, 0x02, 0x01, 0x05, 0x04, 0x00])));
    expect(last('search').ctx.controls).toEqual({ paged: { size: 5, cookie: Buffer.alloc(0) } });
    const before = fake.calls.length;
    await expect(c.search('dc=x', { scope: 'base' }, new RawControl(PAGED, Buffer.from([0x04, 0x01, 0x00])))).rejects.toMatchObject({
      code: 2,
    });
    expect(fake.calls.length).toBe(before); // the handler was not called
    // The same control on an operation it does not apply to is ignored, as before decoding.
    await c.del('cn=z,dc=x', new RawControl(PAGED, Buffer.from([0x04, 0x01, 0x00])));
    expect(last('delete').ctx.controls).toEqual({});
    await c.search('dc=x', { scope: 'base' }); // the connection still serves
  });

  it('closes only the connection that sent a malformed PDU', async () => {
    const good = client();
    await good.bind('cn=admin,dc=x', 'secret');
    for (const bytes of [Buffer.from([0x30, 0x05, 0x02, 0x01, 0x01, 0xff, 0xff]), Buffer.from('GET / HTTP/1.1\r\n\r\n')]) {
      const raw = new Raw(port);
      await raw.ready;
      raw.send(bytes);
      await raw.until(() => raw.closed);
      // Notice of Disconnection: messageID 0, extendedResponse, protocolError.
      expect(raw.pdus).toEqual([{ messageId: 0, opTag: 0x78, code: 2, oid: '1.3.6.1.4.1.1466.20036' }]);
    }
    const res = await good.search('dc=x', { filter: '(cn=a*)' });
    expect(res.searchEntries).toHaveLength(3);
  });

  it('closes a connection that announces an oversized PDU', async () => {
    const raw = new Raw(port);
    await raw.ready;
    raw.send(Buffer.from([0x30, 0x84, 0x00, 0x01, 0x00, 0x00])); // 65536 > MAX_PDU, nothing more sent
    await raw.until(() => raw.closed);
    expect(raw.pdus[0]).toMatchObject({ messageId: 0, opTag: 0x78, code: 2 });
  });

  it('answers a bad operation with its own response type and stays open', async () => {
    const raw = new Raw(port);
    await raw.ready;
    raw.send(message(4, searchOp('dc=x', 7))); // scope 7 does not exist
    await raw.until(() => raw.pdus.length === 1);
    expect(raw.pdus[0]).toMatchObject({ messageId: 4, opTag: 0x65, code: 2 });
    raw.send(message(5, searchOp('dc=x')));
    await raw.until(() => raw.pdus.length === 5);
    expect(raw.pdus.map((p) => p.opTag)).toEqual([0x65, 0x64, 0x64, 0x64, 0x65]);
    expect(raw.closed).toBe(false);
    raw.socket.destroy();
  });

  it('decodes an LDAPv2 bind and passes the version through', async () => {
    const raw = new Raw(port);
    await raw.ready;
    raw.send(message(1, tlv(0x60, int(2), str('cn=v2,dc=x'), str('pw', 0x80))));
    await raw.until(() => raw.pdus.length === 1);
    expect(raw.pdus[0]).toMatchObject({ messageId: 1, opTag: 0x61, code: 0 });
    expect(last('bind').req).toMatchObject({ version: 2, name: 'cn=v2,dc=x' });
    raw.socket.destroy();
  });

  it('abandon aborts the operation signal and suppresses its response', async () => {
    const raw = new Raw(port);
    await raw.ready;
    raw.send(message(2, searchOp('cn=slow')));
    await raw.until(() => last('search').ctx.messageId === 2 && (last('search').req as SearchRequest).base === 'cn=slow');
    raw.send(message(3, tlv(0x50, Buffer.from([2]))));
    await raw.until(() => fake.aborted.includes(2));
    expect(last('search').ctx.signal.aborted).toBe(true);
    // A later operation is answered; nothing was sent for the abandoned search.
    raw.send(message(4, tlv(0x4a, Buffer.from('cn=q'))));
    await raw.until(() => raw.pdus.length > 0);
    expect(raw.pdus).toEqual([{ messageId: 4, opTag: 0x6b, code: 0 }]);
    raw.socket.destroy();
  });

  it('starts a bind only after outstanding operations finish', async () => {
    fake.events.length = 0;
    const raw = new Raw(port);
    await raw.ready;
    // Pipelined: a slow delete, a bind, then a delete that must wait for the bind.
    raw.send(
      Buffer.concat([
        message(1, tlv(0x4a, Buffer.from('cn=wait'))),
        message(2, tlv(0x60, int(3), str('cn=admin,dc=x'), str('pw', 0x80))),
        message(3, tlv(0x4a, Buffer.from('cn=wait'))),
      ]),
    );
    await raw.until(() => raw.pdus.length === 3);
    expect(fake.events).toEqual(['delete-start', 'delete-end', 'bind', 'delete-start', 'delete-end']);
    expect(raw.pdus.map((p) => p.messageId)).toEqual([1, 2, 3]);
    raw.socket.destroy();
  });

  it('applies socket backpressure to search results', async () => {
    // Event-driven: no poll and no deadline but the test's own. The client stops reading until
    // the handler sees send() block, then counts whole PDUs as they arrive (incrementally, so the
    // cost does not grow with what was already received) until the SearchResultDone.
    const raw = new Raw(port, false);
    await raw.ready;
    raw.socket.pause();
    raw.send(message(7, searchOp('cn=big')));
    await fake.firstBackpressure;
    const pdus = await new Promise<Pdu[]>((resolve, reject) => {
      const got: Pdu[] = [];
      let pending = Buffer.alloc(0);
      raw.socket.on('data', (d: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, d]) : d;
        const { pdus: parsed, used } = parseFrames(pending);
        pending = pending.subarray(used);
        got.push(...parsed);
        if (got.at(-1)?.opTag === 0x65) resolve(got);
      });
      raw.socket.once('close', () => reject(new Error(`closed after ${got.length} PDUs`)));
      raw.socket.resume();
    });
    expect(pdus).toHaveLength(401);
    expect(pdus.at(-1)).toMatchObject({ messageId: 7, opTag: 0x65, code: 0 });
    raw.socket.destroy();
  }, 60_000);

  it('closes the connection on unbind and tells the handler', async () => {
    const before = fake.disconnects();
    const raw = new Raw(port);
    await raw.ready;
    raw.send(message(1, tlv(0x42, Buffer.alloc(0))));
    await raw.until(() => raw.closed);
    await raw.until(() => fake.disconnects() > before);
    expect(raw.pdus).toEqual([]);
  });

  it('answers OpenLDAP ldapsearch', async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number }>((resolve) => {
      execFile('/usr/bin/ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-b', 'dc=x', '(cn=a*)'], (err, stdout) =>
        resolve({ stdout, code: err ? ((err as { code?: number }).code ?? -1) : 0 }),
      );
    });
    expect(code).toBe(0);
    expect(stdout).toContain('dn: cn=a1,dc=x');
    expect(stdout).toContain('dn: cn=a3,dc=x');
    expect(stdout).toContain('# numEntries: 3');
    expect((last('search').req as SearchRequest).filter).toEqual({
      type: 'substrings',
      attribute: 'cn',
      initial: Buffer.from('a'),
      any: [],
    });
  });
});

describe('listener limits', () => {
  it('closes idle connections; over the limit an unauthenticated one makes room, a bound one is kept', async () => {
    const fake = fakeHandler();
    const server = await listen(['ldap://127.0.0.1:0'], {
      handler: fake.handler,
      maxPduSize: MAX_PDU,
      idleTimeout: 2000,
      maxConnections: 1,
      logger: silentLogger,
    });
    try {
      const port = Number(/:(\d+)$/.exec(server.urls[0]!)![1]);
      const first = new Raw(port);
      await first.ready;
      await sleep(50);
      // The first is unauthenticated: the newcomer evicts it rather than being refused.
      const second = new Raw(port);
      await first.until(() => first.closed);
      expect(second.closed).toBe(false);
      second.send(message(1, tlv(0x60, int(3), str('cn=bound'), str('pw', 0x80))));
      await second.until(() => second.pdus.length === 1);
      // Now bound: a newcomer finds no unauthenticated connection to evict and is refused: held
      // unread for the refusal hold, then closed, never answered.
      const third = new Raw(port);
      third.send(message(1, tlv(0x60, int(3), str('cn=bound'), str('pw', 0x80))));
      await sleep(500);
      expect(third.pdus).toHaveLength(0);
      expect(second.closed).toBe(false);
      await third.until(() => third.closed, 20_000);
      expect(third.pdus).toHaveLength(0);
      await second.until(() => second.closed, 5000);
    } finally {
      await server.close();
    }
  });

  it('rejects ldaps without TLS material and a port in use', async () => {
    const opts = { handler: fakeHandler().handler, maxPduSize: MAX_PDU, idleTimeout: 0, maxConnections: 0, logger: silentLogger };
    await expect(listen(['ldaps://127.0.0.1:0'], opts)).rejects.toThrow(/TLS/);
    const a = await listen(['ldap://127.0.0.1:0'], opts);
    try {
      await expect(listen([a.urls[0]!], opts)).rejects.toThrow(/cannot listen/);
    } finally {
      await a.close();
    }
  });
});

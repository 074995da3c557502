// Issue 11, item 1: an unauthenticated client cannot lock everyone out. Thousands of sockets each
// holding 3 bytes of an unfinished PDU (slow loris), clients that never bind, never send, or never
// read their results: the administrator over a fresh TCP connection and an ldapi EXTERNAL client
// still get in, and each kind of stuck connection is closed by its own deadline.

import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, bindPdu, closed, connect, searchPdu, startHardened, until, type Hardened } from './harness.js';

/** The start of an LDAPMessage whose 4-byte length never follows: 3 bytes, then silence. */
const PARTIAL_PDU = Buffer.from([0x30, 0x84, 0x00]);

/** Opens `n` sockets from loopback, each sending 3 bytes of a PDU it never finishes. */
async function slowLoris(url: string, n: number, from?: string): Promise<net.Socket[]> {
  const sockets: net.Socket[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () =>
        connect(url, from).then(
          (s) => {
            s.on('error', () => {});
            s.write(PARTIAL_PDU);
            return s;
          },
          () => undefined,
        ),
      ),
    );
    for (const s of batch) if (s) sockets.push(s);
  }
  return sockets;
}

function adminSearch(h: Hardened) {
  return runTool('ldapsearch', ['-LLL', '-H', h.url, ...bindArgs(ADMIN, 'secret'), '-b', B, '-s', 'base', 'dn'], { timeoutMs: 30_000 });
}

function externalSearch(h: Hardened) {
  return runTool('ldapsearch', ['-LLL', '-Q', '-Y', 'EXTERNAL', '-H', h.ldapi, '-b', B, '-s', 'base', 'dn'], { timeoutMs: 30_000 });
}

describe('unauthenticated flood', () => {
  let h: Hardened | undefined;
  let flood: net.Socket[] = [];
  afterEach(async () => {
    for (const s of flood) s.destroy();
    flood = [];
    await h?.stop();
    h = undefined;
  });

  it('a slow-loris flood past every limit leaves room for the admin over TCP and for ldapi EXTERNAL', async () => {
    h = await startHardened({ limits: { maxConnections: 120, maxConnectionsPerAddress: 100, reservedConnections: 20 } });
    flood = await slowLoris(h.url, 400);
    // Past the per-address cap, each new socket evicted the oldest unauthenticated one.
    await h.waitForLog(/evicting the oldest unauthenticated/);
    const admin = await adminSearch(h);
    expect(admin.stderr).toBe('');
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain(`dn: ${B}`);
    const ext = await externalSearch(h);
    expect(ext.code).toBe(0);
    expect(ext.stdout).toContain(`dn: ${B}`);
    await until(() => flood.filter((s) => !s.destroyed && !s.readableEnded).length <= 100, 30_000, 'the flood down to its cap');
  });

  it('a flood spread over many addresses cannot take the reserve kept for ldapi and bound sessions', async () => {
    h = await startHardened({ limits: { maxConnections: 120, maxConnectionsPerAddress: 100, reservedConnections: 40 } });
    // 4 x 60 sockets: no address reaches its cap of 100, together they pass the share of 80.
    for (const from of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) flood.push(...(await slowLoris(h.url, 60, from)));
    await h.waitForLog(/evicting the oldest unauthenticated/);
    const admin = await adminSearch(h);
    expect(admin.code).toBe(0);
    const ext = await externalSearch(h);
    expect(ext.code).toBe(0);
    const alive = flood.filter((s) => !s.destroyed && !s.readableEnded).length;
    expect(alive).toBeLessThanOrEqual(80);
  });

  it('bound sessions are never evicted: a flood after they bind leaves them working', async () => {
    h = await startHardened({ limits: { maxConnections: 60, maxConnectionsPerAddress: 50, reservedConnections: 10 } });
    const { Client } = await import('ldapts');
    const bound = Array.from({ length: 5 }, () => new Client({ url: h!.url, timeout: 20_000 }));
    for (const c of bound) await c.bind(ADMIN, 'secret');
    flood = await slowLoris(h.url, 200);
    await h.waitForLog(/evicting the oldest unauthenticated/);
    for (const c of bound) {
      const r = await c.search(B, { scope: 'base' });
      expect(r.searchEntries).toHaveLength(1);
      await c.unbind();
    }
  });

  it('at the default settings a flood from loopback does not stop the admin nor ldapi', async () => {
    h = await startHardened();
    const cfg = h.server.config.limits;
    // The flood: 4,200 sockets, past the default per-address cap and the old 4,096 limit.
    flood = await slowLoris(h.url, 4200);
    await h.waitForLog(/evicting the oldest unauthenticated/);
    const admin = await adminSearch(h);
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain(`dn: ${B}`);
    const ext = await externalSearch(h);
    expect(ext.code).toBe(0);
    // What is left of the flood fits in one address's share, once the refused sockets' hold ends.
    await until(
      () => flood.filter((s) => !s.destroyed && !s.readableEnded).length <= cfg.maxConnectionsPerAddress,
      30_000,
      'the flood down to one address share',
    );
  });
});

describe('deadlines for stuck connections', () => {
  let h: Hardened | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it('a half-sent PDU is cut off after pduTimeout, with a Notice of Disconnection', async () => {
    h = await startHardened({ limits: { pduTimeout: 1, anonymousIdleTimeout: 0 } });
    const s = await connect(h.url);
    const got: Buffer[] = [];
    s.on('data', (b: Buffer) => got.push(b));
    s.write(PARTIAL_PDU);
    await closed(s);
    await h.waitForLog(/incomplete request for 1000 ms, closing/);
    // The notice: an ExtendedResponse (0x78) with messageID 0 and the notice-of-disconnection OID.
    expect(Buffer.concat(got).toString('latin1')).toContain('1.3.6.1.4.1.1466.20036');
  });

  it('a connection that never binds is closed after anonymousIdleTimeout; a bound one stays', async () => {
    h = await startHardened({ limits: { anonymousIdleTimeout: 1, idleTimeout: 0 } });
    const { Client } = await import('ldapts');
    const bound = new Client({ url: h.url, timeout: 20_000 });
    await bound.bind(ADMIN, 'secret');
    const silent = await connect(h.url);
    await closed(silent);
    await h.waitForLog(/idle for 1000 ms without binding, closing/);
    // Event-ordered: the anonymous one is gone, the bound one, idle as long, still answers.
    const r = await bound.search(B, { scope: 'base' });
    expect(r.searchEntries).toHaveLength(1);
    await bound.unbind();
  });

  it('a client that never reads its results is dropped after writeTimeout', async () => {
    // 30 entries of 256 KiB: each search answers ~7.5 MiB, more than the socket buffers hold.
    const big = 'x'.repeat(256 * 1024);
    let ldif = '';
    for (let i = 0; i < 30; i++) ldif += `dn: cn=big${i},${B}\nobjectClass: person\ncn: big${i}\nsn: big\ndescription: ${big}\n\n`;
    h = await startHardened({ limits: { writeTimeout: 1 } }, { seedLdif: ldif });
    const s = await connect(h.url);
    s.on('error', () => {});
    s.pause(); // never reads
    s.write(bindPdu(1, ADMIN, 'secret'));
    for (let id = 2; id < 6; id++) s.write(searchPdu(id, B));
    await h.waitForLog(/client did not read its results for 1000 ms, closing/);
    // The server is fine for everybody else.
    const admin = await adminSearch(h);
    expect(admin.code).toBe(0);
    s.destroy();
  });
});

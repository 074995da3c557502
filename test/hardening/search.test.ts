// Issue 11, item 3 (the connection and protocol part): one search cannot stall the server. Every
// identity has a filter ceiling (adminLimitExceeded past it); a large filter is evaluated in time
// slices, so other clients keep being served, and it stops when its client goes away.

import net from 'node:net';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN,
  assertedSearchPdu,
  B,
  bindPdu,
  connect,
  nestedAnd,
  orOfSubstrings,
  searchPdu,
  startHardened,
  type Hardened,
} from './harness.js';

const ENTRIES = 24;
const TERMS = 20_000;

/** A garbage collector without --expose-gc: the flag set at run time, gc() taken from a fresh context. */
function collector(): () => void {
  v8.setFlagsFromString('--expose_gc');
  return vm.runInNewContext('gc') as () => void;
}

/** Big entries whose description (512 KiB of letters a-p) contains none of the needles (zq...). */
function bigLdif(): string {
  let text = '';
  for (let i = 0; i < 32 * 1024; i++) text += 'abcdefghijklmnop'[(i * 7) % 16]!.repeat(1 + (i % 3)) + ' ';
  text = text.slice(0, 512 * 1024);
  let ldif = '';
  for (let i = 0; i < ENTRIES; i++) ldif += `dn: cn=big${i},${B}\nobjectClass: person\ncn: big${i}\nsn: big\ndescription: ${text}\n\n`;
  return ldif;
}

/** Sends raw PDUs on a socket and collects the response bytes. */
function rawClient(s: net.Socket) {
  const got: Buffer[] = [];
  s.on('data', (b: Buffer) => got.push(b));
  s.on('error', () => {});
  return { bytes: () => Buffer.concat(got) };
}

/** The result code of search 2 after binding as dn; `search` builds that search's PDU. */
async function firstResultCode(
  h: Hardened,
  dn: string,
  password: string,
  filter: Buffer,
  search = (f: Buffer) => searchPdu(2, B, f),
): Promise<number> {
  // Raw PDUs: a client library would refuse or rewrite such filters before sending them.
  const s = await connect(h.url);
  const raw = rawClient(s);
  s.write(bindPdu(1, dn, password));
  s.write(search(filter));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const buf = raw.bytes();
    // The search done (0x65) for message 2: its first element is the enumerated result code.
    const i = buf.indexOf(Buffer.from([0x02, 0x01, 0x02, 0x65]));
    if (i >= 0) {
      const done = buf.subarray(i + 4);
      const lenBytes = done[0]! & 0x80 ? (done[0]! & 0x7f) + 1 : 1;
      s.destroy();
      return done[lenBytes + 2]!; // 0x0a 0x01 CODE
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('no search result');
}

describe('filter ceilings', () => {
  let h: Hardened;
  beforeAll(async () => {
    h = await startHardened();
  });
  afterAll(() => h.stop());

  const needles = (n: number) => Array.from({ length: n }, (_, i) => `zq${i}`);

  it('an ordinary user past the item ceiling gets adminLimitExceeded, under it an answer', async () => {
    const alice = `uid=alice,ou=people,${B}`;
    const terms = h.server.config.limits.filter.terms;
    expect(await firstResultCode(h, alice, 'alice-password', orOfSubstrings('cn', needles(terms + 1)))).toBe(11);
    expect(await firstResultCode(h, alice, 'alice-password', orOfSubstrings('cn', needles(terms - 2)))).toBe(0);
  });

  it('nesting past the ceiling gets adminLimitExceeded', async () => {
    const alice = `uid=alice,ou=people,${B}`;
    const depth = h.server.config.limits.filter.depth;
    expect(await firstResultCode(h, alice, 'alice-password', nestedAnd(depth))).toBe(11);
    expect(await firstResultCode(h, alice, 'alice-password', nestedAnd(depth - 1))).toBe(0);
  });

  it('an assertion control (RFC 4528) has the same ceiling', async () => {
    const alice = `uid=alice,ou=people,${B}`;
    const terms = h.server.config.limits.filter.terms;
    const asserted = (f: Buffer) => assertedSearchPdu(2, alice, f);
    expect(await firstResultCode(h, alice, 'alice-password', orOfSubstrings('cn', needles(terms + 1)), asserted)).toBe(11);
    // Under it the assertion is evaluated: no item holds, so assertionFailed (122).
    expect(await firstResultCode(h, alice, 'alice-password', orOfSubstrings('cn', needles(terms - 2)), asserted)).toBe(122);
  });

  it('administrators have a high but finite ceiling', async () => {
    const terms = h.server.config.limits.adminFilter.terms;
    expect(await firstResultCode(h, ADMIN, 'secret', orOfSubstrings('cn', needles(terms + 1)))).toBe(11);
    expect(await firstResultCode(h, ADMIN, 'secret', orOfSubstrings('cn', needles(1000)))).toBe(0);
  });
});

describe('a huge OR over big entries', () => {
  let h: Hardened;
  beforeAll(async () => {
    h = await startHardened({ log: { level: 'debug' } }, { seedLdif: bigLdif() });
  });
  afterAll(() => h.stop());

  it('does not stall other clients, stops when its client dies, and its memory is freed', async () => {
    const gc = collector();
    gc();
    const baseline = process.memoryUsage().heapUsed;
    const big = await connect(h.url);
    const raw = rawClient(big);
    big.write(bindPdu(1, ADMIN, 'secret'));
    big.write(
      searchPdu(
        2,
        B,
        orOfSubstrings(
          'description',
          Array.from({ length: TERMS }, (_, i) => `zq${i}`),
        ),
      ),
    );
    const conn = /conn=(\d+) op=2 large filter/.exec(await h.waitForLog(/op=2 large filter/))![1]!;

    const { Client } = await import('ldapts');
    const other = new Client({ url: h.url, timeout: 60_000 });
    await other.bind(`uid=alice,ou=people,${B}`, 'alice-password');
    for (let i = 0; i < 20; i++) {
      const r = await other.search(`uid=alice,ou=people,${B}`, { scope: 'base' });
      expect(r.searchEntries).toHaveLength(1);
    }
    // Event-ordered: the 20 searches are done while the big one has not answered yet (the only
    // bytes it received are the bind response: no entry matches, so its first search byte
    // would be the SearchResultDone).
    expect(h.logs.some((l) => l.includes(`conn=${conn} op=2 search result=`))).toBe(false);
    expect(raw.bytes().includes(Buffer.from([0x02, 0x01, 0x02, 0x65]))).toBe(false);

    big.destroy();
    await h.waitForLog(new RegExp(`conn=${conn} op=2 search stopped \\(abandoned or disconnected\\)`), 60_000);
    const after = await other.search(`uid=alice,ou=people,${B}`, { scope: 'base' });
    expect(after.searchEntries).toHaveLength(1);
    await other.unbind();

    gc();
    const grown = process.memoryUsage().heapUsed - baseline;
    expect(grown).toBeLessThan(48 * 1024 * 1024);
  });

  it('a client that sends the largest allowed filter and hangs up at once stops the work (compiling is sliced too)', async () => {
    const big = await connect(h.url);
    rawClient(big);
    big.write(bindPdu(1, ADMIN, 'secret'));
    const terms = h.server.config.limits.adminFilter.terms - 1;
    big.write(
      searchPdu(
        2,
        B,
        orOfSubstrings(
          'description',
          Array.from({ length: terms }, (_, i) => `zq${i}`),
        ),
      ),
    );
    const conn = /conn=(\d+) op=2 large filter/.exec(await h.waitForLog(/op=2 large filter/))![1]!;
    big.destroy();
    await h.waitForLog(new RegExp(`conn=${conn} op=2 search stopped \\(abandoned or disconnected\\)`), 60_000);
    expect(h.logs.some((l) => l.includes(`conn=${conn} op=2 search result=`))).toBe(false);
  });
});

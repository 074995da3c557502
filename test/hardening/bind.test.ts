// Issue 11, items 5 and 6 (bind part): parallel guesses share one budget, an attacker hammering
// the administrator's DN cannot slow the administrator's own bind from elsewhere by more than
// the configured shared delay, spraying DNs evicts one-off counters but never a hammered one,
// and the administrator's password may be a slappasswd hash, checked at the cost of any bind.

import { execFileSync } from 'node:child_process';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/access/passwords.js';
import { needsPadding } from '../../src/directory/bind.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, bindPdu, connect, startHardened, type Hardened } from './harness.js';

const ALICE = `uid=alice,ou=people,${B}`;
const BOB = `uid=bob,ou=people,${B}`;

/** The result code of the first BindResponse (0x61) on a raw socket. */
function bindResult(s: net.Socket): Promise<number> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    s.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      const i = buf.indexOf(0x61);
      // 0x61 LEN 0x0a 0x01 CODE
      if (i >= 0 && buf.length >= i + 5) resolve(buf[i + 4]!);
    });
    s.on('error', reject);
    s.on('close', () => reject(new Error('closed before the bind response')));
  });
}

/** One simple bind on a fresh raw connection (optionally from another loopback address). */
async function rawBind(url: string, dn: string, password: string, from?: string): Promise<number> {
  const s = await connect(url, from);
  try {
    const result = bindResult(s);
    s.write(bindPdu(1, dn, password));
    return await result;
  } finally {
    s.destroy();
  }
}

/** The sum of the delays the throttle imposes on failures number `from`..`to`-1. */
function cumulativeDelay(t: { freeAttempts: number; delayMs: number; maxDelayMs: number }, from: number, to: number): number {
  let sum = 0;
  for (let n = from; n < to; n++) if (n >= t.freeAttempts) sum += Math.min(t.delayMs * 2 ** (n - t.freeAttempts), t.maxDelayMs);
  return sum;
}

describe('bind throttling', () => {
  let h: Hardened | undefined;
  const sockets: net.Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await h?.stop();
    h = undefined;
  });

  it('20 parallel wrong binds take at least the cumulative delay, not the largest one', async () => {
    const throttle = { freeAttempts: 3, delayMs: 50, maxDelayMs: 200, sharedMaxDelayMs: 200 };
    h = await startHardened({ passwordScheme: 'SSHA', bindThrottle: throttle });
    const started = Date.now();
    const codes = await Promise.all(Array.from({ length: 20 }, () => rawBind(h!.url, ALICE, 'wrong')));
    const elapsed = Date.now() - started;
    expect(codes.every((c) => c === 49)).toBe(true);
    // A lower bound only: the server sleeps at least this long, whatever the machine's speed.
    expect(elapsed).toBeGreaterThanOrEqual(cumulativeDelay(throttle, 0, 20) - 20);
    expect(h.server.directory.throttle.failures(`dn:${h.server.directory.normalize(ALICE)}`)).toBe(20);
  });

  it('spraying more DNs than the table holds evicts one-off counters, never a hammered DN', async () => {
    const throttle = { freeAttempts: 3, delayMs: 300, maxDelayMs: 300, sharedMaxDelayMs: 300, tableSize: 32 };
    h = await startHardened({ passwordScheme: 'SSHA', bindThrottle: throttle });
    const t = h.server.directory.throttle;
    const bob = `dn:${h.server.directory.normalize(BOB)}`;
    for (let i = 0; i < 5; i++) expect(await rawBind(h.url, BOB, 'wrong')).toBe(49);
    for (let i = 0; i < 100; i++) expect(await rawBind(h.url, `uid=spray${i},ou=people,${B}`, 'wrong')).toBe(49);
    expect(t.failures(bob)).toBe(5);
    // The table is bounded: the first sprayed DNs are gone, the latest still counted.
    expect(t.failures(`dn:${h.server.directory.normalize(`uid=spray0,ou=people,${B}`)}`)).toBe(0);
    expect(t.failures(`dn:${h.server.directory.normalize(`uid=spray99,ou=people,${B}`)}`)).toBe(1);
    // And bob's next guess is still delayed (a lower bound: the server sleeps at least this).
    const started = Date.now();
    expect(await rawBind(h.url, BOB, 'wrong')).toBe(49);
    expect(Date.now() - started).toBeGreaterThanOrEqual(throttle.delayMs - 20);
  });

  it("an attacker hammering the admin DN does not hold up the admin's bind from another address or ldapi", async () => {
    const throttle = { freeAttempts: 3, delayMs: 500, maxDelayMs: 5000, sharedMaxDelayMs: 300 };
    h = await startHardened({ passwordScheme: 'SSHA', bindThrottle: throttle });
    // 30 parallel guesses from 127.0.0.1: their delays add up to about two minutes.
    let answered = 0;
    for (let i = 0; i < 30; i++) {
      const s = await connect(h.url);
      sockets.push(s);
      bindResult(s).then(
        () => answered++,
        () => {},
      );
      s.write(bindPdu(1, ADMIN, 'wrong'));
    }
    const shared = `dn:${h.server.directory.normalize(ADMIN)}`;
    while (h.server.directory.throttle.failures(shared) < 30) await new Promise((r) => setTimeout(r, 20));
    // The administrator, from 127.0.0.2 and over ldapi, gets in at once: the attacker's own
    // queue is not theirs, and the shared part of the delay is capped.
    expect(await rawBind(h.url, ADMIN, 'secret', '127.0.0.2')).toBe(0);
    const viaLdapi = await runTool('ldapwhoami', ['-H', h.ldapi, ...bindArgs(ADMIN, 'secret')]);
    expect(viaLdapi.stdout.trim()).toBe(`dn:${ADMIN}`);
    // Event-ordered: both happened while most of the attacker's guesses were still waiting.
    expect(answered).toBeLessThan(10);
  });
});

describe('hashed administrator password', () => {
  let h: Hardened | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  const slappasswd = (...args: string[]) => execFileSync('slappasswd', [...args, '-s', 'secret'], { encoding: 'utf8' }).trim();

  it.each([
    ['{SSHA} from slappasswd', () => slappasswd('-h', '{SSHA}')],
    ['{ARGON2} from slappasswd', () => slappasswd('-o', 'module-load=argon2.la', '-h', '{ARGON2}')],
    ['{PBKDF2-SHA512}', async () => hashPassword(Buffer.from('secret'), 'PBKDF2-SHA512')],
  ])('admin.password as %s: the right password binds, a wrong one does not', async (_name, make) => {
    const hash = await make();
    expect(hash).toMatch(/^\{[A-Z0-9-]+\}/);
    h = await startHardened({ admin: { password: hash } });
    const ok = await runTool('ldapwhoami', ['-H', h.url, ...bindArgs(ADMIN, 'secret')]);
    expect(ok.stdout.trim()).toBe(`dn:${ADMIN}`);
    const bad = await runTool('ldapwhoami', ['-H', h.url, ...bindArgs(ADMIN, 'hash-itself')]);
    expect(bad.code).toBe(49);
    const raw = await runTool('ldapwhoami', ['-H', h.url, ...bindArgs(ADMIN, hash)]);
    expect(raw.code).toBe(49); // the hash is not a password
  });

  it('a pool binding one DN at once is not held up by its own attempts in flight', async () => {
    // Delays far longer than 16 binds take: were they applied, the pool would wait seconds.
    const throttle = { freeAttempts: 1, delayMs: 20_000, maxDelayMs: 20_000, sharedMaxDelayMs: 20_000 };
    h = await startHardened({ passwordScheme: 'SSHA', bindThrottle: throttle });
    const started = Date.now();
    const codes = await Promise.all(Array.from({ length: 16 }, () => rawBind(h!.url, ALICE, 'alice-password')));
    expect(codes.every((c) => c === 0)).toBe(true);
    expect(Date.now() - started).toBeLessThan(throttle.delayMs);
    expect(h.server.directory.throttle.failures(`dn:${h.server.directory.normalize(ALICE)}`)).toBe(0);
  });

  it('every failed bind costs one check in the configured scheme: cleartext, fast hashes and unknown DNs are padded', () => {
    expect(needsPadding(['secret'], 'PBKDF2-SHA512')).toBe(true); // a cleartext admin password
    expect(needsPadding([slappasswd('-h', '{SSHA}')], 'PBKDF2-SHA512')).toBe(true);
    expect(needsPadding([], 'PBKDF2-SHA512')).toBe(true); // an unknown DN
    expect(needsPadding(['{PBKDF2-SHA512}100000$c2FsdA$aGFzaA'], 'PBKDF2-SHA512')).toBe(false);
    expect(needsPadding(['{SSHA}abc'], 'SSHA')).toBe(false);
  });
});

// A bounded fuzz of the front end: random bytes, valid LDAPMessages mutated bit by bit,
// truncated and oversized frames, deep nesting, over many concurrent connections. The server
// process must survive, other clients must keep working, and the store must be unchanged
// (the fuzzing identity is anonymous, so nothing it sends may write).

import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { int, msg, str, tlv } from '../helpers/ber.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');

/** A deterministic generator, so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Valid requests of every kind, to be mutated. */
function seeds(): Buffer[] {
  const filterEq = tlv(0xa3, Buffer.concat([str('cn'), str('x')]));
  const filterSub = tlv(0xa4, Buffer.concat([str('cn'), tlv(0x30, Buffer.concat([str('a', 0x80), str('b', 0x81), str('c', 0x82)]))]));
  const filterAnd = tlv(0xa0, Buffer.concat([filterEq, tlv(0x87, Buffer.from('objectClass')), tlv(0xa2, filterSub)]));
  const ext = tlv(0xa9, Buffer.concat([str('caseIgnoreMatch', 0x81), str('cn', 0x82), str('x', 0x83), tlv(0x84, Buffer.from([0xff]))]));
  const search = (f: Buffer) =>
    tlv(
      0x63,
      Buffer.concat([
        str(B),
        tlv(0x0a, Buffer.from([2])),
        tlv(0x0a, Buffer.from([0])),
        int(5),
        int(5),
        tlv(0x01, Buffer.from([0])),
        f,
        tlv(0x30, str('cn')),
      ]),
    );
  const attr = (t: string, v: string) => tlv(0x30, Buffer.concat([str(t), tlv(0x31, str(v))]));
  const ctrl = tlv(
    0xa0,
    tlv(0x30, Buffer.concat([str('1.2.840.113556.1.4.319'), tlv(0x01, Buffer.from([0])), str('\x30\x05\x02\x01\x05\x04\x00')])),
  );
  return [
    msg(1, tlv(0x60, Buffer.concat([int(3), str(`cn=admin,${B}`), str('wrong', 0x80)]))),
    msg(2, tlv(0x60, Buffer.concat([int(3), str(''), tlv(0xa3, Buffer.concat([str('EXTERNAL'), str('')]))]))),
    msg(3, search(filterAnd)),
    msg(4, search(ext)),
    msg(5, search(tlv(0xa2, tlv(0xa2, tlv(0xa2, filterEq)))), ctrl),
    msg(
      6,
      tlv(
        0x68,
        Buffer.concat([
          str(`cn=fuzz,${B}`),
          tlv(0x30, Buffer.concat([attr('objectClass', 'person'), attr('cn', 'fuzz'), attr('sn', 'z')])),
        ]),
      ),
    ),
    msg(
      7,
      tlv(
        0x66,
        Buffer.concat([
          str(`uid=alice,ou=people,${B}`),
          tlv(0x30, tlv(0x30, Buffer.concat([tlv(0x0a, Buffer.from([2])), attr('mail', 'x@y')]))),
        ]),
      ),
    ),
    msg(8, tlv(0x4a, Buffer.from(`cn=1000,ou=sip,${B}`))),
    msg(9, tlv(0x6c, Buffer.concat([str(`cn=1000,ou=sip,${B}`), str('cn=9'), tlv(0x01, Buffer.from([0xff]))]))),
    msg(10, tlv(0x6e, Buffer.concat([str(`cn=1000,ou=sip,${B}`), tlv(0x30, Buffer.concat([str('cn'), str('1000')]))]))),
    msg(11, tlv(0x77, Buffer.concat([str('1.3.6.1.4.1.4203.1.11.3', 0x80)]))),
    msg(12, tlv(0x77, Buffer.concat([str('1.3.6.1.4.1.4203.1.11.1', 0x80), str('\x30\x03\x80\x01x', 0x81)]))),
    msg(13, tlv(0x50, Buffer.from([3]))),
  ];
}

function mutate(b: Buffer, r: () => number): Buffer {
  const out = Buffer.from(b);
  const kind = Math.floor(r() * 6);
  const at = Math.floor(r() * out.length);
  switch (kind) {
    case 0: // flip bits
      for (let i = 0; i < 1 + Math.floor(r() * 4); i++) out[Math.floor(r() * out.length)]! ^= 1 << Math.floor(r() * 8);
      return out;
    case 1: // random byte
      out[at] = Math.floor(r() * 256);
      return out;
    case 2: // truncate
      return out.subarray(0, at);
    case 3: // insert garbage
      return Buffer.concat([out.subarray(0, at), randomBytes(1 + Math.floor(r() * 8)), out.subarray(at)]);
    case 4: // huge or indefinite length somewhere
      out[Math.min(at, out.length - 1)] = [0x80, 0x84, 0xff, 0x7f][Math.floor(r() * 4)]!;
      return out;
    default: // duplicate a slice
      return Buffer.concat([out, out.subarray(at)]);
  }
}

/** Sends bytes on a fresh connection and waits until the server closes it or a short time passes. */
function blast(port: number, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const done = () => {
      s.destroy();
      resolve();
    };
    s.on('error', done);
    s.on('close', done);
    s.on('data', () => {});
    s.on('connect', () => {
      for (const c of chunks) s.write(c);
      setTimeout(done, 150);
    });
  });
}

describe('fuzzed front end', () => {
  const dir = useTempDir('astldap-fuzz-');
  let server: SpawnedAstldap;
  let port: number;
  const exportAll = async () => {
    const r = await runTool('ldapsearch', ['-H', server.url, ...ADMIN, '-LLL', '-o', 'ldif-wrap=no', '-b', B, '*', '+']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    server = await spawnAstldap(['serve', '--data', path.join(dir(), 'data'), '--listen', 'ldap://127.0.0.1:0'], { cwd: dir() });
    port = Number(new URL(server.url).port);
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('survives random, mutated, truncated and oversized PDUs on many connections', async () => {
    const before = await exportAll();
    const r = rng(20261123);
    const base = seeds();
    // A client that stays connected the whole time and must keep getting answers.
    let rounds = 0;
    for (let round = 0; round < 12; round++) {
      const batch: Array<Promise<void>> = [];
      for (let c = 0; c < 20; c++) {
        const chunks: Buffer[] = [];
        const n = 1 + Math.floor(r() * 6);
        for (let i = 0; i < n; i++) {
          const pick = r();
          if (pick < 0.15) chunks.push(randomBytes(1 + Math.floor(r() * 64)));
          else if (pick < 0.2)
            chunks.push(Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])); // 2 GiB announced
          else if (pick < 0.25)
            chunks.push(Buffer.concat([Buffer.from([0x30, 0x82, 0x40, 0x00]), randomBytes(64)])); // truncated
          else chunks.push(mutate(base[Math.floor(r() * base.length)]!, r));
        }
        // Split writes at random points: framing must not depend on packet boundaries.
        const all = Buffer.concat(chunks);
        const cut = Math.floor(r() * all.length);
        batch.push(blast(port, [all.subarray(0, cut), all.subarray(cut)]));
      }
      await Promise.all(batch);
      rounds++;
      // Between rounds another client is served normally.
      const who = await runTool('ldapwhoami', ['-H', server.url, ...ADMIN]);
      expect(who.code, `round ${round}: ${who.stderr}`).toBe(0);
    }
    expect(rounds).toBe(12);
    expect(server.process.exitCode).toBeNull();
    // Deep nesting is refused without exhausting the stack.
    let deep = tlv(0xa3, Buffer.concat([str('cn'), str('x')]));
    for (let i = 0; i < 2000 && deep.length < 60000; i++) deep = tlv(0xa2, deep);
    await blast(port, [
      msg(
        99,
        tlv(
          0x63,
          Buffer.concat([
            str(B),
            tlv(0x0a, Buffer.from([2])),
            tlv(0x0a, Buffer.from([0])),
            int(0),
            int(0),
            tlv(0x01, Buffer.from([0])),
            deep,
            tlv(0x30, Buffer.alloc(0)),
          ]),
        ),
      ),
    ]);
    expect(server.process.exitCode).toBeNull();
    const after = await exportAll();
    expect(after).toBe(before);
  });
});

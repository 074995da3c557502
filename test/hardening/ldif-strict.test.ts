// Issue 25, rows G4, G5, G6 and the NUL byte: what RFC 2849 and RFC 4511 do not allow is refused
// with a clear error and its line, and nothing of it is stored. On the tree before this test:
// `QUJD=RA` was stored as "ABC", `!!!not*base64===` was called "not valid UTF-8", a DN with bytes
// that are not UTF-8 was stored with U+FFFD (through import and through a raw AddRequest, rc 0),
// a raw NUL in a plain value was stored, and a failed import into an empty database left the
// records before the failure there (so the corrected file then failed at line 1, "Already exists").

import { execFile } from 'node:child_process';
import net from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { bindRequest, msg, searchRequest, str, tlv } from '../helpers/ber.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const execFileP = promisify(execFile);
const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const BASE = `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n\ndn: ${P}\nobjectClass: organizationalUnit\nou: people\n`;
const person = (uid: string, extra = '') =>
  `dn: uid=${uid},${P}\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\n${extra}`;

describe('LDIF that RFC 2849 does not allow, through astldap import', () => {
  const dir = useTempDir('astldap-strict-');
  const data = (name: string) => path.join(dir(), name);
  const cli = (dataDir: string, ...args: string[]) =>
    execFileP(process.execPath, [CLI, ...args, '--data', dataDir], { cwd: dir(), maxBuffer: 64 << 20 }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const file = (name: string, text: string | Buffer) => {
    const f = path.join(dir(), name);
    writeFileSync(f, text);
    return f;
  };
  const dns = async (dataDir: string) => {
    const r = await cli(dataDir, 'export');
    expect(r.code, r.stderr).toBe(0);
    return parseLdifEntries(r.stdout).map((e) => e.dn);
  };

  it('G5: base64 that does not decode as RFC 4648 writes it: "invalid base64" and the line, nothing stored', async () => {
    for (const bad of ['QUJD=RA', '!!!not*base64===', 'QUJD\u00e9', 'QQ', 'QUJDRA=']) {
      const text = `${BASE}\n${person('b64', `description:: ${bad}\n`)}`;
      const d = data(`b64-${Buffer.from(bad).toString('hex')}`);
      const r = await cli(d, 'import', file('b64.ldif', text));
      expect(r.code, bad).toBe(1);
      expect(r.stderr).toContain('LDIF line 16: invalid base64');
      expect(await dns(d)).toEqual([]);
    }
    // Well-formed base64 (with and without padding) still loads.
    const d = data('b64-good');
    const ok = await cli(d, 'import', file('b64-ok.ldif', `${BASE}\n${person('b64', 'description:: QUJD\ndescription:: QUI=\n')}`));
    expect(ok.code, ok.stderr).toBe(0);
    const exp = await cli(d, 'export');
    expect(exp.stdout).toContain('description: ABC');
    expect(exp.stdout).toContain('description: AB');
  });

  it('a raw NUL in a plain value is refused with its line (RFC 2849: such a value is base64)', async () => {
    const d = data('nul');
    const r = await cli(d, 'import', file('nul.ldif', `${BASE}\n${person('nul', 'description: a\u0000b\n')}`));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('LDIF line 16: a NUL byte in the value of description');
    expect(await dns(d)).toEqual([]);
  });

  it('G4: a DN whose bytes are not UTF-8 (plain or base64) is refused, not stored as U+FFFD', async () => {
    const plain = Buffer.concat([
      Buffer.from(`${BASE}\ndn: uid=bad`),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(`,${P}\nobjectClass: account\nuid: bad\n`),
    ]);
    const d1 = data('utf8-plain');
    const r1 = await cli(d1, 'import', file('dn-plain.ldif', plain));
    expect(r1.code).toBe(1);
    expect(r1.stderr).toContain('LDIF line 11: not valid UTF-8');
    expect(await dns(d1)).toEqual([]);
    const b64 = Buffer.concat([Buffer.from(`uid=bad`), Buffer.from([0xc3, 0x28]), Buffer.from(`,${P}`)]).toString('base64');
    const d2 = data('utf8-b64');
    const r2 = await cli(d2, 'import', file('dn-b64.ldif', `${BASE}\ndn:: ${b64}\nobjectClass: account\nuid: bad\n`));
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain('LDIF line 11: invalid DN: not valid UTF-8');
    expect(await dns(d2)).toEqual([]);
  });

  it('G6: into an empty database an import is all or nothing, over several runs of the file', async () => {
    // 5,000 people: the failure (a duplicate DN) comes after two runs of 2,000 were written.
    const people = Array.from({ length: 5000 }, (_, i) => person(`g${i}`));
    people[4500] = person('g10');
    const d = data('all-or-nothing');
    const r = await cli(d, 'import', file('dup.ldif', `${BASE}\n${people.join('\n')}`));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/uid=g10,ou=people,dc=example,dc=domain \(LDIF line \d+\): Already exists/);
    expect(r.stderr).toContain('nothing was imported: the database is empty again');
    expect(await dns(d)).toEqual([]);
    // The corrected file then loads whole, as the message promised.
    people[4500] = person('g4500');
    const again = await cli(d, 'import', file('fixed.ldif', `${BASE}\n${people.join('\n')}`));
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('loaded 5002 records\n');
  });

  it('G6: into a database with entries, the error says which line to resume from, and resuming there works', async () => {
    const d = data('resume');
    expect((await cli(d, 'import', file('base.ldif', BASE))).code).toBe(0);
    const people = Array.from({ length: 3000 }, (_, i) => person(`r${i}`));
    people[2500] = person('r2500').replace(`sn: r2500\n`, '');
    const text = people.join('\n');
    const r = await cli(d, 'import', file('more.ldif', text));
    expect(r.code).toBe(1);
    const m =
      /the records before line (\d+) were applied, that one and the rest were not: correct it, then import the file from line \1 on \(tail -n \+\1 FILE\)/.exec(
        r.stderr,
      );
    expect(m, r.stderr).not.toBeNull();
    const line = Number(m![1]);
    expect(text.split('\n')[line - 1]).toBe(`dn: uid=r2500,${P}`);
    expect((await dns(d)).length).toBe(2 + 2500);
    people[2500] = person('r2500');
    const rest = people
      .join('\n')
      .split('\n')
      .slice(line - 1)
      .join('\n');
    const again = await cli(d, 'import', file('rest.ldif', rest));
    expect(again.code, again.stderr).toBe(0);
    expect((await dns(d)).length).toBe(2 + 3000);
  });
});

/** The result code of the first LDAPResult in `buf` with message ID `id`, if it is there. */
function resultCode(buf: Buffer, id: number): number | undefined {
  let p = 0;
  const len = (at: number): [number, number] => {
    const b = buf[at]!;
    if (b < 0x80) return [b, at + 1];
    let n = 0;
    for (let i = 0; i < (b & 0x7f); i++) n = n * 256 + buf[at + 1 + i]!;
    return [n, at + 1 + (b & 0x7f)];
  };
  while (p + 2 <= buf.length) {
    const [outerLen, body] = len(p + 1);
    if (body + outerLen > buf.length) return undefined;
    // messageID INTEGER, then the op: its first element is the ENUMERATED result code.
    const [idLen, idAt] = len(body + 1);
    const mid = buf.readUIntBE(idAt, idLen);
    const [, opBody] = len(idAt + idLen + 1);
    if (mid === id && buf[opBody] === 0x0a) return buf[opBody + 2];
    p = body + outerLen;
  }
  return undefined;
}

describe('G4: a DN that is not UTF-8 in a raw request', () => {
  let ast: InProcessAstldap;
  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true });
  });
  afterAll(async () => ast?.stop());

  it('AddRequest, ModifyRequest, DelRequest, search base, compare: invalidDNSyntax (34), nothing stored, the connection kept', async () => {
    const port = Number(new URL(ast.url).port);
    const socket = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    socket.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
    const wait = async (id: number) => {
      for (let i = 0; i < 200; i++) {
        const c = resultCode(got, id);
        if (c !== undefined) return c;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer to message ${id}`);
    };
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(bindRequest(1, `cn=admin,${B}`, 'secret'));
    expect(await wait(1)).toBe(0);
    const badDn = Buffer.concat([Buffer.from('uid=bad'), Buffer.from([0xff]), Buffer.from(`,${P}`)]);
    const dnTlv = tlv(0x04, badDn);
    const attr = (t: string, v: string) => tlv(0x30, Buffer.concat([str(t), tlv(0x31, str(v))]));
    socket.write(msg(2, tlv(0x68, Buffer.concat([dnTlv, tlv(0x30, Buffer.concat([attr('objectClass', 'account'), attr('uid', 'bad')]))]))));
    expect(await wait(2)).toBe(34);
    socket.write(
      msg(
        3,
        tlv(0x66, Buffer.concat([dnTlv, tlv(0x30, tlv(0x30, Buffer.concat([tlv(0x0a, Buffer.from([2])), attr('description', 'x')])))])),
      ),
    );
    expect(await wait(3)).toBe(34);
    socket.write(msg(4, tlv(0x4a, badDn)));
    expect(await wait(4)).toBe(34);
    socket.write(searchRequest(5, badDn, 0));
    expect(await wait(5)).toBe(34);
    socket.write(msg(6, tlv(0x6e, Buffer.concat([dnTlv, tlv(0x30, Buffer.concat([str('uid'), str('bad')]))]))));
    expect(await wait(6)).toBe(34);
    socket.destroy();
    // Nothing named uid=bad... was stored, under any spelling.
    const r = await runTool('ldapsearch', ['-H', ast.url, ...bindArgs(`cn=admin,${B}`, 'secret'), '-LLL', '-b', P, '(uid=bad*)', '1.1']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('');
  });
});

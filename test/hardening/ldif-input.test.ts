// Malformed LDIF (issue 11, item 8), through OpenLDAP's ldapadd and through `astldap import`.
// ldapadd (without -c) parses and sends one record at a time: the records before the bad one
// are added, the bad one and everything after it are not, and the tool names the line (a
// syntax error) or prints the server's result (an entry the schema refuses). `astldap import`
// parses the whole file first: a syntax error applies nothing and names the line; a record the
// server refuses names its line, nothing of it is stored, and the records before it stay, as
// with ldapadd. No entry is ever half-written.

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const execFileP = promisify(execFile);
const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');

const person = (uid: string, extra: string[] = []) =>
  [`dn: uid=${uid},${P}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${uid}`, `sn: ${uid}`, ...extra].join('\n');
/** Records joined by blank lines; returns the text and the first line of each record. */
function ldif(...records: string[]): { text: string; lines: number[] } {
  const lines: number[] = [];
  let at = 1;
  for (const r of records) {
    lines.push(at);
    at += r.split('\n').length + 1;
  }
  return { text: records.join('\n\n') + '\n', lines };
}
const BROKEN = (uid: string) => [`dn: uid=${uid},${P}`, 'objectClass: inetOrgPerson', 'this line is not LDIF', `uid: ${uid}`].join('\n');
const NO_SN = (uid: string) => [`dn: uid=${uid},${P}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${uid}`].join('\n');

describe('malformed LDIF through ldapadd', () => {
  let ast: InProcessAstldap;
  const exists = async (uid: string) =>
    (await runTool('ldapsearch', ['-H', ast.url, ...ADMIN, '-LLL', '-b', `uid=${uid},${P}`, '-s', 'base', '1.1'])).code === 0;

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true });
  });
  afterAll(async () => ast?.stop());

  it('a syntax error: the records before it are added, it and the rest are not; the tool names the line', async () => {
    const { text, lines } = ldif(person('la1'), person('la2'), BROKEN('la3'), person('la4'));
    const r = await runTool('ldapadd', ['-H', ast.url, ...ADMIN], { stdin: text });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`line ${lines[2]! + 2}|invalid format`, 'i'));
    expect([await exists('la1'), await exists('la2'), await exists('la3'), await exists('la4')]).toEqual([true, true, false, false]);
  });

  it('an entry the schema refuses: objectClassViolation, not stored, nothing after it sent', async () => {
    const { text } = ldif(person('lb1'), NO_SN('lb2'), person('lb3'));
    const r = await runTool('ldapadd', ['-H', ast.url, ...ADMIN], { stdin: text });
    expect(r.code).toBe(65);
    expect(r.stdout + r.stderr).toMatch(/uid=lb2/);
    expect([await exists('lb1'), await exists('lb2'), await exists('lb3')]).toEqual([true, false, false]);
  });
});

describe('malformed LDIF through astldap import', () => {
  const dir = useTempDir('astldap-import-');
  const cli = (...args: string[]) =>
    execFileP(process.execPath, [CLI, ...args, '--data', path.join(dir(), 'data')], { cwd: dir() }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
  const uids = async () => {
    const r = await cli('export');
    expect(r.code, r.stderr).toBe(0);
    return parseLdifEntries(r.stdout)
      .map((e) => e.attrs.get('uid')?.values[0])
      .filter((u): u is string => !!u && u.startsWith('i'));
  };
  const file = (name: string, text: string) => {
    const f = path.join(dir(), name);
    writeFileSync(f, text);
    return f;
  };

  // Into an empty directory an import takes exactly the file (as slapadd): the parents first.
  beforeAll(async () => {
    const base = [
      'dn: dc=example,dc=domain\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n',
      'dn: ou=people,dc=example,dc=domain\nobjectClass: organizationalUnit\nou: people\n',
    ].join('\n');
    const r = await cli('import', file('base.ldif', base));
    expect(r.code, r.stderr).toBe(0);
  });

  it('a syntax error: exit 1, the line named, nothing applied', async () => {
    const { text, lines } = ldif(person('ia1'), person('ia2'), BROKEN('ia3'), person('ia4'));
    const r = await cli('import', file('broken.ldif', text));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`LDIF line ${lines[2]! + 2}`);
    expect(await uids()).toEqual([]);
  });

  it('a record the server refuses: exit 1, its line named, it is not stored, the records before it are', async () => {
    const { text, lines } = ldif(person('ib1'), person('ib2'), NO_SN('ib3'), person('ib4'));
    const r = await cli('import', file('schema.ldif', text));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(LDIF line ${lines[2]})`);
    expect(r.stderr).toMatch(/sn|object class/i);
    expect((await uids()).sort()).toEqual(['ib1', 'ib2']);
  });

  it('an oversized entry is refused the same way (limits.maxEntrySize)', async () => {
    const { text, lines } = ldif(person('ic1'), person('ic2', [`description: ${'x'.repeat(1024 * 1024)}`]));
    const r = await cli('import', file('huge.ldif', text));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(LDIF line ${lines[1]})`);
    expect(r.stderr).toMatch(/maxEntrySize/);
    expect((await uids()).sort()).toEqual(['ib1', 'ib2', 'ic1']);
  });

  it('an entry whose parent is missing is named with the reason (the result carries no text)', async () => {
    const orphan = 'dn: uid=id1,ou=nowhere,dc=example,dc=domain\nobjectClass: account\nuid: id1\n';
    const r = await cli('import', file('orphan.ldif', orphan));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('uid=id1,ou=nowhere,dc=example,dc=domain (LDIF line 1): noSuchObject (32): its parent entry does not exist');
    expect((await uids()).sort()).toEqual(['ib1', 'ib2', 'ic1']);
  });
});

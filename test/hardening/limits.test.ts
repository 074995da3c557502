// Directory-level ceilings (issue 11, item 3): the size of a stored entry (limits.maxEntrySize,
// enforced in the one write path, so add, modify, modrdn and import all obey it, administrators
// included) and the entries one search may examine (limits.examineLimit per identity).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');
const BOB = bindArgs(`uid=bob,${P}`, 'bob-password');
const MiB = 1024 * 1024;

describe('entry size ceiling (default 1 MiB)', () => {
  let ast: InProcessAstldap;
  const modify = (dn: string, lines: string[]) =>
    runTool('ldapmodify', ['-H', ast.url, ...ADMIN], { stdin: [`dn: ${dn}`, 'changetype: modify', ...lines, '-', ''].join('\n') });
  const read = async (dn: string) => {
    const r = await runTool('ldapsearch', ['-H', ast.url, ...ADMIN, '-LLL', '-o', 'ldif-wrap=no', '-b', dn, '-s', 'base', 'description']);
    return parseLdifEntries(r.stdout)[0]?.attrs.get('description')?.values ?? [];
  };

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true, memory: false });
  });
  afterAll(async () => ast?.stop());

  it('refuses the modify that would pass it, with constraintViolation, leaving the entry as it was', async () => {
    const dn = `uid=alice,${P}`;
    const chunk = (i: number) => `description: ${String(i).repeat(300 * 1024)}`;
    for (let i = 1; i <= 3; i++) expect((await modify(dn, ['add: description', chunk(i)])).code).toBe(0);
    const before = await read(dn);
    expect(before).toHaveLength(3);
    const r = await modify(dn, ['add: description', chunk(4)]);
    expect(r.code, r.stderr).toBe(19);
    expect(r.stderr).toMatch(/maxEntrySize/);
    expect(await read(dn)).toEqual(before);
    // A replace that shrinks the entry is fine again.
    expect((await modify(dn, ['replace: description', 'description: small'])).code).toBe(0);
  });

  it('refuses an oversized add, and an import of one, storing nothing', async () => {
    const dn = `uid=huge,${P}`;
    const ldif = [
      `dn: ${dn}`,
      'objectClass: inetOrgPerson',
      'uid: huge',
      'cn: huge',
      'sn: huge',
      `description: ${'x'.repeat(MiB + 1)}`,
      '',
    ].join('\n');
    const r = await runTool('ldapadd', ['-H', ast.url, ...ADMIN], { stdin: ldif });
    expect(r.code, r.stderr).toBe(19);
    await expect(ast.server.importLdif(ldif)).rejects.toMatchObject({ code: 19 });
    const s = await runTool('ldapsearch', ['-H', ast.url, ...ADMIN, '-LLL', '-b', dn, '-s', 'base', '1.1']);
    expect(s.code).toBe(32);
  });

  it('holds for the administrator through ldapmodify -f with many small values too', async () => {
    const dn = `uid=bob,${P}`;
    const values = Array.from({ length: 1100 }, (_, i) => `description: v${i}-${'y'.repeat(1000)}`);
    const r = await modify(dn, ['add: description', ...values]);
    expect(r.code, r.stderr).toBe(19);
    expect(await read(dn)).toEqual([]);
  });
});

describe('per-search work ceiling (limits.examineLimit)', () => {
  let ast: InProcessAstldap;
  const search = (auth: string[], args: string[]) => runTool('ldapsearch', ['-H', ast.url, ...auth, '-LLL', '-o', 'ldif-wrap=no', ...args]);

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true, config: { limits: { examineLimit: 20, sizeLimit: 0 } } });
    const people = Array.from({ length: 40 }, (_, i) =>
      [`dn: uid=p${i},${P}`, 'objectClass: inetOrgPerson', `uid: p${i}`, `cn: person ${i}`, 'sn: many', ''].join('\n'),
    ).join('\n');
    const r = await runTool('ldapadd', ['-H', ast.url, ...ADMIN], { stdin: people });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => ast?.stop());

  // A scan (no index answers the filter) ends when the ceiling is reached; entries found before
  // it may have been sent. An indexed search knows its candidates first and sends none.
  it('an unindexed subtree search past the ceiling ends with adminLimitExceeded', async () => {
    const r = await search(BOB, ['-b', P, '(sn=many)', '1.1']);
    expect(r.code, r.stderr).toBe(11);
    const one = await search(BOB, ['-b', P, '-s', 'one', '(sn=many)', '1.1']);
    expect(one.code, one.stderr).toBe(11);
  });

  it('an indexed search with few candidates stays under it', async () => {
    const r = await search(BOB, ['-b', P, '(uid=p7)', '1.1']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseLdifEntries(r.stdout)).toHaveLength(1);
  });

  it('an indexed search whose candidates pass it is refused before any entry is read', async () => {
    const r = await search(BOB, ['-b', P, '(cn=person*)', '1.1']);
    expect(r.code, r.stderr).toBe(11);
    expect(parseLdifEntries(r.stdout)).toHaveLength(0);
  });

  it('administrators have their own, higher ceiling', async () => {
    const r = await search(ADMIN, ['-b', P, '(sn=many)', '1.1']);
    expect(r.code, r.stderr).toBe(0);
    expect(parseLdifEntries(r.stdout)).toHaveLength(40);
  });
});

describe('limits configuration', () => {
  it('defaults: 1 MiB entries, 100,000 examined entries (10,000,000 for administrators)', () => {
    const l = loadConfig({ env: {} }).limits;
    expect([l.maxEntrySize, l.examineLimit, l.privilegedExamineLimit]).toEqual([MiB, 100_000, 10_000_000]);
  });

  it('refuses negative or fractional values', () => {
    for (const bad of [{ maxEntrySize: -1 }, { examineLimit: 1.5 }, { privilegedExamineLimit: -2 }]) {
      expect(() => loadConfig({ overrides: { limits: bad }, env: {} })).toThrow(ConfigError);
    }
  });
});

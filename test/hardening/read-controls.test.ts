// Pre-read and post-read controls (RFC 4527; issue 11, item 8): the entry they return is the one
// the writer may read. A user allowed to write one attribute of another entry gets that entry's
// readable attributes back, never its userPassword, even when asking for it by name or with *;
// the administrator, asking the same, does get it (the entry has one: the control hides it).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAccess } from '../../src/config/config.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ALICE = `uid=alice,ou=people,${B}`;
const BOB = bindArgs(`uid=bob,ou=people,${B}`, 'bob-password');
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');

/** The entries ldapmodify prints from the response controls, by control. */
function readBlocks(stdout: string): Record<string, ReturnType<typeof parseLdifEntries>> {
  const out: Record<string, ReturnType<typeof parseLdifEntries>> = {};
  for (const m of stdout.matchAll(/# ==> (preread|postread)\n([\s\S]*?)# <== \1/g)) out[m[1]!] = parseLdifEntries(m[2]!);
  return out;
}

describe('pre-read and post-read controls respect read access', () => {
  let ast: InProcessAstldap;
  const modify = (auth: string[], controls: string[], value: string) =>
    runTool('ldapmodify', ['-H', ast.url, ...auth, ...controls.flatMap((c) => ['-e', c])], {
      stdin: `dn: ${ALICE}\nchangetype: modify\nreplace: description\ndescription: ${value}\n`,
    });

  beforeAll(async () => {
    const rules = defaultAccess(B);
    // bob may write alice's description (and, by the default rules, read her entry but not her password).
    const bobWrites = { to: `dn:${ALICE}`, attrs: ['description'], by: [{ who: `dn:uid=bob,ou=people,${B}`, level: 'write' as const }] };
    ast = await startAstldap({ packagedSeed: true, config: { access: [rules[0]!, bobWrites, ...rules.slice(1)] } });
  });
  afterAll(async () => ast?.stop());

  for (const controls of [
    ['preread=*', 'postread=*'],
    ['preread=*,+', 'postread=*,+'],
    ['preread=userPassword,description', 'postread=userPassword,description'],
  ]) {
    it(`a user's modify with ${controls.join(' ')}: no userPassword`, async () => {
      const r = await modify(BOB, controls, `set with ${controls[0]}`);
      expect(r.code, r.stderr).toBe(0);
      const blocks = readBlocks(r.stdout);
      expect(Object.keys(blocks).sort()).toEqual(['postread', 'preread']);
      for (const [name, [entry]] of Object.entries(blocks)) {
        expect(entry, name).toBeDefined();
        expect(entry!.attrs.has('userpassword'), `${name} shows userPassword`).toBe(false);
      }
      expect(blocks.postread![0]!.attrs.get('description')!.values).toEqual([`set with ${controls[0]}`]);
      expect(r.stdout, r.stdout).not.toMatch(/^userPassword/im);
    });
  }

  it('the administrator asking the same gets it: the entry has one', async () => {
    const r = await modify(ADMIN, ['preread=userPassword', 'postread=userPassword'], 'by the admin');
    expect(r.code, r.stderr).toBe(0);
    const blocks = readBlocks(r.stdout);
    expect(blocks.preread![0]!.attrs.has('userpassword')).toBe(true);
    expect(blocks.postread![0]!.attrs.has('userpassword')).toBe(true);
  });

  it('a write the user may not do returns no entry at all', async () => {
    const r = await runTool('ldapmodify', ['-H', ast.url, ...BOB, '-e', 'preread=*', '-e', 'postread=*'], {
      stdin: `dn: ${ALICE}\nchangetype: modify\nreplace: telephoneNumber\ntelephoneNumber: +1 555 0000\n`,
    });
    expect(r.code).toBe(50);
    expect(r.stdout).not.toMatch(/# ==>/);
  });
});

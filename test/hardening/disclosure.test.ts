// Enumeration (issue 11, item 4): slapd's `disclose` semantics. For every identity of the default
// rules (anonymous, an ordinary user, the Asterisk service identity) and every operation on an
// entry, an entry the identity may not see and an absent sibling get the same answer: exit code,
// result code, matched DN and message, as OpenLDAP's tools print them (the target DN masked).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { bindArgs, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
type Id = 'anon' | 'user' | 'asterisk';
const CREDS: Record<Exclude<Id, 'anon'>, [string, string]> = {
  user: [`uid=bob,ou=people,${B}`, 'bob-password'],
  asterisk: [`cn=asterisk,ou=services,${B}`, 'asterisk'],
};

/** [identity, an existing entry it may not see, an absent sibling of it]. */
const PAIRS: Array<[Id, string, string]> = [
  ['anon', `uid=alice,ou=people,${B}`, `uid=nobody,ou=people,${B}`],
  ['anon', `cn=1000,ou=voicemail,${B}`, `cn=9999,ou=voicemail,${B}`],
  ['user', `cn=1000,ou=voicemail,${B}`, `cn=9999,ou=voicemail,${B}`],
  ['asterisk', `uid=alice,ou=people,${B}`, `uid=nobody,ou=people,${B}`],
  // Under a parent the identity sees (the suffix): slapd answers these two differently (no
  // matchedDN for the hidden one, the suffix for the absent one); astldap gives both the suffix.
  ['user', `ou=voicemail,${B}`, `ou=nothere,${B}`],
];

type Op = { name: string; tool: LdapTool; args: (dn: string) => string[]; stdin?: (dn: string) => string };
const OPS: Op[] = [
  ...(['base', 'one', 'sub'] as const).map((s): Op => ({
    name: `search ${s}`,
    tool: 'ldapsearch',
    args: (dn) => ['-LLL', '-b', dn, '-s', s, '(objectClass=*)'],
  })),
  { name: 'search below it', tool: 'ldapsearch', args: (dn) => ['-LLL', '-b', `cn=x,${dn}`, '-s', 'base'] },
  { name: 'compare', tool: 'ldapcompare', args: (dn) => [dn, 'objectClass:top'] },
  { name: 'compare of a missing attribute', tool: 'ldapcompare', args: (dn) => [dn, 'description:x'] },
  {
    name: 'modify',
    tool: 'ldapmodify',
    args: () => [],
    stdin: (dn) => `dn: ${dn}\nchangetype: modify\nreplace: description\ndescription: x\n`,
  },
  {
    name: 'modify of a registration attribute',
    tool: 'ldapmodify',
    args: () => [],
    stdin: (dn) => `dn: ${dn}\nchangetype: modify\nreplace: AstAccountIPAddress\nAstAccountIPAddress: 192.0.2.9\n`,
  },
  { name: 'delete', tool: 'ldapdelete', args: (dn) => [dn] },
  { name: 'modrdn', tool: 'ldapmodrdn', args: (dn) => [dn, 'cn=renamed'] },
  { name: 'modrdn to another parent', tool: 'ldapmodrdn', args: (dn) => ['-s', `ou=sip,${B}`, dn, 'cn=renamed'] },
  { name: 'password modify', tool: 'ldappasswd', args: (dn) => ['-s', 'new-password', dn] },
];

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('disclosure: a hidden entry answers as an absent one', () => {
  let ast: InProcessAstldap;
  const run = async (id: Id, op: Op, dn: string) => {
    const r = await runTool(op.tool, ['-H', ast.url, ...(id === 'anon' ? bindArgs() : bindArgs(...CREDS[id])), ...op.args(dn)], {
      stdin: op.stdin?.(dn),
    });
    const mask = (s: string) => s.replace(new RegExp(escapeRe(dn), 'gi'), '<target>');
    return { code: r.code, out: mask(r.stdout), err: mask(r.stderr) };
  };

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true });
  });
  afterAll(async () => ast?.stop());

  for (const [id, hidden, absent] of PAIRS) {
    it(`${id}: ${hidden.split(',').slice(0, 2).join(',')} vs ${absent.split(',')[0]}`, async () => {
      for (const op of OPS) {
        const a = await run(id, op, hidden);
        const b = await run(id, op, absent);
        expect(a, `${op.name} as ${id}`).toEqual(b);
        // Nothing was changed or revealed: every answer is a failure.
        expect(a.code, `${op.name} as ${id}: ${a.err}`).not.toBe(0);
      }
    });
  }

  it('below a hidden entry and below an absent one: the same matchedDN (slapd differs here)', async () => {
    for (const op of OPS) {
      const a = await run('user', op, `cn=x,ou=voicemail,${B}`);
      const b = await run('user', op, `cn=x,ou=nothere,${B}`);
      expect({ ...a, err: a.err.replace('ou=voicemail', 'ou=P'), out: a.out.replace('ou=voicemail', 'ou=P') }, op.name).toEqual({
        ...b,
        err: b.err.replace('ou=nothere', 'ou=P'),
        out: b.out.replace('ou=nothere', 'ou=P'),
      });
    }
  });

  it('matchedDN is the deepest ancestor the identity may see', async () => {
    // bob sees the suffix but not ou=voicemail: the suffix is the matched DN, below a hidden entry too.
    const r = await run('user', OPS[3]!, `cn=1000,ou=voicemail,${B}`);
    expect(r.code).toBe(32);
    expect(r.err).toMatch(new RegExp(`Matched DN: ${escapeRe(B)}\\s*$`, 'mi'));
    // Anonymous sees no entry at all: no matched DN.
    const anon = await run('anon', OPS[3]!, `uid=alice,ou=people,${B}`);
    expect(anon.code).toBe(32);
    expect(anon.err).not.toMatch(/matched DN/i);
    // An entry the identity may see is the matched DN of its absent child.
    const seen = await run('user', OPS[3]!, `uid=alice,ou=people,${B}`);
    expect(seen.err).toMatch(/Matched DN: <target>\s*$/im); // the masked uid=alice,ou=people,...
  });
});

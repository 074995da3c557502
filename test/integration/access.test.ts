// The access-control matrix with OpenLDAP's tools: for each default rule, an allowed and a
// denied case per identity (anonymous, an ordinary user, the Asterisk service identity, the
// administrator); group rules that follow membership changes at once; per-identity size limits;
// failed binds that slow down.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
type Id = 'anon' | 'alice' | 'bob' | 'asterisk' | 'admin';
const CREDS: Record<Exclude<Id, 'anon'>, [string, string]> = {
  alice: [`uid=alice,ou=people,${B}`, 'alice-password'],
  bob: [`uid=bob,ou=people,${B}`, 'bob-password'],
  asterisk: [`cn=asterisk,ou=services,${B}`, 'asterisk'],
  admin: [`cn=admin,${B}`, 'secret'],
};
const PEER = `cn=1000,ou=sip,${B}`;

describe('access control: the default rules', () => {
  let ast: InProcessAstldap;
  const as = (id: Id, t: LdapTool, args: string[], stdin?: string) =>
    runTool(t, ['-H', ast.url, ...(id === 'anon' ? bindArgs() : bindArgs(...CREDS[id])), ...args], { stdin });
  const search = (id: Id, args: string[]) => as(id, 'ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', ...args]);
  const modify = (id: Id, dn: string, attr: string, value: string) =>
    as(id, 'ldapmodify', [], `dn: ${dn}\nchangetype: modify\nreplace: ${attr}\n${attr}: ${value}\n`);

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true, config: { limits: { sizeLimit: 2 } } });
  });
  afterAll(async () => ast?.stop());

  it('anonymous: the root DSE and the subschema, nothing else', async () => {
    const dse = await search('anon', ['-b', '', '-s', 'base', 'namingContexts']);
    expect(dse.stdout).toContain(`namingContexts: ${B}`);
    const sub = await search('anon', ['-b', 'cn=Subschema', '-s', 'base', 'objectClasses']);
    expect(sub.stdout).toContain("NAME 'AsteriskSIPUser'");
    expect((await search('anon', ['-b', B])).code).toBe(32);
    expect((await search('anon', ['-b', PEER, '-s', 'base'])).code).toBe(32);
    expect((await as('anon', 'ldapcompare', [PEER, 'cn:1000'])).code).toBe(32);
    expect((await modify('anon', PEER, 'AstAccountIPAddress', '192.0.2.1')).code).toBe(50);
  });

  it('userPassword: administrators only, not even its owner', async () => {
    const admin = await search('admin', ['-b', CREDS.alice[0], '-s', 'base', 'userPassword']);
    expect(attrValues(parseLdifEntries(admin.stdout)[0]!, 'userPassword')).toHaveLength(1);
    for (const id of ['alice', 'bob', 'asterisk'] as const) {
      const r = await search(id, ['-b', CREDS.alice[0], '-s', 'base', 'userPassword']);
      expect(r.stdout).not.toMatch(/userPassword/i);
    }
    // A filter cannot probe it either.
    const probe = await search('bob', ['-b', `ou=people,${B}`, '(userPassword=*)', 'dn']);
    expect(probe.stdout).toBe('');
    // Its owner can still bind with it.
    expect((await as('alice', 'ldapwhoami', [])).code).toBe(0);
  });

  it('the Asterisk identity: reads the realtime subtrees, writes registration attributes only', async () => {
    const peers = await search('asterisk', ['-b', `ou=sip,${B}`, '(objectClass=AsteriskSIPUser)', 'cn', 'AstAccountRealmedPassword']);
    expect(peers.code, peers.stderr).toBe(0);
    expect(parseLdifEntries(peers.stdout).length).toBeGreaterThanOrEqual(2);
    expect(peers.stdout).toMatch(/AstAccountRealmedPassword: \{md5\}/);
    const ok = await modify('asterisk', PEER, 'AstAccountIPAddress', '192.0.2.10');
    expect(ok.code, ok.stderr).toBe(0);
    const denied = await modify('asterisk', PEER, 'AstAccountCallerID', 'evil <666>');
    expect(denied.code).toBe(50);
    expect((await search('asterisk', ['-b', `ou=people,${B}`])).code).toBe(32);
    expect((await as('asterisk', 'ldapdelete', [PEER])).code).toBe(50);
  });

  it('ordinary users: read people and services, not the realtime data; no writes', async () => {
    const people = await search('alice', ['-b', `ou=people,${B}`, '(uid=bob)', 'mail']);
    expect(people.stdout).toContain('mail: bob@example.domain');
    expect((await search('alice', ['-b', PEER, '-s', 'base'])).code).toBe(32);
    const sipScan = await search('alice', ['-b', B, '(objectClass=AsteriskSIPUser)', 'dn']);
    expect(sipScan.stdout).toBe('');
    expect((await modify('alice', CREDS.alice[0], 'mail', 'x@example.domain')).code).toBe(50);
  });

  it('administrators: everything', async () => {
    expect((await modify('admin', PEER, 'AstAccountCallerID', 'Alice <1000>')).code).toBe(0);
    const all = await search('admin', ['-b', B, 'dn']);
    expect(parseLdifEntries(all.stdout).length).toBeGreaterThan(10);
  });

  it('size limits apply per identity: none for the Asterisk identity and administrators', async () => {
    expect((await search('alice', ['-b', `ou=people,${B}`, '(uid=*)', 'dn'])).code).toBe(0);
    const many = await search('alice', ['-b', `ou=people,${B}`, '(objectClass=*)', 'dn']);
    expect(many.code).toBe(4);
    const svc = await search('asterisk', ['-b', `ou=sip,${B}`, '(objectClass=*)', 'dn']);
    expect(svc.code, svc.stderr).toBe(0);
    expect(parseLdifEntries(svc.stdout).length).toBe(3);
  });

  it('a wrong password and an unknown DN both answer invalidCredentials; failures slow down', async () => {
    const unknown = await runTool('ldapwhoami', ['-H', ast.url, ...bindArgs(`uid=nobody,ou=people,${B}`, 'x')]);
    expect(unknown.code).toBe(49);
    expect(unknown.stderr).toMatch(/Invalid credentials \(49\)/);
    const times: number[] = [];
    for (let i = 0; i < 6; i++) {
      const t0 = Date.now();
      const r = await runTool('ldapwhoami', ['-H', ast.url, ...bindArgs(CREDS.bob[0], 'wrong')]);
      times.push(Date.now() - t0);
      expect(r.code).toBe(49);
    }
    // The 4th attempt waits at least 100 ms, the 6th at least 400 ms (then up to 5 s).
    expect(times[5]!).toBeGreaterThanOrEqual(400);
    // The right password still works (after its wait) and clears the count for the DN.
    expect((await as('bob', 'ldapwhoami', [])).code).toBe(0);
  });
});

describe('access control: configured rules with groups', () => {
  let ast: InProcessAstldap;
  const staff = `cn=staff,ou=people,${B}`;
  beforeAll(async () => {
    ast = await startAstldap({
      packagedSeed: true,
      config: {
        access: [
          {
            to: `subtree:ou=sip,${B}`,
            by: [
              { who: `group:${staff}`, level: 'write' },
              { who: 'users', level: 'search' },
            ],
          },
          { to: '*', by: [{ who: 'users', level: 'read' }] },
        ],
      },
    });
  });
  afterAll(async () => ast?.stop());

  it('membership changes apply at once', async () => {
    const bob = bindArgs(...CREDS.bob);
    const change = `dn: ${PEER}\nchangetype: modify\nreplace: AstAccountCallerID\nAstAccountCallerID: Staff <1000>\n`;
    expect((await runTool('ldapmodify', ['-H', ast.url, ...bob], { stdin: change })).code).toBe(50);
    const group = `dn: ${staff}\nobjectClass: groupOfNames\ncn: staff\nmember: ${CREDS.bob[0]}\n`;
    const add = await runTool('ldapadd', ['-H', ast.url, ...bindArgs(...CREDS.admin)], { stdin: group });
    expect(add.code, add.stderr).toBe(0);
    const now = await runTool('ldapmodify', ['-H', ast.url, ...bob], { stdin: change });
    expect(now.code, now.stderr).toBe(0);
    // search level: entries are found, but attributes are not returned
    const alice = await runTool('ldapsearch', ['-H', ast.url, ...bindArgs(...CREDS.alice), '-LLL', '-b', PEER, '-s', 'base', 'cn']);
    expect(alice.code).toBe(0);
    expect(alice.stdout).toContain(`dn: ${PEER}`);
    expect(alice.stdout).not.toContain('cn: 1000');
  });
});

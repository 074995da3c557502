// The built server (dist/cli/main.js, packaged config and seed, a temp data dir) driven by
// OpenLDAP's own command-line tools, with LDIF files; outputs and exit codes asserted.

import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const USER_LDIF = path.join(repoRoot, 'test/fixtures/createduser.ldif');
const USER_DN = `cn=2000,ou=sip,${B}`;

describe('ldap-utils against the built server', () => {
  const dir = useTempDir('astldap-tools-');
  let server: SpawnedAstldap;
  const serve = () => spawnAstldap(['serve', '--data', path.join(dir(), 'data'), '--listen', 'ldap://127.0.0.1:0'], { cwd: dir() });
  const tool = (t: LdapTool, args: string[], who: 'anon' | 'admin' = 'admin', stdin?: string) =>
    runTool(t, ['-H', server.url, ...(who === 'admin' ? bindArgs(...ADMIN) : bindArgs()), ...args], { stdin });
  const search = (args: string[], who: 'anon' | 'admin' = 'admin') => tool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', ...args], who);

  beforeAll(async () => {
    server = await serve();
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('ldapsearch lists the seed (to the administrator; anonymous sees the root DSE only)', async () => {
    const plain = await tool('ldapsearch', ['-b', B]);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stdout).toMatch(/^result: 0 Success$/m);
    expect(plain.stdout).toMatch(/^# numEntries: 16$/m);
    const anonymous = await tool('ldapsearch', ['-b', B], 'anon');
    expect(anonymous.code).toBe(32);
    const dse = await tool('ldapsearch', ['-b', '', '-s', 'base', 'namingContexts'], 'anon');
    expect(dse.stdout).toContain(`namingContexts: ${B}`);
    const r = await search(['-b', B, '-s', 'one', '(objectClass=organizationalUnit)', 'ou']);
    expect(r.code, r.stderr).toBe(0);
    const ous = parseLdifEntries(r.stdout)
      .map((e) => attrValues(e, 'ou')[0])
      .sort();
    expect(ous).toEqual(['config', 'extensions', 'people', 'queues', 'services', 'sip', 'voicemail']);
    const base = await search(['-b', B, '-s', 'base']);
    expect(base.code).toBe(0);
    expect(attrValues(parseLdifEntries(base.stdout)[0]!, 'dc')).toEqual(['example']);
  });

  it('ldapadd -f createduser.ldif, then ldapsearch returns it', async () => {
    const r = await tool('ldapadd', ['-f', USER_LDIF]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`adding new entry "${USER_DN}"`);
    await expectCreatedUser();
  });

  it('the added entry survives a SIGTERM restart on the same data dir', async () => {
    const exit = await server.kill('SIGTERM');
    expect(exit).toBe(0);
    server = await serve();
    await expectCreatedUser();
  });

  it('the subschema entry lists the Asterisk classes', async () => {
    const r = await search(['-b', 'cn=subschema', '-s', 'base', '+']);
    expect(r.code, r.stderr).toBe(0);
    const [e] = parseLdifEntries(r.stdout);
    const classes = attrValues(e!, 'objectClasses').join('\n');
    expect(classes).toMatch(/NAME 'AsteriskSIPUser'/);
    expect(classes).toMatch(/NAME 'AsteriskAccount'/);
    expect(attrValues(e!, 'attributeTypes').join('\n')).toMatch(/NAME 'AstAccountName'/);
  });

  it('ldapmodify changes attributes', async () => {
    const change = [
      `dn: ${USER_DN}`,
      'changetype: modify',
      'replace: AstAccountHost',
      'AstAccountHost: 192.0.2.5',
      '-',
      'add: AstAccountContext',
      'AstAccountContext: default',
      '-',
      '',
    ].join('\n');
    const r = await tool('ldapmodify', [], 'admin', change);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`modifying entry "${USER_DN}"`);
    const s = await search(['-b', USER_DN, '-s', 'base', 'AstAccountHost', 'AstAccountContext']);
    const [e] = parseLdifEntries(s.stdout);
    expect(attrValues(e!, 'AstAccountHost')).toEqual(['192.0.2.5']);
    expect(attrValues(e!, 'AstAccountContext')).toEqual(['default']);
    const bad = await tool(
      'ldapmodify',
      [],
      'admin',
      [`dn: ${USER_DN}`, 'changetype: modify', 'delete: AstAccountMailbox', '-', ''].join('\n'),
    );
    expect(bad.code).toBe(16);
  });

  it('ldapmodrdn renames', async () => {
    const r = await tool('ldapmodrdn', ['-r', USER_DN, 'cn=2002']);
    expect(r.code, r.stderr).toBe(0);
    const gone = await search(['-b', USER_DN, '-s', 'base']);
    expect(gone.code).toBe(32);
    const s = await search(['-b', `cn=2002,ou=sip,${B}`, '-s', 'base', 'cn']);
    expect(s.code).toBe(0);
    expect(attrValues(parseLdifEntries(s.stdout)[0]!, 'cn')).toEqual(['2002']);
    const dup = await tool('ldapmodrdn', [`cn=2002,ou=sip,${B}`, 'cn=1000']);
    expect(dup.code).toBe(68);
  });

  it('ldapcompare answers TRUE and FALSE', async () => {
    const t = await tool('ldapcompare', [`cn=2002,ou=sip,${B}`, 'AstExtension:2000']);
    expect(t.code, t.stderr).toBe(6);
    expect(t.stdout.trim()).toBe('TRUE');
    const f = await tool('ldapcompare', [`cn=2002,ou=sip,${B}`, 'AstExtension:2001']);
    expect(f.code).toBe(5);
    expect(f.stdout.trim()).toBe('FALSE');
    const m = await tool('ldapcompare', [`cn=9999,ou=sip,${B}`, 'cn:9999']);
    expect(m.code).toBe(32);
  });

  it('ldapdelete removes the entry', async () => {
    const r = await tool('ldapdelete', [`cn=2002,ou=sip,${B}`]);
    expect(r.code, r.stderr).toBe(0);
    const s = await search(['-b', `cn=2002,ou=sip,${B}`, '-s', 'base']);
    expect(s.code).toBe(32);
    expect(s.stderr).toMatch(/Matched DN: ou=sip,dc=example,dc=domain/);
    const again = await tool('ldapdelete', [`cn=2002,ou=sip,${B}`]);
    expect(again.code).toBe(32);
    const nonLeaf = await tool('ldapdelete', [`ou=sip,${B}`]);
    expect(nonLeaf.code).toBe(66);
    const anon = await tool('ldapdelete', [`cn=1001,ou=sip,${B}`], 'anon');
    expect(anon.code).toBe(50);
  });

  it('ldapwhoami as the administrator, anonymous, a user and the Asterisk service account', async () => {
    const admin = await tool('ldapwhoami', []);
    expect(admin.code, admin.stderr).toBe(0);
    expect(admin.stdout.trim()).toBe(`dn:cn=admin,${B}`);
    const anon = await tool('ldapwhoami', [], 'anon');
    expect(anon.code).toBe(0);
    expect(anon.stdout.trim()).toBe('anonymous');
    const alice = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(`uid=alice,ou=people,${B}`, 'alice-password')]);
    expect(alice.code, alice.stderr).toBe(0);
    expect(alice.stdout.trim()).toBe(`dn:uid=alice,ou=people,${B}`);
    const svc = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(`cn=asterisk,ou=services,${B}`, 'asterisk')]);
    expect(svc.code, svc.stderr).toBe(0);
    const wrong = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(`uid=alice,ou=people,${B}`, 'nope')]);
    expect(wrong.code).toBe(49);
    const wrongAdmin = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(ADMIN[0], 'nope')]);
    expect(wrongAdmin.code).toBe(49);
  });

  it('binary values come back byte for byte, ASCII or not, on every read; a certificate must be DER', async () => {
    const photo = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x80, 0x7f, 0x00, 0xc3, 0xa9]);
    const { generate } = await import('selfsigned');
    const pems = await generate([{ name: 'commonName', value: 'bin' }], { days: 1 } as Parameters<typeof generate>[1]);
    const cert = new X509Certificate(pems.cert).raw;
    const dn = `uid=bin,ou=people,${B}`;
    const entry = (c: Buffer) =>
      `dn: ${dn}\nobjectClass: inetOrgPerson\nuid: bin\ncn: bin\nsn: bin\n` +
      `jpegPhoto:: ${photo.toString('base64')}\nuserCertificate;binary:: ${c.toString('base64')}\n`;
    // Not a certificate (text, or PEM instead of DER): refused as slapd refuses it.
    for (const bad of [Buffer.from('MIIB-not-a-certificate'), Buffer.from(pems.cert)]) {
      const r = await tool('ldapadd', [], 'admin', entry(bad));
      expect(r.code, r.stderr).toBe(21);
    }
    const add = await tool('ldapadd', [], 'admin', entry(cert));
    expect(add.code, add.stderr).toBe(0);
    // Read several times: the first read, then the entry as the cache keeps it.
    for (let i = 0; i < 3; i++) {
      const r = await search(['-b', dn, '-s', 'base', 'jpegPhoto', 'userCertificate;binary']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(`jpegPhoto:: ${photo.toString('base64')}`);
      // With the ;binary transfer option, as slapd sends a certificate (RFC 4522).
      expect(r.stdout.split('\n')).toContain(`userCertificate;binary:: ${cert.toString('base64')}`);
    }
    const all = await search(['-b', dn, '-s', 'base']);
    expect(all.stdout.split('\n')).toContain(`userCertificate;binary:: ${cert.toString('base64')}`);
    const syntaxes = await search(['-b', 'cn=subschema', '-s', 'base', 'ldapSyntaxes'], 'anon');
    expect(syntaxes.stdout).toContain(
      "ldapSyntaxes: ( 1.3.6.1.4.1.1466.115.121.1.8 DESC 'Certificate' X-BINARY-TRANSFER-REQUIRED 'TRUE' X-NOT-HUMAN-READABLE 'TRUE' )",
    );
    const del = await tool('ldapdelete', [dn]);
    expect(del.code, del.stderr).toBe(0);
  });

  it('stored userPassword is hashed, readable by the administrator only', async () => {
    const r = await search(['-b', `uid=alice,ou=people,${B}`, '-s', 'base', 'userPassword'], 'admin');
    expect(r.code, r.stderr).toBe(0);
    const [pw] = attrValues(parseLdifEntries(r.stdout)[0]!, 'userPassword');
    expect(pw).toMatch(/^\{[A-Z0-9-]+\}/);
    expect(pw).not.toContain('alice-password');
    const bob = await runTool('ldapsearch', [
      '-H',
      server.url,
      ...bindArgs(`uid=bob,ou=people,${B}`, 'bob-password'),
      '-LLL',
      '-b',
      `uid=alice,ou=people,${B}`,
      '-s',
      'base',
      'userPassword',
      'cn',
    ]);
    expect(bob.code, bob.stderr).toBe(0);
    expect(attrValues(parseLdifEntries(bob.stdout)[0]!, 'cn')).not.toEqual([]);
    expect(attrValues(parseLdifEntries(bob.stdout)[0]!, 'userPassword')).toEqual([]);
    const self = await runTool('ldapsearch', [
      '-H',
      server.url,
      ...bindArgs(`uid=alice,ou=people,${B}`, 'alice-password'),
      '-LLL',
      '-b',
      `uid=alice,ou=people,${B}`,
      '-s',
      'base',
      'userPassword',
    ]);
    expect(attrValues(parseLdifEntries(self.stdout)[0]!, 'userPassword')).toEqual([]);
  });

  async function expectCreatedUser(): Promise<void> {
    const r = await search(['-b', USER_DN, '-s', 'base']);
    expect(r.code, r.stderr).toBe(0);
    const [got] = parseLdifEntries(r.stdout);
    const [want] = parseLdifEntries(readFileSync(USER_LDIF, 'utf8'));
    expect(got!.dn.toLowerCase()).toBe(USER_DN.toLowerCase());
    for (const [key, attr] of want!.attrs) {
      const values = attrValues(got!, key);
      if (key === 'objectclass')
        expect(values.map((v) => v.toLowerCase())).toEqual(expect.arrayContaining(attr.values.map((v) => v.toLowerCase())));
      else expect(values.sort(), key).toEqual([...attr.values].sort());
    }
  }
});

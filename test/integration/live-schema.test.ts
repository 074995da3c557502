// Live schema over ldapi:// and SASL EXTERNAL, with OpenLDAP's own tools: the Asterisk guide's
// `ldapadd -Y EXTERNAL -H ldapi:/// -f asterisk.ldif` verbatim (the server listening on libldap's
// default socket), cn=schema,cn=config as slapd shows it, a new schema that applies at once and
// survives a restart, bad definitions that change nothing, modify and the RFC 4512 way.

import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
/** The stock contrib/scripts/asterisk.ldif of the Asterisk source tree, byte-identical. */
const ASTERISK_LDIF = path.resolve(__dirname, '../fixtures/asterisk.ldif');
/** libldap's compiled-in default for `ldapi:///` on Debian. */
const DEFAULT_SOCKET = '/var/run/slapd/ldapi';
const ROOT_ID = `gidNumber=${process.getgid!()}+uidNumber=${process.getuid!()},cn=peercred,cn=external,cn=auth`;

const TEST_SCHEMA = `dn: cn=test,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: test
olcObjectIdentifier: TestRoot 1.3.6.1.4.1.99999.77
olcAttributeTypes: ( TestRoot:1.1 NAME 'testColor' DESC 'a colour' EQUALITY caseIgnoreMatch
  SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcObjectClasses: ( TestRoot:2.1 NAME 'testThing' SUP top STRUCTURAL MUST ( cn $ testColor ) )
`;

describe('live schema over ldapi and SASL EXTERNAL', () => {
  const dir = useTempDir('astldap-schema-');
  let server: SpawnedAstldap;
  const socket = DEFAULT_SOCKET;
  const ldapi = `ldapi://${encodeURIComponent(socket)}`;
  const serve = () =>
    spawnAstldap(['serve', '--data', path.join(dir(), 'data'), '--listen', 'ldap://127.0.0.1:0', '--listen', ldapi], { cwd: dir() });
  const ext = (t: LdapTool, args: string[], stdin?: string, url = ldapi) =>
    runTool(t, ['-Q', '-Y', 'EXTERNAL', '-H', url, ...args], { stdin });
  const simple = (t: LdapTool, args: string[], who: 'anon' | 'admin' = 'admin', stdin?: string) =>
    runTool(t, ['-H', server.url, ...(who === 'admin' ? bindArgs(...ADMIN) : bindArgs()), ...args], { stdin });

  beforeAll(async () => {
    mkdirSync(path.dirname(socket), { recursive: true });
    server = await serve();
  });
  afterAll(async () => {
    await server?.kill('SIGTERM');
  });

  it('creates the socket with mode 0600 and answers ldapwhoami -Y EXTERNAL with the peercred identity', async () => {
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    const r = await ext('ldapwhoami', []);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(`dn:${ROOT_ID}`);
    const dse = await simple('ldapsearch', ['-LLL', '-b', '', '-s', 'base', 'supportedSASLMechanisms'], 'anon');
    expect(parseLdifEntries(dse.stdout)[0] && attrValues(parseLdifEntries(dse.stdout)[0]!, 'supportedSASLMechanisms')).toEqual([
      'EXTERNAL',
    ]);
  });

  it('refuses EXTERNAL over TCP and other mechanisms, and the connection survives', async () => {
    const tcp = await runTool('ldapwhoami', ['-Q', '-Y', 'EXTERNAL', '-H', server.url]);
    expect(tcp.code).not.toBe(0);
    const digest = await runTool('ldapwhoami', ['-Q', '-Y', 'DIGEST-MD5', '-U', 'x', '-w', 'y', '-H', ldapi]);
    expect(digest.code).not.toBe(0);
    const still = await ext('ldapwhoami', []);
    expect(still.code).toBe(0);
  });

  it('shows cn=schema,cn=config as slapd does, read only by the root identity and the admin', async () => {
    const r = await ext('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=schema,cn=config', '-s', 'one', 'cn']);
    expect(r.code, r.stderr).toBe(0);
    const names = parseLdifEntries(r.stdout).map((e) => attrValues(e, 'cn')[0]);
    expect(names).toEqual(['{0}core', '{1}cosine', '{2}inetorgperson', '{3}nis', '{4}ppolicy', '{5}asterisk', '{6}astldap-asterisk']);
    const ast = await ext('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn={5}asterisk,cn=schema,cn=config', '-s', 'base']);
    const e = parseLdifEntries(ast.stdout)[0]!;
    expect(attrValues(e, 'olcObjectIdentifier')[0]).toBe('{0}AsteriskRoot 1.3.6.1.4.1.22736');
    expect(attrValues(e, 'olcObjectClasses').some((v) => /^\{\d+\}\( AsteriskSIPUser NAME 'AsteriskSIPUser'/.test(v))).toBe(true);
    const anon = await simple('ldapsearch', ['-LLL', '-b', 'cn=config'], 'anon');
    expect(anon.code).toBe(32);
    const admin = await simple('ldapsearch', ['-LLL', '-b', 'cn=config', '-s', 'base', 'cn']);
    expect(admin.code).toBe(0);
  });

  it("the guide's ldapadd -Y EXTERNAL -H ldapi:/// -f asterisk.ldif works verbatim and is idempotent", async () => {
    const r = await runTool('ldapadd', ['-Y', 'EXTERNAL', '-H', 'ldapi:///', '-f', ASTERISK_LDIF]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('adding new entry "cn=asterisk,cn=schema,cn=config"');
    const list = await ext('ldapsearch', ['-LLL', '-b', 'cn=schema,cn=config', '-s', 'one', 'cn']);
    expect(parseLdifEntries(list.stdout)).toHaveLength(7); // identical definitions: nothing new
  });

  it('a new schema applies at once for every connection and survives a restart', async () => {
    const add = await ext('ldapadd', [], TEST_SCHEMA);
    expect(add.code, add.stderr).toBe(0);
    const entry = `dn: cn=red,ou=people,${B}\nobjectClass: testThing\ncn: red\ntestColor: Red\n`;
    const a = await simple('ldapadd', [], 'admin', entry);
    expect(a.code, a.stderr).toBe(0);
    const s = await simple('ldapsearch', ['-LLL', '-b', B, '(testColor=r*)', 'dn'], 'admin');
    expect(s.stdout).toContain(`dn: cn=red,ou=people,${B}`);
    const sub = await simple('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'objectClasses'], 'anon');
    expect(sub.stdout).toMatch(/NAME 'testThing'/);

    expect(await server.kill('SIGTERM')).toBe(0);
    server = await serve();
    const again = await simple('ldapsearch', ['-LLL', '-b', B, '(testColor=RED)', 'testColor'], 'admin');
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('testColor: Red');
    const cfg = await ext('ldapsearch', ['-LLL', '-b', 'cn={7}test,cn=schema,cn=config', '-s', 'base', 'cn']);
    expect(cfg.code, cfg.stderr).toBe(0);
  });

  it('bad definitions give a clear error and change nothing', async () => {
    const before = await simple('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'attributeTypes'], 'anon');
    const cases: Array<[string, number, RegExp]> = [
      ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.78.1 NAME 'x1' SUP noSuchType )", 80, /unknown SUP/],
      ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.78.2 NAME 'x2' SYNTAX 1.2.3.4 )", 80, /unknown syntax/],
      ["olcAttributeTypes: ( 2.5.4.3 NAME 'cn' DESC 'other' SUP name )", 80, /different definition/],
      ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.78.3 NAME 'sn' SUP name )", 80, /duplicate name/],
      ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.78.4 NAME 'x4' SYNTAX", 80, /unexpected end/],
      ["olcObjectClasses: ( 1.3.6.1.4.1.99999.78.5 NAME 'x5' MUST noSuchAttr )", 80, /unknown attribute type/],
    ];
    for (const [line, code, msg] of cases) {
      const okLine = "olcAttributeTypes: ( 1.3.6.1.4.1.99999.78.9 NAME 'fine' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";
      const r = await ext('ldapadd', [], `dn: cn=bad,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: bad\n${okLine}\n${line}\n`);
      expect(r.code, `${line}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(msg);
    }
    const after = await simple('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'attributeTypes'], 'anon');
    expect(after.stdout).toBe(before.stdout);
    expect(after.stdout).not.toContain("'fine'");
  });

  it('modify adds and deletes definitions; deleting one in use is refused', async () => {
    const dn = 'cn={7}test,cn=schema,cn=config';
    const addAt = await ext(
      'ldapmodify',
      [],
      `dn: ${dn}\nchangetype: modify\nadd: olcAttributeTypes\nolcAttributeTypes: ( TestRoot:1.2 NAME 'testSize' SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 )\n`,
    );
    expect(addAt.code, addAt.stderr).toBe(0);
    const inUse = await ext('ldapmodify', [], `dn: ${dn}\nchangetype: modify\ndelete: olcObjectClasses\nolcObjectClasses: {0}\n`);
    expect(inUse.code).toBe(53);
    expect(inUse.stderr).toMatch(/still used/);
    const del = await simple('ldapdelete', [`cn=red,ou=people,${B}`]);
    expect(del.code, del.stderr).toBe(0);
    const gone = await ext('ldapmodify', [], `dn: ${dn}\nchangetype: modify\ndelete: olcObjectClasses\nolcObjectClasses: {0}\n`);
    expect(gone.code, gone.stderr).toBe(0);
    const sub = await simple(
      'ldapsearch',
      ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'objectClasses', 'attributeTypes'],
      'anon',
    );
    expect(sub.stdout).not.toMatch(/NAME 'testThing'/);
    expect(sub.stdout).toMatch(/NAME 'testSize'/);
  });

  it('a search made before a type and a subclass existed finds and selects them once they are added', async () => {
    // The same request before and after: its attribute list and its objectClass assertion were
    // worked out against the schema as it stood.
    const ask = () => simple('ldapsearch', ['-LLL', '-b', `ou=people,${B}`, '(objectClass=device)', 'testLabel', 'description'], 'admin');
    expect((await ask()).stdout).not.toContain('cn=lab');
    const schema = `dn: cn=label,cn=schema,cn=config\nobjectClass: olcSchemaConfig\ncn: label
olcAttributeTypes: ( 1.3.6.1.4.1.99999.80.1 NAME 'testLabel' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
olcObjectClasses: ( 1.3.6.1.4.1.99999.80.2 NAME 'testDevice' SUP device STRUCTURAL MAY testLabel )
`;
    const add = await ext('ldapadd', [], schema);
    expect(add.code, add.stderr).toBe(0);
    const a = await simple('ldapadd', [], 'admin', `dn: cn=lab,ou=people,${B}\nobjectClass: testDevice\ncn: lab\ntestLabel: blue\n`);
    expect(a.code, a.stderr).toBe(0);
    const r = await ask();
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`dn: cn=lab,ou=people,${B}`);
    expect(r.stdout).toContain('testLabel: blue');
  });

  it('the RFC 4512 way: modify cn=Subschema, by administrators only', async () => {
    const at = "( 1.3.6.1.4.1.99999.79.1 NAME 'rfcType' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";
    const anon = await simple(
      'ldapmodify',
      [],
      'anon',
      `dn: cn=Subschema\nchangetype: modify\nadd: attributeTypes\nattributeTypes: ${at}\n`,
    );
    expect(anon.code).toBe(50);
    const add = await simple(
      'ldapmodify',
      [],
      'admin',
      `dn: cn=Subschema\nchangetype: modify\nadd: attributeTypes\nattributeTypes: ${at}\n`,
    );
    expect(add.code, add.stderr).toBe(0);
    let sub = await simple('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'attributeTypes'], 'anon');
    expect(sub.stdout).toContain("NAME 'rfcType'");
    const del = await simple(
      'ldapmodify',
      [],
      'admin',
      `dn: cn=Subschema\nchangetype: modify\ndelete: attributeTypes\nattributeTypes: ${at}\n`,
    );
    expect(del.code, del.stderr).toBe(0);
    sub = await simple('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', 'cn=subschema', '-s', 'base', 'attributeTypes'], 'anon');
    expect(sub.stdout).not.toContain("NAME 'rfcType'");
  });
});

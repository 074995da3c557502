// Live schema, side by side with slapd's cn=config: both start WITHOUT the Asterisk schema, and
// the same `ldapadd -Y EXTERNAL -H ldapi://...` requests run against both. The stock
// asterisk.ldif loads unchanged; an Asterisk entry can then be added and found; bad schemas are
// rejected by both with the same result codes and change nothing; astldap keeps it all across
// a restart. Where astldap departs from slapd on purpose (re-adding an identical schema is a
// no-op here, a duplicate error in slapd), the case says so.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { freePort, repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool, type LdapTool, type ToolResult } from '../helpers/tools.js';

const execFileP = promisify(execFile);
const B = 'dc=example,dc=domain';
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');
const STOCK_LDIF = path.join(repoRoot, 'test/fixtures/asterisk.ldif');
const BASE_LDIF = `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\ndn: ou=sip,${B}\nobjectClass: organizationalUnit\nou: sip\n`;
const PEER = `dn: cn=1000,ou=sip,${B}\nobjectClass: AsteriskAccount\nobjectClass: AsteriskSIPUser\ncn: 1000\nAstAccountName: 1000\nAstAccountCallerID: Alice <1000>\n`;
const ROOT_ID = `gidNumber=${process.getgid!()}+uidNumber=${process.getuid!()},cn=peercred,cn=external,cn=auth`;

function schemaEntry(name: string, lines: string[]): string {
  return [`dn: cn=${name},cn=schema,cn=config`, 'objectClass: olcSchemaConfig', `cn: ${name}`, ...lines, ''].join('\n');
}

/** The cases, in order. `astldap` is set where astldap answers otherwise, on purpose. */
const BAD: Array<{ name: string; ldif: string; code: number }> = [
  {
    name: 'an unknown SUP',
    ldif: schemaEntry('badsup', ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.80.1 NAME 'x1' SUP noSuchType )"]),
    code: 80,
  },
  {
    name: 'an unknown syntax',
    ldif: schemaEntry('badsyntax', ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.80.2 NAME 'x2' SYNTAX 1.2.3.4.5 )"]),
    code: 80,
  },
  {
    name: 'a duplicate OID with another definition',
    ldif: schemaEntry('dupoid', [
      "olcAttributeTypes: ( 1.3.6.1.4.1.22736.5.4.1 NAME 'otherContext' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
    ]),
    code: 80,
  },
  {
    name: 'a duplicate name with another OID',
    ldif: schemaEntry('dupname', ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.80.3 NAME 'AstContext' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"]),
    code: 80,
  },
  {
    name: 'a class with an unknown attribute',
    ldif: schemaEntry('badclass', ["olcObjectClasses: ( 1.3.6.1.4.1.99999.80.4 NAME 'x4' SUP top AUXILIARY MAY noSuchAttr )"]),
    code: 80,
  },
  {
    name: 'a definition that does not parse',
    ldif: schemaEntry('broken', ["olcAttributeTypes: ( 1.3.6.1.4.1.99999.80.5 NAME 'x5' SYNTAX"]),
    code: 80,
  },
  {
    name: 'an unknown OID macro',
    ldif: schemaEntry('badmacro', ["olcAttributeTypes: ( NoSuchMacro:1 NAME 'x6' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )"]),
    code: 80,
  },
];

interface Side {
  name: 'astldap' | 'slapd';
  url: string;
  ldapi: string;
}

async function startConfigSlapd(dir: string): Promise<{ side: Side; child: ChildProcess }> {
  const conf = path.join(dir, 'slapd.conf');
  const sock = path.join(dir, 'ldapi');
  writeFileSync(
    conf,
    [
      ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
      `pidfile ${dir}/slapd.pid`,
      'modulepath /usr/lib/ldap',
      'moduleload back_mdb',
      'database config',
      `access to * by dn.exact="${ROOT_ID}" manage by * none`,
      'database mdb',
      'maxsize 1073741824',
      `suffix "${B}"`,
      `rootdn "cn=admin,${B}"`,
      'rootpw secret',
      `directory ${dir}/db`,
      'access to * by * read',
      '',
    ].join('\n'),
  );
  mkdirSync(path.join(dir, 'db'));
  mkdirSync(path.join(dir, 'slapd.d'));
  writeFileSync(path.join(dir, 'base.ldif'), BASE_LDIF);
  // slaptest converts slapd.conf into slapd.d; it then fails to open the still empty mdb
  // environment, which slapadd creates next, so only the converted config is checked.
  await execFileP('/usr/sbin/slaptest', ['-f', conf, '-F', path.join(dir, 'slapd.d')]).catch(() => undefined);
  if (!existsSync(path.join(dir, 'slapd.d', 'cn=config', 'olcDatabase={1}mdb.ldif')))
    throw new Error('slaptest did not convert slapd.conf');
  await execFileP('/usr/sbin/slapadd', ['-q', '-F', path.join(dir, 'slapd.d'), '-l', path.join(dir, 'base.ldif')]);
  const port = await freePort();
  const ldapi = `ldapi://${encodeURIComponent(sock)}`;
  const child = spawn('/usr/sbin/slapd', ['-d', '0', '-F', path.join(dir, 'slapd.d'), '-h', `ldap://127.0.0.1:${port}/ ${ldapi}/`], {
    stdio: 'ignore',
  });
  const url = `ldap://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const r = await runTool('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', '1.1']).catch(() => undefined);
    if (r?.code === 0) return { side: { name: 'slapd', url, ldapi }, child };
    await new Promise((res) => setTimeout(res, 100));
  }
  child.kill('SIGKILL');
  throw new Error('slapd (cn=config) did not start');
}

describe('live schema: astldap and slapd cn=config side by side', () => {
  const dir = useTempDir('astldap-schemadiff-');
  let ast: SpawnedAstldap;
  let slapd: ChildProcess;
  const sides: Side[] = [];
  const astArgs = () => {
    const cfg = path.join(dir(), 'astldap.yaml');
    writeFileSync(
      cfg,
      `schema:\n  dir: ${path.join(repoRoot, 'schema')}\n  files: [core, cosine, inetorgperson, nis]\nseed: ${path.join(dir(), 'base.ldif')}\n`,
    );
    const sock = path.join(dir(), 'astldap.sock');
    return [
      'serve',
      '--config',
      cfg,
      '--data',
      path.join(dir(), 'astdata'),
      '--listen',
      'ldap://127.0.0.1:0',
      '--listen',
      `ldapi://${encodeURIComponent(sock)}`,
      '--no-admin',
    ];
  };
  const ext = (s: Side, tool: LdapTool, args: string[], stdin?: string): Promise<ToolResult> =>
    runTool(tool, ['-Q', '-Y', 'EXTERNAL', '-H', s.ldapi, ...args], { stdin });
  const both = (f: (s: Side) => Promise<ToolResult>) => Promise.all(sides.map(f));
  const subschemaTypes = (s: Side) =>
    runTool('ldapsearch', [
      '-x',
      '-H',
      s.url,
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-b',
      'cn=subschema',
      '-s',
      'base',
      'attributeTypes',
      'objectClasses',
    ]).then((r) => r.stdout);

  beforeAll(async () => {
    mkdirSync(path.join(dir(), 'slapd'));
    const s = await startConfigSlapd(path.join(dir(), 'slapd'));
    slapd = s.child;
    writeFileSync(path.join(dir(), 'base.ldif'), BASE_LDIF);
    ast = await spawnAstldap(astArgs(), { cwd: dir() });
    sides.push({ name: 'astldap', url: ast.url, ldapi: `ldapi://${encodeURIComponent(path.join(dir(), 'astldap.sock'))}` }, s.side);
  });
  afterAll(async () => {
    await ast?.kill('SIGTERM');
    slapd?.kill('SIGTERM');
  });

  it('neither knows the Asterisk schema at first', async () => {
    const r = await both((s) => runTool('ldapadd', ['-H', s.url, ...ADMIN], { stdin: PEER }));
    expect(r.map((x) => x.code)).toEqual([21, 21]); // objectClass: value #0 invalid per syntax
  });

  it('the stock asterisk.ldif loads unchanged into both', async () => {
    const r = await both((s) => ext(s, 'ldapadd', ['-f', STOCK_LDIF]));
    for (const x of r) expect(x.code, x.stderr).toBe(0);
    const names = await both((s) => ext(s, 'ldapsearch', ['-LLL', '-b', 'cn=schema,cn=config', '-s', 'one', 'cn']));
    for (const x of names) expect(parseLdifEntries(x.stdout).map((e) => attrValues(e, 'cn')[0])).toContain('{4}asterisk');
  });

  it('an Asterisk entry can then be added and found on both', async () => {
    const add = await both((s) => runTool('ldapadd', ['-H', s.url, ...ADMIN], { stdin: PEER }));
    for (const x of add) expect(x.code, x.stderr).toBe(0);
    const found = await both((s) =>
      runTool('ldapsearch', [
        '-x',
        '-H',
        s.url,
        ...ADMIN,
        '-LLL',
        '-b',
        B,
        '(&(objectClass=AsteriskSIPUser)(AstAccountCallerID=alice*))',
        'cn',
      ]),
    );
    for (const x of found) expect(x.stdout).toContain(`dn: cn=1000,ou=sip,${B}`);
  });

  it('bad schemas are refused by both with the same code, and nothing changes', async () => {
    const before = await Promise.all(sides.map(subschemaTypes));
    for (const c of BAD) {
      const r = await both((s) => ext(s, 'ldapadd', [], c.ldif));
      expect(
        r.map((x) => x.code),
        `${c.name}: astldap: ${r[0]!.stderr} slapd: ${r[1]!.stderr}`,
      ).toEqual([c.code, c.code]);
    }
    const after = await Promise.all(sides.map(subschemaTypes));
    expect(after).toEqual(before);
  });

  it('re-adding the identical schema: a no-op on astldap (by design), a duplicate error on slapd', async () => {
    const [a, s] = await both((side) => ext(side, 'ldapadd', ['-f', STOCK_LDIF]));
    expect(a!.code, a!.stderr).toBe(0);
    expect(s!.code).toBe(80);
    const list = await ext(sides[0]!, 'ldapsearch', ['-LLL', '-b', 'cn=schema,cn=config', '-s', 'one', 'cn']);
    expect(parseLdifEntries(list.stdout)).toHaveLength(5);
  });

  it('astldap keeps the schema and the entry across a restart', async () => {
    expect(await ast.kill('SIGTERM')).toBe(0);
    ast = await spawnAstldap(astArgs(), { cwd: dir() });
    sides[0] = { ...sides[0]!, url: ast.url };
    const r = await runTool('ldapsearch', [
      '-x',
      '-H',
      ast.url,
      ...ADMIN,
      '-LLL',
      '-b',
      B,
      '(AstAccountCallerID=Alice <1000>)',
      'AstAccountCallerID',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('AstAccountCallerID: Alice <1000>');
    const who = await ext(sides[0]!, 'ldapwhoami', []);
    expect(who.stdout.trim()).toBe(`dn:${ROOT_ID}`);
  });
});

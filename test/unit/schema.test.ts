// The schema registry against the real schema files the server ships: loading, resolution of OID
// macros, matching rules, entry validation with slapd's result codes, and atomic loading.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SchemaError, SchemaRegistry } from '../../src/schema/registry.js';
import { normalizeDn, parseDn, formatDn } from '../../src/schema/dn.js';
import { LdapError } from '../../src/ldap/result.js';

const root = path.resolve(__dirname, '../..');

function registry(): SchemaRegistry {
  const r = SchemaRegistry.create();
  for (const f of ['core', 'cosine', 'inetorgperson', 'nis', 'asterisk']) {
    r.loadSchemaText(readFileSync(path.join(root, 'schema', `${f}.schema`), 'utf8'), f);
  }
  return r;
}

function code(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof LdapError) return err.code;
    throw err;
  }
  return undefined;
}

describe('schema registry', () => {
  const r = registry();

  it('resolves the Asterisk schema with its OID macros and names unchanged', () => {
    const t = r.attributeType('AstAccountCallerID')!;
    expect(t.oid).toBe('1.3.6.1.4.1.22736.5.4.7');
    expect(r.attributeType('astaccountcallerid')).toBe(t);
    const c = r.objectClass('AsteriskSIPUser')!;
    expect(c.oid).toBe('1.3.6.1.4.1.22736.5.2.3');
    expect(c.kind).toBe('AUXILIARY');
    expect(r.objectClass('AsteriskAccount')!.kind).toBe('STRUCTURAL');
    expect(c.definition).toMatch(/^\( 1\.3\.6\.1\.4\.1\.22736\.5\.2\.3 NAME 'AsteriskSIPUser'/);
  });

  it('inherits matching rules and syntax from SUP, and lists subtypes', () => {
    const cn = r.attributeType('commonName')!;
    expect(cn.name).toBe('cn');
    expect(cn.equality?.name).toBe('caseIgnoreMatch');
    expect(cn.syntax.oid).toBe('1.3.6.1.4.1.1466.115.121.1.15');
    const names = r.subtypesOf(r.attributeType('name')!).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['name', 'cn', 'sn', 'givenName']));
  });

  it('normalises values per matching rule', () => {
    expect(r.attributeType('cn')!.equality!.normalize('  John   SMITH ')).toBe('john smith');
    expect(r.attributeType('mail')!.equality!.normalize('A@B.C')).toBe('a@b.c');
    expect(r.attributeType('uidNumber')!.equality!.normalize('007')).toBe('7');
    expect(r.attributeType('uidNumber')!.equality!.normalize('x')).toBeUndefined();
    expect(r.attributeType('telephoneNumber')!.equality!.normalize('+1 555-0100')).toBe('+15550100');
    expect(r.attributeType('createTimestamp')!.equality!.normalize('20240102030405+0100')).toBe('20240102020405.000Z');
  });

  it('validates entries as slapd does', () => {
    expect(r.checkEntry({ objectclass: ['inetOrgPerson'], cn: ['a'], sn: ['b'] }).structural.name).toBe('inetOrgPerson');
    expect(code(() => r.checkEntry({ cn: ['a'] }))).toBe(65);
    expect(code(() => r.checkEntry({ objectclass: ['person'], cn: ['a'] }))).toBe(65);
    expect(code(() => r.checkEntry({ objectclass: ['nonesuch'], cn: ['a'] }))).toBe(21);
    expect(code(() => r.checkEntry({ objectclass: ['AsteriskSIPUser'], cn: ['a'] }))).toBe(65); // no structural
    expect(code(() => r.checkEntry({ objectclass: ['person', 'organization'], cn: ['a'], sn: ['b'], o: ['c'] }))).toBe(65);
    expect(code(() => r.checkEntry({ objectclass: ['person'], cn: ['a'], sn: ['b'], mail: ['x'] }))).toBe(65);
    expect(code(() => r.checkEntry({ objectclass: ['inetOrgPerson'], cn: ['a'], sn: ['b'], preferredlanguage: ['en', 'de'] }))).toBe(19);
    expect(
      r.checkEntry({
        objectclass: ['AsteriskAccount', 'AsteriskSIPUser'],
        cn: ['1000'],
        astaccountname: ['1000'],
        astaccountcallerid: ['x'],
      }).structural.name,
    ).toBe('AsteriskAccount');
    // extensibleObject allows any user attribute
    expect(code(() => r.checkEntry({ objectclass: ['person', 'extensibleObject'], cn: ['a'], sn: ['b'], mail: ['x'] }))).toBeUndefined();
  });

  it('loads all or nothing and is idempotent', () => {
    const before = r.attributeTypes().length;
    const bad = `attributetype ( 1.3.6.1.4.1.99999.1 NAME 'okType' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )
attributetype ( 1.3.6.1.4.1.99999.2 NAME 'badType' SUP noSuchType )`;
    expect(() => r.loadSchemaText(bad, 'bad')).toThrow(SchemaError);
    expect(r.attributeTypes().length).toBe(before);
    expect(r.attributeType('okType')).toBeUndefined();
    expect(() => r.loadSchemaText(`attributetype ( 1.3.6.1.4.1.99999.3 NAME 'x' SYNTAX 9.9.9 )`, 'bad')).toThrow(/unknown syntax/);
    expect(() => r.loadSchemaText(`attributetype ( 2.5.4.3 NAME 'cn' SUP name DESC 'other' )`, 'bad')).toThrow(/duplicate|different/);
    expect(() => r.loadSchemaText(`attributetype ( 1.3.6.1.4.1.99999.4 NAME 'cn' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )`, 'bad')).toThrow(
      /duplicate name/,
    );
    expect(() => r.loadSchemaText(`attributetype ( 1.3.6.1.4.1.99999.5 NAME 'broken' SYNTAX`, 'bad')).toThrow(SchemaError);
    const again = readFileSync(path.join(root, 'schema/asterisk.schema'), 'utf8');
    r.loadSchemaText(again, 'asterisk');
    expect(r.attributeTypes().length).toBe(before);
  });

  it('renders cn=Subschema attributes in RFC 4512 form', () => {
    const s = r.subschemaAttributes();
    expect(s['objectClasses']).toContain(r.objectClass('AsteriskSIPUser')!.definition);
    expect(s['attributeTypes']!.some((d) => d.includes("NAME 'entryUUID'"))).toBe(true);
    expect(s['ldapSyntaxes']!.some((d) => d.startsWith('( 1.3.6.1.4.1.1466.115.121.1.15 '))).toBe(true);
    expect(s['matchingRules']!.some((d) => d.includes("'caseIgnoreMatch'"))).toBe(true);
  });
});

describe('distinguished names', () => {
  const r = registry();
  it('parses escapes, multi-valued RDNs and hex values', () => {
    expect(parseDn('cn=a\\,b+uid=x, dc=Example ,dc=com')).toEqual([
      [
        { type: 'cn', value: 'a,b' },
        { type: 'uid', value: 'x' },
      ],
      [{ type: 'dc', value: 'Example' }],
      [{ type: 'dc', value: 'com' }],
    ]);
    expect(parseDn('cn=\\4a\\C3\\A9')[0]![0]!.value).toBe('Jé');
    expect(parseDn('')).toEqual([]);
    expect(formatDn(parseDn('cn=a\\,b,dc=x'))).toBe('cn=a\\,b,dc=x');
    for (const bad of ['cn', 'cn=a,', '=a', 'cn=a\\', 'c n=a']) expect(() => parseDn(bad)).toThrow(LdapError);
  });
  it('normalises for keys: case, spaces, sorted multi-valued RDNs', () => {
    expect(normalizeDn('UID=x+CN=A\\,B , DC=Example,dc=COM', r)).toBe('cn=a\\2cb+uid=x,dc=example,dc=com');
    expect(normalizeDn('commonName=Foo,dc=x', r)).toBe('cn=foo,dc=x');
    expect(code(() => normalizeDn('nosuchattr=x,dc=x', r))).toBe(34);
  });
});

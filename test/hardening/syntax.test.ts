// Assertion values against the matching rule's assertion syntax (issue 11, item 7), for the
// syntaxes of the packaged schema: with a valid value an equality item matches and compare
// answers compareTrue; with an invalid one the item is Undefined (so is its negation: neither
// matches) and compare answers invalidAttributeSyntax, whether the entry exists or not, as in
// slapd (test/differential has the cases run against slapd itself).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Filter } from '../../src/ldap/messages.js';
import { LdapError } from '../../src/ldap/result.js';
import { startCore, type Core } from '../helpers/core.js';

const B = 'dc=example,dc=domain';
const DN = `uid=syn,${B}`;
const ADMIN = `cn=admin,${B}`;

/** [attribute, a value the entry holds (as asserted), values outside the rule's assertion syntax]. */
const TABLE: Array<[string, string, string[]]> = [
  ['uidNumber', '1010', ['010', '1e3', '+1010', '']], // INTEGER
  ['gidNumber', '-5', ['-0', '- 5']],
  ['homeDirectory', '/home/syn', ['/home/sÿn']], // IA5 String
  ['mail', 'syn@example.domain', ['sÿn@example.domain']],
  ['telephoneNumber', '+1 555 0111', ['+1 555 0111 ü', '']], // Telephone Number
  ['x121Address', '12345', ['12a45']], // Numeric String
  ['seeAlso', `cn=other,${B}`, ['not a dn', 'cn=']], // DN
  ['cn', 'Syn Tax', ['']], // Directory String: not empty
  ['createTimestamp', '', ['2024-01-01', '20241301000000Z', '202401010000']], // Generalized Time (value filled in)
  ['entryUUID', '', ['not-a-uuid']], // UUID
];

describe('assertion values must belong to the assertion syntax', () => {
  let core: Core;
  const admin = () => core.as(ADMIN);
  const matches = async (filter: Filter) => (await core.search(admin(), { base: DN, scope: 'base', filter })).entries.length;
  const compare = async (dn: string, attribute: string, value: string) => {
    try {
      return (await core.fe.compare(admin(), { dn, attribute, value: Buffer.from(value) })).code;
    } catch (err) {
      if (err instanceof LdapError) return err.code;
      throw err;
    }
  };

  beforeAll(async () => {
    core = await startCore();
    const add = (dn: string, attrs: Record<string, string[]>) =>
      core.fe.add(admin(), {
        dn,
        attributes: Object.entries(attrs).map(([type, vals]) => ({ type, values: vals.map((v) => Buffer.from(v)) })),
      });
    await add(B, { objectClass: ['organization', 'dcObject'], o: ['Example'], dc: ['example'] });
    await add(DN, {
      objectClass: ['inetOrgPerson', 'posixAccount'],
      uid: ['syn'],
      cn: ['Syn Tax'],
      sn: ['Tax'],
      uidNumber: ['1010'],
      gidNumber: ['-5'],
      homeDirectory: ['/home/syn'],
      mail: ['syn@example.domain'],
      telephoneNumber: ['+1 555 0111'],
      x121Address: ['12345'],
      seeAlso: [`cn=other,${B}`],
    });
    const [entry] = (await core.search(admin(), { base: DN, scope: 'base', attributes: ['createTimestamp', 'entryUUID'] })).entries;
    for (const row of TABLE) {
      if (row[1] !== '') continue;
      const a = entry!.attributes.find((x) => x.type.toLowerCase() === row[0].toLowerCase());
      row[1] = String(a!.values[0]);
    }
  });
  afterAll(async () => core?.close());

  for (const [attribute, , invalid] of TABLE) {
    it(`${attribute}: valid matches, ${invalid.map((v) => JSON.stringify(v)).join(', ')} Undefined`, async () => {
      const valid = TABLE.find((r) => r[0] === attribute)![1];
      const eq = (value: string): Filter => ({ type: 'equality', attribute, value: Buffer.from(value) });
      expect(await matches(eq(valid)), `(${attribute}=${valid})`).toBe(1);
      expect(await compare(DN, attribute, valid)).toBe(6);
      for (const bad of invalid) {
        expect(await matches(eq(bad)), `(${attribute}=${bad})`).toBe(0);
        expect(await matches({ type: 'not', filter: eq(bad) }), `(!(${attribute}=${bad}))`).toBe(0);
        expect(await compare(DN, attribute, bad), `compare ${attribute}:${bad}`).toBe(21);
        expect(await compare(`uid=absent,${B}`, attribute, bad), `compare on an absent entry`).toBe(21);
      }
    });
  }

  it('ordering items too: (uidNumber>=010) and its negation are Undefined', async () => {
    const ge: Filter = { type: 'ge', attribute: 'uidNumber', value: Buffer.from('010') };
    expect(await matches(ge)).toBe(0);
    expect(await matches({ type: 'not', filter: ge })).toBe(0);
    expect(await matches({ type: 'ge', attribute: 'uidNumber', value: Buffer.from('10') })).toBe(1);
  });
});

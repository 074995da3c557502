import { describe, expect, it } from 'vitest';
import { formatLdifEntry, parseLdif } from '../../src/ldif/ldif.js';

describe('LDIF', () => {
  it('parses content records with folding, base64, comments and repeated attributes', () => {
    const recs = parseLdif(
      [
        'version: 1',
        '',
        '# a comment',
        'dn: cn=Jos\u00e9,dc=example,dc=domain',
        'objectClass: person',
        'cn: Jos\u00e9',
        'description: a long line',
        '  folded',
        'sn:: TcO8bGxlcg==',
        'objectClass: top',
        '',
      ].join('\n'),
    );
    expect(recs).toHaveLength(1);
    const r = recs[0]!;
    expect(r.kind).toBe('add');
    if (r.kind !== 'add') return;
    expect(r.dn).toBe('cn=José,dc=example,dc=domain');
    const get = (t: string) => r.attributes.find((a) => a.type.toLowerCase() === t)?.values.map((v) => v.toString('utf8'));
    expect(get('objectclass')).toEqual(['person', 'top']);
    expect(get('description')).toEqual(['a long line folded']);
    expect(get('sn')).toEqual(['Müller']);
  });

  it('parses change records', () => {
    const recs = parseLdif(
      [
        'dn: cn=a,dc=x',
        'changetype: modify',
        'replace: sn',
        'sn: b',
        '-',
        'delete: mail',
        '-',
        'increment: uidNumber',
        'uidNumber: 5',
        '-',
        '',
        'dn: cn=a,dc=x',
        'changetype: modrdn',
        'newrdn: cn=b',
        'deleteoldrdn: 1',
        'newsuperior: ou=y,dc=x',
        '',
        'dn: cn=b,ou=y,dc=x',
        'changetype: delete',
      ].join('\n'),
    );
    expect(recs.map((r) => r.kind)).toEqual(['modify', 'modrdn', 'delete']);
    const m = recs[0]!;
    if (m.kind !== 'modify') throw new Error('modify expected');
    expect(m.changes.map((c) => [c.operation, c.type, c.values.map(String)])).toEqual([
      ['replace', 'sn', ['b']],
      ['delete', 'mail', []],
      ['increment', 'uidNumber', ['5']],
    ]);
    const r = recs[1]!;
    expect(r).toMatchObject({ kind: 'modrdn', newRdn: 'cn=b', deleteOldRdn: true, newSuperior: 'ou=y,dc=x' });
  });

  it('rejects a record without dn', () => {
    expect(() => parseLdif('cn: x\n')).toThrow(/dn/);
  });

  it('writes unsafe values base64 and round-trips', () => {
    const text = formatLdifEntry('cn=x,dc=y', [
      { type: 'cn', values: ['x'] },
      { type: 'description', values: [' leading space', 'Müller'] },
      { type: 'jpegPhoto', values: [Buffer.from([0, 1, 2, 255])] },
    ]);
    expect(text).toContain('description:: ');
    const [r] = parseLdif(text);
    if (r?.kind !== 'add') throw new Error('add expected');
    expect(r.attributes.find((a) => a.type === 'description')!.values.map((v) => v.toString('utf8'))).toEqual([' leading space', 'Müller']);
    expect(r.attributes.find((a) => a.type === 'jpegPhoto')!.values[0]).toEqual(Buffer.from([0, 1, 2, 255]));
  });
});

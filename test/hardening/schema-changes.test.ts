// Schema changes over LDAP (ldapmodify on cn=Subschema) against a populated directory: deleting an
// objectClass asks the objectClass index whether entries use it instead of reading every entry
// while writes wait (issue 25, G8); and schema changes racing writes that use the classes being
// changed leave no orphan and no crash, each write either stored whole or answered with a
// proper result code. In-process server (the real one, config.yaml), driven with ldapmodify and
// ldapts.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/store/types.js';
import { spawnAstldap, startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { BASE_LDIF, CONFIG, peopleLdif, runCli } from './store-tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const PEOPLE = 2000;

function seed(): string {
  const out = [`dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`];
  out.push(`dn: ou=people,${B}\nobjectClass: organizationalUnit\nou: people\n`);
  for (let i = 0; i < PEOPLE; i++) out.push(`dn: uid=p${i},ou=people,${B}\nobjectClass: inetOrgPerson\nuid: p${i}\ncn: P ${i}\nsn: ${i}\n`);
  return out.join('\n');
}

/** A private class (and attribute) under an OID arc of our own. */
const oid = (n: number) => `1.3.6.1.4.1.99999.25.${n}`;
const typeDef = (n: number) => `( ${oid(100 + n)} NAME 'g8Attr${n}' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )`;
const classDef = (n: number) => `( ${oid(n)} NAME 'g8Class${n}' SUP top AUXILIARY MAY ( g8Attr${n} ) )`;

async function subschema(url: string, change: string): Promise<{ code: number; stderr: string }> {
  const r = await runTool('ldapmodify', ['-H', url, ...bindArgs(...ADMIN)], { stdin: `dn: cn=Subschema\nchangetype: modify\n${change}\n` });
  return { code: r.code, stderr: r.stderr };
}

/**
 * Counts the entries the store hands out by walking the tree while fn runs (the store is the
 * server's own; the wrapper only counts and delegates).
 */
async function entriesWalked(store: Store, fn: () => Promise<void>): Promise<number> {
  let walked = 0;
  const real = store.subtree.bind(store);
  store.subtree = async function* (ndn) {
    for await (const e of real(ndn)) {
      walked++;
      yield e;
    }
  };
  try {
    await fn();
  } finally {
    store.subtree = real;
  }
  return walked;
}

describe('deleting an objectClass from cn=Subschema (G8)', () => {
  let a: InProcessAstldap;

  beforeAll(async () => {
    a = await startAstldap({ seedLdif: seed() });
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
  });

  it('answers from the objectClass index, without reading the entries', async () => {
    expect(await subschema(a.url, `add: attributeTypes\nattributeTypes: ${typeDef(1)}`)).toMatchObject({ code: 0 });
    expect(await subschema(a.url, `add: objectClasses\nobjectClasses: ${classDef(1)}`)).toMatchObject({ code: 0 });
    const store = a.server.directory.store;
    let r: { code: number; stderr: string } | undefined;
    const walked = await entriesWalked(store, async () => {
      r = await subschema(a.url, `delete: objectClasses\nobjectClasses: ${classDef(1)}`);
    });
    expect(r!.code, r!.stderr).toBe(0);
    expect(walked).toBe(0);
    expect(a.server.directory.schema.objectClass('g8Class1')).toBeUndefined();
  });

  it('still refuses deleting a class an entry uses (found through the index), and leaves the entry', async () => {
    expect(await subschema(a.url, `add: attributeTypes\nattributeTypes: ${typeDef(2)}`)).toMatchObject({ code: 0 });
    expect(await subschema(a.url, `add: objectClasses\nobjectClasses: ${classDef(2)}`)).toMatchObject({ code: 0 });
    const mod = await runTool('ldapmodify', ['-H', a.url, ...bindArgs(...ADMIN)], {
      stdin: `dn: uid=p7,ou=people,${B}\nchangetype: modify\nadd: objectClass\nobjectClass: g8Class2\n-\nadd: g8Attr2\ng8Attr2: x\n`,
    });
    expect(mod.code, mod.stderr).toBe(0);
    let r: { code: number; stderr: string } | undefined;
    const walked = await entriesWalked(a.server.directory.store, async () => {
      r = await subschema(a.url, `delete: objectClasses\nobjectClasses: ${classDef(2)}`);
    });
    expect(r!.code).toBe(53);
    expect(r!.stderr).toMatch(/objectClass g8Class2 is still used by entries/);
    expect(walked).toBe(0);
    expect(a.server.directory.schema.objectClass('g8Class2')).toBeDefined();
    const c = new Client({ url: a.url });
    try {
      await c.bind(...ADMIN);
      const { searchEntries } = await c.search(`uid=p7,ou=people,${B}`, { scope: 'base', attributes: ['objectClass', 'g8Attr2'] });
      expect(searchEntries[0]!['objectClass']).toContain('g8Class2');
    } finally {
      await c.unbind();
    }
  });

  it('an unused attribute type is still found unused (its check reads the entries: no index says where a type is used)', async () => {
    expect(await subschema(a.url, `add: attributeTypes\nattributeTypes: ${typeDef(3)}`)).toMatchObject({ code: 0 });
    const r = await subschema(a.url, `delete: attributeTypes\nattributeTypes: ${typeDef(3)}`);
    expect(r.code, r.stderr).toBe(0);
    expect(a.server.directory.schema.attributeType('g8Attr3')).toBeUndefined();
  });
});

/** Result codes a write may get when the class or attribute it uses is not (or no longer) defined. */
const WRITE_CODES = new Set([0, 17 /* undefinedAttributeType */, 21 /* invalidAttributeSyntax */, 65 /* objectClassViolation */]);
/** Result codes of the schema changes: done, in use (53), not there to delete (16), already there (20). */
const SCHEMA_CODES = new Set([0, 16, 20, 53]);

describe('schema changes racing writes that use the classes being changed', () => {
  const dir = useTempDir('astldap-schema-race-');
  const ROUNDS = 6;
  const WRITERS = 3;
  const OPS = 8;

  it('no crash, no orphan: each write stored whole or refused with a proper code; verify finds nothing', async () => {
    const data = path.join(dir(), 'data');
    const file = path.join(dir(), 'people.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(200));
    expect((await runCli(['import', file, '--data', data])).code).toBe(0);
    const server = await spawnAstldap(['serve', '--config', CONFIG, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin']);
    const stored: Array<{ dn: string; cls: string }> = [];
    const codes = { write: new Map<number, number>(), schema: new Map<number, number>() };
    const count = (m: Map<number, number>, code: number) => m.set(code, (m.get(code) ?? 0) + 1);
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const cls = `g9Class${r}`;
        const attr = `g9Attr${r}`;
        const t = `( 1.3.6.1.4.1.99999.26.${100 + r} NAME '${attr}' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )`;
        const c = `( 1.3.6.1.4.1.99999.26.${r} NAME '${cls}' SUP top AUXILIARY MAY ( ${attr} ) )`;
        const define = () => subschema(server.url, `add: attributeTypes\nattributeTypes: ${t}\n-\nadd: objectClasses\nobjectClasses: ${c}`);
        const remove = () =>
          subschema(server.url, `delete: objectClasses\nobjectClasses: ${c}\n-\ndelete: attributeTypes\nattributeTypes: ${t}`);
        const writer = async (w: number) => {
          const client = new Client({ url: server.url, timeout: 60_000 });
          await client.bind(...ADMIN);
          try {
            for (let i = 0; i < OPS; i++) {
              const dn = i % 2 ? `uid=p${(r * WRITERS + w) * OPS + i},ou=people,${B}` : `uid=r${r}w${w}i${i},ou=people,${B}`;
              try {
                if (i % 2)
                  await client.modify(dn, [
                    new Change({ operation: 'add', modification: new Attribute({ type: 'objectClass', values: [cls] }) }),
                    new Change({ operation: 'add', modification: new Attribute({ type: attr, values: ['v'] }) }),
                  ]);
                else
                  await client.add(dn, {
                    objectClass: ['inetOrgPerson', cls],
                    uid: `r${r}w${w}i${i}`,
                    cn: 'race',
                    sn: 'race',
                    [attr]: 'v',
                  });
                count(codes.write, 0);
                stored.push({ dn, cls });
              } catch (err) {
                const code = (err as { code?: number }).code ?? -1;
                count(codes.write, code);
                expect(WRITE_CODES.has(code), `${dn}: ${(err as Error).message}`).toBe(true);
              }
            }
          } finally {
            await client.unbind();
          }
        };
        const schemaOps = (async () => {
          const results = [await define()];
          results.push(await remove()); // races the writers: refused (53) once an entry uses the class
          for (const x of results) {
            count(codes.schema, x.code);
            expect(SCHEMA_CODES.has(x.code), x.stderr).toBe(true);
          }
        })();
        await Promise.all([schemaOps, ...Array.from({ length: WRITERS }, (_, w) => writer(w))]);
      }
      // Every write that succeeded is there with its class (a class in use cannot have been removed).
      const client = new Client({ url: server.url, timeout: 60_000 });
      await client.bind(...ADMIN);
      try {
        for (const { dn, cls } of stored) {
          const { searchEntries } = await client.search(dn, { scope: 'base', attributes: ['objectClass'] });
          expect(searchEntries[0]?.['objectClass'], dn).toContain(cls);
        }
      } finally {
        await client.unbind();
      }
    } finally {
      expect(await server.kill('SIGTERM'), server.output()).toBe(0);
    }
    expect(stored.length, JSON.stringify([...codes.write])).toBeGreaterThan(0);
    const v = await runCli(['verify', '--data', data]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: no problems found');
  }, 300_000);
});

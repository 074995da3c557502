// A subtree renamed by its top entry alone (store layout 3, issue 22): ldapmodrdn of an ou with
// entries and a nested ou below moves one key, and every index finds the whole subtree at its new
// place and nothing at the old one. Whoever follows the changes still sees all of it: a sync
// consumer in the persist phase gets the top entry (and moves its copy, as slapd's consumer does)
// or, when the subtree moves into or out of its scope, e-syncRefreshRequired; a delta refresh from
// an older cookie finds entries changed before the move at their new place, and falls back to a
// present phase when the move crossed its scope; a persistent search names every moved entry; an
// access group moved away stops granting, one moved to its configured DN starts.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { RawLdap } from '../helpers/raw-ldap.js';
import { entryChange, PSEARCH, psearchValue, SYNC_REQUEST, syncRequest, syncRo, syncState } from '../helpers/sync.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { runCli } from '../hardening/store-tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const N = 300;
const BOB = [`uid=bob,ou=users,${B}`, 'bob-password'] as const;
const EDITORS = `cn=editors,ou=groups,${B}`;

function seed(): string {
  const out = [
    `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    `dn: ou=users,${B}\nobjectClass: organizationalUnit\nou: users\n`,
    `dn: ${BOB[0]}\nobjectClass: inetOrgPerson\nuid: bob\ncn: Bob\nsn: B\nuserPassword: ${BOB[1]}\n`,
    `dn: ou=old,${B}\nobjectClass: organizationalUnit\nou: old\n`,
    `dn: ou=nested,ou=old,${B}\nobjectClass: organizationalUnit\nou: nested\n`,
    `dn: uid=deep,ou=nested,ou=old,${B}\nobjectClass: inetOrgPerson\nuid: deep\ncn: Deep One\nsn: D\nmail: deep@example.domain\n`,
    `dn: ou=dest,${B}\nobjectClass: organizationalUnit\nou: dest\n`,
    `dn: ou=staging,${B}\nobjectClass: organizationalUnit\nou: staging\n`,
    `dn: ou=teams,ou=staging,${B}\nobjectClass: organizationalUnit\nou: teams\n`,
    `dn: cn=editors,ou=teams,ou=staging,${B}\nobjectClass: groupOfNames\ncn: editors\nmember: ${BOB[0]}\n`,
    `dn: ou=groups,${B}\nobjectClass: organizationalUnit\nou: groups\n`,
    `dn: ou=docs,${B}\nobjectClass: organizationalUnit\nou: docs\n`,
  ];
  for (let i = 0; i < N; i++)
    out.push(`dn: uid=u${i},ou=old,${B}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: S${i}\nmail: u${i}@example.domain\n`);
  return out.join('\n');
}

describe('a subtree moved by its top entry (layout 3)', () => {
  let ast: InProcessAstldap;
  let port: number;
  const tool = (name: 'ldapsearch' | 'ldapmodify', args: string[], stdin?: string, who: readonly [string, string] = ADMIN) =>
    runTool(name, ['-H', ast.url, ...bindArgs(...who), ...args], { stdin });
  const dns = async (base: string, filter: string, scope = 'sub') => {
    const r = await tool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', base, '-s', scope, filter, '1.1']);
    return { code: r.code, dns: parseLdifEntries(r.stdout).map((e) => e.dn.toLowerCase()) };
  };
  const modify = async (text: string) => {
    const r = await tool('ldapmodify', [], text);
    expect(r.code, r.stderr).toBe(0);
  };

  beforeAll(async () => {
    ast = await startAstldap({
      memory: false,
      seedLdif: seed(),
      config: {
        store: { layout: 3 },
        access: [
          {
            to: `subtree:ou=docs,${B}`,
            by: [
              { who: `group:${EDITORS}`, level: 'write' },
              { who: 'users', level: 'read' },
            ],
          },
          { to: '*', by: [{ who: 'users', level: 'read' }] },
        ],
      },
    });
    port = Number(new URL(ast.url).port);
  }, 60_000);
  afterAll(async () => {
    await ast?.stop();
  });

  it('ldapmodrdn moves the whole subtree; eq, sub and presence indexes find it at the new place only', async () => {
    const before = await syncRo(ast.url, ADMIN, B);
    expect(before.code).toBe(0);
    // Changed before the move: a delta refresh from `before.cookie` must find it at its new place.
    await modify(`dn: uid=u7,ou=old,${B}\nchangetype: modify\nreplace: description\ndescription: changed before the move\n`);
    const r = await runTool('ldapmodrdn', ['-H', ast.url, ...bindArgs(...ADMIN), '-r', `ou=old,${B}`, 'ou=new']);
    expect(r.code, r.stderr).toBe(0);
    const NEW = `ou=new,${B}`;
    expect((await dns(NEW, '(objectClass=*)')).dns).toHaveLength(N + 3);
    expect((await dns(B, `(uid=u${N - 1})`)).dns).toEqual([`uid=u${N - 1},${NEW}`]);
    expect((await dns(B, '(uid=deep)')).dns).toEqual([`uid=deep,ou=nested,${NEW}`]);
    expect((await dns(B, '(cn=User 29*)')).dns.sort()).toEqual(
      [`uid=u29,${NEW}`, ...Array.from({ length: 10 }, (_, i) => `uid=u29${i},${NEW}`)].sort(),
    );
    expect((await dns(NEW, '(mail=*)')).dns).toHaveLength(N + 1);
    expect((await dns(`ou=nested,${NEW}`, '(objectClass=*)', 'one')).dns).toEqual([`uid=deep,ou=nested,${NEW}`]);
    expect((await dns(`ou=old,${B}`, '(objectClass=*)')).code).toBe(32);
    expect((await dns(`uid=u1,ou=old,${B}`, '(objectClass=*)', 'base')).code).toBe(32);
    // The entries keep their attributes and are written again at their new DN.
    const s = await tool('ldapsearch', ['-LLL', '-b', `uid=u7,${NEW}`, '-s', 'base', '(objectClass=*)', 'description']);
    expect(attrValues(parseLdifEntries(s.stdout)[0]!, 'description')).toEqual(['changed before the move']);
    await modify(`dn: uid=u8,${NEW}\nchangetype: modify\nreplace: sn\nsn: Later\n`);
    expect((await dns(B, '(sn=Later)')).dns).toEqual([`uid=u8,${NEW}`]);

    // A delta refresh (the log names u7 at its old place, and then the move): u7 is sent, at its
    // new place, and nothing moved is named as gone.
    const delta = await syncRo(ast.url, ADMIN, B, before.cookie);
    expect(delta.code).toBe(0);
    expect(delta.refreshDeletes).toBe(true);
    expect(delta.states.get(`uid=u7,${NEW}`)).toBe('added');
    expect(delta.states.get(NEW)).toBe('added');
    expect(delta.idSet).toEqual([]);
  });

  it('a delta refresh whose scope the subtree moved into gets a present phase that holds all of it', async () => {
    const before = await syncRo(ast.url, ADMIN, `ou=dest,${B}`);
    expect(before.code).toBe(0);
    const r = await runTool('ldapmodrdn', ['-H', ast.url, ...bindArgs(...ADMIN), '-r', '-s', `ou=dest,${B}`, `ou=new,${B}`, 'ou=moved']);
    expect(r.code, r.stderr).toBe(0);
    const after = await syncRo(ast.url, ADMIN, `ou=dest,${B}`, before.cookie);
    expect(after.code).toBe(0);
    expect(after.refreshDeletes).not.toBe(true);
    expect(after.states.get(`uid=deep,ou=nested,ou=moved,ou=dest,${B}`)).toBeDefined();
    expect([...after.states.keys()].filter((d) => d.endsWith(`,ou=moved,ou=dest,${B}`))).toHaveLength(N + 2);
  });

  it('persist phase: a consumer whose scope holds both places gets the top entry; one it crosses is told to refresh', async () => {
    const whole = await RawLdap.connect(port);
    const dest = await RawLdap.connect(port);
    try {
      expect(await whole.bind(...ADMIN)).toBe(0);
      expect(await dest.bind(...ADMIN)).toBe(0);
      const w = whole.search(B, [{ oid: SYNC_REQUEST, critical: true, value: syncRequest(3) }], ['uid']);
      const d = dest.search(`ou=dest,${B}`, [{ oid: SYNC_REQUEST, critical: true, value: syncRequest(3) }], ['uid']);
      // Each refresh ends with a Sync Info (refreshDone); from then on the persist phase listens.
      await whole.next((m) => m.messageId === w && m.tag === 0x79);
      await dest.next((m) => m.messageId === d && m.tag === 0x79);
      whole.take((m) => m.messageId === w);
      dest.take((m) => m.messageId === d);

      // Within ou=dest: both see the top entry only.
      await modify(`dn: ou=moved,ou=dest,${B}\nchangetype: modrdn\nnewrdn: ou=renamed\ndeleteoldrdn: 1\n`);
      const top = await whole.next((m) => m.messageId === w && m.tag === 0x64);
      expect(top.dn).toBe(`ou=renamed,ou=dest,${B}`);
      expect(syncState(top)!.state).toBe(2);
      expect((await dest.next((m) => m.messageId === d && m.tag === 0x64)).dn).toBe(`ou=renamed,ou=dest,${B}`);
      // Out of ou=dest: the whole-tree consumer sees the top entry, the ou=dest one must refresh.
      await modify(`dn: ou=renamed,ou=dest,${B}\nchangetype: modrdn\nnewrdn: ou=back\ndeleteoldrdn: 1\nnewsuperior: ${B}\n`);
      expect((await whole.next((m) => m.messageId === w && m.tag === 0x64)).dn).toBe(`ou=back,${B}`);
      const done = await dest.next((m) => m.messageId === d && m.tag === 0x65);
      expect(done.code).toBe(4096);
      // Nothing but the top entry reached the whole-tree consumer.
      await modify(`dn: uid=u9,ou=back,${B}\nchangetype: modify\nreplace: sn\nsn: Marker\n`);
      expect((await whole.next((m) => m.messageId === w && m.tag === 0x64)).dn).toBe(`uid=u9,ou=back,${B}`);
      expect(whole.take((m) => m.messageId === w)).toEqual([]);
      whole.abandon(w);
    } finally {
      whole.close();
      dest.close();
    }
  });

  it('a persistent search names every entry the move renamed, with its previous DN', async () => {
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...ADMIN)).toBe(0);
      const id = c.search(`ou=back,${B}`, [{ oid: PSEARCH, critical: true, value: psearchValue(8, true, true) }], ['uid']);
      // Requests start in order: once a later search is answered, the persistent one listens.
      const probe = c.search(BOB[0], [], ['1.1']);
      expect((await c.next((m) => m.messageId === probe && m.tag === 0x65)).code).toBe(0);
      await modify(`dn: ou=nested,ou=back,${B}\nchangetype: modrdn\nnewrdn: ou=inner\ndeleteoldrdn: 1\n`);
      const top = await c.next((m) => m.messageId === id && m.tag === 0x64);
      expect(top.dn).toBe(`ou=inner,ou=back,${B}`);
      expect(entryChange(top)).toEqual({ type: 8, previous: `ou=nested,ou=back,${B}` });
      const deep = await c.next((m) => m.messageId === id && m.tag === 0x64);
      expect(deep.dn).toBe(`uid=deep,ou=inner,ou=back,${B}`);
      expect(entryChange(deep)).toEqual({ type: 8, previous: `uid=deep,ou=nested,ou=back,${B}` });
      c.abandon(id);
    } finally {
      c.close();
    }
  });

  it('an access group moved by its parent stops granting at its old DN and grants at its new one', async () => {
    const write = (desc: string) =>
      tool('ldapmodify', [], `dn: ou=docs,${B}\nchangetype: modify\nreplace: description\ndescription: ${desc}\n`, BOB);
    // cn=editors is configured at ou=groups but lives at ou=teams,ou=staging: bob may not write.
    expect((await write('before')).code).toBe(50);
    await modify(`dn: ou=teams,ou=staging,${B}\nchangetype: modrdn\nnewrdn: ou=teams\ndeleteoldrdn: 1\nnewsuperior: ou=groups,${B}\n`);
    // Moved below ou=groups, the group is at cn=editors,ou=teams,ou=groups: still not the configured DN.
    expect((await write('still not')).code).toBe(50);
    await modify(
      `dn: cn=editors,ou=teams,ou=groups,${B}\nchangetype: modrdn\nnewrdn: cn=editors\ndeleteoldrdn: 1\nnewsuperior: ou=groups,${B}\n`,
    );
    expect((await write('granted')).code).toBe(0);
    // Its parent ou moved away with the group below it: the configured DN holds nothing again.
    await modify(`dn: ${EDITORS}\nchangetype: modrdn\nnewrdn: cn=editors\ndeleteoldrdn: 1\nnewsuperior: ou=teams,ou=groups,${B}\n`);
    expect((await write('gone')).code).toBe(50);
    await modify(
      `dn: cn=editors,ou=teams,ou=groups,${B}\nchangetype: modrdn\nnewrdn: cn=editors\ndeleteoldrdn: 1\nnewsuperior: ou=groups,${B}\n`,
    );
    expect((await write('back')).code).toBe(0);
    await modify(`dn: ou=groups,${B}\nchangetype: modrdn\nnewrdn: ou=groups2\ndeleteoldrdn: 1\n`);
    // The group is below the moved ou now, gone from its configured DN by the subtree move.
    expect((await write('moved away')).code).toBe(50);
    await modify(`dn: ou=groups2,${B}\nchangetype: modrdn\nnewrdn: ou=groups\ndeleteoldrdn: 1\n`);
    // And back with its parent: read again from the store after the move.
    await expect.poll(async () => (await write('moved back')).code, { timeout: 10_000 }).toBe(0);
  });

  it("a parent's new spelling (same normalised DN) is its children's too, read after it was cached", async () => {
    const read = async () =>
      parseLdifEntries(
        (await tool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-b', `uid=u9,ou=back,${B}`, '-s', 'base', '1.1'])).stdout,
      )[0]!.dn;
    expect(await read()).toBe(`uid=u9,ou=back,${B}`);
    await modify(`dn: ou=back,${B}\nchangetype: modrdn\nnewrdn: ou=Back\ndeleteoldrdn: 1\n`);
    expect(await read()).toBe(`uid=u9,ou=Back,${B}`);
    await modify(`dn: ou=Back,${B}\nchangetype: modrdn\nnewrdn: ou=back\ndeleteoldrdn: 1\n`);
  });

  it('astldap verify finds the database consistent after the moves (the sync log follows them too)', async () => {
    await ast.server.close();
    const v = await runCli(['verify', '--data', ast.dataDir!]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
  });
});

// The syncrepl provider on the wire, without a consumer: OpenLDAP's ldapsearch -E sync for the
// refresh phase (full, delta from the session log, present phase once the log is too short,
// e-syncRefreshRequired), access control of sync searches, and a raw client for what never ends
// (the persist phase of refreshAndPersist, and the persistent-search control).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BerReader, BerWriter, Tag } from '../../src/protocol/ber.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { RawLdap } from '../helpers/raw-ldap.js';
import { ECN, PSEARCH, SYNC_REQUEST, syncRequest, syncRo, syncState } from '../helpers/sync.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';

const SUFFIX = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${SUFFIX}`, 'secret'] as const;
const REPLICATOR = [`cn=replicator,ou=services,${SUFFIX}`, 'replicator-secret'] as const;
const ALICE = [`uid=alice,ou=people,${SUFFIX}`, 'alice-password'] as const;
const SESSION_LOG = 8;
async function ldif(url: string, text: string): Promise<void> {
  const r = await runTool('ldapmodify', [...bindArgs(...ADMIN), '-H', url], { stdin: text });
  if (r.code !== 0) throw new Error(`ldapmodify failed: ${r.stderr}`);
}

async function contextCsn(url: string): Promise<string> {
  const r = await runTool('ldapsearch', [...bindArgs(...ADMIN), '-H', url, '-LLL', '-s', 'base', '-b', SUFFIX, 'contextCSN']);
  return parseLdifEntries(r.stdout)[0]?.attrs.get('contextcsn')?.values[0] ?? '';
}

describe('sync searches on the wire', () => {
  let srv: InProcessAstldap;
  let port: number;

  beforeAll(async () => {
    srv = await startAstldap({
      packagedSeed: true,
      seedLdif: `dn: ${REPLICATOR[0]}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: replicator\nuserPassword: ${REPLICATOR[1]}\n`,
      config: { replication: { identities: [REPLICATOR[0]], sessionLog: SESSION_LOG } },
    });
    port = Number(new URL(srv.url).port);
  });
  afterAll(() => srv?.stop());

  it('the root DSE lists the sync request and persistent search controls', async () => {
    const r = await runTool('ldapsearch', ['-x', '-H', srv.url, '-LLL', '-s', 'base', '-b', '', 'supportedControl']);
    expect(r.stdout).toContain(SYNC_REQUEST);
    expect(r.stdout).toContain(PSEARCH);
  });

  it('a full refresh sends every entry as added and a cookie with the contextCSN', async () => {
    const r = await syncRo(srv.url, REPLICATOR, SUFFIX, 'rid=042');
    expect(r.code).toBe(0);
    expect(r.states.get(SUFFIX)).toBe('added');
    expect(r.states.get(ALICE[0])).toBe('added');
    expect([...r.states.values()].every((s) => s === 'added')).toBe(true);
    expect(r.cookie).toBe(`rid=042,csn=${await contextCsn(srv.url)}`);
    expect(r.cookie).toMatch(/^rid=042,csn=\d{14}\.\d{6}Z#[0-9a-f]{6}#000#000000$/);
  });

  it('a delta refresh from the session log: changed entries, then the deleted UUIDs', async () => {
    const before = await syncRo(srv.url, REPLICATOR, SUFFIX, 'rid=001');
    await ldif(
      srv.url,
      [
        `dn: uid=gone,ou=people,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: gone\ncn: g\nsn: g\n`,
        `dn: uid=gone,ou=people,${SUFFIX}\nchangetype: delete\n`,
        `dn: uid=bob,ou=people,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: delta\n`,
      ].join('\n'),
    );
    const r = await syncRo(srv.url, REPLICATOR, SUFFIX, before.cookie);
    expect(r.code).toBe(0);
    expect([...r.states.entries()]).toEqual([[`uid=bob,ou=people,${SUFFIX}`, 'added']]);
    expect(r.idSet).toHaveLength(1);
    expect(r.refreshDeletes).toBe(true);
    expect(r.cookie).toBe(`rid=001,csn=${await contextCsn(srv.url)}`);
  });

  it('a cookie older than the session log gets the present phase', async () => {
    const before = await syncRo(srv.url, REPLICATOR, SUFFIX, 'rid=001');
    for (let i = 0; i <= SESSION_LOG; i++) {
      await ldif(srv.url, `dn: uid=alice,ou=people,${SUFFIX}\nchangetype: modify\nreplace: description\ndescription: ${i}\n`);
    }
    const r = await syncRo(srv.url, REPLICATOR, SUFFIX, before.cookie);
    expect(r.code).toBe(0);
    expect(r.states.get(ALICE[0])).toBe('added');
    expect(r.states.get(SUFFIX)).toBe('present');
    expect(r.refreshDeletes).toBe(false);
  });

  it('a cookie newer than the provider is answered with e-syncRefreshRequired (4096)', async () => {
    const r = await syncRo(srv.url, REPLICATOR, SUFFIX, 'rid=001,csn=20991231235959.000000Z#000000#000#000000');
    expect(r.code).toBe(4096);
  });

  it('the replication identity reads every secret; others get only what their rules allow', async () => {
    const repl = await syncRo(srv.url, REPLICATOR, SUFFIX, undefined, [
      'userPassword',
      'AstAccountRealmedPassword',
      'AstVoicemailPassword',
    ]);
    expect(repl.stdout).toMatch(/^userPassword:/m);
    expect(repl.stdout).toMatch(/^AstAccountRealmedPassword:/m);
    expect(repl.stdout).toMatch(/^AstVoicemailPassword:/m);
    const alice = await syncRo(srv.url, ALICE, SUFFIX, undefined, ['userPassword', 'AstAccountRealmedPassword', 'cn']);
    expect(alice.code).toBe(0);
    expect(alice.stdout).not.toMatch(/^userPassword:/m);
    expect(alice.stdout).toMatch(/^cn:/m);
    // The default rules give anonymous clients nothing of the naming context.
    const anon = await syncRo(srv.url, undefined, SUFFIX);
    expect(anon.code).toBe(32);
    expect(anon.states.size).toBe(0);
  });

  it('refreshAndPersist: changes arrive by entryUUID (a rename is a modify), with a cookie; abandon ends it', async () => {
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...REPLICATOR)).toBe(0);
      const id = c.search(`ou=people,${SUFFIX}`, [{ oid: SYNC_REQUEST, critical: true, value: syncRequest(3) }]);
      await c.next((m) => m.messageId === id && m.tag === 0x79);
      const refreshed = c.take((m) => m.messageId === id && m.tag === 0x64);
      const aliceUuid = syncState(refreshed.find((m) => m.dn === ALICE[0])!)!.uuid;
      await ldif(srv.url, `dn: ${ALICE[0]}\nchangetype: modify\nreplace: description\ndescription: live\n`);
      let m = await c.next((x) => x.messageId === id && x.tag === 0x64);
      expect(m.dn).toBe(ALICE[0]);
      expect(syncState(m)).toMatchObject({ state: 2, uuid: aliceUuid });
      expect(syncState(m)!.cookie).toBe(`csn=${await contextCsn(srv.url)}`);
      await ldif(srv.url, `dn: ${ALICE[0]}\nchangetype: modrdn\nnewrdn: uid=alicia\ndeleteoldrdn: 0\n`);
      m = await c.next((x) => x.messageId === id && x.tag === 0x64);
      expect(m.dn).toBe(`uid=alicia,ou=people,${SUFFIX}`);
      expect(syncState(m)).toMatchObject({ state: 2, uuid: aliceUuid });
      await ldif(srv.url, `dn: uid=alicia,ou=people,${SUFFIX}\nchangetype: modrdn\nnewrdn: uid=alice\ndeleteoldrdn: 1\n`);
      await c.next((x) => x.messageId === id && x.tag === 0x64 && x.dn === ALICE[0]);
      await ldif(srv.url, `dn: uid=tmp,ou=people,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: tmp\ncn: t\nsn: t\n`);
      m = await c.next((x) => x.messageId === id && x.tag === 0x64);
      expect(syncState(m)!.state).toBe(1);
      await ldif(srv.url, `dn: uid=tmp,ou=people,${SUFFIX}\nchangetype: delete\n`);
      m = await c.next((x) => x.messageId === id && x.tag === 0x64);
      expect(syncState(m)!.state).toBe(3);
      expect(m.types).toEqual([]);
      // Outside the search base: nothing.
      await ldif(srv.url, `dn: cn=1000,ou=sip,${SUFFIX}\nchangetype: modify\nreplace: AstAccountPort\nAstAccountPort: 5070\n`);
      c.abandon(id);
      // The connection still answers, and the abandoned search got no result.
      expect(await c.bind(...REPLICATOR)).toBe(0);
      expect(c.take((x) => x.messageId === id)).toEqual([]);
    } finally {
      c.close();
    }
  });

  it('refreshAndPersist: a burst of changes (which leave together) reaches the consumer complete and in order', async () => {
    const BURST = 40;
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...REPLICATOR)).toBe(0);
      const id = c.search(`ou=people,${SUFFIX}`, [{ oid: SYNC_REQUEST, critical: true, value: syncRequest(3) }]);
      await c.next((m) => m.messageId === id && m.tag === 0x79);
      c.take((m) => m.messageId === id);
      const dn = (i: number) => `uid=burst${i},ou=people,${SUFFIX}`;
      const adds = Array.from(
        { length: BURST },
        (_, i) => `dn: ${dn(i)}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: burst${i}\ncn: b\nsn: b\n`,
      );
      // One ldapmodify: the changes commit one after another on one connection, as fast as it goes.
      await ldif(srv.url, adds.join('\n'));
      const uuids: string[] = [];
      let cookie = '';
      for (let i = 0; i < BURST; i++) {
        const m = await c.next((x) => x.messageId === id && x.tag === 0x64);
        expect(m.dn).toBe(dn(i));
        const s = syncState(m)!;
        expect(s.state).toBe(1);
        // Each change is its own commit: each carries its cookie, and they only grow.
        expect(s.cookie! > cookie).toBe(true);
        cookie = s.cookie!;
        uuids.push(s.uuid);
      }
      expect(cookie).toBe(`csn=${await contextCsn(srv.url)}`);
      await ldif(srv.url, uuids.map((_, i) => `dn: ${dn(i)}\nchangetype: delete\n`).join('\n'));
      for (let i = 0; i < BURST; i++) {
        const m = await c.next((x) => x.messageId === id && x.tag === 0x64);
        expect(syncState(m)).toMatchObject({ state: 3, uuid: uuids[i] });
      }
      // Nothing more than the changes, and a lone change after the burst still arrives.
      expect(c.take((x) => x.messageId === id)).toEqual([]);
      await ldif(srv.url, `dn: ${ALICE[0]}\nchangetype: modify\nreplace: description\ndescription: after the burst\n`);
      expect((await c.next((x) => x.messageId === id && x.tag === 0x64)).dn).toBe(ALICE[0]);
      c.abandon(id);
    } finally {
      c.close();
    }
  });

  it('persistent search: changes only, with entry change notifications', async () => {
    const w = new BerWriter(32);
    w.startSequence();
    w.writeInteger(15);
    w.writeBoolean(true);
    w.writeBoolean(true);
    w.endSequence();
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...ADMIN)).toBe(0);
      const id = c.search(`ou=people,${SUFFIX}`, [{ oid: PSEARCH, critical: true, value: w.toBuffer() }], ['uid']);
      // Nothing is sent until something changes. Requests start in order: once a later search on
      // the connection is answered, the persistent one is listening.
      const probe = c.search(ALICE[0], []);
      expect((await c.next((m) => m.messageId === probe && m.tag === 0x65)).code).toBe(0);
      await ldif(srv.url, `dn: uid=ps,ou=people,${SUFFIX}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: ps\ncn: p\nsn: p\n`);
      await ldif(srv.url, `dn: uid=ps,ou=people,${SUFFIX}\nchangetype: modrdn\nnewrdn: uid=ps2\ndeleteoldrdn: 1\n`);
      await ldif(srv.url, `dn: uid=ps2,ou=people,${SUFFIX}\nchangetype: delete\n`);
      const ecn = async () => {
        const m = await c.next((x) => x.messageId === id && x.tag === 0x64);
        const v = m.controls.find((x) => x.oid === ECN)!.value!;
        const r = new BerReader(v);
        r.enter(Tag.sequence);
        const type = r.readEnumerated();
        const previous = r.atEnd() ? undefined : r.readString();
        return { dn: m.dn, type, previous };
      };
      expect(await ecn()).toEqual({ dn: `uid=ps,ou=people,${SUFFIX}`, type: 1, previous: undefined });
      expect(await ecn()).toEqual({ dn: `uid=ps2,ou=people,${SUFFIX}`, type: 8, previous: `uid=ps,ou=people,${SUFFIX}` });
      expect(await ecn()).toEqual({ dn: `uid=ps2,ou=people,${SUFFIX}`, type: 2, previous: undefined });
      c.abandon(id);
    } finally {
      c.close();
    }
  });

  it('persistent search without changesOnly sends the current entries first', async () => {
    const w = new BerWriter(32);
    w.startSequence();
    w.writeInteger(1);
    w.writeBoolean(false);
    w.writeBoolean(false);
    w.endSequence();
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...ADMIN)).toBe(0);
      const id = c.search(`ou=people,${SUFFIX}`, [{ oid: PSEARCH, critical: true, value: w.toBuffer() }], ['uid']);
      const first = await c.next((m) => m.messageId === id && m.tag === 0x64);
      expect(first.dn).toBe(`ou=people,${SUFFIX}`);
      expect(first.controls).toEqual([]);
      await c.next((m) => m.messageId === id && m.dn === ALICE[0]);
      c.abandon(id);
    } finally {
      c.close();
    }
  });

  it('malformed or misplaced sync requests get a clear result', async () => {
    const c = await RawLdap.connect(port);
    try {
      expect(await c.bind(...REPLICATOR)).toBe(0);
      let id = c.search(SUFFIX, [{ oid: SYNC_REQUEST, critical: true, value: Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x07]) }]);
      expect((await c.next((m) => m.messageId === id)).code).toBe(2);
      id = c.search('cn=Subschema', [{ oid: SYNC_REQUEST, critical: true, value: syncRequest(1) }]);
      expect((await c.next((m) => m.messageId === id)).code).toBe(53);
      expect(await c.bind(...REPLICATOR)).toBe(0);
    } finally {
      c.close();
    }
  });
});

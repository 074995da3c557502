// The directory core called directly, without a socket: the frontend's routing, the operations
// and the one write path, over an in-memory store; and two cores in one process that share no
// state (subschema time, CSN counters, paged cursors, bind throttling).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AttributeValues } from '../../src/ldap/messages.js';
import { ResultCode } from '../../src/ldap/result.js';
import { startCore, type Core } from '../helpers/core.js';

const B = 'dc=example,dc=domain';
const ADMIN = `cn=admin,${B}`;
const attrs = (o: Record<string, string | string[]>): AttributeValues[] =>
  Object.entries(o).map(([type, v]) => ({ type, values: (Array.isArray(v) ? v : [v]).map((x) => Buffer.from(x)) }));

async function seed(core: Core, suffix = B): Promise<void> {
  const admin = core.as(core.dir.config.admin.dn);
  const dc = suffix.split(',')[0]!.split('=')[1]!;
  await core.fe.add(admin, { dn: suffix, attributes: attrs({ objectClass: ['dcObject', 'organization'], dc, o: dc }) });
  await core.fe.add(admin, { dn: `ou=people,${suffix}`, attributes: attrs({ objectClass: 'organizationalUnit', ou: 'people' }) });
  await core.fe.add(admin, {
    dn: `uid=alice,ou=people,${suffix}`,
    attributes: attrs({ objectClass: 'inetOrgPerson', uid: 'alice', cn: 'Alice', sn: 'A', userPassword: '{SSHA}x' }),
  });
}

describe('the directory core, called directly', () => {
  let core: Core;
  beforeAll(async () => {
    core = await startCore();
    await seed(core);
  });
  afterAll(() => core.close());

  it('adds, searches, modifies, renames, compares and deletes through the frontend', async () => {
    const admin = core.as(ADMIN);
    const r = await core.search(admin, { base: B, filter: { type: 'equality', attribute: 'uid', value: Buffer.from('alice') } });
    expect(r.entries.map((e) => e.dn)).toEqual([`uid=alice,ou=people,${B}`]);
    await core.fe.modify(admin, {
      dn: `uid=alice,ou=people,${B}`,
      changes: [{ operation: 'replace', type: 'sn', values: [Buffer.from('B')] }],
    });
    await core.fe.modifyDN(admin, { dn: `uid=alice,ou=people,${B}`, newRdn: 'uid=alice2', deleteOldRdn: true });
    const cmp = await core.fe.compare(admin, { dn: `uid=alice2,ou=people,${B}`, attribute: 'sn', value: Buffer.from('b') });
    expect(cmp.code).toBe(ResultCode.compareTrue);
    await core.fe.delete(admin, { dn: `uid=alice2,ou=people,${B}` });
    await expect(core.fe.delete(admin, { dn: `uid=alice2,ou=people,${B}` })).rejects.toMatchObject({
      code: ResultCode.noSuchObject,
      matchedDN: `ou=people,${B}`,
    });
    await seed(core).catch(() => undefined); // put alice back for the other tests
    await core.fe
      .add(admin, {
        dn: `uid=alice,ou=people,${B}`,
        attributes: attrs({ objectClass: 'inetOrgPerson', uid: 'alice', cn: 'Alice', sn: 'A' }),
      })
      .catch(() => undefined);
  });

  it('an entry formatted again is the same reusable object until the entry or the selection changes', async () => {
    const admin = core.as(ADMIN);
    const dn = `uid=memo,ou=people,${B}`;
    await core.fe.add(admin, { dn, attributes: attrs({ objectClass: 'inetOrgPerson', uid: 'memo', cn: 'Memo', sn: 'M' }) });
    const find = (attributes: string[] = []) => core.search(admin, { base: dn, scope: 'base', attributes }).then((r) => r.entries[0]!);
    const values = (e: Awaited<ReturnType<typeof find>>, type: string) =>
      e.attributes.find((a) => a.type.toLowerCase() === type)?.values.map(String);
    await find(); // first sight: formatted, not kept
    const second = await find();
    const third = await find();
    expect(second.reusable).toBe(true);
    expect(third).toBe(second);
    // Another selection is another view.
    const onlySn = await find(['sn']);
    expect(onlySn.attributes.map((a) => a.type)).toEqual(['sn']);
    expect((await find()).attributes.length).toBeGreaterThan(1);
    // A write makes a new record: the next search shows the new value, never the kept view.
    await core.fe.modify(admin, { dn, changes: [{ operation: 'replace', type: 'sn', values: [Buffer.from('N')] }] });
    expect(values(await find(), 'sn')).toEqual(['N']);
    expect(values(await find(), 'sn')).toEqual(['N']);
    // Operational attributes asked for are computed each time (hasSubordinates, entryDN), not kept.
    const op = await find(['+']);
    expect(op.reusable).toBeUndefined();
    expect(values(op, 'entrydn')).toEqual([dn]);
    // Someone who is not the administrator gets a view checked against the access rules, not kept.
    const user = core.as(`uid=alice,ou=people,${B}`);
    for (let i = 0; i < 3; i++) {
      const seen = await core.search(user, { base: dn, scope: 'base' });
      expect(seen.entries.length).toBe(1);
      expect(seen.entries[0]!.reusable).toBeUndefined();
    }
    await core.fe.delete(admin, { dn });
  });

  it('routes the special entries once: root DSE, cn=Subschema and cn=config', async () => {
    const anon = core.as('');
    const dse = await core.search(anon, { base: '', scope: 'base', attributes: ['supportedControl', 'namingContexts'] });
    expect(dse.entries[0]!.attributes.find((a) => a.type === 'namingContexts')!.values).toEqual([B]);
    await expect(core.search(anon, { base: '', scope: 'one' })).rejects.toMatchObject({ code: ResultCode.noSuchObject });
    const sub = await core.search(anon, { base: 'cn=Subschema', scope: 'base', attributes: ['objectClasses'] });
    expect(sub.entries).toHaveLength(1);
    // cn=config: administrators only; others see nothing there.
    await expect(core.search(anon, { base: 'cn=config', scope: 'base' })).rejects.toMatchObject({ code: ResultCode.noSuchObject });
    const cfg = await core.search(core.as(ADMIN), { base: 'cn=schema,cn=config', scope: 'one', attributes: ['cn'] });
    expect(cfg.entries.length).toBeGreaterThan(3);
    await expect(core.fe.add(core.as(ADMIN), { dn: '', attributes: [] })).rejects.toMatchObject({ code: ResultCode.entryAlreadyExists });
    await expect(core.fe.delete(core.as(ADMIN), { dn: 'cn=Subschema' })).rejects.toMatchObject({ code: ResultCode.unwillingToPerform });
  });

  it('the write path checks the schema, stamps operational attributes and keeps the RDN values', async () => {
    const admin = core.as(ADMIN);
    const dn = `uid=alice,ou=people,${B}`;
    await expect(
      core.fe.modify(admin, { dn, changes: [{ operation: 'add', type: 'objectClass', values: [Buffer.from('posixAccount')] }] }),
    ).rejects.toMatchObject({ code: ResultCode.objectClassViolation });
    await expect(core.fe.modify(admin, { dn, changes: [{ operation: 'delete', type: 'uid', values: [] }] })).rejects.toMatchObject({
      code: ResultCode.notAllowedOnRDN,
    });
    const before = (await core.dir.store.get(core.dir.normalize(dn)))!;
    await core.fe.modify(admin, { dn, changes: [{ operation: 'replace', type: 'description', values: [Buffer.from('x')] }] });
    const after = (await core.dir.store.get(core.dir.normalize(dn)))!;
    expect(after.attrs['entrycsn']![0]).not.toBe(before.attrs['entrycsn']![0]);
    expect(after.attrs['modifiersname']).toEqual([ADMIN]);
    expect(after.attrs['entryuuid']).toEqual(before.attrs['entryuuid']);
  });

  it('a write transaction that throws stages nothing; one that returns commits everything in one batch', async () => {
    const dir = core.dir;
    const ndn = dir.normalize(`uid=alice,ou=people,${B}`);
    await expect(
      dir.writer.transaction(async (tx) => {
        tx.setMeta('test/key', 'value');
        const old = await tx.require(ndn);
        tx.update(ADMIN, ndn, old, { ...old.attrs, objectclass: ['organizationalUnit'] });
      }),
    ).rejects.toMatchObject({ code: ResultCode.objectClassModsProhibited });
    expect(await dir.store.getMeta('test/key')).toBeUndefined();
    await dir.writer.transaction(async (tx) => {
      tx.setMeta('test/key', 'value');
      const old = await tx.require(ndn);
      tx.update(ADMIN, ndn, old, { ...old.attrs, description: ['y'] });
    });
    expect(await dir.store.getMeta('test/key')).toBe('value');
    expect((await dir.store.get(ndn))!.attrs['description']).toEqual(['y']);
  });

  it('Who Am I and Password Modify are typed extended operations', async () => {
    const who = await core.fe.extended(core.as(ADMIN), { kind: 'whoAmI' });
    expect(who.authzId).toBe(`dn:${ADMIN}`);
    const pm = await core.fe.extended(core.as(ADMIN), { kind: 'passwordModify', userIdentity: `uid=alice,ou=people,${B}` });
    expect(pm.generatedPassword).toMatch(/^[A-Za-z2-9]{20}$/);
    await expect(core.fe.extended(core.as(ADMIN), { kind: 'unknown', oid: '1.2.3' })).rejects.toMatchObject({
      code: ResultCode.protocolError,
    });
  });
});

describe('two servers in one process share no state', () => {
  let a: Core;
  let b: Core;
  beforeAll(async () => {
    a = await startCore();
    b = await startCore({ suffix: 'dc=test,dc=local', admin: { dn: 'cn=admin,dc=test,dc=local', password: 'other' } });
    await seed(a);
    await seed(b, 'dc=test,dc=local');
  });
  afterAll(async () => {
    await a.close();
    await b.close();
  });

  const subschemaTime = async (core: Core) => {
    const r = await core.search(core.as(''), { base: 'cn=Subschema', scope: 'base', attributes: ['modifyTimestamp'] });
    return String(r.entries[0]!.attributes.find((x) => x.type === 'modifyTimestamp')!.values[0]);
  };

  it('a schema change on one moves only its own subschema modifyTimestamp and schema', async () => {
    const bBefore = await subschemaTime(b);
    const aBefore = await subschemaTime(a);
    await new Promise((r) => setTimeout(r, 1100)); // generalizedTime has whole seconds
    const def = "( 1.3.6.1.4.1.99999.7.1 NAME 'astldapIsolationTest' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )";
    await a.fe.modify(a.as(ADMIN), {
      dn: 'cn=Subschema',
      changes: [{ operation: 'add', type: 'attributeTypes', values: [Buffer.from(def)] }],
    });
    expect(a.dir.schema.attributeType('astldapIsolationTest')).toBeDefined();
    expect(b.dir.schema.attributeType('astldapIsolationTest')).toBeUndefined();
    expect(await subschemaTime(a)).not.toBe(aBefore);
    expect(await subschemaTime(b)).toBe(bBefore);
  });

  it('CSN counters are per server', () => {
    const t = new Date(Date.UTC(2030, 0, 1));
    expect(a.dir.clock.csn(t)).toMatch(/#000000#/);
    expect(a.dir.clock.csn(t)).toMatch(/#000001#/);
    expect(b.dir.clock.csn(t)).toMatch(/#000000#/);
  });

  it('a paged-results cookie of one server means nothing to the other, for the same session id', async () => {
    const ctx = a.as(ADMIN, 7);
    const first = await a.search({ ...ctx, controls: { paged: { size: 1, cookie: Buffer.alloc(0) } } }, { base: B });
    const cookie = (first.controls as { paged: { cookie: Buffer } }).paged.cookie;
    expect(cookie.length).toBeGreaterThan(0);
    const bctx = b.as('cn=admin,dc=test,dc=local', 7);
    await expect(b.search({ ...bctx, controls: { paged: { size: 1, cookie } } }, { base: 'dc=test,dc=local' })).rejects.toMatchObject({
      code: ResultCode.unwillingToPerform,
    });
    const next = await a.search({ ...ctx, controls: { paged: { size: 1, cookie } } }, { base: B });
    expect(next.entries).toHaveLength(1);
  });

  it('bind failures on one server do not slow binds on the other', async () => {
    const dn = `uid=alice,ou=people,${B}`;
    for (let i = 0; i < 5; i++) {
      await expect(
        a.fe.bind(a.as(''), { version: 3, name: dn, auth: { kind: 'simple', password: Buffer.from('wrong') } }),
      ).rejects.toMatchObject({
        code: ResultCode.invalidCredentials,
      });
    }
    const key = `dn:${a.dir.normalize(dn)}`;
    expect(a.dir.throttle.failures(key)).toBe(5);
    expect(b.dir.throttle.failures(key)).toBe(0);
  });
});

// The provider's replication state in the directory core: cookies, the session log written in
// the change's own batch (trimmed to its size, with the horizon following), contextCSN.

import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';
import { formatCookie, parseCookie } from '../../src/directory/sync/cookie.js';
import { searchRequest } from '../../src/ldap/messages.js';
import { startCore, type Core } from '../helpers/core.js';

const S = 'dc=example,dc=domain';

async function logged(core: Core): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for await (const kv of core.dir.store.scanMeta('synclog/')) out.push(kv);
  return out;
}

async function addPerson(core: Core, uid: string): Promise<void> {
  await core.dir.writer.transaction(async (tx) => {
    await tx.add('', `uid=${uid},${S}`, `uid=${uid},${S}`, { objectclass: ['inetOrgPerson'], uid: [uid], cn: [uid], sn: [uid] });
  });
}

describe('sync cookies', () => {
  it('reads OpenLDAP cookies and keeps the newest valid CSN', () => {
    const a = '20261130085255.821000Z#000005#000#000000';
    const b = '20261130085256.000000Z#000000#000#000000';
    expect(parseCookie(`rid=001,sid=002,csn=${a};${b}`)).toEqual({ rid: '001', sid: '002', csn: b });
    expect(parseCookie('rid=001')).toEqual({ rid: '001' });
    expect(parseCookie('rid=1234,csn=garbage')).toEqual({});
    expect(parseCookie(undefined)).toEqual({});
    // Another server's CSN is no state of this one's (syncprov drops it): a full refresh.
    const other = '20261130085257.000000Z#000000#001#000000';
    expect(parseCookie(`rid=001,csn=${other}`)).toEqual({ rid: '001' });
    expect(parseCookie(`rid=001,csn=${a};${other}`)).toEqual({ rid: '001', csn: a });
    expect(formatCookie('001', a)).toBe(`rid=001,csn=${a}`);
    expect(formatCookie(undefined, a)).toBe(`csn=${a}`);
  });
});

describe('replication configuration', () => {
  it('defaults to no identities and a log of 10000, and refuses what is not a DN list or a size', () => {
    expect(loadConfig({ env: {} }).replication).toEqual({ identities: [], sessionLog: 10000 });
    const bad = (replication: unknown) => () => loadConfig({ overrides: { replication } as never, env: {} });
    expect(bad({ identities: ['not a dn'] })).toThrow(ConfigError);
    expect(bad({ identities: 'cn=x' })).toThrow(ConfigError);
    expect(bad({ sessionLog: -1 })).toThrow(ConfigError);
    expect(bad({ sessionLog: 1.5 })).toThrow(ConfigError);
  });
});

describe('the session log', () => {
  let core: Core | undefined;
  afterEach(async () => core?.close());

  it('is written with the change, moves contextCSN, and is trimmed to its size with the horizon following', async () => {
    core = await startCore({ replication: { identities: [], sessionLog: 3 } });
    const sync = core.dir.sync;
    await core.dir.writer.transaction(async (tx) => {
      await tx.add('', S, S, { objectclass: ['dcObject', 'organization'], dc: ['example'], o: ['x'] });
    });
    const start = sync.contextCsn;
    expect(await core.dir.store.getMeta('sync/contextCSN')).toBe(start);
    await addPerson(core, 'a');
    await addPerson(core, 'b');
    expect((await logged(core)).map(([, v]) => v.split(' ')[0])).toEqual(['add', 'add', 'add']);
    expect(sync.horizon < start).toBe(true);
    await addPerson(core, 'c');
    const log = await logged(core);
    expect(log).toHaveLength(3);
    // The oldest record (the suffix's add) is gone: the horizon is its CSN, so a cookie from
    // before it gets a present phase, one from after it a delta.
    expect(sync.horizon).toBe(start);
    expect(log.every(([k]) => k > `synclog/${start}/~`)).toBe(true);
    expect(sync.contextCsn > sync.horizon).toBe(true);
    const uuid = (await core.dir.store.get(`uid=c,${S}`))!.attrs['entryuuid']![0]!;
    await core.dir.writer.transaction(async (tx) => tx.remove(`uid=c,${S}`, (await tx.get(`uid=c,${S}`))!));
    const changes = [];
    for await (const c of sync.changedSince(core.dir.store, sync.horizon)) changes.push(c);
    expect(changes.at(-1)).toEqual({ kind: 'delete', uuid, ndn: `uid=c,${S}` });
    expect(await core.dir.store.getMeta('sync/contextCSN')).toBe(sync.contextCsn);
  });

  it('logs a rename once, as a rename of the same entryUUID', async () => {
    core = await startCore({ replication: { identities: [], sessionLog: 100 } });
    const fe = core.fe;
    const admin = core.as('cn=admin,dc=example,dc=domain');
    await core.dir.writer.transaction(async (tx) => {
      await tx.add('', S, S, { objectclass: ['dcObject', 'organization'], dc: ['example'], o: ['x'] });
    });
    await addPerson(core, 'r');
    const uuid = (await core.dir.store.get(`uid=r,${S}`))!.attrs['entryuuid']![0]!;
    const before = core.dir.sync.contextCsn;
    const res = await fe.modifyDN(admin, { dn: `uid=r,${S}`, newRdn: 'uid=s', deleteOldRdn: true });
    expect(res.code).toBe(0);
    const changes = [];
    for await (const c of core.dir.sync.changedSince(core.dir.store, before)) changes.push(c);
    expect(changes).toEqual([{ kind: 'rename', uuid, ndn: `uid=s,${S}` }]); // where the entry is now
  });
});

describe('a persisting sync search', () => {
  let core: Core | undefined;
  afterEach(async () => core?.close());

  it('ends with e-syncRefreshRequired when its consumer stops reading, instead of holding every later change', async () => {
    core = await startCore({ replication: { identities: [], sessionLog: 100 } });
    await core.dir.writer.transaction(async (tx) => {
      await tx.add('', S, S, { objectclass: ['dcObject', 'organization'], dc: ['example'], o: ['x'] });
    });
    await addPerson(core, 'p');
    const ctx = {
      ...core.as('cn=admin,dc=example,dc=domain'),
      controls: { sync: { mode: 'refreshAndPersist' as const, reloadHint: false } },
    };
    let refreshed = false;
    let stalled = false;
    const result = core.fe.search(
      ctx,
      searchRequest(S),
      // The first change sent never completes: the consumer's socket is full and stays so.
      (e) => (refreshed && e.sync?.state !== 'add' ? ((stalled = true), new Promise<void>(() => {})) : undefined),
      (info) => {
        if (info.kind === 'refreshPresent') refreshed = true;
      },
    );
    const outcome = result.then(
      (r) => r.code,
      (err: { code?: number }) => err.code,
    );
    while (!refreshed) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 10_002; i++) {
      await core.dir.writer.transaction(async (tx) => {
        const old = (await tx.get(`uid=p,${S}`))!;
        tx.update('', `uid=p,${S}`, old, { ...old.attrs, description: [String(i)] });
      });
    }
    expect(stalled).toBe(true);
    expect(await outcome).toBe(4096);
  }, 60_000);
});

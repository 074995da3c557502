// The store contract (src/store/types.ts), run against LevelDB on disk and against an in-memory
// level: entries, the children index, the attribute indexes and their deltas, atomic batches,
// meta, reindexing and persistence.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, type EntryRecord, type IndexSpec, type Indexer, type Store } from '../../src/store/index.js';

const SPECS: IndexSpec[] = [
  { attr: 'objectclass', eq: true, pres: true, sub: false },
  { attr: 'cn', eq: true, pres: true, sub: true },
  { attr: 'uid', eq: true, pres: false, sub: false },
];

/** Lowercases the values of indexed attributes, like caseIgnoreMatch would. */
function indexer(specs: IndexSpec[]): Indexer {
  return (rec) => {
    const out = new Map<string, string[]>();
    for (const s of specs) if (rec.attrs[s.attr]) out.set(s.attr, rec.attrs[s.attr]!.map((v) => v.toLowerCase()));
    return out;
  };
}

const rec = (dn: string, attrs: Record<string, string[]>): EntryRecord => ({ dn, attrs });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe.each([
  ['LevelDB on disk', false],
  ['in-memory level', true],
])('store contract: %s', (_name, memory) => {
  let dir: string;
  let store: Store;
  const open = (specs = SPECS) => openStore({ path: path.join(dir, 'db'), memory, indexes: specs, indexer: indexer(specs), sync: false });

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'astldap-store-'));
    store = await open();
    await store.write({
      entries: [
        { ndn: 'dc=x', new: rec('dc=x', { objectclass: ['domain'], dc: ['x'] }) },
        { ndn: 'ou=a,dc=x', new: rec('ou=a,dc=x', { objectclass: ['organizationalUnit'], ou: ['a'] }) },
        { ndn: 'cn=alice smith,ou=a,dc=x', new: rec('cn=Alice Smith,ou=a,dc=x', { objectclass: ['person'], cn: ['Alice Smith'], uid: ['alice'] }) },
        { ndn: 'cn=bob,ou=a,dc=x', new: rec('cn=Bob,ou=a,dc=x', { objectclass: ['person'], cn: ['Bob', 'Robert Jones'], uid: ['bob'] }) },
        { ndn: 'cn=émile,dc=x', new: rec('cn=Émile,dc=x', { objectclass: ['person'], cn: ['Émile Zola'] }) },
      ],
    });
  });
  afterEach(async () => {
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets entries one by one and many at once', async () => {
    expect((await store.get('cn=bob,ou=a,dc=x'))?.attrs['uid']).toEqual(['bob']);
    expect(await store.get('cn=nobody,dc=x')).toBeUndefined();
    const many = await store.getMany(['dc=x', 'cn=nobody', 'ou=a,dc=x']);
    expect(many.map((r) => r?.dn)).toEqual(['dc=x', undefined, 'ou=a,dc=x']);
    expect(await store.count()).toBe(5);
  });

  it('keeps the children index', async () => {
    expect((await collect(store.children('dc=x'))).sort()).toEqual(['cn=émile,dc=x', 'ou=a,dc=x']);
    expect(await store.countChildren('ou=a,dc=x')).toBe(2);
    expect(await store.hasChildren('ou=a,dc=x')).toBe(true);
    expect(await store.hasChildren('cn=bob,ou=a,dc=x')).toBe(false);
    expect(await collect(store.children(''))).toEqual(['dc=x']);
  });

  it('walks a subtree parents first, base included', async () => {
    const order = (await collect(store.subtree('dc=x'))).map(([n]) => n);
    expect(order).toHaveLength(5);
    expect(order[0]).toBe('dc=x');
    expect(order.indexOf('ou=a,dc=x')).toBeLessThan(order.indexOf('cn=bob,ou=a,dc=x'));
    expect((await collect(store.subtree(''))).length).toBe(5);
    expect((await collect(store.subtree('ou=a,dc=x'))).map(([n]) => n).sort()).toEqual(['cn=alice smith,ou=a,dc=x', 'cn=bob,ou=a,dc=x', 'ou=a,dc=x']);
    expect(await collect(store.subtree('ou=none,dc=x'))).toEqual([]);
  });

  it('answers equality, range and presence lookups', async () => {
    expect(await store.lookupEquality('cn', 'robert jones')).toEqual(['cn=bob,ou=a,dc=x']);
    expect(await store.lookupEquality('objectclass', 'person')).toHaveLength(3);
    expect(await store.lookupEquality('uid', 'nobody')).toEqual([]);
    expect((await store.lookupRange('uid', 'alice', 'alice')).sort()).toEqual(['cn=alice smith,ou=a,dc=x']);
    expect((await store.lookupRange('uid', 'b')).sort()).toEqual(['cn=bob,ou=a,dc=x']);
    expect((await store.lookupRange('uid', undefined, 'bob')).sort()).toEqual(['cn=alice smith,ou=a,dc=x', 'cn=bob,ou=a,dc=x']);
    expect((await store.lookupPresent('cn')).sort()).toEqual(['cn=alice smith,ou=a,dc=x', 'cn=bob,ou=a,dc=x', 'cn=émile,dc=x']);
    await expect(store.lookupPresent('uid')).rejects.toThrow(/index/);
  });

  it('answers substring lookups with a superset, or undefined when it cannot narrow', async () => {
    expect(await store.lookupSubstrings('cn', { initial: 'ali', any: [] })).toEqual(['cn=alice smith,ou=a,dc=x']);
    expect(await store.lookupSubstrings('cn', { any: [], final: 'jones' })).toEqual(['cn=bob,ou=a,dc=x']);
    expect(await store.lookupSubstrings('cn', { any: ['smit'] })).toEqual(['cn=alice smith,ou=a,dc=x']);
    expect(await store.lookupSubstrings('cn', { initial: 'é', any: ['zol'] })).toEqual(['cn=émile,dc=x']);
    expect(await store.lookupSubstrings('cn', { any: ['xyz'] })).toEqual([]);
    expect(await store.lookupSubstrings('cn', { any: ['o'] })).toBeUndefined();
    const short = await store.lookupSubstrings('cn', { initial: 'b', any: [] });
    expect(short === undefined || short.includes('cn=bob,ou=a,dc=x')).toBe(true);
  });

  it('moves index entries on modify and removes them on delete, with the count', async () => {
    const old = (await store.get('cn=bob,ou=a,dc=x'))!;
    await store.write({ entries: [{ ndn: 'cn=bob,ou=a,dc=x', old, new: rec(old.dn, { ...old.attrs, cn: ['Bob', 'Bobby'] }) }] });
    expect(await store.lookupEquality('cn', 'robert jones')).toEqual([]);
    expect(await store.lookupEquality('cn', 'bobby')).toEqual(['cn=bob,ou=a,dc=x']);
    expect(await store.lookupSubstrings('cn', { any: ['jone'] })).toEqual([]);
    expect(await store.count()).toBe(5);
    const cur = (await store.get('cn=bob,ou=a,dc=x'))!;
    await store.write({ entries: [{ ndn: 'cn=bob,ou=a,dc=x', old: cur }] });
    expect(await store.get('cn=bob,ou=a,dc=x')).toBeUndefined();
    expect(await store.lookupEquality('cn', 'bob')).toEqual([]);
    expect(await store.lookupEquality('objectclass', 'person')).toHaveLength(2);
    expect(await store.countChildren('ou=a,dc=x')).toBe(1);
    expect(await store.count()).toBe(4);
  });

  it('applies a batch as a whole, meta included', async () => {
    await store.write({
      entries: [
        { ndn: 'cn=c1,dc=x', new: rec('cn=c1,dc=x', { objectclass: ['person'], cn: ['c1'] }) },
        { ndn: 'cn=c2,dc=x', new: rec('cn=c2,dc=x', { objectclass: ['person'], cn: ['c2'] }) },
      ],
      meta: [
        { key: 'role/a', value: '1' },
        { key: 'role/b', value: '2' },
        { key: 'other', value: 'x' },
      ],
    });
    expect((await store.getMany(['cn=c1,dc=x', 'cn=c2,dc=x'])).every(Boolean)).toBe(true);
    expect(await store.getMeta('role/a')).toBe('1');
    expect(await collect(store.scanMeta('role/'))).toEqual([
      ['role/a', '1'],
      ['role/b', '2'],
    ]);
    await store.write({ entries: [], meta: [{ key: 'role/a', value: null }] });
    expect(await store.getMeta('role/a')).toBeUndefined();
    // Concurrent writes keep an exact count.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.write({ entries: [{ ndn: `cn=p${i},dc=x`, new: rec(`cn=p${i},dc=x`, { objectclass: ['person'], cn: [`p${i}`] }) }] })),
    );
    expect(await store.count()).toBe(27);
  });

  it('rebuilds indexes when the index configuration changes, and persists on disk', async () => {
    await store.close();
    const specs: IndexSpec[] = [...SPECS.filter((s) => s.attr !== 'uid'), { attr: 'uid', eq: true, pres: true, sub: true }];
    store = await open(specs);
    if (!memory) {
      expect(await store.count()).toBe(5);
      expect((await store.lookupPresent('uid')).sort()).toEqual(['cn=alice smith,ou=a,dc=x', 'cn=bob,ou=a,dc=x']);
      expect(await store.lookupSubstrings('uid', { initial: 'ali', any: [] })).toEqual(['cn=alice smith,ou=a,dc=x']);
    } else {
      expect(await store.count()).toBe(0); // memory does not survive a close
    }
  });

  it('clears everything', async () => {
    await store.write({ entries: [], meta: [{ key: 'k', value: 'v' }] });
    await store.clear();
    expect(await store.count()).toBe(0);
    expect(await store.get('dc=x')).toBeUndefined();
    expect(await store.lookupEquality('objectclass', 'person')).toEqual([]);
    expect(await store.getMeta('k')).toBeUndefined();
  });
});

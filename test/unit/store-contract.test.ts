// The store contract (src/store/types.ts), run against LevelDB on disk and against an in-memory
// level: entries, the children index, subtree order, the attribute indexes and their deltas,
// atomic batches, meta, reindexing after an index configuration change, persistence and clear.

import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Level } from 'level';
import { LevelStore, openStore, type EntryRecord, type IndexSpec, type Indexer, type Store } from '../../src/store/index.js';
import { useTempDir } from '../helpers/tmp.js';

const SPECS: IndexSpec[] = [
  { attr: 'objectclass', eq: true, pres: true, sub: false },
  { attr: 'cn', eq: true, pres: true, sub: true },
  { attr: 'uid', eq: true, pres: false, sub: false },
];

/** Lowercases the values of the indexed attributes, like caseIgnoreMatch would. */
function lowercaser(): Indexer {
  return (rec, attr) => (rec.attrs[attr] ?? []).map((v) => v.toLowerCase());
}

const rec = (dn: string, attrs: Record<string, string[]>): EntryRecord => ({ dn, attrs });
const person = (dn: string, cn: string, uid?: string): EntryRecord =>
  rec(dn, { objectclass: ['top', 'person'], cn: [cn], ...(uid ? { uid: [uid] } : {}) });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const sorted = (xs: string[] | undefined) => [...(xs ?? [])].sort();

// A small tree: dc=example,dc=com with two OUs and a few people.
const BASE = 'dc=example,dc=com';
const PEOPLE = 'ou=people,' + BASE;
const GROUPS = 'ou=groups,' + BASE;
const ALICE = 'uid=alice,' + PEOPLE;
const BOB = 'uid=bob,' + PEOPLE;
const CAROL = 'uid=carol,' + PEOPLE;
const ADMINS = 'cn=admins,' + GROUPS;

async function seed(store: Store): Promise<void> {
  await store.write({
    entries: [
      { ndn: BASE, new: rec('dc=example,dc=com', { objectclass: ['top', 'domain'], dc: ['example'] }) },
      { ndn: PEOPLE, new: rec('ou=People,dc=example,dc=com', { objectclass: ['top', 'organizationalUnit'], ou: ['People'] }) },
      { ndn: GROUPS, new: rec('ou=Groups,dc=example,dc=com', { objectclass: ['top', 'organizationalUnit'], ou: ['Groups'] }) },
    ],
  });
  await store.write({
    entries: [
      { ndn: ALICE, new: person('uid=alice,ou=People,dc=example,dc=com', 'Alice Smith', 'alice') },
      { ndn: BOB, new: person('uid=bob,ou=People,dc=example,dc=com', 'Bob Smithers', 'bob') },
      { ndn: CAROL, new: person('uid=carol,ou=People,dc=example,dc=com', 'Carol Jones', 'carol') },
      { ndn: ADMINS, new: rec('cn=Admins,ou=Groups,dc=example,dc=com', { objectclass: ['top', 'groupOfNames'], cn: ['Admins'] }) },
    ],
  });
}

describe.each([
  ['LevelDB on disk, layout 2', false, 2],
  ['in-memory level, layout 2', true, 2],
  ['LevelDB on disk, layout 3', false, 3],
  ['in-memory level, layout 3', true, 3],
] as const)('store contract: %s', (_name, memory, layout) => {
  const dir = useTempDir('astldap-store-', 'each');
  let store: Store;
  const open = (specs = SPECS) =>
    openStore({ path: path.join(dir(), 'db'), memory, layout, indexes: specs, indexer: lowercaser(), sync: !memory });

  beforeEach(async () => {
    store = await open();
  });

  afterEach(async () => {
    await store.close();
  });

  it('puts and gets entries, singly and many at a time', async () => {
    await seed(store);
    expect(await store.get(ALICE)).toEqual(person('uid=alice,ou=People,dc=example,dc=com', 'Alice Smith', 'alice'));
    expect(await store.get('uid=nobody,' + PEOPLE)).toBeUndefined();
    const many = await store.getMany([BOB, 'uid=nobody,' + PEOPLE, BASE]);
    expect(many.map((r) => r?.dn)).toEqual(['uid=bob,ou=People,dc=example,dc=com', undefined, 'dc=example,dc=com']);
    expect(await store.getMany([])).toEqual([]);
  });

  it('keeps the children index', async () => {
    await seed(store);
    expect(sorted(await collect(store.children(PEOPLE)))).toEqual(sorted([ALICE, BOB, CAROL]));
    expect(await collect(store.children(BASE))).toHaveLength(2);
    // The naming context's parent (dc=com) is not stored; the root has no children yet.
    expect(await collect(store.children('dc=com'))).toEqual([BASE]);
    expect(await collect(store.children(''))).toEqual([]);
    expect(await store.countChildren(PEOPLE)).toBe(3);
    expect(await store.countChildren(ALICE)).toBe(0);
    expect(await store.hasChildren(GROUPS)).toBe(true);
    expect(await store.hasChildren(ADMINS)).toBe(false);
    // A prefix of a parent's ndn is not its parent.
    expect(await store.countChildren('ou=people,dc=example')).toBe(0);

    await store.write({ entries: [{ ndn: ADMINS, old: await store.get(ADMINS) }] });
    expect(await store.hasChildren(GROUPS)).toBe(false);
    // Modifying an entry leaves the children index alone.
    const bob = (await store.get(BOB))!;
    await store.write({ entries: [{ ndn: BOB, old: bob, new: { ...bob, attrs: { ...bob.attrs, cn: ['Robert'] } } }] });
    expect(await store.countChildren(PEOPLE)).toBe(3);
  });

  it('walks subtrees parents before children, base included', async () => {
    await seed(store);
    const check = (pairs: Array<[string, EntryRecord]>) => {
      const seen = new Set<string>();
      for (const [ndn, r] of pairs) {
        expect(r.dn.toLowerCase()).toBe(ndn);
        const i = ndn.indexOf(',');
        const parent = i < 0 ? '' : ndn.slice(i + 1);
        if (seen.size) expect(seen.has(parent)).toBe(true);
        seen.add(ndn);
      }
    };
    const all = await collect(store.subtree(BASE));
    expect(all[0]![0]).toBe(BASE);
    expect(sorted(all.map(([n]) => n))).toEqual(sorted([BASE, PEOPLE, GROUPS, ALICE, BOB, CAROL, ADMINS]));
    check(all);

    const people = await collect(store.subtree(PEOPLE));
    expect(people.map(([n]) => n)[0]).toBe(PEOPLE);
    expect(people).toHaveLength(4);
    expect((await collect(store.subtree(ALICE))).map(([n]) => n)).toEqual([ALICE]);
    expect(await collect(store.subtree('uid=nobody,' + PEOPLE))).toEqual([]);

    // The root: every top-level entry and everything below it.
    await store.write({ entries: [{ ndn: 'o=other', new: rec('o=other', { objectclass: ['organization'], o: ['other'] }) }] });
    const root = await collect(store.subtree(''));
    expect(sorted(root.map(([n]) => n))).toEqual(sorted([BASE, PEOPLE, GROUPS, ALICE, BOB, CAROL, ADMINS, 'o=other']));
    const rootOrder = root.map(([n]) => n);
    expect(rootOrder.indexOf(BASE)).toBeLessThan(rootOrder.indexOf(PEOPLE));
    expect(rootOrder.indexOf(PEOPLE)).toBeLessThan(rootOrder.indexOf(ALICE));

    // Entries below an unstored parent (glue) still belong to the root's subtree.
    const orphan = 'cn=x,o=missing,o=other';
    await store.write({ entries: [{ ndn: orphan, new: rec('cn=x,o=missing,o=other', { cn: ['x'] }) }] });
    expect((await collect(store.subtree(''))).map(([n]) => n)).toContain(orphan);
    expect((await collect(store.subtree('o=other'))).map(([n]) => n)).toEqual(['o=other']);
    expect((await collect(store.subtree('o=missing,o=other'))).map(([n]) => n)).toEqual([orphan]);
  });

  it('walks a level of more children than a read takes or a level holds, and the parents among them, each entry once', async () => {
    await seed(store);
    // 1,200 leaves under PEOPLE (more than layout 2's walk holds before it keeps only parents)
    // with 3 of them parents (of 300 each, one of those a parent again).
    const leaves = Array.from({ length: 1200 }, (_, i) => `uid=u${i},${PEOPLE}`);
    const below = [7, 600, 1199].flatMap((p) => Array.from({ length: 300 }, (_, j) => `cn=c${j},uid=u${p},${PEOPLE}`));
    const deepest = Array.from({ length: 5 }, (_, k) => `cn=d${k},cn=c0,uid=u600,${PEOPLE}`);
    const all = [...leaves, ...below, ...deepest];
    for (let i = 0; i < all.length; i += 200) {
      await store.write({ entries: all.slice(i, i + 200).map((n) => ({ ndn: n, new: rec(n, { objectclass: ['top'] }) })) });
    }
    for (const top of [PEOPLE, '']) {
      const walked = (await collect(store.subtree(top))).map(([n]) => n);
      expect(new Set(walked).size).toBe(walked.length);
      const seen = new Set<string>();
      for (const n of walked) {
        if (n !== top && top !== '' && seen.size) expect(seen.has(n.slice(n.indexOf(',') + 1))).toBe(true);
        seen.add(n);
      }
      for (const n of [PEOPLE, ALICE, ...all]) expect(seen.has(n)).toBe(true);
      if (top === PEOPLE) expect(walked).toHaveLength(1 + 3 + all.length);
    }
  });

  it('includes a stored root DSE in its own subtree without making it its own child', async () => {
    await seed(store);
    await store.write({ entries: [{ ndn: '', new: rec('', { objectclass: ['top'] }) }] });
    await store.write({ entries: [{ ndn: 'o=top', new: rec('o=top', { objectclass: ['organization'] }) }] });
    expect(await collect(store.children(''))).toEqual(['o=top']);
    const root = await collect(store.subtree(''));
    expect(root[0]![0]).toBe('');
    expect(root).toHaveLength(9);
    expect(await store.count()).toBe(9);
  });

  it('counts entries', async () => {
    expect(await store.count()).toBe(0);
    await seed(store);
    expect(await store.count()).toBe(7);
    const alice = (await store.get(ALICE))!;
    await store.write({ entries: [{ ndn: ALICE, old: alice, new: { ...alice, attrs: { ...alice.attrs, cn: ['Alice'] } } }] });
    expect(await store.count()).toBe(7);
    await store.write({ entries: [{ ndn: ALICE, old: alice }] });
    expect(await store.count()).toBe(6);
  });

  it('serialises concurrent writes without losing count deltas', async () => {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => store.write({ entries: [{ ndn: `cn=e${i}`, new: rec(`cn=e${i}`, { cn: [`e${i}`] }) }] })),
    );
    expect(await store.count()).toBe(50);
    expect(await store.countChildren('')).toBe(50);
  });

  it('looks up equality, ranges and presence', async () => {
    await seed(store);
    expect(await store.lookupEquality('uid', 'bob')).toEqual([BOB]);
    expect(await store.lookupEquality('cn', 'alice smith')).toEqual([ALICE]);
    expect(await store.lookupEquality('cn', 'alice')).toEqual([]);
    expect(sorted(await store.lookupEquality('objectclass', 'organizationalunit'))).toEqual(sorted([PEOPLE, GROUPS]));
    // Multi-valued: one ndn per matching value, no duplicates across values.
    expect(sorted(await store.lookupEquality('objectclass', 'top'))).toHaveLength(7);

    expect(sorted(await store.lookupRange('uid', 'b', 'c'))).toEqual([BOB]);
    expect(sorted(await store.lookupRange('uid', 'bob', 'carol'))).toEqual(sorted([BOB, CAROL]));
    expect(sorted(await store.lookupRange('uid', 'b'))).toEqual(sorted([BOB, CAROL]));
    expect(sorted(await store.lookupRange('uid', undefined, 'bob'))).toEqual(sorted([ALICE, BOB]));
    expect(sorted(await store.lookupRange('uid'))).toEqual(sorted([ALICE, BOB, CAROL]));
    expect(await store.lookupRange('uid', 'x', 'a')).toEqual([]);
    // Whole-attribute ranges are deduplicated.
    expect(sorted(await store.lookupRange('objectclass'))).toHaveLength(7);

    expect(sorted(await store.lookupPresent('cn'))).toEqual(sorted([ALICE, BOB, CAROL, ADMINS]));
    expect(sorted(await store.lookupPresent('objectclass'))).toHaveLength(7);
  });

  it('refuses lookups on attributes without the index', async () => {
    await expect(store.lookupEquality('sn', 'x')).rejects.toThrow();
    await expect(store.lookupRange('mail')).rejects.toThrow();
    await expect(store.lookupPresent('uid')).rejects.toThrow();
    await expect(store.lookupSubstrings('uid', { any: ['abc'] })).rejects.toThrow();
  });

  it('answers substring assertions from the trigram index', async () => {
    await seed(store);
    const sub = (initial: string | undefined, any: string[], final?: string) =>
      store.lookupSubstrings('cn', { ...(initial !== undefined ? { initial } : {}), any, ...(final !== undefined ? { final } : {}) });
    /** A superset of the matches, or undefined: what the index promises for any assertion. */
    const covers = async (p: Promise<string[] | undefined>, want: string[]) => {
      const got = await p;
      if (got !== undefined) for (const w of want) expect(got).toContain(w);
    };
    // Long enough components narrow exactly: initial (2+ code points), final (3+), any (4+).
    expect(sorted(await sub('ali', []))).toEqual([ALICE]);
    expect(sorted(await sub('bo', []))).toEqual([BOB]);
    expect(sorted(await sub(undefined, [], 'smith'))).toEqual([ALICE]);
    expect(sorted(await sub(undefined, [], 'ers'))).toEqual([BOB]);
    expect(sorted(await sub(undefined, [], 'nes'))).toEqual([CAROL]);
    expect(sorted(await sub(undefined, ['smith']))).toEqual(sorted([ALICE, BOB]));
    expect(sorted(await sub(undefined, ['zzzz']))).toEqual([]);
    // (An initial of one code point has no trigram, but is a range of the equality index.)
    expect(sorted(await sub('a', ['smit'], 'th'))).toEqual([ALICE]);
    expect(sorted(await sub('bob', ['smith'], 'ers'))).toEqual([BOB]);
    expect(sorted(await sub('carol', ['smith']))).toEqual([]);
    // Shorter components: undefined (the caller scans) or a superset of the true matches.
    await covers(sub(undefined, [], 'ns'), [ADMINS]);
    await covers(sub(undefined, ['zzz']), []);
    expect(await sub(undefined, ['mi'])).toBeUndefined();
    expect(await sub(undefined, ['a', 'b'])).toBeUndefined();
    await covers(sub('al', ['x']), [ALICE]);
    // Non-ASCII values are cut by code point.
    const zoe = 'uid=zoe,' + PEOPLE;
    await store.write({ entries: [{ ndn: zoe, new: person('uid=zoe,ou=People,dc=example,dc=com', 'Zoë 😀 Ünal', 'zoe') }] });
    expect(await sub(undefined, ['ë 😀 '])).toEqual([zoe]);
    await covers(sub(undefined, ['ë 😀']), [zoe]);
    expect(await sub('zoë', [])).toEqual([zoe]);
    expect(await sub(undefined, [], '😀 ünal')).toEqual([zoe]);
    // Every offset of a value is found, whatever its parity.
    for (let i = 0; i + 4 <= 'zoë 😀 ünal'.length; i++) await covers(sub(undefined, ['zoë 😀 ünal'.slice(i, i + 4)]), [zoe]);
  });

  it('applies index deltas on modify and delete', async () => {
    await seed(store);
    const bob = (await store.get(BOB))!;
    const renamed: EntryRecord = { ...bob, attrs: { ...bob.attrs, cn: ['Bob Smithers', 'Robert Brown'], uid: ['rbrown'] } };
    await store.write({ entries: [{ ndn: BOB, old: bob, new: renamed }] });
    expect(await store.lookupEquality('uid', 'bob')).toEqual([]);
    expect(await store.lookupEquality('uid', 'rbrown')).toEqual([BOB]);
    expect(await store.lookupEquality('cn', 'bob smithers')).toEqual([BOB]); // kept value stays indexed
    expect(await store.lookupEquality('cn', 'robert brown')).toEqual([BOB]);
    expect(await store.lookupSubstrings('cn', { initial: 'rob', any: [] })).toEqual([BOB]);

    // Removing cn altogether drops equality, presence and substring keys.
    const noCn: EntryRecord = { ...renamed, attrs: { objectclass: renamed.attrs.objectclass!, uid: ['rbrown'] } };
    await store.write({ entries: [{ ndn: BOB, old: renamed, new: noCn }] });
    expect(await store.lookupEquality('cn', 'robert brown')).toEqual([]);
    expect(await store.lookupPresent('cn')).not.toContain(BOB);
    expect(await store.lookupSubstrings('cn', { initial: 'rob', any: [] })).toEqual([]);

    const alice = (await store.get(ALICE))!;
    await store.write({ entries: [{ ndn: ALICE, old: alice }] });
    expect(await store.lookupEquality('uid', 'alice')).toEqual([]);
    expect(await store.lookupPresent('cn')).not.toContain(ALICE);
    expect(await store.lookupSubstrings('cn', { any: ['smith'] })).toEqual([]);
    expect(sorted(await store.lookupEquality('objectclass', 'person'))).toEqual(sorted([BOB, CAROL]));
    expect(await store.get(ALICE)).toBeUndefined();
  });

  it('writes a batch atomically, meta included', async () => {
    const a = 'cn=a,o=x';
    const b = 'cn=b,o=x';
    await store.write({
      entries: [
        { ndn: a, new: rec('cn=a,o=x', { cn: ['a1'] }) },
        { ndn: b, new: rec('cn=b,o=x', { cn: ['b1'] }) },
      ],
      meta: [{ key: 'seq', value: '1' }],
    });
    const [ra, rb] = await store.getMany([a, b]);
    expect(ra?.attrs.cn).toEqual(['a1']);
    expect(rb?.attrs.cn).toEqual(['b1']);
    expect(await store.getMeta('seq')).toBe('1');
    // A batch that fails (an indexer error) leaves nothing behind.
    const bad = await openStore({
      path: path.join(dir(), 'bad'),
      memory,
      layout,
      indexes: SPECS,
      indexer: (r, attr) => {
        if (r.dn === 'cn=boom') throw new Error('boom');
        return lowercaser()(r, attr);
      },
    });
    try {
      // On disk the store fills one reused native batch (classic-level's binding), in memory arrays.
      expect((bad as LevelStore).batchKind).toBe(memory ? 'array' : 'native');
      await expect(
        bad.write({
          entries: [
            { ndn: 'cn=ok', new: rec('cn=ok', { cn: ['ok'] }) },
            { ndn: 'cn=boom', new: rec('cn=boom', {}) },
          ],
        }),
      ).rejects.toThrow('boom');
      expect(await bad.get('cn=ok')).toBeUndefined();
      expect(await bad.count()).toBe(0);
      // The store keeps working after a failed batch, and its next batch carries nothing of the
      // failed one (on disk the store reuses one native batch).
      await bad.write({ entries: [{ ndn: 'cn=next', new: rec('cn=next', { cn: ['next'] }) }] });
      expect(await bad.count()).toBe(1);
      expect(await bad.get('cn=ok')).toBeUndefined();
      expect(await bad.get('cn=next')).toBeDefined();
      expect(await bad.lookupEquality('cn', 'ok')).toEqual([]);
      expect(await (bad as LevelStore).check()).toEqual([]);
    } finally {
      await bad.close();
    }
  });

  it('keeps writing after a batch of exceptional size (the native batch is then replaced)', async () => {
    // 100,001 records of 400 characters: past the size after which the native batch is renewed.
    const meta = Array.from({ length: 100_001 }, (_, i) => ({ key: `big/${i}`, value: String(i).padStart(400, '.') }));
    await store.write({ entries: [], meta });
    await store.write({ entries: [], meta: [{ key: 'after', value: 'yes' }] });
    expect(await store.getMeta('after')).toBe('yes');
    expect(await store.getMeta('big/100000')).toBe('100000'.padStart(400, '.'));
    let n = 0;
    for await (const _ of store.scanMeta('big/')) n++;
    expect(n).toBe(100_001);
  });

  it('refuses a write after close (no native call on a closed database)', async () => {
    const s = await openStore({ path: path.join(dir(), 'closed'), memory, layout, indexes: SPECS, indexer: lowercaser() });
    await s.close();
    await expect(s.write({ entries: [{ ndn: 'cn=late', new: rec('cn=late', { cn: ['late'] }) }] })).rejects.toThrow(/closed/);
  });

  it('lets a full entry cache take an entry read twice, not one read once (a walk does not evict what is read again)', async () => {
    const s = await openStore({ path: path.join(dir(), 'cached'), memory, layout, indexes: SPECS, indexer: lowercaser(), cacheEntries: 4 });
    try {
      const dn = (i: number) => `uid=u${i},${PEOPLE}`;
      // One batch of more than 64 entries: a bulk write leaves nothing in the cache.
      await s.write({ entries: Array.from({ length: 100 }, (_, i) => ({ ndn: dn(i), new: person(dn(i), `U ${i}`, `u${i}`) })) });
      // A cached entry is handed out as the same object; one read from the database is a new one.
      const cached = async (i: number) => (await s.get(dn(i))) === (await s.get(dn(i)));
      // While the cache has room, it takes every entry read.
      for (const i of [0, 1, 2, 3]) expect(await cached(i)).toBe(true);
      // Full: entries read once each do not get in ...
      for (let i = 10; i < 60; i++) await s.get(dn(i));
      for (const i of [0, 1, 2, 3]) expect(await cached(i)).toBe(true);
      // ... an entry read a second time soon after (within a window of as many first reads as
      // the cache holds) does, and the least recently used (0) leaves; read twice, it is back.
      expect(await cached(59)).toBe(true);
      expect(await cached(0)).toBe(false);
      expect(await cached(0)).toBe(true);
      // keeps(): whether a record is the one the cache holds and has served since (what is derived
      // from it may stay with it). Just let in by a read from the database: not yet.
      await s.get(dn(70));
      const admitted = (await s.get(dn(70)))!;
      expect(s.keeps(dn(70), admitted)).toBe(false);
      expect(await s.get(dn(70))).toBe(admitted);
      expect(s.keeps(dn(70), admitted)).toBe(true);
      expect(s.keeps(dn(0), (await s.get(dn(0)))!)).toBe(true);
      expect(s.keeps(dn(20), (await s.get(dn(20)))!)).toBe(false);
      expect(s.keeps(dn(0), person(dn(0), 'U 0', 'u0'))).toBe(false);
      expect(await s.check()).toEqual([]);
    } finally {
      await s.close();
    }
  });

  it('moves a renamed subtree written with `from`: found at its new place by every index, nothing left at the old', async () => {
    await seed(store);
    const STAFF = 'ou=staff,' + BASE;
    const at = (ndn: string) => ndn.replace(PEOPLE, STAFF);
    const entries = [];
    for await (const [n, r] of store.subtree(PEOPLE)) {
      entries.push({ ndn: n, old: r });
      const dn = r.dn.replace('ou=People', 'ou=Staff');
      const attrs = n === PEOPLE ? { ...r.attrs, ou: ['Staff'] } : r.attrs;
      entries.push({ ndn: at(n), new: rec(dn, attrs), from: n });
    }
    await store.write({ entries });
    expect(await store.count()).toBe(7);
    expect(await store.get(PEOPLE)).toBeUndefined();
    expect(await store.get(ALICE)).toBeUndefined();
    expect(await store.get(at(ALICE))).toEqual(person('uid=alice,ou=Staff,dc=example,dc=com', 'Alice Smith', 'alice'));
    expect(sorted(await collect(store.children(STAFF)))).toEqual(sorted([at(ALICE), at(BOB), at(CAROL)]));
    expect(await collect(store.children(PEOPLE))).toEqual([]);
    expect((await collect(store.subtree(STAFF))).map(([n]) => n)[0]).toBe(STAFF);
    expect(await collect(store.subtree(STAFF))).toHaveLength(4);
    expect(await store.lookupEquality('uid', 'bob')).toEqual([at(BOB)]);
    expect(sorted(await store.lookupRange('uid', 'a', 'c'))).toEqual(sorted([at(ALICE), at(BOB)]));
    expect(sorted(await store.lookupPresent('cn'))).toEqual(sorted([at(ALICE), at(BOB), at(CAROL), ADMINS]));
    expect(sorted(await store.lookupSubstrings('cn', { any: ['smith'] }))).toEqual(sorted([at(ALICE), at(BOB)]));
    expect(sorted(await store.lookupEquality('objectclass', 'person'))).toEqual(sorted([at(ALICE), at(BOB), at(CAROL)]));
    expect(await (store as LevelStore).check()).toEqual([]);
    // And back, after a modify of one moved entry: the IDs kept serve every later write.
    await store.write({
      entries: [{ ndn: at(CAROL), old: (await store.get(at(CAROL)))!, new: person(`uid=carol,ou=Staff,${BASE}`, 'Carol King', 'carol') }],
    });
    expect(await store.lookupEquality('cn', 'carol king')).toEqual([at(CAROL)]);
    expect(await store.lookupEquality('cn', 'carol jones')).toEqual([]);
    await store.write({ entries: [{ ndn: at(BOB), old: (await store.get(at(BOB)))! }] });
    expect(await store.lookupEquality('uid', 'bob')).toEqual([]);
    expect(await store.count()).toBe(6);
    expect(await (store as LevelStore).check()).toEqual([]);
  });

  it('a subtree moved by its top entry alone (`subtree`): layout 3 moves it all, layout 2 refuses the batch', async () => {
    await seed(store);
    const STAFF = 'ou=staff,' + BASE;
    const at = (ndn: string) => ndn.replace(PEOPLE, STAFF);
    // Read (and so cached) before the move: the cache must not answer for the old place after it.
    const alice = (await store.get(ALICE))!;
    const top = (await store.get(PEOPLE))!;
    const batch = {
      entries: [
        { ndn: PEOPLE, old: top },
        { ndn: STAFF, new: rec(top.dn.replace('ou=People', 'ou=Staff'), { ...top.attrs, ou: ['Staff'] }), from: PEOPLE, subtree: true },
      ],
    };
    if (layout === 2) {
      expect(store.movesSubtrees).not.toBe(true);
      await expect(store.write(batch)).rejects.toThrow(/cannot move a subtree/);
      expect(await store.get(ALICE)).toEqual(alice);
      expect(await (store as LevelStore).check()).toEqual([]);
      return;
    }
    expect(store.movesSubtrees).toBe(true);
    await store.write(batch);
    expect(await store.count()).toBe(7);
    expect(await store.get(ALICE)).toBeUndefined();
    expect(await store.get(at(ALICE))).toEqual({ ...alice, dn: 'uid=alice,ou=Staff,dc=example,dc=com' });
    expect(sorted(await collect(store.children(STAFF)))).toEqual(sorted([at(ALICE), at(BOB), at(CAROL)]));
    expect(await collect(store.children(PEOPLE))).toEqual([]);
    expect(await collect(store.subtree(STAFF))).toHaveLength(4);
    expect(await store.lookupEquality('uid', 'bob')).toEqual([at(BOB)]);
    expect(sorted(await store.lookupPresent('cn'))).toEqual(sorted([at(ALICE), at(BOB), at(CAROL), ADMINS]));
    expect(sorted(await store.lookupSubstrings('cn', { any: ['smith'] }))).toEqual(sorted([at(ALICE), at(BOB)]));
    expect(await (store as LevelStore).check()).toEqual([]);
    // A later change of a moved entry, at its new place.
    await store.write({ entries: [{ ndn: at(BOB), old: (await store.get(at(BOB)))! }] });
    expect(await store.lookupEquality('uid', 'bob')).toEqual([]);
    expect(await (store as LevelStore).check()).toEqual([]);
  });

  it('gets, scans and deletes meta', async () => {
    await store.write({
      entries: [],
      meta: [
        { key: 'schema:b', value: '2' },
        { key: 'schema:a', value: '1' },
        { key: 'schemaX', value: 'x' },
        { key: 'other', value: 'o' },
      ],
    });
    expect(await store.getMeta('schema:a')).toBe('1');
    expect(await store.getMeta('missing')).toBeUndefined();
    expect(await collect(store.scanMeta('schema:'))).toEqual([
      ['schema:a', '1'],
      ['schema:b', '2'],
    ]);
    expect((await collect(store.scanMeta(''))).map(([k]) => k)).toEqual(['other', 'schema:a', 'schema:b', 'schemaX']);
    await store.write({ entries: [], meta: [{ key: 'schema:a', value: null }] });
    expect(await store.getMeta('schema:a')).toBeUndefined();
    expect(await collect(store.scanMeta('schema:'))).toEqual([['schema:b', '2']]);
    // Meta never shows up as entries.
    expect(await store.count()).toBe(0);
  });

  it('reindexes explicitly', async () => {
    await seed(store);
    await store.reindex();
    expect(await store.lookupEquality('uid', 'carol')).toEqual([CAROL]);
    expect(sorted(await store.lookupSubstrings('cn', { any: ['smith'] }))).toEqual(sorted([ALICE, BOB]));
    expect(await store.count()).toBe(7);
  });

  it('clears everything', async () => {
    await seed(store);
    await store.write({ entries: [], meta: [{ key: 'k', value: 'v' }] });
    await store.clear();
    expect(await store.count()).toBe(0);
    expect(await store.get(BASE)).toBeUndefined();
    expect(await collect(store.subtree(''))).toEqual([]);
    expect(await collect(store.children(''))).toEqual([]);
    expect(await store.lookupPresent('cn')).toEqual([]);
    expect(await store.lookupEquality('uid', 'alice')).toEqual([]);
    expect(await store.getMeta('k')).toBeUndefined();
    // Usable afterwards.
    await seed(store);
    expect(await store.count()).toBe(7);
  });

  it('clears its caches too, whatever was read while the database was cleared', async () => {
    const dn = (i: number) => `uid=c${i},${PEOPLE}`;
    await store.write({ entries: Array.from({ length: 2000 }, (_, i) => ({ ndn: dn(i), new: person(dn(i), `C ${i}`, `c${i}`) })) });
    let done = false;
    const cleared = store.clear().then(() => (done = true));
    // Reads on every turn of the event loop until the clear is over (some may land during it).
    for (let i = 0; !done; i++) {
      await store.get(dn(i % 2000));
      await store.lookupEquality('uid', `c${i % 2000}`);
      await new Promise((r) => setImmediate(r));
    }
    await cleared;
    expect(await store.get(dn(0))).toBeUndefined();
    expect(await store.lookupEquality('uid', 'c0')).toEqual([]);
    expect(await store.check()).toEqual([]);
  });

  // Only a disk store survives close; the memory variant does not register these tests.
  if (!memory)
    it('persists across close and reopen', async () => {
      await seed(store);
      await store.write({ entries: [], meta: [{ key: 'k', value: 'v' }] });
      await store.close();
      store = await open();
      expect(await store.count()).toBe(7);
      expect(await store.get(ALICE)).toMatchObject({ dn: 'uid=alice,ou=People,dc=example,dc=com' });
      expect(await store.countChildren(PEOPLE)).toBe(3);
      expect(await store.lookupEquality('uid', 'alice')).toEqual([ALICE]);
      expect(await store.getMeta('k')).toBe('v');
    });

  if (!memory && layout === 2)
    it('migrates a layout-1 database by rebuilding its indexes and refuses a newer layout', async () => {
      await seed(store);
      await store.close();
      // Layout 1: no layout key and no posting lists.
      const raw = new Level<string, string>(path.join(dir(), 'db'));
      await raw.del('x\x00layout');
      await raw.clear({ gt: 'q\x00', lt: 'q\x01' });
      await raw.close();
      store = await open();
      expect(await store.lookupEquality('uid', 'alice')).toEqual([ALICE]);
      expect(sorted(await store.lookupRange('uid', 'a', 'c'))).toEqual(sorted([ALICE, BOB]));
      expect(await (store as LevelStore).check()).toEqual([]);
      await store.close();
      const newer = new Level<string, string>(path.join(dir(), 'db'));
      await newer.put('x\x00layout', '99');
      await newer.close();
      await expect(open()).rejects.toThrow(/layout 99, newer than this astldap understands/);
      store = await openStore({ memory: true, indexes: SPECS, indexer: lowercaser() });
    });

  if (!memory)
    it('loads in bulk into an empty store and into a non-empty one with the same indexes', async () => {
      // A bulk store opened empty skips reading keys it has not written (a filter of what it
      // wrote): values repeated across batches must still merge into one posting list, grow LARGE
      // past POSTING_MAX, and an existing entry must still be found. Opened non-empty, it reads.
      await store.close();
      const many = (from: number, to: number) =>
        Array.from({ length: to - from }, (_, k) => {
          const i = from + k;
          return { ndn: `uid=u${i},${PEOPLE}`, new: person(`uid=u${i},ou=People,${BASE}`, `Person ${i % 7}`, `u${i}`) };
        });
      const bulk = () => openStore({ path: path.join(dir(), 'db'), layout, indexes: SPECS, indexer: lowercaser(), bulk: true });
      store = await bulk();
      for (let i = 0; i < 200; i += 100) await store.write({ entries: many(i, i + 100) }); // > REMEMBER_MAX: not cached
      expect(await store.get('uid=u7,' + PEOPLE)).toMatchObject({ dn: `uid=u7,ou=People,${BASE}` });
      expect(await store.get('uid=u999,' + PEOPLE)).toBeUndefined();
      expect(await store.lookupEquality('cn', 'person 3')).toHaveLength(29); // 3, 10, ... 199
      expect(await store.lookupEquality('objectclass', 'person')).toHaveLength(200);
      expect(await store.check()).toEqual([]);
      await store.close();
      store = await bulk();
      await store.write({ entries: many(200, 260) });
      expect(await store.lookupEquality('cn', 'person 3')).toHaveLength(37);
      expect(await store.lookupEquality('uid', 'u5')).toEqual(['uid=u5,' + PEOPLE]);
      expect(await store.check()).toEqual([]);
    });

  if (!memory)
    it('reindexes on reopen when the index configuration changed', async () => {
      await seed(store);
      await store.close();
      const specs: IndexSpec[] = [
        ...SPECS.filter((s) => s.attr !== 'uid'),
        { attr: 'uid', eq: true, pres: true, sub: true },
        { attr: 'ou', eq: true, pres: false, sub: false },
      ];
      store = await open(specs);
      expect(await store.lookupPresent('uid')).toHaveLength(3);
      expect(await store.lookupSubstrings('uid', { initial: 'car', any: [] })).toEqual([CAROL]);
      expect(await store.lookupEquality('ou', 'people')).toEqual([PEOPLE]);
      expect(await store.count()).toBe(7);
      await store.close();
      // Dropping an index removes its keys: a later re-add finds nothing stale.
      store = await open(SPECS);
      await expect(store.lookupEquality('ou', 'people')).rejects.toThrow();
      await store.write({ entries: [{ ndn: PEOPLE, old: await store.get(PEOPLE) }] });
      await store.close();
      store = await open(specs);
      expect(await store.lookupEquality('ou', 'people')).toEqual([]);
      expect(await store.lookupEquality('ou', 'groups')).toEqual([GROUPS]);
    });
});

// issue 22, item 4: the store's caches are budgeted in bytes (store.cacheMiB), counting what they
// hold: the Lru keeps the sum of its weights under the budget, the weight model of a parsed
// record stays close to the heap V8 really spends on it, and a store under a small budget keeps
// no more than the budget while every read stays exact.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, packageRoot } from '../../src/config/config.js';
import { parsedBytes, postingBytes, recordBytes, stringBytes } from '../../src/store/cache-weight.js';
import { IdStore } from '../../src/store/id-store.js';
import { cacheShares } from '../../src/store/id-reads.js';
import { LevelStore } from '../../src/store/level-store.js';
import { Lru } from '../../src/store/lru.js';
import type { EntryRecord, IndexSpec, Indexer } from '../../src/store/types.js';
import { useTempDir } from '../helpers/tmp.js';

const len = (_k: string, v: string) => v.length;

describe('Lru with a byte budget', () => {
  it('holds at most maxBytes, dropping the least recently used', () => {
    const l = new Lru<string, string>(Infinity, { maxBytes: 10, weigh: len });
    l.set('a', 'xxxx');
    l.set('b', 'xxxx');
    expect(l.bytes).toBe(8);
    l.get('a'); // b is now the least recently used
    l.set('c', 'xxx');
    expect([...l.entries()].map(([k]) => k)).toEqual(['a', 'c']);
    expect(l.bytes).toBe(7);
  });

  it('reweighs a key set again, and counts deletes and clears', () => {
    const l = new Lru<string, string>(Infinity, { maxBytes: 10, weigh: len });
    l.set('a', 'xx');
    l.set('b', 'xx');
    l.set('a', 'xxxxxxxx'); // 8 + 2 = 10 fits
    expect(l.bytes).toBe(10);
    l.set('a', 'xxxxxxxxx'); // 9 + 2 does not: b goes
    expect(l.has('b')).toBe(false);
    expect(l.bytes).toBe(9);
    l.delete('a');
    expect(l.bytes).toBe(0);
    l.set('c', 'x');
    l.clear();
    expect(l.bytes).toBe(0);
    expect(l.size).toBe(0);
  });

  it('does not keep a value larger than the whole budget, nor the older value of its key', () => {
    const l = new Lru<string, string>(Infinity, { maxBytes: 4, weigh: len });
    l.set('a', 'xx');
    l.set('b', 'x');
    l.set('a', 'xxxxx');
    expect(l.has('a')).toBe(false);
    expect(l.get('b')).toBe('x');
    expect(l.bytes).toBe(1);
  });

  it('offer takes values while they fit, then only a key offered again soon', () => {
    const l = new Lru<string, string>(Infinity, { maxBytes: 6, weigh: len });
    for (const k of ['a', 'b', 'c']) l.offer(k, 'xx');
    expect(l.size).toBe(3);
    l.offer('d', 'xx'); // full: first sighting of d
    expect(l.has('d')).toBe(false);
    l.offer('d', 'xx');
    expect(l.has('d')).toBe(true);
    expect(l.bytes).toBe(6);
  });

  it('once full, stays full for offers: a cache just under its budget after an eviction takes no first offer', () => {
    const l = new Lru<string, string>(Infinity, { maxBytes: 10, weigh: len });
    for (const k of ['a', 'b', 'c']) l.offer(k, 'xxx'); // 9 bytes: another 3 would not fit
    l.offer('d', 'xxx');
    expect(l.has('d')).toBe(false);
    l.set('e', 'xx'); // written through: evicts a, 8 bytes held
    expect(l.bytes).toBe(8);
    for (const k of ['f', 'g', 'h']) l.offer(k, 'x'); // average weight 2.67 does not fit in 2
    expect(['f', 'g', 'h'].some((k) => l.has(k))).toBe(false);
  });

  it('a count cap still applies beside the budget, and a budget of 0 keeps nothing', () => {
    const l = new Lru<string, string>(2, { maxBytes: 100, weigh: len });
    for (const k of ['a', 'b', 'c']) l.set(k, 'x');
    expect(l.size).toBe(2);
    const none = new Lru<string, string>(Infinity, { maxBytes: 0, weigh: len });
    none.set('a', 'x');
    none.offer('b', 'x');
    none.offer('b', 'x');
    expect(none.size).toBe(0);
  });
});

function person(i: number): EntryRecord {
  return {
    dn: `uid=user${i},ou=people,dc=example,dc=com`,
    attrs: {
      objectclass: ['inetOrgPerson'],
      uid: [`user${i}`],
      cn: [`User ${i}`],
      sn: [`${i}`],
      mail: [`user${i}@example.com`],
      description: ['d'],
      userpassword: [`{SSHA}${'x'.repeat(32)}${i}`],
      entryuuid: [`6f1c2d3e-1111-2222-3333-${String(i).padStart(12, '0')}`],
      creatorsname: ['cn=admin,dc=example,dc=com'],
      createtimestamp: ['20261207011500Z'],
      entrycsn: [`20261207011500.${String(i).padStart(6, '0')}Z#000000#000#000000`],
    },
  };
}

function endpoint(i: number): EntryRecord {
  return {
    dn: `cn=${i},ou=endpoints,ou=pjsip,dc=example,dc=com`,
    attrs: {
      objectclass: ['AstldapPjsipEndpoint'],
      cn: [`${i}`],
      astpjsipendpointaors: [`${i}`],
      astpjsipendpointauth: [`${i}`],
      astaccountcontext: ['default'],
      astaccountallowedcodec: ['ulaw', 'alaw', 'g722'],
      astaccountcallerid: [`"Phone ${i}" <${i}>`],
      description: [`Téléphone ${i} — accueil`],
    },
  };
}

/** The heap a list of parsed records takes, measured after full collections. */
function measuredHeap(texts: string[]): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  let held: unknown[] | null = null;
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  held = texts.map((t) => JSON.parse(t) as unknown);
  gc();
  gc();
  const after = process.memoryUsage().heapUsed;
  expect(held.length).toBe(texts.length);
  held = null;
  return after - before;
}

describe('the weight of what the caches hold', () => {
  it('a string counts its header and one byte per code unit, two past Latin-1', () => {
    expect(stringBytes('')).toBe(16);
    expect(stringBytes('abcdefgh')).toBe(24);
    expect(stringBytes('abcdefghi')).toBe(32);
    expect(stringBytes('é')).toBe(24);
    expect(stringBytes('—')).toBe(24);
    expect(stringBytes('a—b—')).toBe(24);
  });

  it('the model of a parsed record is within 20% of the heap V8 spends on it (people, PJSIP endpoints)', () => {
    for (const make of [person, endpoint]) {
      const recs = Array.from({ length: 20000 }, (_, i) => make(100000 + i));
      const model = recs.reduce((a, r) => a + parsedBytes(r), 0);
      const heap = measuredHeap(recs.map((r) => JSON.stringify(r)));
      expect(model / heap, make.name).toBeGreaterThan(0.8);
      expect(model / heap, make.name).toBeLessThan(1.2);
    }
  });

  it('a cached record counts its node, its key and twice the parsed record (the formatted form beside it)', () => {
    const r = person(1);
    expect(recordBytes('uid=user1', r)).toBe(96 + stringBytes('uid=user1') + 2 * parsedBytes(r));
    expect(postingBytes('q\0uid\0user1', undefined)).toBe(96 + stringBytes('q\0uid\0user1'));
    expect(postingBytes('q\0uid\0user1', 'uid=user1')).toBe(96 + stringBytes('q\0uid\0user1') + stringBytes('uid=user1'));
  });
});

describe('a store under a byte budget', () => {
  const specs: IndexSpec[] = [{ attr: 'uid', eq: true, pres: false, sub: false }];
  const indexer: Indexer = (rec, attr) => rec.attrs[attr] ?? [];

  /** 300 people written in batches of 10, then each read back three times by ndn and by uid: every read exact. */
  async function fillAndReadBack(store: LevelStore | IdStore, ndn: (i: number) => string): Promise<void> {
    for (let i = 0; i < 300; i += 10) {
      await store.write({ entries: Array.from({ length: 10 }, (_, j) => ({ ndn: ndn(i + j), new: person(i + j) })) });
    }
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 300; i++) {
        expect(store.getNow(ndn(i))?.attrs.uid).toEqual([`user${i}`]);
        expect(await store.lookupEquality('uid', `user${i}`)).toEqual([ndn(i)]);
      }
    }
  }

  it('keeps its caches under the budget and every read exact', async () => {
    const budget = 64 * 1024;
    const store = new LevelStore({ indexes: specs, indexer, cacheBytes: budget });
    await store.open();
    const internals = store as unknown as { cache: Lru<string, EntryRecord>; postingCache: Lru<string, string | undefined> };
    try {
      const ndn = (i: number) => `uid=user${i},ou=people,dc=example,dc=com`;
      await fillAndReadBack(store, ndn);
      const cache = internals.cache;
      expect(cache.size).toBeGreaterThan(10);
      expect(cache.size).toBeLessThan(300);
      expect(cache.bytes).toBeLessThanOrEqual(budget - budget / 8);
      expect(internals.postingCache.bytes).toBeLessThanOrEqual(budget / 8);
      let sum = 0;
      for (const [k, v] of cache.entries()) sum += recordBytes(k, v);
      expect(cache.bytes).toBe(sum);
      // A modify through the store replaces what the cache holds, weighed anew.
      const changed = person(5);
      changed.attrs.description = ['x'.repeat(500)];
      await store.write({ entries: [{ ndn: ndn(5), old: person(5), new: changed }] });
      expect(store.getNow(ndn(5))?.attrs.description).toEqual(['x'.repeat(500)]);
      sum = 0;
      for (const [k, v] of cache.entries()) sum += recordBytes(k, v);
      expect(cache.bytes).toBe(sum);
    } finally {
      await store.close();
    }
  });

  it('layout 3: 64 MiB by default, shared out whole; under a small budget each cache keeps to its share and reads stay exact', async () => {
    type Budgeted = { bytes: number; size: number; budget: { maxBytes: number } };
    const caches = (s: IdStore) => {
      const reads = (s as unknown as { reads: { cache: Budgeted; raw: Budgeted; ids: Budgeted } }).reads;
      const index = (s as unknown as { index: { postingCache: Budgeted } }).index;
      return { entries: reads.cache, records: reads.raw, ids: reads.ids, postings: index.postingCache };
    };
    const shares = cacheShares(64 << 20);
    expect(Object.values(shares).reduce((a, b) => a + b, 0)).toBe(64 << 20);
    const plain = new IdStore({ indexes: specs, indexer });
    await plain.open();
    try {
      const c = caches(plain);
      expect(c.entries.budget.maxBytes).toBe(shares.entries);
      expect(c.records.budget.maxBytes).toBe(shares.records);
      expect(c.ids.budget.maxBytes).toBe(shares.ids);
      expect(c.postings.budget.maxBytes).toBe(shares.postings);
      // The compact forms take most of it: a stored record weighs a fraction of a parsed entry.
      expect(shares.records + shares.ids + shares.postings).toBeGreaterThan(shares.entries);
    } finally {
      await plain.close();
    }
    const budget = 64 * 1024;
    const small = cacheShares(budget);
    const store = new IdStore({ indexes: specs, indexer, cacheBytes: budget });
    await store.open();
    try {
      const ndn = (i: number) => `uid=user${i}`;
      await fillAndReadBack(store, ndn);
      const c = caches(store);
      for (const k of ['entries', 'records', 'ids', 'postings'] as const) {
        expect(c[k].size, k).toBeGreaterThan(0);
        expect(c[k].bytes, k).toBeLessThanOrEqual(small[k]);
      }
      // The records' cache holds more entries than the parsed one in a share not much larger.
      expect(c.records.size).toBeGreaterThan(2 * c.entries.size);
    } finally {
      await store.close();
    }
  });

  it('a budget of 0 caches nothing and still reads everything', async () => {
    const store = new LevelStore({ indexes: specs, indexer, cacheBytes: 0 });
    await store.open();
    try {
      await store.write({ entries: [{ ndn: 'uid=a', new: person(1) }] });
      expect(store.getNow('uid=a')?.attrs.uid).toEqual(['user1']);
      expect((store as unknown as { cache: Lru<string, EntryRecord> }).cache.size).toBe(0);
    } finally {
      await store.close();
    }
  });
});

describe('store.cacheMiB in the configuration', () => {
  const tmp = useTempDir('astldap-cachemib-', 'each');
  const load = (yaml: string) => {
    const file = path.join(tmp(), 'c.yaml');
    writeFileSync(file, yaml);
    return loadConfig({ file, env: {} });
  };

  it("defaults to the layout's own budget (null), layout 3 and no entry cap, as config.yaml says", () => {
    const d = loadConfig({ env: {} });
    expect(d.store.cacheMiB).toBeNull();
    expect(d.store.layout).toBe(3);
    expect(d.store.cacheEntries).toBeNull();
    const shipped = loadConfig({ file: path.join(packageRoot, 'config.yaml'), env: {} });
    expect(shipped.store.cacheMiB).toBeNull();
    expect(shipped.store.layout).toBe(3);
    expect(shipped.store.cacheEntries).toBeNull();
    expect(load('store: { cacheMiB: null }\n').store.cacheMiB).toBeNull();
  });

  it('takes a budget in MiB (fractions too), and an older file with cacheEntries still loads as a cap', () => {
    expect(load('store: { cacheMiB: 0.5 }\n').store.cacheMiB).toBe(0.5);
    const old = load('store: { cacheEntries: 40 }\n');
    expect(old.store.cacheEntries).toBe(40);
    expect(old.store.cacheMiB).toBeNull();
  });

  it.each([
    ['store: { cacheMiB: -1 }\n', /store\.cacheMiB must be a number of MiB >= 0, or null/],
    ['store: { cacheMiB: lots }\n', /store\.cacheMiB must be a number of MiB >= 0, or null/],
    ['store: { cacheEntries: 1.5 }\n', /store\.cacheEntries must be a whole number >= 0, or null/],
  ])('rejects %s', (yaml, message) => {
    expect(() => load(yaml)).toThrow(ConfigError);
    expect(() => load(yaml)).toThrow(message);
  });
});

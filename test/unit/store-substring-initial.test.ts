// issue 22 (the PBX benchmark's contact lookup, cn=ID;@*): an initial substring on an attribute
// with an equality index is answered from the range of its values in that index when few values
// start with it, instead of reading every entry with each of its trigrams. What must hold, on
// disk and in memory: the answer is a superset of the true matches (the filter re-checks), for
// any mix of components and characters; a range of many values, or a LARGE value, falls back to
// the trigrams with the same guarantee. Both key layouts (the cached answers are ndns in layout 2,
// ID keys in layout 3; the consistency check compares them with the index in each).

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prefixEnd } from '../../src/store/keys.js';
import { openStore } from '../../src/store/index.js';
import type { EntryRecord, IndexSpec, Indexer, Store, SubstringQuery } from '../../src/store/types.js';
import { useTempDir } from '../helpers/tmp.js';

const specs: IndexSpec[] = [{ attr: 'cn', eq: true, pres: false, sub: true }];
const indexer: Indexer = (rec, attr) => rec.attrs[attr] ?? [];

function rec(i: number, cns: string[]): EntryRecord {
  return { dn: `id=${i},o=t`, attrs: { id: [String(i)], cn: cns } };
}
const ndn = (i: number) => `id=${i},o=t`;

/** Brute force: the entries with a value matching the query (values as stored). */
function matches(values: Map<number, string[]>, q: SubstringQuery): Set<string> {
  const out = new Set<string>();
  for (const [i, vs] of values) {
    for (const v of vs) {
      let pos = 0;
      let ok = true;
      if (q.initial !== undefined) {
        ok = v.startsWith(q.initial);
        pos = q.initial.length;
      }
      for (const a of q.any) {
        if (!ok) break;
        const at = v.indexOf(a, pos);
        ok = at >= 0;
        pos = at + a.length;
      }
      if (ok && q.final !== undefined) ok = v.length - q.final.length >= pos && v.endsWith(q.final);
      if (ok) out.add(ndn(i));
    }
  }
  return out;
}

async function expectSuperset(store: Store, values: Map<number, string[]>, q: SubstringQuery): Promise<string[] | undefined> {
  const got = await store.lookupSubstrings('cn', q);
  if (got === undefined) return undefined; // narrows nothing: the scope is scanned
  const have = new Set(got);
  for (const m of matches(values, q)) expect(have.has(m), `${JSON.stringify(q)} misses ${m}`).toBe(true);
  return got;
}

describe('prefixEnd', () => {
  it('raises the last code unit, and declines what is not simple', () => {
    expect(prefixEnd('ab')).toBe('ac');
    expect(prefixEnd('q\0cn\0')).toBe('q\0cn\x01');
    expect(prefixEnd('é')).toBe('ê');
    expect(prefixEnd('')).toBeUndefined();
    expect(prefixEnd('a\ud7ff')).toBeUndefined();
    expect(prefixEnd('a\uffff')).toBeUndefined();
    expect(prefixEnd('a\u{1F600}')).toBeUndefined();
  });
});

describe.each([
  ['in memory', true, 2],
  ['on disk', false, 2],
  ['in memory', true, 3],
  ['on disk', false, 3],
] as const)('initial substrings from the equality index (%s, layout %i)', (_name, memory, layout) => {
  const tmp = useTempDir('astldap-subinit-');

  let stores = 0;
  async function withStore(values: Map<number, string[]>, fn: (s: Store) => Promise<void>): Promise<void> {
    const store = await openStore({ path: path.join(tmp(), `db${stores++}`), memory, layout, indexes: specs, indexer });
    try {
      const entries = [...values].map(([i, cns]) => ({ ndn: ndn(i), new: rec(i, cns) }));
      for (let k = 0; k < entries.length; k += 100) await store.write({ entries: entries.slice(k, k + 100) });
      await fn(store);
    } finally {
      await store.close();
    }
  }

  it('answers a PJSIP contact lookup with its own contacts only', async () => {
    const values = new Map<number, string[]>();
    let i = 0;
    for (let id = 0; id < 300; id++) values.set(i++, [`${id};@g0`]);
    values.set(i++, ['1234;@g1']);
    values.set(i++, ['12;@x', '1234;@g2']);
    await withStore(values, async (s) => {
      // Counted: the trigram keys' scans (db.keys), which the equality range makes unneeded.
      const db = (s as unknown as { db: { keys: (...a: unknown[]) => unknown } }).db;
      const keys = db.keys.bind(db);
      let scans = 0;
      db.keys = (...a: unknown[]) => {
        scans++;
        return keys(...a);
      };
      const got = await expectSuperset(s, values, { initial: '123;@', any: [] });
      expect(got).toEqual([ndn(123)]);
      expect(scans).toBe(0);
      const two = await expectSuperset(s, values, { initial: '12;@', any: [] });
      expect(new Set(two)).toEqual(new Set([ndn(12), ndn(301)]));
      const after = await expectSuperset(s, values, { initial: '12', any: [], final: 'g2' });
      expect(after).toContain(ndn(301));
      // Removing a value takes it out of the range.
      await s.write({ entries: [{ ndn: ndn(301), old: rec(301, ['12;@x', '1234;@g2']), new: rec(301, ['other']) }] });
      values.set(301, ['other']);
      expect(await expectSuperset(s, values, { initial: '12;@', any: [] })).toEqual([ndn(12)]);
    });
  });

  it('falls back to the trigrams for a prefix of many values or a LARGE value, still a superset', async () => {
    const values = new Map<number, string[]>();
    for (let i = 0; i < 200; i++) values.set(i, [`many${i}`]);
    for (let i = 200; i < 280; i++) values.set(i, ['shared value']); // more than a posting list holds
    values.set(280, ['shared other']);
    await withStore(values, async (s) => {
      const many = await expectSuperset(s, values, { initial: 'many', any: [] });
      expect(many?.length).toBe(200);
      const shared = await expectSuperset(s, values, { initial: 'shared', any: [] });
      expect(shared?.length).toBe(81);
      await expectSuperset(s, values, { initial: 'shared v', any: [], final: 'lue' });
    });
  });

  it('keeps range answers exact across adds, modifies, deletes and reads racing the writes', async () => {
    let seed = 99;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const word = () => `${rnd(40)};@g${rnd(3)}`;
    const values = new Map<number, string[]>();
    for (let i = 0; i < 120; i++) values.set(i, [word()]);
    await withStore(values, async (s) => {
      const db = (s as unknown as { db: { iterator: (...a: unknown[]) => unknown } }).db;
      const iterator = db.iterator.bind(db);
      let ranges = 0;
      db.iterator = (...a: unknown[]) => {
        ranges++;
        return iterator(...a);
      };
      const prefixes = Array.from({ length: 40 }, (_, id) => `${id};@`);
      const exact = async () => {
        for (const p of prefixes) {
          const got = await s.lookupSubstrings('cn', { initial: p, any: [] });
          expect(new Set(got), p).toEqual(matches(values, { initial: p, any: [] }));
        }
      };
      await exact();
      const before = ranges;
      await exact(); // all answered from the cache
      expect(ranges).toBe(before);
      let next = 1000;
      for (let round = 0; round < 60; round++) {
        const ids = [...values.keys()];
        const i = ids[rnd(ids.length)]!;
        const op = rnd(3);
        const write =
          op === 0
            ? { ndn: ndn(next), new: rec(next, [word()]) }
            : op === 1
              ? { ndn: ndn(i), old: rec(i, values.get(i)!), new: rec(i, [word(), ...(rnd(2) ? [word()] : [])]) }
              : { ndn: ndn(i), old: rec(i, values.get(i)!) };
        // Reads of every prefix race the write (started before it, answered around its commit).
        const racing = prefixes.map((p) => s.lookupSubstrings('cn', { initial: p, any: [] }));
        const done = s.write({ entries: [write] });
        racing.push(...prefixes.map((p) => s.lookupSubstrings('cn', { initial: p, any: [] })));
        await Promise.all([done, ...racing]);
        if (op === 0) values.set(next++, write.new!.attrs.cn!);
        else if (op === 1) values.set(i, write.new!.attrs.cn!);
        else values.delete(i);
        await exact();
      }
      // `astldap check` compares what the cache keeps with the index.
      type Prefixes = { generation(a: string): string; keep(a: string, p: string, g: string, n: string[]): void };
      const checked = s as unknown as { check(): Promise<string[]>; prefixCache?: Prefixes; index?: { prefixCache: Prefixes } };
      expect(await checked.check()).toEqual([]);
      // And it sees a cached answer that is not the index's (layout 3 keeps it in its index, id-index.ts).
      const cached = (checked.prefixCache ?? checked.index?.prefixCache)!;
      cached.keep('cn', '0;@', cached.generation('cn'), [ndn(999)]);
      expect(await checked.check()).toEqual([`cached initial-substring range ${JSON.stringify('cn\0' + '0;@')} differs`]);
    });
  });

  it('does not keep a range read before a write that commits while the answer is on its way', async () => {
    const values = new Map<number, string[]>([
      [1, ['7;@g0']],
      [2, ['8;@g0']],
    ]);
    await withStore(values, async (s) => {
      const db = (s as unknown as { db: { iterator: (...a: unknown[]) => { all(): Promise<unknown> } } }).db;
      const iterator = db.iterator.bind(db);
      let gate: Promise<unknown> | undefined;
      // The range is read now (as before the write), its answer delivered once the write is done.
      db.iterator = (...a: unknown[]) => {
        const it = iterator(...a);
        const held = gate;
        return held ? { all: async () => ((r) => held.then(() => r))(await it.all()) } : it;
      };
      let release!: () => void;
      gate = new Promise<void>((r) => (release = r));
      const slow = s.lookupSubstrings('cn', { initial: '7;@', any: [] });
      gate = undefined;
      await s.write({ entries: [{ ndn: ndn(3), new: rec(3, ['7;@g1']) }] });
      release();
      expect(await slow).toEqual([ndn(1)]); // what the range held when it was read
      values.set(3, ['7;@g1']);
      expect(new Set(await s.lookupSubstrings('cn', { initial: '7;@', any: [] }))).toEqual(new Set([ndn(1), ndn(3)]));
    });
  });

  it('is a superset of the true matches for random values and queries (all character widths)', async () => {
    const alphabet = ['a', 'b', ';', '@', 'é', '日', '\u{1F600}', '\uffff', '\ud7ff', '1'];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const word = (max: number) => Array.from({ length: rnd(max + 1) }, () => alphabet[rnd(alphabet.length)]).join('');
    const values = new Map<number, string[]>();
    for (let i = 0; i < 400; i++)
      values.set(
        i,
        Array.from({ length: 1 + rnd(2) }, () => word(6)),
      );
    await withStore(values, async (s) => {
      let answered = 0;
      for (let k = 0; k < 300; k++) {
        const q: SubstringQuery = { initial: word(4), any: rnd(3) ? [] : [word(3)] };
        if (rnd(3) === 0) q.final = word(3);
        if ((await expectSuperset(s, values, q)) !== undefined) answered++;
      }
      expect(answered).toBeGreaterThan(100);
    });
  });
});

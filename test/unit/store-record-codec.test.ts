// Layout 3's record codec and ID lists (src/store/record-codec.ts, src/store/id-list.ts): round
// trips, the order kept, lazy reads of one attribute, interning, the sort order of ID keys, and
// refusals of damaged bytes.

import { describe, expect, it } from 'vitest';
import { AttrTable, decodeRecord, decodeRecordText, encodeRecord, RecordView } from '../../src/store/record-codec.js';
import {
  decodeIds,
  encodeIds,
  idCount,
  idKey,
  idKeyLength,
  insertId,
  intersectIds,
  parseIdKey,
  removeId,
  unionIds,
} from '../../src/store/id-list.js';

const OPERATIONAL = new Set(['createtimestamp', 'entryuuid', 'entrycsn']);
const isOperational = (a: string) => OPERATIONAL.has(a);

/** A person as the benchmark writes them, with the write path's operational attributes. */
const person = (i: number): Record<string, string[]> => ({
  objectclass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
  uid: [`user${i}`],
  cn: [`User Number ${i}`],
  sn: [`Number${i}`],
  givenname: ['User'],
  mail: [`user${i}@example.com`],
  telephonenumber: [`+1 555 ${String(i).padStart(7, '0')}`],
  description: ['A person of the benchmark, with a description of some length'],
  userpassword: ['{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g4aWNoZQ=='],
  createtimestamp: ['20261207052500Z'],
  entryuuid: ['6f1c2e58-0c4f-4a4c-9d47-3f0c8a9e1b2d'],
  entrycsn: ['20261207052500.000000Z#000000#000#000000'],
});

describe('record codec', () => {
  it('round-trips attributes, keeping their order and every value', () => {
    const table = new AttrTable();
    const attrs = { cn: ['b', 'a', ''], entryuuid: ['x'], objectclass: ['top'], 'x-ü': ['ünïcødé ✓', '𝄞 clef', 'a'.repeat(70_000)] };
    const bytes = encodeRecord(attrs, table, isOperational);
    const back = decodeRecord(bytes, table);
    expect(back).toEqual(attrs);
    expect(Object.keys(back)).toEqual(Object.keys(attrs));
  });

  it('is smaller than JSON for a benchmark person', () => {
    const table = new AttrTable();
    const attrs = person(12345);
    const bytes = encodeRecord(attrs, table, isOperational);
    const json = Buffer.byteLength(JSON.stringify({ dn: 'uid=user12345,ou=people,dc=example,dc=com', attrs }));
    expect(bytes.length).toBeLessThan(json * 0.75);
  });

  it('reads one attribute without the others, and names user attributes apart', () => {
    const table = new AttrTable();
    const view = new RecordView(encodeRecord(person(7), table, isOperational), table);
    expect(view.get('uid')).toEqual(['user7']);
    expect(view.get('nothere')).toBeUndefined();
    expect(view.has('entryuuid')).toBe(true);
    expect(view.names(false)).not.toContain('entryuuid');
    expect(view.names(false)).toContain('mail');
    expect(Object.keys(view.attrs(false))).toEqual(view.names(false));
    expect(view.attrs()).toEqual(person(7));
  });

  it('interns names: fresh ones once, and a table rebuilt from its rows reads the records', () => {
    const table = new AttrTable();
    const a = encodeRecord(person(1), table, isOperational);
    const fresh = table.takeFresh();
    expect(fresh.map(([, n]) => n)).toEqual(Object.keys(person(1)));
    encodeRecord(person(2), table, isOperational);
    expect(table.takeFresh()).toEqual([]);
    const again = AttrTable.of(fresh);
    expect(decodeRecord(a, again)).toEqual(person(1));
    expect(() =>
      AttrTable.of([
        [0, 'cn'],
        [0, 'sn'],
      ]),
    ).toThrow(/both/);
  });

  it('gives back the fresh names of a batch that failed', () => {
    const table = new AttrTable();
    encodeRecord({ cn: ['x'] }, table, isOperational);
    const rows = table.takeFresh();
    table.giveBack(rows);
    encodeRecord({ sn: ['y'] }, table, isOperational);
    expect(table.takeFresh()).toEqual([
      [0, 'cn'],
      [1, 'sn'],
    ]);
  });

  it('refuses damaged bytes rather than decoding nonsense', () => {
    const table = new AttrTable();
    const bytes = encodeRecord(person(3), table, isOperational);
    expect(() => decodeRecord(bytes.subarray(0, bytes.length - 3), table)).toThrow(RangeError);
    expect(() => decodeRecord(Uint8Array.from([...bytes, 0]), table)).toThrow(RangeError);
    expect(() => new RecordView(Uint8Array.from([123]), table)).toThrow(/not a layout-3 record/);
    expect(() => decodeRecord(bytes, new AttrTable())).toThrow(/lacks/);
  });

  it('decodes the stored text form (latin1, after a head) as decodeRecord decodes the bytes, and refuses the same damage', () => {
    const table = new AttrTable();
    const text = (b: Uint8Array) => 'head\x00' + Buffer.from(b).toString('latin1');
    const records = [
      person(42),
      {
        cn: ['Zoë Ünïcødé', '𝄞 clef', ''],
        description: ['ascii only, long enough to be a slice of its record'],
        'x-bin': ['\u00ff\u0080'],
      },
      { objectclass: [], uid: ['a'.repeat(20_000)] },
    ];
    for (const attrs of records) {
      const bytes = encodeRecord(attrs, table, isOperational);
      const back = decodeRecordText(text(bytes), 5, table);
      expect(back).toEqual(decodeRecord(bytes, table));
      expect(back).toEqual(attrs);
      expect(Object.keys(back)).toEqual(Object.keys(attrs));
    }
    const bytes = encodeRecord(person(3), table, isOperational);
    expect(() => decodeRecordText(text(bytes.subarray(0, bytes.length - 3)), 5, table)).toThrow(RangeError);
    expect(() => decodeRecordText(text(Uint8Array.from([...bytes, 0])), 5, table)).toThrow(RangeError);
    expect(() => decodeRecordText(text(Uint8Array.from([123])), 5, table)).toThrow(/not a layout-3 record/);
    expect(() => decodeRecordText(text(bytes), 5, new AttrTable())).toThrow(/lacks/);
    // A value count far beyond the bytes left: refused, not an array of that size.
    expect(() => decodeRecordText(text(Uint8Array.from([3, 1, 0, 0xff, 0xff, 0xff, 0x7f])), 5, AttrTable.of([[0, 'cn']]))).toThrow(
      RangeError,
    );
    // Bytes that are not UTF-8 in a value.
    expect(() => decodeRecordText(text(Uint8Array.from([3, 1, 0, 1, 1, 0xc3])), 5, AttrTable.of([[0, 'cn']]))).toThrow();
  });
});

describe('ID keys and ID lists', () => {
  it('ID keys sort as their numbers do and parse back', () => {
    const ids = [0, 1, 63, 64, 65, 4095, 4096, 262143, 262144, 1_000_000, 2 ** 32, 2 ** 48 - 1];
    const keys = ids.map(idKey);
    expect([...keys].sort()).toEqual(keys);
    for (const [i, k] of keys.entries()) {
      expect(parseIdKey('x' + k + 'tail', 1)).toBe(ids[i]);
      expect(idKeyLength(k)).toBe(k.length);
      expect(k).not.toMatch(/[\x00-\x2f]/);
    }
    expect(idKey(100_000)).toHaveLength(4);
    expect(() => idKey(-1)).toThrow(RangeError);
    expect(() => idKey(2 ** 48)).toThrow(RangeError);
    expect(parseIdKey('')).toBeUndefined();
  });

  it('encodes ascending lists compactly and decodes them', () => {
    const ids: number[] = [];
    for (let i = 0; i < 4096; i++) ids.push(i * 244 + (i % 7));
    const bytes = encodeIds(ids);
    expect(decodeIds(bytes)).toEqual(ids);
    expect(idCount(bytes)).toBe(4096);
    expect(bytes.length).toBeLessThan(2.1 * 4096);
    expect(decodeIds(encodeIds([]))).toEqual([]);
    expect(decodeIds(encodeIds([2 ** 48 - 1]))).toEqual([2 ** 48 - 1]);
    expect(() => encodeIds([3, 3])).toThrow(RangeError);
    expect(() => encodeIds([3, 2])).toThrow(RangeError);
    expect(() => decodeIds(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
  });

  it('inserts, removes, intersects and unites sorted lists', () => {
    const ids = [2, 5, 9];
    expect(insertId(ids, 7)).toBe(true);
    expect(insertId(ids, 7)).toBe(false);
    expect(insertId(ids, 1)).toBe(true);
    expect(ids).toEqual([1, 2, 5, 7, 9]);
    expect(removeId(ids, 5)).toBe(true);
    expect(removeId(ids, 5)).toBe(false);
    expect(ids).toEqual([1, 2, 7, 9]);
    expect(intersectIds([1, 2, 7, 9], [2, 3, 9, 10])).toEqual([2, 9]);
    const long = Array.from({ length: 1000 }, (_, i) => i * 2);
    expect(intersectIds([4, 5, 1998], long)).toEqual([4, 1998]);
    expect(unionIds([1, 4, 9], [2, 4, 10, 11])).toEqual([1, 2, 4, 9, 10, 11]);
    expect(unionIds([], [3])).toEqual([3]);
  });
});

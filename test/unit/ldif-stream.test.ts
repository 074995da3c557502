// An LDIF file read as a stream in runs of records (the import path): the same records as
// parsing the whole text, line numbers as in the file, errors located in the file.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LdifError, parseLdif, readLdifChunks, type LdifRecord } from '../../src/ldif/ldif.js';
import { useTempDir } from '../helpers/tmp.js';

const dir = useTempDir('astldap-ldif-');

async function readAll(file: string, max: number): Promise<{ runs: LdifRecord[][]; bytes: number }> {
  const runs: LdifRecord[][] = [];
  let bytes = 0;
  for await (const run of readLdifChunks(file, max, (n) => (bytes = n))) runs.push(run);
  return { runs, bytes };
}

describe('readLdifChunks', () => {
  it('yields the records of the whole file in bounded runs, with file line numbers', async () => {
    const parts = ['version: 1', ''];
    for (let i = 0; i < 25; i++) {
      parts.push(`# entry ${i}`, ` folded comment ${i}`, `dn: uid=u${i},dc=example,dc=com`, 'objectClass: account', `uid: u${i}`);
      parts.push(`description: a long value that is folded`, `  over two lines ${i}`, '', '');
    }
    parts.push('dn: uid=u1,dc=example,dc=com', 'changetype: delete', '');
    const text = parts.join('\n');
    const file = path.join(dir(), 'a.ldif');
    writeFileSync(file, text);
    const { runs, bytes } = await readAll(file, 4);
    expect(runs.every((r) => r.length <= 4)).toBe(true);
    expect(runs.flat()).toEqual(parseLdif(text));
    expect(bytes).toBe(Buffer.byteLength(text));
  });

  it('also ends a run at its size bound, so a file of large entries is read in small runs', async () => {
    const big = 'x'.repeat(3000);
    const text = Array.from(
      { length: 12 },
      (_, i) => `dn: uid=u${i},dc=example,dc=com\nobjectClass: account\nuid: u${i}\ndescription: ${big}\n`,
    ).join('\n');
    const file = path.join(dir(), 'big.ldif');
    writeFileSync(file, text);
    const runs: LdifRecord[][] = [];
    for await (const run of readLdifChunks(file, 1000, undefined, 10_000)) runs.push(run);
    // About 3 KiB per record, runs of about 10 KiB: 4 records at most (the bound is checked between records).
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...runs.map((r) => r.length))).toBeLessThanOrEqual(4);
    expect(runs.flat()).toEqual(parseLdif(text));
  });

  it('reports a bad record with its line in the file', async () => {
    const good = (i: number) => `dn: uid=u${i},dc=example,dc=com\nobjectClass: account\nuid: u${i}\n`;
    const text = [good(0), good(1), good(2), 'dn: uid=bad,dc=example,dc=com\nthis is not ldif\n'].join('\n');
    const file = path.join(dir(), 'b.ldif');
    writeFileSync(file, text);
    const err = await readAll(file, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LdifError);
    expect((err as LdifError).line).toBe(text.split('\n').indexOf('this is not ldif') + 1);
  });
});

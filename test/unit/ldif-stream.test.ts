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

// The bulk load's filter of written keys: a key added is always reported, and few keys never
// added are (each such one costs the load a read, not a wrong answer).

import { describe, expect, it } from 'vitest';
import { KeyFilter } from '../../src/store/key-filter.js';

describe('KeyFilter', () => {
  it('reports every key added and under 1% of 200k keys never added', () => {
    const f = new KeyFilter();
    const key = (i: number) => `q\0uid\0user${i}`;
    for (let i = 0; i < 200_000; i++) f.add(key(i));
    let missed = 0;
    for (let i = 0; i < 200_000; i++) if (!f.mayHave(key(i))) missed++;
    expect(missed).toBe(0);
    let hits = 0;
    for (let i = 200_000; i < 400_000; i++) if (f.mayHave(key(i))) hits++;
    expect(hits).toBeLessThan(2_000);
    expect(f.mayHave('e\0uid=user1,ou=people')).toBe(false);
  });
});

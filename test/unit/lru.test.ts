import { describe, expect, it } from 'vitest';
import { Doorkeeper, Lru } from '../../src/store/lru.js';

describe('Lru', () => {
  it('evicts the least recently used entry, counting reads as uses', () => {
    const l = new Lru<string, number>(3);
    l.set('a', 1);
    l.set('b', 2);
    l.set('c', 3);
    expect(l.get('a')).toBe(1); // a is now the newest; b the oldest
    l.set('d', 4);
    expect(l.has('b')).toBe(false);
    expect([...l.entries()].map(([k]) => k)).toEqual(['c', 'a', 'd']);
    l.set('c', 30); // an update is a use
    l.set('e', 5);
    expect([...l.entries()]).toEqual([
      ['d', 4],
      ['c', 30],
      ['e', 5],
    ]);
    expect(l.size).toBe(3);
  });

  it('tells a cached undefined from a miss, deletes and clears', () => {
    const l = new Lru<string, string | undefined>(2);
    const miss = Symbol('miss');
    l.set('none', undefined);
    expect(l.lookup('none', miss)).toBeUndefined();
    expect(l.lookup('other', miss)).toBe(miss);
    expect(l.delete('none')).toBe(true);
    expect(l.delete('none')).toBe(false);
    expect(l.size).toBe(0);
    l.set('x', 'y');
    l.clear();
    expect([...l.entries()]).toEqual([]);
    l.set('z', 'w');
    expect(l.get('z')).toBe('w');
  });

  it('keeps nothing at capacity 0 and stays exact over many random operations', () => {
    expect(
      (() => {
        const l = new Lru<number, number>(0);
        l.set(1, 1);
        return l.size;
      })(),
    ).toBe(0);
    // Against a reference model: an array of keys in use order.
    const cap = 50;
    const l = new Lru<number, number>(cap);
    const model: number[] = [];
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 120;
    for (let i = 0; i < 20_000; i++) {
      const k = rnd();
      const op = i % 3;
      const at = model.indexOf(k);
      if (op === 0) {
        l.set(k, k * 2);
        if (at >= 0) model.splice(at, 1);
        model.push(k);
        if (model.length > cap) model.shift();
      } else if (op === 1) {
        expect(l.get(k)).toBe(at >= 0 ? k * 2 : undefined);
        if (at >= 0) model.push(...model.splice(at, 1));
      } else {
        expect(l.delete(k)).toBe(at >= 0);
        if (at >= 0) model.splice(at, 1);
      }
    }
    expect([...l.entries()].map(([k]) => k)).toEqual(model);
  });
});

describe('Lru.offer', () => {
  it('takes what is offered while there is room, then only a key offered again soon', () => {
    const l = new Lru<string, number>(2);
    l.offer('a', 1);
    l.offer('b', 2);
    expect([...l.entries()].map(([k]) => k)).toEqual(['a', 'b']);
    l.offer('c', 3);
    expect(l.has('c')).toBe(false);
    l.offer('c', 3);
    expect([...l.entries()].map(([k]) => k)).toEqual(['b', 'c']);
    const none = new Lru<string, number>(0);
    none.offer('a', 1);
    none.offer('a', 1);
    expect(none.size).toBe(0);
  });
});

describe('Doorkeeper', () => {
  it('admits a key on its second sighting within the window, and forgets after two windows of other keys', () => {
    const d = new Doorkeeper(100);
    expect(d.admit('a')).toBe(false);
    expect(d.admit('a')).toBe(true);
    expect(d.admit('a')).toBe(true);
    // Within one window of first sightings (into the next generation), 'b' is still remembered.
    expect(d.admit('b')).toBe(false);
    for (let i = 0; i < 150; i++) d.admit(`x${i}`);
    expect(d.admit('b')).toBe(true);
    // Two full windows of other keys later, 'c' is forgotten.
    expect(d.admit('c')).toBe(false);
    for (let i = 0; i < 250; i++) d.admit(`y${i}`);
    expect(d.admit('c')).toBe(false);
  });

  it('lets few keys in early (collisions) and nothing at window 0', () => {
    const d = new Doorkeeper(1000);
    let early = 0;
    for (let i = 0; i < 1000; i++) if (d.admit(`uid=user${i},ou=people,dc=example,dc=com`)) early++;
    expect(early).toBeLessThan(50);
    const none = new Doorkeeper(0);
    expect(none.admit('a') || none.admit('a')).toBe(false);
  });
});

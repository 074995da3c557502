// A Bloom filter of strings: what a bulk load into an empty store has written of the keys it
// reads back (entries and posting lists). A key the filter has not seen is not stored, so its
// read can be skipped; a key it may have seen is read as usual (a collision costs one read).

import { fnv1a } from './keys.js';

/** 2^26 bits (8 MiB), three probes: no false positive in 1M lookups at 200k keys, 1.3% at 6M keys. */
const BITS_LOG2 = 26;

export class KeyFilter {
  private readonly bits = new Uint32Array(1 << (BITS_LOG2 - 5));
  private readonly mask = (1 << BITS_LOG2) - 1;

  add(key: string): void {
    const a = fnv1a(key);
    for (let i = 0, h = a, step = stepOf(a); i < 3; i++, h = (h + step) >>> 0) {
      const bit = h & this.mask;
      this.bits[bit >>> 5] = this.bits[bit >>> 5]! | (1 << (bit & 31));
    }
  }

  /** False only for a key never added. */
  mayHave(key: string): boolean {
    const a = fnv1a(key);
    for (let i = 0, h = a, step = stepOf(a); i < 3; i++, h = (h + step) >>> 0) {
      const bit = h & this.mask;
      if (!(this.bits[bit >>> 5]! & (1 << (bit & 31)))) return false;
    }
    return true;
  }
}

/**
 * The distance between a key's probes, from its hash's high bits (mixed by MurmurHash3's
 * finaliser): keys whose first probe collides mostly differ in the next ones. Odd: the probes
 * differ.
 */
function stepOf(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) | 1) >>> 0;
}

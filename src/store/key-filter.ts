// A Bloom filter of strings: what a bulk load into an empty store has written of the keys it
// reads back (entries and posting lists). A key the filter has not seen is not stored, so its
// read can be skipped; a key it may have seen is read as usual (a collision costs one read).

/** 2^26 bits (8 MiB): under 1% false positives at 6M keys with three probes. */
const BITS_LOG2 = 26;

export class KeyFilter {
  private readonly bits = new Uint32Array(1 << (BITS_LOG2 - 5));
  private readonly mask = (1 << BITS_LOG2) - 1;

  add(key: string): void {
    const [a, b] = hashes(key);
    for (let i = 0, h = a; i < 3; i++, h = (h + b) >>> 0) {
      const bit = h & this.mask;
      this.bits[bit >>> 5] = this.bits[bit >>> 5]! | (1 << (bit & 31));
    }
  }

  /** False only for a key never added. */
  mayHave(key: string): boolean {
    const [a, b] = hashes(key);
    for (let i = 0, h = a; i < 3; i++, h = (h + b) >>> 0) {
      const bit = h & this.mask;
      if (!(this.bits[bit >>> 5]! & (1 << (bit & 31)))) return false;
    }
    return true;
  }
}

const pair: [number, number] = [0, 0];

/** Two independent 32-bit hashes of the key's code units (FNV-1a and a multiply-rotate mix). */
function hashes(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(((b ^ c) << 5) | ((b ^ c) >>> 27), 0x85ebca6b);
  }
  pair[0] = a >>> 0;
  pair[1] = (b | 1) >>> 0; // odd: the probes differ
  return pair;
}

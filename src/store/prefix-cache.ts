// The answers of initial-substring ranges (LevelStore.initialRange: the entries whose value of an
// attribute starts with a prefix, read from the equality index), kept exact across writes. A
// range is read asynchronously, so a write may commit while it is read: each attribute has a
// generation that every batch changing its equality keys moves on, and an answer is kept only
// if its attribute's generation did not move while it was read. A batch drops the answers of
// every prefix of each value it changed (a value of n code units has n + 1 prefixes).

import { postingBytes, stringBytes } from './cache-weight.js';
import { Lru } from './lru.js';
import { SEP } from './postings.js';
import type { NormalizedDn } from './types.js';

/** Bytes a cached range answer costs: its node and key, the list and its DNs. */
function answerBytes(key: string, ndns: NormalizedDn[]): number {
  let n = postingBytes(key, undefined) + 16 + 8 * ndns.length;
  for (const d of ndns) n += stringBytes(d);
  return n;
}

export class PrefixCache {
  private readonly lru: Lru<string, NormalizedDn[]>;
  private readonly generations = new Map<string, number>();
  /** Moved on by clear(): a generation taken before a clear never matches after it. */
  private epoch = 0;

  constructor(maxBytes: number) {
    this.lru = new Lru(Infinity, { maxBytes, weigh: answerBytes });
  }

  /** The generation of attr now (read before a range of it is read). */
  generation(attr: string): string {
    return `${this.epoch}/${this.generations.get(attr) ?? 0}`;
  }

  get(attr: string, prefix: string): NormalizedDn[] | undefined {
    return this.lru.get(attr + SEP + prefix);
  }

  /** Keeps the answer for (attr, prefix) if no batch changed attr's equality keys since `generation`. */
  keep(attr: string, prefix: string, generation: string, ndns: NormalizedDn[]): void {
    if (this.generation(attr) === generation) this.lru.set(attr + SEP + prefix, ndns);
  }

  /** A batch changed (or is changing) these equality keys (q SEP attr SEP value). */
  changed(qkeys: Iterable<string>): void {
    for (const qk of qkeys) {
      const at = qk.indexOf(SEP, 2);
      const attr = qk.slice(2, at);
      const value = qk.slice(at + 1);
      this.generations.set(attr, (this.generations.get(attr) ?? 0) + 1);
      if (!this.lru.size) continue;
      for (let i = 0; i <= value.length; i++) this.lru.delete(attr + SEP + value.slice(0, i));
    }
  }

  clear(): void {
    this.lru.clear();
    this.epoch++;
  }

  /** What is kept, least recently used first (for the consistency check). */
  entries(): IterableIterator<[string, NormalizedDn[]]> {
    return this.lru.entries();
  }

  get bytes(): number {
    return this.lru.bytes;
  }
}

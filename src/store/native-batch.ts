// One reusable native write batch of classic-level, filled one operation per call. classic-level's
// array batch reads every operation's type, key and value as object properties (some ten N-API
// calls per operation: a fifth of an import's main thread), and the operation objects themselves
// are garbage; its chained batch frees its native buffer only when the batch object is collected.
// This keeps one native batch per store, cleared after each write: its buffer is reused (and
// replaced after a batch of exceptional size). Reached through classic-level's own binding (its
// batch_init, batch_put, batch_del, batch_write and batch_clear, which its chained batch uses);
// when that is not available the store uses the array batch.

import { createRequire } from 'node:module';
import type { Ops } from './postings.js';

type Handle = object;

interface Binding {
  batch_init(context: unknown): Handle;
  batch_put(batch: Handle, key: string, value: string): void;
  batch_del(batch: Handle, key: string): void;
  batch_clear(batch: Handle): void;
  batch_write(batch: Handle, options: { sync: boolean }): Promise<void>;
}

/**
 * After a batch of more than this many characters of keys and values (an import of very large
 * entries; an import's runs of ordinary entries stay far below), the native batch is replaced: a
 * cleared batch keeps its buffer's capacity.
 */
const RENEW_AFTER_CHARS = 32 << 20;

export class NativeBatch implements Ops {
  /** Operations since the last write or clear. */
  length = 0;
  /** Characters of their keys and values. */
  private chars = 0;
  private handle: Handle;

  private constructor(
    private readonly binding: Binding,
    private readonly context: unknown,
  ) {
    this.handle = binding.batch_init(context);
  }

  /** The native batch of an open classic-level database, if its binding offers one. */
  static of(db: object): NativeBatch | undefined {
    try {
      const binding = createRequire(import.meta.url)('classic-level/binding.js') as Partial<Binding>;
      const fns = ['batch_init', 'batch_put', 'batch_del', 'batch_clear', 'batch_write'] as const;
      if (!fns.every((f) => typeof binding[f] === 'function')) return undefined;
      const sym = Object.getOwnPropertySymbols(db).find((s) => s.description === 'context');
      const context = sym && (db as Record<symbol, unknown>)[sym];
      if (!context) return undefined;
      return new NativeBatch(binding as Binding, context);
    } catch {
      return undefined;
    }
  }

  put(key: string, value: string): void {
    this.binding.batch_put(this.handle, key, value);
    this.length++;
    this.chars += key.length + value.length;
  }

  del(key: string): void {
    this.binding.batch_del(this.handle, key);
    this.length++;
    this.chars += key.length;
  }

  /** Writes what was added (one atomic LevelDB write) and empties the batch, also on failure. */
  async write(sync: boolean): Promise<void> {
    try {
      if (this.length) await this.binding.batch_write(this.handle, { sync });
    } finally {
      this.clear();
    }
  }

  /** Drops what was added (a batch that grew very large is replaced, to let its buffer go). */
  clear(): void {
    if (this.chars > RENEW_AFTER_CHARS) this.handle = this.binding.batch_init(this.context);
    else this.binding.batch_clear(this.handle);
    this.length = 0;
    this.chars = 0;
  }
}

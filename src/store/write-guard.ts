// What both key layouts' stores do around a write: one at a time in arrival order, a disk that
// fails (full, I/O error) makes the store failing until a reopen succeeds once there is room, and
// a batch of operations reaches LevelDB the cheapest way it can.

import type { Level } from 'level';
import { DiskFailure, reopen, roomToReopen } from './health.js';
import { NativeBatch } from './native-batch.js';
import type { ArrayOps } from './postings.js';
import type { StoreHealth } from './types.js';

export interface WriteGuardOptions {
  db: { open(): Promise<void>; close(): Promise<void> };
  /** The database folder (undefined in memory): a full disk is reopened only with room on it. */
  path?: string;
  /** Told when writes start failing and when they work again. */
  onHealth?: (health: StoreHealth) => void;
  /** Re-reads what the store keeps of a database it just reopened. */
  reopened: () => unknown;
}

export class WriteGuard {
  private chain: Promise<unknown> = Promise.resolve();
  /** Why writes fail (set by a write that failed for the disk's sake), until a reopen succeeds. */
  private failure: DiskFailure | undefined;

  constructor(private readonly o: WriteGuardOptions) {}

  /** Runs fn after every earlier one, and before any later one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** Resolves once every write queued so far has run. */
  settled(): Promise<unknown> {
    return this.chain;
  }

  health(): StoreHealth {
    return this.failure?.health() ?? { state: 'ok' };
  }

  /** Runs a write (a batch, clear) once a failing store has recovered; an I/O error makes it failing. */
  async guarded(write: () => Promise<void>): Promise<void> {
    if (this.failure) await this.recover(this.failure);
    try {
      await write();
    } catch (err) {
      // For the disk's sake (full, failing): failing from now on, answered with the reason.
      const failure = DiskFailure.of(err, this.failure);
      if (!failure) throw err;
      if (!this.failure) this.o.onHealth?.(failure.health());
      this.failure = failure;
      throw failure.refusal();
    }
  }

  private async recover(failure: DiskFailure): Promise<void> {
    if (failure.diskFull && !roomToReopen(this.o.path)) throw failure.refusal();
    // A reopen that fails leaves the database closed: reads fail too, until a later write reopens it.
    this.failure = await reopen(this.o.db, failure);
    if (this.failure) throw this.failure.refusal();
    await this.o.reopened();
    this.o.onHealth?.(this.health());
  }
}

/**
 * Writes one batch of operations. On disk, straight to classic-level's _batch: abstract-level's
 * public batch() clones, validates and re-encodes every operation (30% of an import's time),
 * which utf8 strings do not need. In memory, the public batch() (memory-level stores other formats).
 */
export function commitOps(db: Level<string, string>, onDisk: boolean, sync: boolean, b: ArrayOps | NativeBatch): Promise<void> {
  if (b instanceof NativeBatch) return b.write(sync);
  if (!b.length) return Promise.resolve();
  const options = { sync };
  if (onDisk) return (db as unknown as { _batch(ops: ArrayOps['list'], o: typeof options): Promise<void> })._batch(b.list, options);
  return db.batch(b.list, options);
}

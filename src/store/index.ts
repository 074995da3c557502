// Opening the store: LevelDB on disk under the configured path, or an in-memory level for tests
// and throwaway instances. Both implement the same contract (test/unit/store-contract.test.ts).
// Opening rebuilds the attribute indexes when their configuration changed since the last open
// (LevelStore keeps a fingerprint of the sorted index specs).

import { ensurePrivateDir, restrictTree } from '../config/files.js';
import { IdStore } from './id-store.js';
import { LevelStore } from './level-store.js';
import type { IndexSpec, Indexer, Store, StoreHealth } from './types.js';

export * from './types.js';
export { LevelStore } from './level-store.js';
export { IdStore } from './id-store.js';

export interface OpenStoreOptions {
  path?: string;
  memory?: boolean;
  indexes: IndexSpec[];
  indexer: Indexer;
  sync?: boolean;
  /** Bytes the entry and posting-list caches may hold (default 32 MiB; 0 disables them). */
  cacheBytes?: number;
  /** At most this many cached entries besides the byte budget (default: no such cap). */
  cacheEntries?: number;
  /** Tuned for a bulk load (LDIF import): a larger LevelDB write buffer; opened empty, no reads of keys it has not written. */
  bulk?: boolean;
  /** Told when writes start failing (a full disk, an I/O error) and when they work again. */
  onHealth?: (health: StoreHealth) => void;
  /** Told when the store falls back from a dependency's internals (for the log). */
  onWarning?: (message: string) => void;
  /** The key layout of a new database: 2 (entries by DN, the default) or 3 (entries by ID, id-store.ts). */
  layout?: 2 | 3;
}

/**
 * Opens (creating if needed) a store; in memory when `memory` is set or no path is given. On
 * disk, the database folder is 0700 and LevelDB's files 0600 once open (files it makes later
 * follow the process umask, which the CLI sets to 077, and sit inside the 0700 folder).
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const onDisk = !opts.memory && opts.path !== undefined;
  if (onDisk && !ensurePrivateDir(opts.path!)) throw new Error(`cannot make ${opts.path} private (mode 0700): is it another user's?`);
  const Impl = opts.layout === 3 ? IdStore : LevelStore;
  const store = new Impl({
    ...(onDisk ? { path: opts.path! } : {}),
    indexes: opts.indexes,
    indexer: opts.indexer,
    sync: opts.sync ?? false,
    ...(opts.cacheBytes !== undefined ? { cacheBytes: opts.cacheBytes } : {}),
    ...(opts.cacheEntries !== undefined ? { cacheSize: opts.cacheEntries } : {}),
    bulk: opts.bulk ?? false,
    ...(opts.onHealth ? { onHealth: opts.onHealth } : {}),
    ...(opts.onWarning ? { onWarning: opts.onWarning } : {}),
  });
  await store.open();
  if (onDisk) restrictTree(opts.path!);
  return store;
}

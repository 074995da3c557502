// Opening the store: LevelDB on disk under the configured path, or an in-memory level for tests
// and throwaway instances. Both implement the same contract (test/unit/store-contract.test.ts).
// Opening rebuilds the attribute indexes when their configuration changed since the last open
// (LevelStore keeps a fingerprint of the sorted index specs).

import { mkdirSync } from 'node:fs';
import { LevelStore } from './level-store.js';
import type { IndexSpec, Indexer, Store } from './types.js';

export * from './types.js';
export { LevelStore } from './level-store.js';

export interface OpenStoreOptions {
  path?: string;
  memory?: boolean;
  indexes: IndexSpec[];
  indexer: Indexer;
  sync?: boolean;
  /** Decoded entries cached in memory (default 20,000; 0 disables the cache). */
  cacheEntries?: number;
  /** Tuned for a bulk load (LDIF import): a larger LevelDB write buffer. */
  bulk?: boolean;
}

/** Opens (creating if needed) a store; in memory when `memory` is set or no path is given. */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const onDisk = !opts.memory && opts.path !== undefined;
  if (onDisk) mkdirSync(opts.path!, { recursive: true });
  const store = new LevelStore({
    ...(onDisk ? { path: opts.path! } : {}),
    indexes: opts.indexes,
    indexer: opts.indexer,
    sync: opts.sync ?? false,
    ...(opts.cacheEntries !== undefined ? { cacheSize: opts.cacheEntries } : {}),
    bulk: opts.bulk ?? false,
  });
  await store.open();
  return store;
}

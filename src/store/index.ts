// Opening the store: LevelDB on disk under the configured path, or an in-memory level for tests
// and throwaway instances. Both implement the same contract (test/unit/store-contract.test.ts).
// Opening rebuilds the attribute indexes when their configuration changed since the last open
// (LevelStore keeps a fingerprint of the sorted index specs).

import { existsSync } from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import { ensurePrivateDir, restrictTree } from '../config/files.js';
import { IdStore } from './id-store.js';
import { LevelStore } from './level-store.js';
import { resolveMigration } from './migrate.js';
import type { IndexSpec, Indexer, Store, StoreHealth } from './types.js';

export * from './types.js';

const LAYOUT_KEY = 'x\x00layout';
export { LevelStore } from './level-store.js';
export { IdStore } from './id-store.js';

export interface OpenStoreOptions {
  path?: string;
  memory?: boolean;
  indexes: IndexSpec[];
  indexer: Indexer;
  sync?: boolean;
  /** Bytes the store's caches may hold (by default the layout's: 64 MiB in layout 3, 32 in layout 2; 0 disables them). */
  cacheBytes?: number;
  /** At most this many cached entries besides the byte budget (default: no such cap). */
  cacheEntries?: number;
  /** Tuned for a bulk load (LDIF import): a larger LevelDB write buffer; opened empty, no reads of keys it has not written. */
  bulk?: boolean;
  /** Told when writes start failing (a full disk, an I/O error) and when they work again. */
  onHealth?: (health: StoreHealth) => void;
  /** Told when the store falls back from a dependency's internals (for the log). */
  onWarning?: (message: string) => void;
  /**
   * The key layout of a new database: 3 (entries by ID, id-store.ts; the default) or 2 (entries
   * by DN, level-store.ts). A database on disk opens in the layout it has; the server migrates a layout-2
   * one when 3 is asked for (migrate.ts).
   */
  layout?: 2 | 3;
  /** Told what start-up did about an interrupted migration (for the log). */
  onInfo?: (message: string) => void;
}

/**
 * Opens (creating if needed) a store; in memory when `memory` is set or no path is given. On
 * disk, the database folder is 0700 and LevelDB's files 0600 once open (files it makes later
 * follow the process umask, which the CLI sets to 077, and sit inside the 0700 folder).
 */
export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  const onDisk = !opts.memory && opts.path !== undefined;
  // A migration a crash interrupted is finished or undone first: the database is then whole, in one layout.
  if (onDisk) resolveMigration(opts.path!, opts.onInfo);
  if (onDisk && !ensurePrivateDir(opts.path!)) throw new Error(`cannot make ${opts.path} private (mode 0700): is it another user's?`);
  const layout = onDisk ? await storedLayout(opts.path!, opts.layout ?? 3, opts.onWarning) : (opts.layout ?? 3);
  const Impl = layout === 3 ? IdStore : LevelStore;
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

/**
 * The layout a database on disk has (read from its layout key before it is opened for good), or
 * `wanted` for a new one. A layout-3 database asked to be 2 stays 3 (said once, for the log: there
 * is no way back); a layout-2 one asked to be 3 opens as 2 and the server migrates it.
 */
async function storedLayout(dir: string, wanted: 2 | 3, warn?: (message: string) => void): Promise<2 | 3> {
  if (!existsSync(path.join(dir, 'CURRENT'))) return wanted;
  const db = new Level<string, string>(dir, { keyEncoding: 'utf8', valueEncoding: 'utf8', createIfMissing: false });
  let stored: string | undefined;
  let empty = false;
  try {
    await db.open();
    stored = db.getSync(LAYOUT_KEY);
    empty = (await db.keys({ limit: 1 }).all()).length === 0;
  } catch {
    return wanted; // the store's own open explains what is wrong
  } finally {
    await db.close();
  }
  // Layout 1 had no layout key.
  if (stored === undefined) return empty ? wanted : 2;
  const has: 2 | 3 = stored === '3' ? 3 : 2;
  if (has === 3 && wanted === 2) warn?.(`the database at ${dir} has key layout 3; store.layout: 2 applies to new databases only`);
  return Number(stored) > 3 ? 2 : has;
}

/** A store opened as found (`astldap verify`), in the layout the database has: nothing rebuilt or written. */
export async function openAsFound(opts: { path: string; indexes: IndexSpec[]; indexer: Indexer }): Promise<LevelStore | IdStore> {
  const layout = await storedLayout(opts.path, 2);
  const store = layout === 3 ? new IdStore({ ...opts, asFound: true }) : new LevelStore({ ...opts, asFound: true });
  await store.open();
  return store;
}

// Migration of a layout-2 database (entries by DN) to layout 3 (entries by ID), crash-safe. The
// new database is built beside the old one (<db>.layout3.tmp), made durable, and only then
// declared complete by a marker file (<db>.layout3.ready); the swap is two renames (<db> to
// <db>.layout2.old, the new one to <db>). A kill -9 at any point leaves one of these states, and
// resolveMigration (run before every open) finishes or undoes it:
//
//   no marker, tmp present          the copy was cut short: tmp is removed, <db> is the old one, whole
//   marker, tmp and <db> present    complete copy, not swapped: swap
//   marker, tmp present, no <db>    between the renames: the second rename
//   marker, no tmp                  swapped: the marker is removed
//
// The old database is kept at <db>.layout2.old (the log says so) until the operator removes it.

import { closeSync, existsSync, fsyncSync, lstatSync, openSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, restrictTree } from '../config/files.js';
import { IdStore } from './id-store.js';
import type { EntryWrite, IndexSpec, Indexer, MetaWrite, Store } from './types.js';

const CHUNK = 1000;
/** A progress line at most this often (and at the end). */
const PROGRESS_MS = 5000;

export interface MigrationPaths {
  /** Where the new database is built. */
  tmp: string;
  /** Written once tmp is complete and durable; removed once the swap is done. */
  ready: string;
  /** Where the old database is kept after the swap. */
  old: string;
}

export function migrationPaths(dbPath: string): MigrationPaths {
  return { tmp: `${dbPath}.layout3.tmp`, ready: `${dbPath}.layout3.ready`, old: `${dbPath}.layout2.old` };
}

/** fsync of a file or folder (a folder's entries: renames and new names in it are durable). */
function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Every file in a folder (and the folder) synced to disk. */
function fsyncTree(dir: string): void {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (lstatSync(p).isFile()) fsyncPath(p);
  }
  fsyncPath(dir);
}

/**
 * Finishes or undoes a migration a crash interrupted (see the table above); says what it did.
 * Synchronous, before the database is opened.
 */
export function resolveMigration(dbPath: string, say: (message: string) => void = () => undefined): void {
  const { tmp, ready, old } = migrationPaths(dbPath);
  const parent = path.dirname(dbPath);
  if (existsSync(ready)) {
    if (existsSync(tmp)) {
      if (existsSync(dbPath)) {
        if (existsSync(old)) rmSync(old, { recursive: true, force: true });
        renameSync(dbPath, old);
      }
      renameSync(tmp, dbPath);
      say(`finished the migration to layout 3 that was interrupted after its copy was complete; the layout-2 database is kept at ${old}`);
    }
    fsyncPath(parent);
    unlinkSync(ready);
    fsyncPath(parent);
  } else if (existsSync(tmp)) {
    rmSync(tmp, { recursive: true, force: true });
    fsyncPath(parent);
    say(`removed an unfinished copy of a migration to layout 3 (${tmp}); the layout-2 database is unchanged and is migrated again`);
  }
}

export interface MigrateOptions {
  dbPath: string;
  indexes: IndexSpec[];
  indexer: Indexer;
  /** Progress and the outcome, for a terminal and the log. */
  say?: (message: string) => void;
}

/**
 * Copies an open layout-2 store into a new layout-3 database and swaps it in; `from` is closed.
 * Returns nothing: the caller opens the database at dbPath again (now layout 3).
 */
export async function migrateToLayout3(from: Store, opts: MigrateOptions): Promise<void> {
  const say = opts.say ?? (() => undefined);
  const { tmp, ready, old } = migrationPaths(opts.dbPath);
  const parent = path.dirname(opts.dbPath);
  const total = await from.count();
  const started = Date.now();
  say(`migrating ${total} entries from store layout 2 to layout 3 (copy at ${tmp})`);
  rmSync(tmp, { recursive: true, force: true });
  if (!ensurePrivateDir(tmp)) throw new Error(`cannot make ${tmp} private (mode 0700)`);
  const to = new IdStore({ path: tmp, indexes: opts.indexes, indexer: opts.indexer, sync: false, bulk: true });
  let copied = 0;
  try {
    await to.open();
    let lastSaid = Date.now();
    let entries: EntryWrite[] = [];
    const flush = async () => {
      if (!entries.length) return;
      await to.write({ entries });
      copied += entries.length;
      entries = [];
      if (Date.now() - lastSaid >= PROGRESS_MS) {
        lastSaid = Date.now();
        say(`migration: ${copied} of ${total} entries copied (${Math.round((100 * copied) / Math.max(1, total))}%)`);
      }
    };
    // Parents before children: each entry is filed under its parent's new ID.
    for await (const [ndn, rec] of from.subtree('')) {
      entries.push({ ndn, new: rec });
      if (entries.length >= CHUNK) await flush();
    }
    await flush();
    let meta: MetaWrite[] = [];
    for await (const [key, value] of from.scanMeta('')) {
      meta.push({ key, value });
      if (meta.length >= CHUNK) {
        await to.write({ entries: [], meta });
        meta = [];
      }
    }
    if (meta.length) await to.write({ entries: [], meta });
    const made = await to.count();
    if (made !== total) throw new Error(`the copy holds ${made} entries, the layout-2 database ${total}`);
  } catch (err) {
    await to.close().catch(() => undefined);
    rmSync(tmp, { recursive: true, force: true });
    await from.close().catch(() => undefined);
    throw err;
  }
  await to.close();
  await from.close();
  restrictTree(tmp);
  fsyncTree(tmp);
  fsyncPath(parent);
  // From here on the copy is the database: a crash finishes the swap (resolveMigration).
  writeFileSync(ready, `layout 3 copy of ${total} entries complete\n`, { mode: 0o600 });
  fsyncPath(ready);
  fsyncPath(parent);
  if (existsSync(old)) rmSync(old, { recursive: true, force: true });
  renameSync(opts.dbPath, old);
  renameSync(tmp, opts.dbPath);
  fsyncPath(parent);
  unlinkSync(ready);
  fsyncPath(parent);
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  say(
    `migrated ${total} entries to store layout 3 in ${secs} s; the layout-2 database is kept at ${old} (remove it once you are satisfied)`,
  );
}

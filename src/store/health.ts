// Whether a store takes writes. LevelDB keeps the error of a failed background write (a table
// file that found the disk full) and refuses every later write with it until the database is
// reopened. A write that fails for the disk's sake makes the store failing: later writes are
// answered with the reason, and the store reopens before a write once the disk has room again.

import { readdirSync, statfsSync, statSync } from 'node:fs';
import path from 'node:path';
import { LdapError, ResultCode } from '../ldap/result.js';
import type { StoreHealth } from './types.js';

/**
 * Free space a failing store wants besides its write-ahead logs before it reopens: reopening
 * replays the logs into a new table file and writes a new log and manifest, and a reopen that
 * fails for room would leave the database closed (reads failing too) instead of read-only.
 */
const REOPEN_HEADROOM = 2 << 20;

/** Why a store's writes fail: LevelDB's I/O error. */
export class DiskFailure {
  private constructor(
    readonly reason: string,
    readonly diskFull: boolean,
    readonly since: string,
  ) {}

  /** The failure a write's error means (LevelDB's IO errors), or undefined for any other error. */
  static of(err: unknown, earlier?: DiskFailure): DiskFailure | undefined {
    const e = err as { code?: string; message?: string } | undefined;
    if (e?.code !== 'LEVEL_IO_ERROR' && !/\bIO error\b/.test(e?.message ?? '')) return undefined;
    return DiskFailure.because(e?.message ?? String(err), earlier);
  }

  /** A failure for this reason (a reopen that failed), since the earlier one began. */
  static because(reason: string, earlier?: DiskFailure): DiskFailure {
    return new DiskFailure(reason, /No space left|ENOSPC|quota exceeded/i.test(reason), earlier?.since ?? new Date().toISOString());
  }

  health(): StoreHealth {
    return { state: 'failing', reason: this.reason, diskFull: this.diskFull, since: this.since };
  }

  /** What a write is answered with: the reason, without the server's paths. */
  refusal(): LdapError {
    const why = this.reason.replace(/^IO error: (?:[^:]*: )?/, '');
    if (this.diskFull) {
      return new LdapError(
        ResultCode.unwillingToPerform,
        `the disk is full (${why}): the change was not stored; the database is read-only until space is freed`,
      );
    }
    return new LdapError(ResultCode.other, `the database cannot write (${why}): the change was not stored`);
  }
}

/** LevelDB's own reason for a failed open (abstract-level's "Database failed to open" keeps it in err.cause). */
function openFailureReason(err: unknown): string {
  const cause = (err as Error).cause;
  return cause instanceof Error ? cause.message : (err as Error).message;
}

/** Opens the database; a failure says why, in LevelDB's words. */
export async function openExplained(db: { open(): Promise<void> }, dbPath: string | undefined): Promise<void> {
  try {
    await db.open();
  } catch (err) {
    throw new Error(`cannot open the database${dbPath ? ` at ${dbPath}` : ''}: ${openFailureReason(err)}`, { cause: err });
  }
}

/** Closes and opens the database again: undefined once open, else the failure that goes on. */
export async function reopen(
  db: { open(): Promise<void>; close(): Promise<void> },
  failure: DiskFailure,
): Promise<DiskFailure | undefined> {
  try {
    await db.close();
    await db.open();
    return undefined;
  } catch (err) {
    return DiskFailure.because(openFailureReason(err), failure);
  }
}

/** Whether the file system of the database folder has room for its logs to be replayed, and then some. */
export function roomToReopen(dbPath: string | undefined): boolean {
  if (!dbPath) return true;
  try {
    let logs = 0;
    for (const f of readdirSync(dbPath)) if (f.endsWith('.log')) logs += statSync(path.join(dbPath, f)).size;
    const fs = statfsSync(dbPath);
    return fs.bavail * fs.bsize >= logs + REOPEN_HEADROOM;
  } catch {
    return true; // cannot tell: try
  }
}

// The data directory's lock: `astldap.pid` (mode 0600) names the server process that holds the
// database and how to reach it (its listeners and admin API), so a second process gets a clear
// message (and `astldap export|backup|status` can talk to the running server instead). A lock
// whose process is gone is stale and taken over.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';

export const LOCK_FILE = 'astldap.pid';

/** What a running server records in its lock file. */
export interface LockInfo {
  pid: number;
  /** ISO time the server started. */
  started: string;
  urls: string[];
  adminUrl?: string;
}

export class DataDirLockedError extends Error {
  override name = 'DataDirLockedError';
  constructor(
    readonly file: string,
    readonly info: LockInfo,
  ) {
    super(
      `the data directory ${path.dirname(file)} is in use by astldap pid ${info.pid} (lock ${file}); ` +
        'stop that server first, or use `astldap export`, `backup` or `status`, which talk to it',
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's contents when a live process holds it; undefined for none or a stale one. */
export function readLock(dataDir: string): { file: string; info: LockInfo } | undefined {
  const file = path.join(dataDir, LOCK_FILE);
  if (!existsSync(file)) return undefined;
  let info: LockInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined; // Half-written by a process that died while starting: stale.
  }
  return Number.isInteger(info.pid) && alive(info.pid) ? { file, info } : undefined;
}

export class DataDirLock {
  private released = false;
  private constructor(
    readonly file: string,
    private info: LockInfo,
  ) {}

  /** Takes the lock (exclusive create; a stale lock is replaced) or throws DataDirLockedError. */
  static acquire(dataDir: string): DataDirLock {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const file = path.join(dataDir, LOCK_FILE);
    const info: LockInfo = { pid: process.pid, started: new Date().toISOString(), urls: [] };
    for (let attempt = 0; attempt < 2; attempt++) {
      let fd: number;
      try {
        fd = openSync(file, 'wx', 0o600);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const held = readLock(dataDir);
        if (held) throw new DataDirLockedError(file, held.info);
        unlinkSync(file); // stale: its process is gone
        continue;
      }
      writeSync(fd, JSON.stringify(info) + '\n');
      closeSync(fd);
      return new DataDirLock(file, info);
    }
    throw new Error(`cannot take the lock ${file}`);
  }

  /** Records how to reach the server, once it listens. */
  update(more: Partial<Omit<LockInfo, 'pid'>>): void {
    if (this.released) return;
    this.info = { ...this.info, ...more };
    writeFileSync(this.file, JSON.stringify(this.info) + '\n', { mode: 0o600 });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      const cur = JSON.parse(readFileSync(this.file, 'utf8')) as LockInfo;
      if (cur.pid === process.pid) unlinkSync(this.file);
    } catch {
      /* already gone */
    }
  }
}

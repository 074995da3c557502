// The last successful `astldap backup` of a data directory, recorded beside the database
// (last-backup.json, mode 0600: it names a path) by the command once its file is written, and
// shown by the console's Overview. Nothing else records backups: a copy made another way
// (slapcat of a replica, a file-system snapshot) is not seen here.

import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface BackupRecord {
  /** When the backup was written (ISO time). */
  at: string;
  /** The file it was written to (absolute). */
  path: string;
  entries: number;
}

const FILE = 'last-backup.json';

export function recordBackup(dataDir: string, rec: BackupRecord): void {
  const file = path.join(dataDir, FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, file);
}

/** The record, or null when there is none (or it is unreadable: it is informative only). */
export function lastBackup(dataDir: string): BackupRecord | null {
  const file = path.join(dataDir, FILE);
  if (!existsSync(file)) return null;
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as Partial<BackupRecord>;
    return typeof r.at === 'string' && typeof r.path === 'string' && typeof r.entries === 'number'
      ? { at: r.at, path: r.path, entries: r.entries }
      : null;
  } catch {
    return null;
  }
}

// Private run-time files: the data directory and what the server writes in it (database,
// development TLS pair, root token, ldapi socket) are the server user's alone, whatever the
// process umask. Folders are 0700 and files 0600; a folder the server cannot chmod is reported.

import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Creates dir (and missing parents) mode 0700 and makes dir itself 0700 if it exists already.
 * Returns false when its mode cannot be changed (a folder someone else owns).
 */
export function ensurePrivateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  try {
    chmodSync(dir, 0o700);
    return true;
  } catch {
    return false;
  }
}

/** Makes every folder under dir (dir included) 0700 and every regular file 0600. */
export function restrictTree(dir: string): void {
  const st = lstatSync(dir);
  if (st.isDirectory()) {
    if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700);
    for (const name of readdirSync(dir)) restrictTree(path.join(dir, name));
  } else if (st.isFile() && (st.mode & 0o777) !== 0o600) {
    chmodSync(dir, 0o600);
  }
}

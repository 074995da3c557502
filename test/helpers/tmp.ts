// Temporary folders for tests: made under os.tmpdir() with mode 0700, removed with everything in them.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/** A fresh folder under os.tmpdir(), mode 0700; the caller removes it with removeDir. */
export function tempDir(prefix = 'astldap-'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  chmodSync(dir, 0o700);
  return dir;
}

/** Removes a folder and its contents; a folder already gone is fine. */
export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * A temp folder for the enclosing describe (or file): made before its tests and removed after
 * them, once for all of them ('all', the default) or afresh for each test ('each'). Call it
 * before registering hooks that use the folder: its before-hook then runs first, and its
 * after-hook last. Returns a getter for the folder's path.
 */
export function useTempDir(prefix = 'astldap-', scope: 'all' | 'each' = 'all'): () => string {
  let dir: string | undefined;
  (scope === 'all' ? beforeAll : beforeEach)(() => {
    dir = tempDir(prefix);
  });
  (scope === 'all' ? afterAll : afterEach)(() => {
    if (dir !== undefined) removeDir(dir);
    dir = undefined;
  });
  return () => {
    if (dir === undefined) throw new Error(`useTempDir('${prefix}'): no folder outside the tests and hooks it serves`);
    return dir;
  };
}

// issue 23: the store writes through two private paths of classic-level (its _batch, and its
// binding's batch_* functions, store/native-batch.ts). package.json pins classic-level and level
// to exact versions, and this test fails when an upgrade removes or renames either path, so the
// upgrade is noticed here rather than in a user's import speed. Without the binding batch the
// store writes array batches (a warning says so at open), proved below on a real LevelDB.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LevelStore } from '../../src/store/level-store.js';
import { NativeBatch } from '../../src/store/native-batch.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import type { IndexSpec, Indexer } from '../../src/store/types.js';

const require = createRequire(import.meta.url);
const indexer: Indexer = { values: () => [] } as unknown as Indexer;
const specs: IndexSpec[] = [];

describe('classic-level internals the store relies on', () => {
  const tmp = useTempDir('astldap-internals-');

  it('package.json pins level and classic-level to the installed versions', () => {
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of ['level', 'classic-level']) {
      const installed = (require(`${name}/package.json`) as { version: string }).version;
      expect(pkg.dependencies[name], name).toBe(installed);
    }
  });

  it('an on-disk database has _batch and the binding batch', async () => {
    const { ClassicLevel } = (await import('classic-level')) as unknown as {
      ClassicLevel: new (p: string, o: object) => object & { open(): Promise<void>; close(): Promise<void> };
    };
    const db = new ClassicLevel(path.join(tmp(), 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    try {
      expect(typeof (db as { _batch?: unknown })._batch).toBe('function');
      expect(NativeBatch.of(db)).toBeInstanceOf(NativeBatch);
    } finally {
      await db.close();
    }
  });

  it('without the native batch (as after an upgrade that changed it), the store writes through the array batch', async () => {
    const store = new LevelStore({ path: path.join(tmp(), 'fallback'), indexes: specs, indexer });
    await store.open();
    try {
      // What opened() leaves when NativeBatch.of finds no binding batch.
      (store as unknown as { native: unknown }).native = undefined;
      const rec = { dn: 'dc=example', attrs: { objectclass: ['top'], dc: ['example'] } };
      await store.write({ entries: [{ ndn: 'dc=example', new: rec }] });
      expect((await store.get('dc=example'))?.attrs.dc).toEqual(['example']);
      expect(await store.count()).toBe(1);
    } finally {
      await store.close();
    }
  });
});

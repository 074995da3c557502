// The engine's records in the store's meta space (JSON text under a key). Reads go to the store;
// every write goes through the directory's one write path (a transaction that only sets meta).

import type { Directory } from '../directory/directory.js';

/** The record under key, parsed, or undefined. */
export async function readRecord<T>(dir: Directory, key: string): Promise<T | undefined> {
  const v = await dir.store.getMeta(key);
  return v ? (JSON.parse(v) as T) : undefined;
}

/** Writes (or, for null, deletes) one meta record. */
export function putMeta(dir: Directory, key: string, value: string | null): Promise<void> {
  return dir.writer.transaction(async (tx) => tx.setMeta(key, value));
}

/** Keys one level below prefix (deeper ones as `dir/`), Vault's LIST semantics. */
export async function listKeys(dir: Directory, metaPrefix: string, sub: string): Promise<string[]> {
  const full = metaPrefix + (sub ? sub.replace(/\/?$/, '/') : '');
  const out = new Set<string>();
  for await (const [key] of dir.store.scanMeta(full)) {
    const rest = key.slice(full.length);
    const i = rest.indexOf('/');
    out.add(i < 0 ? rest : rest.slice(0, i + 1));
  }
  return [...out].sort();
}

// The engine's records in the store's meta space (JSON text under a key), with their secret
// fields sealed (seal.ts): a record is encoded with every secret field sealed and decoded with
// them opened. Reads go to the store; every write goes through the directory's one write path.

import type { Directory } from '../../directory/directory.js';
import { SealKeyError, Sealer } from './seal.js';

/** Field names whose string values are secrets, wherever they sit in a record. */
// deletion_ldif: a lease's rendered deletion LDIF may carry what the template put in it.
const SECRET_FIELDS = new Set(['bindpass', 'last_bind_password', 'client_tls_key', 'password', 'last_password', 'secret', 'deletion_ldif']);

/** The meta key prefixes the engine owns (its records, sealed fields included). */
export const ENGINE_PREFIXES = ['rotation/', 'dynamic/', 'library/', 'lease/', 'token/', 'audit/'];

/** The engine's view of the store: the directory and the sealer of its records' secrets. */
export class AdminDb {
  constructor(
    readonly dir: Directory,
    readonly sealer: Sealer,
  ) {}

  /** JSON text with every secret field sealed under the current key. */
  encode(value: object): string {
    return JSON.stringify(value, (k, v: unknown) =>
      SECRET_FIELDS.has(k) && typeof v === 'string' && v && !Sealer.isSealed(v) ? this.sealer.seal(v) : v,
    );
  }

  /** The record with its secret fields opened. */
  decode<T>(text: string): T {
    return JSON.parse(text, (_k, v: unknown) => (Sealer.isSealed(v) ? this.sealer.unseal(v) : v)) as T;
  }

  /**
   * Re-seals every engine record whose secrets are not (all) under the current key, in ONE
   * batch: at start (records written before sealing, or under an older key) and on key rotation.
   * Opening every sealed value first makes a wrong key fail here, before anything is served.
   */
  async resealAll(): Promise<number> {
    return this.dir.writer.transaction(async (tx) => {
      let n = 0;
      for (const prefix of ENGINE_PREFIXES) {
        for await (const [key, text] of this.dir.store.scanMeta(prefix)) {
          if (!this.needsReseal(text)) continue;
          tx.setMeta(key, this.encode(this.decode<object>(text)));
          n++;
        }
      }
      return n;
    });
  }

  private needsReseal(text: string): boolean {
    let stale = false;
    JSON.parse(text, (k, v: unknown) => {
      if (Sealer.isSealed(v)) {
        this.sealer.unseal(v); // throws SealKeyError for a wrong key
        if (Sealer.keyIdOf(v) !== this.sealer.keyId) stale = true;
      } else if (SECRET_FIELDS.has(k) && typeof v === 'string' && v) stale = true;
      return v;
    });
    return stale;
  }
}

export { SealKeyError };

/** The record under key, opened, or undefined. */
export async function readRecord<T>(db: AdminDb, key: string): Promise<T | undefined> {
  const v = await db.dir.store.getMeta(key);
  return v ? db.decode<T>(v) : undefined;
}

/** Writes a record (sealed), a raw string, or (null) deletes it. */
export function putMeta(db: AdminDb, key: string, value: object | string | null): Promise<void> {
  // Sealed under the write lock: a seal key rotation cannot slip between sealing and storing.
  return db.dir.writer.transaction(async (tx) => tx.setMeta(key, value === null || typeof value === 'string' ? value : db.encode(value)));
}

/** Every record under prefix, opened. */
export async function* scanRecords<T>(db: AdminDb, prefix: string): AsyncIterable<[string, T]> {
  for await (const [key, text] of db.dir.store.scanMeta(prefix)) yield [key, db.decode<T>(text)];
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

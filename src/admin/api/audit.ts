// The audit log of admin API requests, like Vault's file audit device: one JSON line per
// request (with its response) appended to a 0600 file; every string in request and response
// data, and the client token and accessor, are HMAC-SHA256'd with a per-server key kept sealed
// in the store (`hmac-sha256:<hex>`), so the log shows that the same secret passed, never the
// secret. sys/audit-hash/<device> tells the HMAC of a value, for searching the log.

import { createHmac, randomBytes } from 'node:crypto';
import { appendFileSync, chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { putMeta, readRecord, type AdminDb } from '../engine/meta.js';

const KEY = 'audit/hmac-key';

export interface AuditEntry {
  time: string;
  type: 'response';
  auth: { client_token: string; accessor: string; display_name: string; policies: string[] } | null;
  request: { id: string; operation: string; path: string; data: unknown; remote_address: string };
  response: { status: number; data: unknown };
  error: string;
}

export class AuditLog {
  private constructor(
    readonly file: string,
    private readonly key: Buffer,
  ) {}

  /** Opens (creating, mode 0600) the log file; the HMAC key is made once and kept sealed in the store. */
  static async open(db: AdminDb, file: string): Promise<AuditLog> {
    let rec = await readRecord<{ secret: string }>(db, KEY);
    if (!rec) {
      rec = { secret: randomBytes(32).toString('base64') };
      await putMeta(db, KEY, rec);
    }
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
    return new AuditLog(file, Buffer.from(rec.secret, 'base64'));
  }

  hash(value: string): string {
    return 'hmac-sha256:' + createHmac('sha256', this.key).update(value).digest('hex');
  }

  /** A copy with every string HMAC'd (numbers, booleans and nulls are kept, as Vault does). */
  hashAll(v: unknown): unknown {
    if (typeof v === 'string') return this.hash(v);
    if (Array.isArray(v)) return v.map((x) => this.hashAll(x));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.hashAll(x)]));
    return v;
  }

  /** Appends one line; a failure is thrown (Vault refuses a request it cannot audit). */
  write(e: AuditEntry): void {
    appendFileSync(this.file, JSON.stringify(e) + '\n', { mode: 0o600 });
  }
}

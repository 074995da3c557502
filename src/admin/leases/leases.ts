// Leases (sys/leases/lookup, renew, revoke) of what the engine hands out for a time: dynamic
// credentials (creds/<role>) and library check-outs. A lease record (lease/<lease_id>) keeps what
// revoking needs; one timer per lease revokes it when it expires, and at start every stored
// lease is re-armed, so entries of expired credentials are deleted on time, also after a restart.

import type { Logger } from '../../config/logger.js';
import type { WriteTransaction } from '../../directory/write.js';
import { parseDuration } from '../engine/fields.js';
import { invalid, messageOf } from '../engine/errors.js';
import { readRecord, scanRecords, type AdminDb } from '../engine/meta.js';

export const LEASE_PREFIX = 'lease/';
const MAX_TIMER = 2 ** 31 - 1;
const RETRY_MS = 30_000;

export interface LeaseRecord {
  lease_id: string;
  kind: 'dynamic' | 'library';
  /** The dynamic role or library set. */
  owner: string;
  issue_time: string;
  last_renewal: string | null;
  expire_time: string;
  max_expire_time: string;
  /** The TTL a renewal without increment gives. */
  default_ttl: number;
  // dynamic credentials
  username?: string;
  password?: string;
  distinguished_names?: string[];
  deletion_ldif?: string;
  // library check-outs
  account?: string;
}

/** What ends a lease of one kind: stages the undoing (entries deleted, account checked in) in tx. */
export type Revoker = (lease: LeaseRecord, tx: WriteTransaction) => Promise<void>;

export class Leases {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly db: AdminDb,
    private readonly log: Logger,
    private readonly revokers: Record<LeaseRecord['kind'], Revoker>,
  ) {}

  /** Arms a timer for every stored lease; expired ones are revoked at once. */
  async start(): Promise<void> {
    for await (const [, lease] of scanRecords<LeaseRecord>(this.db, LEASE_PREFIX)) this.arm(lease);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** A new lease record, staged in the transaction that makes what it leases. */
  stage(tx: WriteTransaction, lease: LeaseRecord): void {
    tx.setMeta(LEASE_PREFIX + lease.lease_id, this.db.encode(lease));
    tx.afterCommit(() => this.arm(lease));
  }

  lookup(id: string): Promise<LeaseRecord | undefined> {
    return readRecord<LeaseRecord>(this.db, LEASE_PREFIX + id);
  }

  async require(id: unknown): Promise<LeaseRecord> {
    if (typeof id !== 'string' || !id) throw invalid('lease_id is required');
    const lease = await this.lookup(id);
    if (!lease) throw invalid('invalid lease');
    return lease;
  }

  /** A new expiry from now (increment or the role's default TTL), never past max_expire_time. */
  async renew(id: unknown, increment: unknown): Promise<LeaseRecord> {
    return this.db.dir.writer.transaction(async (tx) => {
      const lease = await this.require(id);
      const inc =
        increment === undefined || increment === '' || increment === 0 ? lease.default_ttl : parseDuration(increment, 'increment');
      const now = Date.now();
      const max = Date.parse(lease.max_expire_time);
      if (max <= now) throw invalid('lease expired');
      lease.expire_time = new Date(Math.min(now + inc * 1000, max)).toISOString();
      lease.last_renewal = new Date(now).toISOString();
      tx.setMeta(LEASE_PREFIX + lease.lease_id, this.db.encode(lease));
      tx.afterCommit(() => this.arm(lease));
      return lease;
    });
  }

  /** Ends the lease now: its revoker's changes and the record's removal in ONE batch. */
  async revoke(id: unknown): Promise<void> {
    await this.db.dir.writer.transaction(async (tx) => {
      const lease = await this.require(id);
      await this.revokers[lease.kind](lease, tx);
      tx.setMeta(LEASE_PREFIX + lease.lease_id, null);
      tx.afterCommit(() => this.disarm(lease.lease_id));
    });
  }

  /** Ends a lease inside a transaction someone else runs (a check-in). */
  drop(tx: WriteTransaction, id: string): void {
    tx.setMeta(LEASE_PREFIX + id, null);
    tx.afterCommit(() => this.disarm(id));
  }

  view(l: LeaseRecord): Record<string, unknown> {
    return {
      id: l.lease_id,
      issue_time: l.issue_time,
      expire_time: l.expire_time,
      last_renewal: l.last_renewal,
      renewable: Date.parse(l.max_expire_time) > Date.parse(l.expire_time),
      ttl: Math.max(0, Math.round((Date.parse(l.expire_time) - Date.now()) / 1000)),
    };
  }

  private disarm(id: string): void {
    const t = this.timers.get(id);
    if (t) clearTimeout(t);
    this.timers.delete(id);
  }

  private arm(lease: LeaseRecord, delayMs?: number): void {
    if (this.stopped) return;
    this.disarm(lease.lease_id);
    const delay = delayMs ?? Math.max(0, Date.parse(lease.expire_time) - Date.now());
    const t = setTimeout(
      () => {
        this.timers.delete(lease.lease_id);
        if (delay > MAX_TIMER - 1) return void this.lookup(lease.lease_id).then((l) => l && this.arm(l));
        void this.expire(lease.lease_id);
      },
      Math.min(delay, MAX_TIMER - 1),
    );
    t.unref();
    this.timers.set(lease.lease_id, t);
  }

  /** A timer fired: revoke unless renewed meanwhile; a failure is logged and retried. */
  private async expire(id: string): Promise<void> {
    const lease = await this.lookup(id);
    if (!lease) return;
    if (Date.parse(lease.expire_time) > Date.now() + 500) return this.arm(lease);
    try {
      await this.revoke(id);
      this.log.info(`lease ${id} expired and was revoked`);
    } catch (err) {
      this.log.warn(`lease ${id}: revocation failed, retrying: ${messageOf(err)}`);
      this.arm(lease, RETRY_MS);
    }
  }
}

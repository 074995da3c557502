// Console sessions, in memory only: a random id (the cookie), a CSRF token, idle and absolute
// expiry. An LDAP session holds its own bound LDAP connection (the password is not kept); a
// token session holds the admin API token, which every call of that session presents.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { DirectoryClient } from '../asterisk/ldap-client.js';
import { TableCache } from './table.js';

/**
 * Who a session acts as. privileged: the directory's administrator, or a token the server's own
 * status route admits (root or sudo on sys/): they see the server-wide parts of the Overview
 * (warnings, replication, backups, the seal), which say nothing an ordinary user may read.
 */
export type Identity =
  | { kind: 'ldap'; dn: string; client: DirectoryClient; privileged: boolean }
  | { kind: 'token'; token: string; name: string; privileged: boolean };

export interface ConsoleSession {
  readonly id: string;
  readonly csrf: string;
  readonly identity: Identity;
  readonly createdAt: number;
  lastSeen: number;
  /** Its recent table listings (server-side paging), forgotten at each of its writes. */
  readonly tables: TableCache;
}

export interface SessionLimits {
  /** Milliseconds without a request. */
  idleMs: number;
  /** Milliseconds after sign-in. */
  lifetimeMs: number;
}

const token = (): string => randomBytes(32).toString('base64url');

/** Sessions kept at most, and per identity. */
const MAX_SESSIONS = 1000;
const PER_IDENTITY = 20;

const key = (id: Identity): string => (id.kind === 'ldap' ? `ldap:${id.dn.toLowerCase()}` : `token:${id.token}`);

/** Equal strings, compared in constant time. */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly limits: SessionLimits,
    private readonly now: () => number = Date.now,
  ) {
    // Ended sessions let go of their LDAP connections even when nobody comes back for them.
    this.sweeper = setInterval(() => this.sweep(), Math.min(60_000, Math.max(1000, limits.idleMs / 2)));
    this.sweeper.unref();
  }

  create(identity: Identity): ConsoleSession {
    // Bounded: each session may hold an LDAP connection. The oldest go first (a Map keeps
    // insertion order), and one identity keeps at most PER_IDENTITY sessions.
    const who = key(identity);
    const mine = [...this.sessions.values()].filter((s) => key(s.identity) === who);
    if (mine.length >= PER_IDENTITY) this.end(mine[0]!);
    if (this.sessions.size >= MAX_SESSIONS) this.end(this.sessions.values().next().value!);
    const t = this.now();
    const s: ConsoleSession = { id: token(), csrf: token(), identity, createdAt: t, lastSeen: t, tables: new TableCache(this.now) };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The live session of a cookie value, its idle clock restarted; an expired one is ended. */
  get(id: string | undefined): ConsoleSession | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.expired(s)) {
      this.end(s);
      return undefined;
    }
    s.lastSeen = this.now();
    return s;
  }

  end(s: ConsoleSession): void {
    this.sessions.delete(s.id);
    if (s.identity.kind === 'ldap') void s.identity.client.close();
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const s of [...this.sessions.values()]) this.end(s);
  }

  private expired(s: ConsoleSession): boolean {
    const t = this.now();
    return t - s.lastSeen > this.limits.idleMs || t - s.createdAt > this.limits.lifetimeMs;
  }

  private sweep(): void {
    for (const s of [...this.sessions.values()]) if (this.expired(s)) this.end(s);
  }
}

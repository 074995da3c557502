// Bind throttling: failed simple binds slow further attempts down. One instance per server (a
// field of the Directory), never module state. An attempt is counted when it starts (parallel
// attempts share one budget and queue behind each other), and forgiven when it succeeds.

import { randomBytes } from 'node:crypto';
import { hashPassword } from '../access/passwords.js';
import type { BindThrottleConfig, PasswordScheme } from '../config/config.js';
import type { CancelSignal } from '../ldap/messages.js';
import { Lru } from '../store/lru.js';

/** A counter: failures (and attempts in flight), when last touched, when the next attempt may start. */
interface Counter {
  count: number;
  last: number;
  nextAt: number;
}

/**
 * What one bind is counted under. `own`: keys that belong to the client's address (the DN from
 * this address; the address itself): full delay, attempts queued one after another. `shared`:
 * the DN from anywhere, whose delay is capped at sharedMaxDelayMs, so an attacker cannot slow
 * another address's bind by more than that.
 */
export interface ThrottleKeys {
  own: string[];
  shared: string;
}

export class BindThrottle {
  // Two LRU segments: counters at or under the free attempts, and repeat offenders, so spraying
  // many DNs evicts other one-off counters, never a hammered one.
  private readonly probation: Lru<string, Counter>;
  private readonly offenders: Lru<string, Counter>;
  /** Attempts waiting out a delay, by own key: a success on the key releases them. */
  private readonly waiting = new Map<string, Set<() => void>>();
  private dummy: Promise<string> | undefined;

  constructor(private readonly cfg: BindThrottleConfig) {
    this.offenders = new Lru(Math.floor(cfg.tableSize / 2));
    this.probation = new Lru(cfg.tableSize - Math.floor(cfg.tableSize / 2));
  }

  /** The keys for a bind to `ndn` from `address` ('ldapi' for the Unix socket). */
  static keys(ndn: string, address: string, local: boolean): ThrottleKeys {
    // Loopback and ldapi: one address is every local program, so the address alone is not counted.
    const own = local ? [`dn:${ndn}@${address}`] : [`dn:${ndn}@${address}`, `ip:${address}`];
    return { own, shared: `dn:${ndn}` };
  }

  /** The delay after `failures` failures. */
  private delayFor(failures: number): number {
    const { freeAttempts, delayMs, maxDelayMs } = this.cfg;
    if (failures < freeAttempts) return 0;
    return Math.min(delayMs * 2 ** Math.min(failures - freeAttempts, 30), maxDelayMs);
  }

  /** Counts an attempt now (as a failure until succeed()); returns how long it must wait first. */
  attempt(keys: ThrottleKeys): number {
    const now = Date.now();
    let wait = 0;
    for (const key of keys.own) {
      const c = this.touch(key, now);
      // Queued behind earlier attempts: parallel guesses wait for the sum of their delays.
      c.nextAt = Math.max(now, c.nextAt) + this.delayFor(c.count);
      c.count++;
      wait = Math.max(wait, c.nextAt - now);
      this.place(key, c);
    }
    const shared = this.touch(keys.shared, now);
    wait = Math.max(wait, Math.min(this.delayFor(shared.count), this.cfg.sharedMaxDelayMs));
    shared.count++;
    this.place(keys.shared, shared);
    return wait;
  }

  /** A correct password: the DN's counters are forgiven (the address's spraying counter is not). */
  succeed(keys: ThrottleKeys): void {
    for (const key of [keys.own[0]!, keys.shared]) {
      this.probation.delete(key);
      this.offenders.delete(key);
    }
    // Binds of the same DN from the same client queued behind this one (a pool connecting at
    // once) go ahead: a success proves nothing is being guessed there.
    const waiters = this.waiting.get(keys.own[0]!);
    this.waiting.delete(keys.own[0]!);
    for (const release of waiters ?? []) release();
  }

  /**
   * Waits out an attempt's delay; resolves early when a bind of the same DN from the same client
   * succeeds, rejects when the signal aborts (the client went away).
   */
  wait(keys: ThrottleKeys, ms: number, signal: CancelSignal): Promise<void> {
    const key = keys.own[0]!;
    return new Promise<void>((resolve, reject) => {
      let set = this.waiting.get(key);
      if (!set) this.waiting.set(key, (set = new Set()));
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', aborted);
        set!.delete(done);
        if (set!.size === 0 && this.waiting.get(key) === set) this.waiting.delete(key);
      };
      const finish = () => {
        done();
        resolve();
      };
      const aborted = () => {
        done();
        reject(new Error('aborted'));
      };
      const timer = setTimeout(finish, ms);
      set.add(finish);
      if (signal.aborted) aborted();
      else signal.addEventListener('abort', aborted, { once: true });
    });
  }

  /** The current failure count under a key (0 when unknown or forgotten). */
  failures(key: string): number {
    const c = this.offenders.peek(key) ?? this.probation.peek(key);
    return c && Date.now() - c.last < this.cfg.forgetSeconds * 1000 ? c.count : 0;
  }

  /** Takes a key's counter out of the table (put back by place()), fresh when forgotten. */
  private touch(key: string, now: number): Counter {
    let c = this.offenders.peek(key) ?? this.probation.peek(key);
    this.offenders.delete(key);
    this.probation.delete(key);
    if (!c || now - c.last >= this.cfg.forgetSeconds * 1000) c = { count: 0, last: now, nextAt: 0 };
    c.last = now;
    return c;
  }

  /**
   * Puts a counter back as the most recent of its segment, evicting that segment's oldest when
   * full (src/store/lru.ts: a Map used as an LRU made every eviction walk the slots that every
   * bind's take-out had deleted, so a DN-spraying client slowed every bind).
   */
  private place(key: string, c: Counter): void {
    (c.count > this.cfg.freeAttempts ? this.offenders : this.probation).set(key, c);
  }

  /** A hash in the configured scheme of a random secret: what an unknown DN is checked against. */
  dummyHash(scheme: PasswordScheme): Promise<string> {
    return (this.dummy ??= hashPassword(randomBytes(16), scheme));
  }
}

// Bind throttling: failed simple binds counted per DN and per client address slow further
// attempts down. One instance per server (a field of the Directory), never module state.

import { randomBytes } from 'node:crypto';
import { hashPassword } from '../access/passwords.js';
import type { PasswordScheme } from '../config/config.js';

/** Failures counted per DN and per client address; they decay after a quiet quarter hour. */
export class BindThrottle {
  private readonly failures = new Map<string, { count: number; last: number }>();
  private dummy: Promise<string> | undefined;

  static readonly FREE_ATTEMPTS = 3;
  static readonly MAX_DELAY_MS = 5000;
  static readonly FORGET_MS = 15 * 60_000;

  delay(keys: string[]): number {
    const now = Date.now();
    let n = 0;
    for (const k of keys) {
      const f = this.failures.get(k);
      if (f && now - f.last < BindThrottle.FORGET_MS) n = Math.max(n, f.count);
    }
    if (n < BindThrottle.FREE_ATTEMPTS) return 0;
    return Math.min(100 * 2 ** (n - BindThrottle.FREE_ATTEMPTS), BindThrottle.MAX_DELAY_MS);
  }

  fail(keys: string[]): void {
    const now = Date.now();
    if (this.failures.size > 100_000) this.failures.clear(); // bounded memory under a spray attack
    for (const k of keys) {
      const f = this.failures.get(k);
      const count = f && now - f.last < BindThrottle.FORGET_MS ? f.count + 1 : 1;
      this.failures.set(k, { count, last: now });
    }
  }

  succeed(key: string): void {
    this.failures.delete(key);
  }

  /** A hash in the configured scheme of a random secret: what an unknown DN is checked against. */
  dummyHash(scheme: PasswordScheme): Promise<string> {
    return (this.dummy ??= hashPassword(randomBytes(16), scheme));
  }
}

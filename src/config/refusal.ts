// What both listeners (LDAP and the admin API) do with connections they will not serve, so that
// a flood of them costs the server as little as possible:
// - RefusalHold keeps a refused socket open, paused and unread, for a while before closing it.
//   A client that reconnects as soon as it is closed (a pool of idle sockets kept full) would
//   otherwise turn every refusal into another accept and another refusal, as fast as the CPU
//   allows; held, its pool stays full and it waits. The hold is bounded (descriptors), and a
//   socket that finds it full is closed at once.
// - AddressBuckets is a token bucket per client address: how often an address may do something
//   costly (push out one of its own connections to make room, start a TLS handshake) before
//   further attempts are refused. Idle addresses are forgotten, so the map stays small.

import type { Socket } from 'node:net';

/** How long a refused socket is held before it is closed, on both listeners. */
export const REFUSAL_HOLD_MS = 5_000;
/** How often held sockets are looked at for their release time. */
const SWEEP_MS = 250;

export class RefusalHold {
  /** Held sockets, when each is to be closed and how, in arrival order (the oldest first). */
  private readonly held = new Map<Socket, { until: number; release: (socket: Socket) => void }>();
  private timer: NodeJS.Timeout | undefined;
  /** Sockets closed at once because the hold was full (for the log's summary). */
  overflow = 0;

  /**
   * @param max the most sockets held at once (0: none; every refused socket is closed at once)
   * @param holdMs how long a refused socket is kept before it is closed (REFUSAL_HOLD_MS)
   * @param release what closes a socket at the end of its hold (default: destroy it)
   */
  constructor(
    private readonly max: number,
    private readonly holdMs: number = REFUSAL_HOLD_MS,
    private readonly release: (socket: Socket) => void = (s) => s.destroy(),
  ) {}

  get size(): number {
    return this.held.size;
  }

  /**
   * Keeps the socket (paused, unread) for holdMs, then releases it (with `release`, or the hold's
   * own); closes it now if the hold is full.
   */
  hold(socket: Socket, release: (socket: Socket) => void = this.release): void {
    if (socket.destroyed) return;
    socket.on('error', () => socket.destroy());
    if (this.held.size >= this.max) {
      this.overflow++;
      socket.destroy();
      return;
    }
    socket.pause();
    this.held.set(socket, { until: Date.now() + this.holdMs, release });
    socket.once('close', () => this.held.delete(socket));
    this.timer ??= setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  private sweep(): void {
    const now = Date.now();
    for (const [socket, { until, release }] of this.held) {
      if (until > now) break; // the rest arrived later
      this.held.delete(socket);
      release(socket);
    }
    if (this.held.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Closes every held socket (the listener is closing). */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const socket of this.held.keys()) socket.destroy();
    this.held.clear();
  }
}

/** Addresses not seen for this long (and so with a full bucket) are forgotten at the next sweep. */
const FORGET_MS = 60_000;
/** The most addresses tracked; past it, the idlest half is forgotten (their buckets start full again). */
const MAX_ADDRESSES = 65_536;

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per address: `ratePerSecond` tokens a second, at most `burst` saved up. */
export class AddressBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = Date.now();

  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
  ) {}

  /** Takes one token for address; false when it has none left (and nothing is taken). 0 rate = unlimited. */
  take(address: string, now = Date.now()): boolean {
    if (this.ratePerSecond <= 0) return true;
    if (now - this.lastSweep > FORGET_MS || this.buckets.size > MAX_ADDRESSES) this.sweep(now);
    let b = this.buckets.get(address);
    if (!b) {
      b = { tokens: this.burst, at: now };
      this.buckets.set(address, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
      b.at = now;
      // Most recently used last, so a sweep over the size limit drops the idlest first.
      this.buckets.delete(address);
      this.buckets.set(address, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    const excess = this.buckets.size > MAX_ADDRESSES ? this.buckets.size - MAX_ADDRESSES / 2 : 0;
    let dropped = 0;
    for (const [address, b] of this.buckets) {
      if (dropped < excess || now - b.at > FORGET_MS) {
        this.buckets.delete(address);
        dropped++;
      } else if (excess === 0) break; // least recently used first: the rest were seen later
    }
  }
}

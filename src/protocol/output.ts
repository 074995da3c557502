// A connection's output: PDUs written in one turn of the event loop (a search's entries and its
// result) leave in one syscall (the socket corked until the next turn), except that a long
// answer starts leaving while the rest is made; persist-phase changes that follow others closely
// wait to leave with the ones after them.

import type { Socket } from 'node:net';

/**
 * During a run of persist-phase changes (deferrable PDUs), each waits at most this long, or until
 * this much is waiting (the socket's own high-water mark: a full buffer leaves at once), to leave
 * together. Replication allows a second; a consumer following a steady stream of writes (one
 * connection's synced modifies, some 2,000 a second) then costs the provider one write and one
 * wake-up of the consumer per 50 ms instead of one per 5 ms (about 25% of a change's CPU then).
 */
export const DEFERRED_FLUSH_MS = 50;
export const DEFERRED_FLUSH_BYTES = 16 * 1024;
/**
 * A long answer (a search of many entries made in one turn) starts leaving once this much is
 * corked, and again at each step of this much, while the rest is made: the client reads and
 * decodes the first entries on another core instead of waiting for the last. The bench's 50-row
 * static config search: 1.02x and 0.86x slapd's throughput without, 1.23x and 1.20x with (p50
 * 1.03x, 1.08x → 0.75x, 0.93x; alternating runs, BENCHMARKS.md session 13). 2 KiB steps cost
 * more CPU in syscalls; 16 KiB ones changed nothing at that size.
 */
export const EAGER_FLUSH_BYTES = 4096;
/**
 * Eager steps stop once this much has left in a turn: the rest of a big answer leaves at the
 * turn's end or the socket's high-water mark, in fewer and larger writes.
 */
export const EAGER_FLUSH_LIMIT = 32 * 1024;

export class CorkedOutput {
  private corked = false;
  /** The timer that sends corked persist-phase changes (deferrable PDUs), when only those wait. */
  private deferredFlush: NodeJS.Timeout | undefined;
  /** When the last deferrable PDU was written (a change after a quiet spell does not wait). */
  private lastDeferrable = -Infinity;
  /** Bytes sent by eager steps in this turn (EAGER_FLUSH_LIMIT). */
  private eagerSent = 0;

  /** `socket` is asked each time: StartTLS replaces it. `now` is the clock (milliseconds). */
  constructor(
    private readonly socket: () => Socket,
    private readonly now: () => number = Date.now,
  ) {}

  /** Writes one PDU; false means the socket buffer is full (the caller arms its write deadline). */
  write(buf: Buffer, deferrable: boolean): boolean {
    const socket = this.socket();
    // A deferrable PDU waits only when another came shortly before it: a lone change (the first
    // after a quiet spell) leaves this turn, the changes of a burst after it leave together.
    let wait = false;
    if (deferrable) {
      const t = this.now();
      wait = t - this.lastDeferrable < DEFERRED_FLUSH_MS;
      this.lastDeferrable = t;
    }
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      if (wait) {
        this.deferredFlush = setTimeout(() => this.flush(), DEFERRED_FLUSH_MS);
        this.deferredFlush.unref();
      } else setImmediate(() => this.endOfTurn());
    } else if (this.deferredFlush && !deferrable) this.flushThisTurn(); // something that may not wait
    const ok = socket.write(buf);
    // Enough to fill a write (or a full socket buffer, which only drains once sent): it leaves this turn.
    if (this.deferredFlush) {
      if (!ok || socket.writableLength >= DEFERRED_FLUSH_BYTES) this.flushThisTurn();
    } else if (this.eagerSent < EAGER_FLUSH_LIMIT && socket.writableLength >= EAGER_FLUSH_BYTES) {
      this.eagerSent += socket.writableLength;
      this.flush();
    }
    return ok;
  }

  private endOfTurn(): void {
    this.eagerSent = 0;
    this.flush();
  }

  /** Sends what write() corked, now. */
  flush(): void {
    if (!this.corked) return;
    if (this.deferredFlush) clearTimeout(this.deferredFlush);
    this.deferredFlush = undefined;
    this.corked = false;
    this.socket().uncork();
  }

  /** The corked PDUs leave at the end of this turn instead of at the deferred flush's timer. */
  private flushThisTurn(): void {
    clearTimeout(this.deferredFlush);
    this.deferredFlush = undefined;
    setImmediate(() => this.endOfTurn());
  }
}

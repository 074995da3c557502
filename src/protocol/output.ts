// A connection's output: PDUs written in one turn of the event loop (a search's entries and its
// result) leave in one syscall (the socket corked until the next turn); persist-phase changes
// that follow others closely wait to leave with the ones after them.

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

export class CorkedOutput {
  private corked = false;
  /** The timer that sends corked persist-phase changes (deferrable PDUs), when only those wait. */
  private deferredFlush: NodeJS.Timeout | undefined;
  /** When the last deferrable PDU was written (a change after a quiet spell does not wait). */
  private lastDeferrable = -Infinity;

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
      } else setImmediate(() => this.flush());
    } else if (this.deferredFlush && !deferrable) this.flushThisTurn(); // something that may not wait
    const ok = socket.write(buf);
    // Enough to fill a write (or a full socket buffer, which only drains once sent): it leaves this turn.
    if (this.deferredFlush && (!ok || socket.writableLength >= DEFERRED_FLUSH_BYTES)) this.flushThisTurn();
    return ok;
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
    setImmediate(() => this.flush());
  }
}

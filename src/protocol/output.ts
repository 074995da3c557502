// A connection's output: PDUs written in one turn of the event loop (a search's entries and its
// result) leave in one syscall (the socket corked until the next turn); persist-phase changes
// may wait a few milliseconds to leave with the ones after them.

import type { Socket } from 'node:net';

/**
 * Persist-phase changes wait at most this long, or until this much is waiting, to leave together
 * (replication allows a second; a consumer following a write burst gets them in a few writes).
 */
const DEFERRED_FLUSH_MS = 5;
const DEFERRED_FLUSH_BYTES = 16 * 1024;

export class CorkedOutput {
  private corked = false;
  /** The timer that sends corked persist-phase changes (deferrable PDUs), when only those wait. */
  private deferredFlush: NodeJS.Timeout | undefined;

  /** `socket` is asked each time: StartTLS replaces it. */
  constructor(private readonly socket: () => Socket) {}

  /** Writes one PDU; false means the socket buffer is full (the caller arms its write deadline). */
  write(buf: Buffer, deferrable: boolean): boolean {
    const socket = this.socket();
    if (!this.corked) {
      this.corked = true;
      socket.cork();
      if (deferrable) {
        this.deferredFlush = setTimeout(() => this.flush(), DEFERRED_FLUSH_MS);
        this.deferredFlush.unref();
      } else setImmediate(() => this.flush());
    } else if (this.deferredFlush && (!deferrable || socket.writableLength >= DEFERRED_FLUSH_BYTES)) {
      // Something that may not wait (or enough to fill a write): everything leaves this turn.
      clearTimeout(this.deferredFlush);
      this.deferredFlush = undefined;
      setImmediate(() => this.flush());
    }
    return socket.write(buf);
  }

  /** Sends what write() corked, now. */
  flush(): void {
    if (!this.corked) return;
    if (this.deferredFlush) clearTimeout(this.deferredFlush);
    this.deferredFlush = undefined;
    this.corked = false;
    this.socket().uncork();
  }
}

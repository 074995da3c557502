// One connection deadline (incomplete PDU, unread output): a timer armed once until it fires or
// is cleared, unref'd so that it never keeps the process alive on its own.

export class Deadline {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onExpire: () => void) {}

  /** Starts the countdown unless it already runs (or ms is 0: no deadline). */
  arm(ms: number): void {
    if (this.timer || ms <= 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onExpire();
    }, ms);
    this.timer.unref();
  }

  clear(): void {
    if (!this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}

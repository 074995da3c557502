// A minimal levelled logger writing one line per event to stderr. Secrets never reach it:
// callers log DNs and result codes, never passwords or tokens.

import type { LogLevel } from './config.js';

const order: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string): void;
  warn(msg: string): void;
  info(msg: string): void;
  debug(msg: string): void;
  /** Whether debug lines are written (so callers skip building costly ones); absent = yes. */
  readonly debugEnabled?: boolean;
  /** Whether info lines are written; absent = yes. */
  readonly infoEnabled?: boolean;
}

export function createLogger(level: LogLevel, sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const at = order[level];
  const make = (l: LogLevel) => (msg: string) => {
    if (order[l] <= at) sink(`${new Date().toISOString()} ${l.toUpperCase()} ${msg}`);
  };
  return {
    error: make('error'),
    warn: make('warn'),
    info: make('info'),
    debug: make('debug'),
    debugEnabled: at >= order.debug,
    infoEnabled: at >= order.info,
  };
}

export const silentLogger: Logger = { error() {}, warn() {}, info() {}, debug() {}, debugEnabled: false, infoEnabled: false };

/**
 * A warning a flood must not turn into a flood of lines: at most one line per `intervalMs`; the
 * ones held back are counted and logged, with the latest, when the interval ends. `what` names
 * them in that line ("connection limit events").
 */
export class RateLimitedWarning {
  private last = 0;
  private held = 0;
  private latest = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly intervalMs: number,
    private readonly what: string,
  ) {}

  warn(message: string): void {
    const now = Date.now();
    if (now - this.last >= this.intervalMs && !this.timer) {
      this.last = now;
      this.log.warn(message);
      return;
    }
    this.held++;
    this.latest = message;
    this.timer ??= setTimeout(
      () => {
        this.timer = undefined;
        this.last = Date.now();
        const n = this.held;
        this.held = 0;
        this.log.warn(`${n} more ${this.what} in the last ${this.intervalMs / 1000} s, the latest: ${this.latest}`);
      },
      Math.max(1, this.last + this.intervalMs - now),
    ).unref();
  }
}

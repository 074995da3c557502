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

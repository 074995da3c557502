// The Credentials page's audit trail: the newest lines of the admin API's audit log (a JSON line
// per request, strings HMAC'd), read from the end of the file so a large log costs one bounded
// read. Only what says who did what is shown (time, identity, operation, path, status, error),
// never request or response data.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { AuditRow } from './types.js';

/** The bytes read from the end of the log at most: the newest few hundred requests. */
const TAIL_BYTES = 512 * 1024;

interface Line {
  time?: string;
  auth?: { client_token?: string; display_name?: string } | null;
  request?: { operation?: string; path?: string; remote_address?: string };
  response?: { status?: number };
  error?: string;
}

/**
 * The newest entries, newest first, at most limit; only those of the client token with this
 * HMAC when one is given (a token that may read its own requests only).
 */
export function auditTail(file: string, limit: number, ownTokenHash?: string): AuditRow[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - TAIL_BYTES);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    text = buf.toString('utf8');
    // A read that starts mid-line drops that line's end.
    if (start > 0) text = text.slice(text.indexOf('\n') + 1);
  } finally {
    closeSync(fd);
  }
  const out: AuditRow[] = [];
  const lines = text.split('\n');
  for (let i = lines.length - 1; i >= 0 && out.length < limit; i--) {
    if (!lines[i]) continue;
    let l: Line;
    try {
      l = JSON.parse(lines[i]!) as Line;
    } catch {
      continue;
    }
    if (ownTokenHash !== undefined && l.auth?.client_token !== ownTokenHash) continue;
    out.push({
      time: l.time ?? '',
      who: l.auth?.display_name ?? '(no token)',
      operation: l.request?.operation ?? '',
      path: l.request?.path ?? '',
      status: l.response?.status ?? 0,
      remoteAddress: l.request?.remote_address ?? '',
      error: l.error || undefined,
    });
  }
  return out;
}

// Simple Paged Results (RFC 2696) on the server side: a search's result set is kept as a cursor
// under a random cookie, per session, bounded in number and idle time. One PagedCursors per
// server (a field of the Directory).

import { randomBytes } from 'node:crypto';
import type { Filter, Session } from '../ldap/messages.js';
import type { FilterTarget } from './filter.js';

/** One item of a paged (or sorted) result set: the entry's DN, or the entry for synthetic ones. */
export interface ResultItem {
  ndn: string;
  /** Entries outside the store (root DSE, subschema, cn=config) are kept whole. */
  synthetic?: FilterTarget;
}

export interface PagedCursor {
  sessionId: number;
  /** What the search asked for (base, scope, filter, sort keys): a cookie fits only its own search. */
  signature: string;
  items: ResultItem[];
  pos: number;
  /** Entries returned so far over all pages (for the size limit). */
  sent: number;
  lastUsed: number;
}

export const MAX_CURSORS_PER_SESSION = 16;
export const CURSOR_IDLE_MS = 10 * 60 * 1000;

/** The paged-results cursors of every connection of one server, by session and cookie. */
export class PagedCursors {
  private readonly bySession = new Map<number, Map<string, PagedCursor>>();

  private sweep(now: number): void {
    for (const [sid, m] of this.bySession) {
      for (const [k, c] of m) if (now - c.lastUsed > CURSOR_IDLE_MS) m.delete(k);
      if (m.size === 0) this.bySession.delete(sid);
    }
  }

  /** Takes the cursor out of the map (it is put back under a new cookie if more pages remain). */
  take(session: Session, cookie: Buffer): PagedCursor | undefined {
    this.sweep(Date.now());
    const m = this.bySession.get(session.id);
    const key = cookie.toString('hex');
    const c = m?.get(key);
    if (!c || c.sessionId !== session.id) return undefined;
    m!.delete(key);
    return c;
  }

  /** Stores the cursor; returns its new cookie. The least recently used one goes past the cap. */
  put(session: Session, cursor: PagedCursor): Buffer {
    const now = Date.now();
    this.sweep(now);
    cursor.lastUsed = now;
    let m = this.bySession.get(session.id);
    if (!m) this.bySession.set(session.id, (m = new Map()));
    // A Map keeps insertion order, and a cursor is re-inserted on every page: the first key is the
    // least recently used (exact, unlike millisecond timestamps that tie under a burst).
    while (m.size >= MAX_CURSORS_PER_SESSION) {
      const oldest = m.keys().next().value;
      if (oldest === undefined) break;
      m.delete(oldest);
    }
    const cookie = randomBytes(12);
    m.set(cookie.toString('hex'), cursor);
    return cookie;
  }

  release(sessionId: number): void {
    this.bySession.delete(sessionId);
  }

  count(sessionId: number): number {
    return this.bySession.get(sessionId)?.size ?? 0;
  }
}

export function pagedSignature(baseNdn: string, scope: string, filter: Filter, sortSpec: string): string {
  return JSON.stringify([baseNdn, scope, filterString(filter), sortSpec]);
}

function filterString(f: Filter): string {
  switch (f.type) {
    case 'and':
    case 'or':
      return `(${f.type === 'and' ? '&' : '|'}${f.filters.map(filterString).join('')})`;
    case 'not':
      return `(!${filterString(f.filter)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial?.toString('hex') ?? ''}*${f.any.map((a) => a.toString('hex')).join('*')}*${f.final?.toString('hex') ?? ''})`;
    case 'extensible':
      return `(${f.attribute ?? ''}:${f.dnAttributes ? 'dn:' : ''}${f.rule ?? ''}:=${f.value.toString('hex')})`;
    default:
      return `(${f.attribute}${f.type}${f.value.toString('hex')})`;
  }
}

// Server-side search, sort and paging of a console table (10k endpoints: the page gets one page of
// rows, not the whole list). A session keeps the last listing of each table for a short while, so
// turning a page, sorting or typing a search does not list the directory again; opening the page
// (fresh=1) and every write of the session list it anew. The listing is the session's own (its
// access rules decided it), so nothing is shared between sessions.

import type { TablePage } from './types.js';

export interface TableQuery {
  q: string;
  sort: string;
  descending: boolean;
  offset: number;
  limit: number;
  fresh: boolean;
}

/** A listing is reused for this long at most (page turns, sorting, searching). */
const REUSE_MS = 15_000;
const MAX_LIMIT = 500;
const COLLATOR = new Intl.Collator('en', { numeric: true });

const whole = (v: string | null, dflt: number, max: number): number => {
  const n = v === null || !/^\d{1,9}$/.test(v) ? dflt : Number(v);
  return Math.min(n, max);
};

/** The query string of a table request; an unknown sort column sorts by the first one. */
export function tableQuery(query: URLSearchParams, columns: readonly string[]): TableQuery {
  const sort = query.get('sort') ?? '';
  return {
    q: (query.get('q') ?? '').trim().toLowerCase().slice(0, 200),
    sort: columns.includes(sort) ? sort : columns[0]!,
    descending: query.get('order') === 'desc',
    offset: whole(query.get('offset'), 0, 1e9),
    limit: Math.max(1, whole(query.get('limit'), 50, MAX_LIMIT)),
    fresh: query.get('fresh') === '1',
  };
}

interface Listing<T> {
  at: number;
  rows: T[];
  /** Each row's cells, lower-cased and joined: what a search looks in. */
  haystack: string[];
  /** The last sorted, filtered view (page turns only slice it). */
  view?: { key: string; rows: T[] };
}

/** One session's recent listings, by table name. */
export class TableCache {
  private readonly listings = new Map<string, Listing<unknown>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Forgets every listing (after a write of the session). */
  clear(): void {
    this.listings.clear();
  }

  /** The page q asks for of the table's rows (listed by list() unless a recent listing is kept). */
  async page<T>(
    table: string,
    q: TableQuery,
    list: () => Promise<T[]>,
    cell: (row: T, column: string) => string,
    columns: readonly string[],
  ): Promise<TablePage<T>> {
    let l = this.listings.get(table) as Listing<T> | undefined;
    if (!l || q.fresh || this.now() - l.at > REUSE_MS) {
      const rows = await list();
      const haystack = rows.map((r) =>
        columns
          .map((c) => cell(r, c))
          .join('\u0000')
          .toLowerCase(),
      );
      l = { at: this.now(), rows, haystack };
      this.listings.set(table, l as Listing<unknown>);
    }
    const key = `${q.q}\u0000${q.sort}\u0000${q.descending}`;
    if (l.view?.key !== key) {
      const ls = l;
      const found = q.q ? ls.rows.filter((_, i) => ls.haystack[i]!.includes(q.q)) : ls.rows.slice();
      const keyed = found.map((r) => [cell(r, q.sort), r] as const);
      const dir = q.descending ? -1 : 1;
      keyed.sort((a, b) => dir * COLLATOR.compare(a[0], b[0]));
      l.view = { key, rows: keyed.map(([, r]) => r) };
    }
    const total = l.view.rows.length;
    // A page past the end (rows went away) shows the last page.
    const offset = Math.min(q.offset, Math.max(0, Math.floor((total - 1) / q.limit) * q.limit));
    return { rows: l.view.rows.slice(offset, offset + q.limit), total, offset, limit: q.limit };
  }
}

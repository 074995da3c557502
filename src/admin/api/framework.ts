// The admin API's paths as one declarative table, in the way Vault's framework.Path declares a
// plugin's paths: each row names its path pattern, the handler of each method, the body fields
// it takes (with their types), and whether it needs sudo, is open to every token (Vault's
// default policy) or to no token at all. api.ts admits and dispatches with the table; the
// engine's rows are in routes.ts, the API's own (tokens, ACL policies) in api.ts, and the
// server registers its own (metrics, sys/astldap/*, the console) through AdminApiOptions.paths.

import type { Fields } from '../engine/fields.js';
import type { HttpRequest, HttpResponse } from '../http/server.js';
import type { Caller } from './tokens.js';

export type { FieldType, Fields } from '../engine/fields.js';

/** Vault's methods (PUT is POST; GET with ?list=true is LIST); HEAD only for sys/health. */
export type Method = 'GET' | 'POST' | 'DELETE' | 'LIST' | 'HEAD';

/** A request as a route's handler sees it. */
export interface RouteRequest {
  readonly method: Method;
  /** The path below /v1/ (percent-decoded), or the raw path for a raw row. */
  readonly path: string;
  /** The pattern's named segments (':name' and '*name'). */
  readonly params: Readonly<Record<string, string>>;
  /** The engine mount the request came through (mounted rows only). */
  readonly mount: string | undefined;
  /** The JSON body, parsed once and checked against the row's fields. */
  body(): Record<string, unknown>;
  /** The HTTP request as it came (the server's raw rows read it). */
  readonly http: HttpRequest;
  /** The caller (undefined on an unauthenticated row). */
  readonly caller: Caller | undefined;
  readonly token: string | undefined;
}

/** Undefined: not this row's after all (the next matching row is asked). */
export type RouteHandler = (r: RouteRequest) => Promise<HttpResponse | undefined>;

export interface AdminPath {
  /**
   * Segments below /v1/ (below each engine mount with `mounted`): ':name' is one segment,
   * '*name' one or more. A pattern starting with '/' is a raw path outside /v1 (/metrics).
   */
  readonly pattern: string;
  /** Matched below each of the engine's mounts (openldap, ldap and the configured one). */
  readonly mounted?: boolean;
  /** Instead of a pattern: a test of the raw path (the console's /ui and below). */
  readonly rawMatch?: (rawPath: string) => boolean;
  /** The handler of each method; '*' answers every method not listed (a raw row's own dispatch). */
  readonly operations: Partial<Record<Method | '*', RouteHandler>>;
  /** The body fields a write takes; without it, the body is the handler's to read. */
  readonly fields?: Fields;
  /** Needs the sudo capability besides the method's (as Vault's sys/rotate). */
  readonly sudo?: boolean;
  /** Every valid token may use it (Vault's default policy: lookup-self, lease renewal). */
  readonly defaultPolicy?: boolean;
  /** Answered before any token is looked at (health, metrics, the console's own sessions). */
  readonly unauthenticated?: boolean;
  /** An unauthenticated row whose requests carry a body (the console's forms), read within limits.maxBody. */
  readonly withBody?: boolean;
  /** A write's body may be LDIF (adminApi.limits.maxLdifBody) rather than small JSON. */
  readonly ldifBody?: boolean;
}

/** A row matched against a path: its named segments and the mount it came through. */
export interface Match {
  readonly path: AdminPath;
  readonly params: Record<string, string>;
  readonly mount: string | undefined;
}

interface Compiled {
  readonly path: AdminPath;
  readonly re: RegExp | undefined;
  readonly names: string[];
}

function compile(p: AdminPath): Compiled {
  if (p.rawMatch) return { path: p, re: undefined, names: [] };
  const names: string[] = [];
  const body = p.pattern
    .replace(/^\//, '')
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) return (names.push(seg.slice(1)), '([^/]+)');
      // Any character: a name may hold a decoded newline or NUL (the record refuses it).
      if (seg.startsWith('*')) return (names.push(seg.slice(1)), '([\\s\\S]+)');
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  // A trailing '/' is the same path (Vault lists with one); a '*' name keeps it (the record refuses 'a/').
  return { path: p, re: new RegExp(`^${body}/?$`), names };
}

/** The table, compiled once; rows are tried in order, the first match wins. */
export class PathTable {
  private readonly rows: Compiled[];

  constructor(
    paths: readonly AdminPath[],
    private readonly mounts: readonly string[],
  ) {
    this.rows = paths.map(compile);
  }

  /** The rows for a request: raw rows by the raw path, the others by the path below /v1/. */
  *matches(rawPath: string, v1Path: string | undefined, unauthenticated: boolean): Generator<Match> {
    const p = v1Path;
    for (const row of this.rows) {
      if (Boolean(row.path.unauthenticated) !== unauthenticated) continue;
      if (row.path.rawMatch) {
        if (row.path.rawMatch(rawPath)) yield { path: row.path, params: {}, mount: undefined };
        continue;
      }
      const raw = row.path.pattern.startsWith('/');
      const target = raw ? rawPath.slice(1) : p;
      if (target === undefined) continue;
      if (!row.path.mounted) {
        const params = this.params(row, target);
        if (params) yield { path: row.path, params, mount: undefined };
        continue;
      }
      for (const m of this.mounts) {
        if (!target.startsWith(m + '/')) continue;
        const params = this.params(row, target.slice(m.length + 1));
        if (params) yield { path: row.path, params, mount: m };
      }
    }
  }

  /** The first authenticated row for a path below /v1/. */
  find(v1Path: string): Match | undefined {
    for (const m of this.matches('', v1Path, false)) return m;
    return undefined;
  }

  private params(row: Compiled, target: string): Record<string, string> | undefined {
    const m = row.re!.exec(target);
    if (!m) return undefined;
    const out: Record<string, string> = {};
    row.names.forEach((n, i) => (out[n] = m[i + 1]!));
    return out;
  }
}

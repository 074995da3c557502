// The Vault-compatible HTTP API: Vault's envelope, error shape, status codes and token header
// (X-Vault-Token or Authorization: Bearer); tokens and their ACL policies (auth/token/*,
// sys/policy, sys/policies/acl) decide what a request may do; every request is audited (one
// JSON line, secrets HMAC'd). The engine's own paths are mapped in routes.ts.

import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminApiConfig } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { LdapError } from '../ldap/result.js';
import type { Capability } from './acl.js';
import { AuditLog } from './audit.js';
import type { Engine } from './engine.js';
import { envelope } from './envelope.js';
import { EngineError, invalid, type EngineErrorKind } from './errors.js';
import {
  MiniHttpServer,
  type Admission,
  type HttpLimits,
  type HttpRequest,
  type HttpRequestHead,
  type HttpResponse,
} from './http/server.js';
import { err, mountRoute, noContent, notFound, ok, sysRoute, unsupportedOp, unsupportedPath, type RouteCtx } from './routes.js';
import { SealKeyError } from './seal.js';
import { Tokens, type Caller } from './tokens.js';

export { envelope } from './envelope.js';

/** The HTTP status of each kind of engine error (Vault: 400 user error, 404, 500 internal). */
const STATUS: Record<EngineErrorKind, number> = { invalid: 400, notFound: 404, failed: 500 };

/** Paths every valid token may use (Vault's default policy). */
const SELF_PATHS = new Set([
  'auth/token/lookup-self',
  'auth/token/revoke-self',
  'auth/token/renew-self',
  'sys/leases/lookup',
  'sys/leases/renew',
  'sys/capabilities-self',
]);
/** Paths that need sudo besides the capability (as in Vault). */
const SUDO_PATHS = new Set(['sys/rotate']);

/** The capabilities a method needs (POST/PUT: create or update, as Vault decides by existence). */
function capabilitiesFor(method: string): Capability[] {
  return method === 'GET' ? ['read'] : method === 'LIST' ? ['list'] : method === 'DELETE' ? ['delete'] : ['create', 'update'];
}

const OPERATION: Record<string, string> = { GET: 'read', LIST: 'list', DELETE: 'delete', POST: 'update' };

/** What the audit log records of one request. */
interface Exchange {
  path: string;
  operation: string;
  caller?: Caller;
  token?: string;
  body?: Record<string, unknown>;
}

/** The root token: env/config, else the token file, else a new one written there (mode 0600). */
export function resolveRootToken(cfg: AdminApiConfig, log: Logger): { token: string; file?: string; created: boolean } {
  if (cfg.rootToken) return { token: cfg.rootToken, created: false };
  if (existsSync(cfg.tokenFile)) {
    const t = readFileSync(cfg.tokenFile, 'utf8').trim();
    if (t.length >= 8) return { token: t, file: cfg.tokenFile, created: false };
    log.warn(`${cfg.tokenFile} holds no usable token; generating a new one`);
  }
  const token = 'hvs.' + randomBytes(24).toString('base64url');
  mkdirSync(path.dirname(cfg.tokenFile), { recursive: true, mode: 0o700 });
  writeFileSync(cfg.tokenFile, token + '\n', { mode: 0o600 });
  chmodSync(cfg.tokenFile, 0o600);
  return { token, file: cfg.tokenFile, created: true };
}

function tokenOf(req: HttpRequestHead): string | undefined {
  const h = req.headers['x-vault-token'];
  if (h) return h.trim();
  const a = req.headers['authorization'];
  const m = a ? /^Bearer\s+(\S+)$/i.exec(a.trim()) : null;
  return m ? m[1] : undefined;
}

function parseBody(req: HttpRequest): Record<string, unknown> {
  if (!req.body.length) return {};
  const text = req.body.toString('utf8').trim();
  if (!text) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalid(`failed to parse JSON input: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw invalid('failed to parse JSON input: expected an object');
  return v as Record<string, unknown>;
}

const NO_BODY = Buffer.alloc(0);

/** The HTTP listener's bounds from adminApi.limits (seconds there, milliseconds here). */
function httpLimits(cfg: AdminApiConfig, refusalHold?: number): HttpLimits {
  const l = cfg.limits;
  return {
    ...(refusalHold !== undefined ? { refusalHold } : {}),
    maxConnections: l.maxConnections,
    maxConnectionsPerAddress: l.maxConnectionsPerAddress,
    idleTimeout: l.idleTimeout * 1000,
    headTimeout: l.headTimeout * 1000,
    bodyTimeout: l.bodyTimeout * 1000,
    maxHeadSize: l.maxHeadSize,
  };
}

export interface AdminApiOptions {
  engine: Engine;
  /** Refused sockets the listener may hold (what the open-files budget leaves; see server/descriptors.ts). */
  refusalHold?: number;
  config: AdminApiConfig;
  tokens: string[];
  log: Logger;
  /** The audit log file (JSON lines, 0600); none when undefined. */
  auditFile?: string;
  /** Routes of the server around the engine (/metrics, /v1/sys/astldap/...); see ExtraRoutes. */
  extra?: ExtraRoutes;
  /** Public paths of `extra` whose requests carry a body (the web console's forms): read, within limits.maxBody. */
  openWithBody?: (rawPath: string) => boolean;
}

/**
 * Asked before the engine's routes: first without a token (authenticated false: public routes
 * such as /metrics), then, for requests with a valid token, with authenticated true. Undefined
 * means "not mine".
 */
export type ExtraRoutes = (req: HttpRequest, authenticated: boolean) => Promise<HttpResponse | undefined>;

export class AdminApi {
  private readonly tokens: Tokens;
  /** The mounts the engine answers on: the configured one, openldap and ldap. */
  private readonly mounts: string[];

  private constructor(
    private readonly opts: AdminApiOptions,
    private readonly http: MiniHttpServer,
    readonly url: string,
    private readonly audit: AuditLog | undefined,
  ) {
    this.tokens = new Tokens(opts.engine.db, opts.tokens);
    this.mounts = [...new Set([opts.config.mount, 'openldap', 'ldap'])];
  }

  static async start(opts: AdminApiOptions & { listen: string; tls?: { cert: string | Buffer; key: string | Buffer } }): Promise<AdminApi> {
    const u = new URL(opts.listen);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 8200 : Number(u.port);
    const audit = opts.auditFile ? await AuditLog.open(opts.engine.db, opts.auditFile) : undefined;
    // The handler needs the API object, which needs the listening server: a late-bound box.
    const box: { api?: AdminApi } = {};
    const http = await MiniHttpServer.listen({
      host,
      port,
      tls: u.protocol === 'https:' ? opts.tls : undefined,
      admit: (head) => box.api!.admit(head),
      limits: httpLimits(opts.config, opts.refusalHold),
      log: opts.log,
    });
    const shownHost = host.includes(':') ? `[${host}]` : host;
    box.api = new AdminApi(opts, http, `${u.protocol}//${shownHost}:${http.port}`, audit);
    return box.api;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  /**
   * A request's head, before its body is read: the token, the caller's permission and the path
   * are checked here, so a refused request costs no body; an admitted one gets its route's body
   * bound. Every request past sys/health is audited, refused ones too.
   */
  async admit(head: HttpRequestHead): Promise<Admission> {
    const x: Exchange = { path: '', operation: '' };
    let pre: Admission;
    try {
      pre = await this.preflight(head, x);
    } catch (e) {
      pre = this.failure(e);
    }
    if ('status' in pre) return this.audited(head, x, pre);
    const { maxBody, handle } = pre;
    return {
      maxBody,
      handle: async (req) => {
        let res: HttpResponse;
        try {
          res = await handle(req);
        } catch (e) {
          res = this.failure(e);
        }
        return this.audited(req, x, res);
      },
    };
  }

  /**
   * A whole request handled in-process (the web console's token sessions): admitted on its head
   * as a request from the wire is, then handled; a body past the route's bound is refused (413).
   */
  async handle(req: HttpRequest): Promise<HttpResponse> {
    const admission = await this.admit(req);
    if ('status' in admission) return admission;
    if (req.body.length > admission.maxBody) return err(413, 'request body too large');
    return admission.handle(req);
  }

  /** The response for an error thrown by a route. */
  private failure(e: unknown): HttpResponse {
    if (e instanceof EngineError) return e.kind === 'notFound' && !e.message ? notFound() : err(STATUS[e.kind], e.message);
    if (e instanceof LdapError) return err(400, e.message || `LDAP error ${e.code}`);
    if (e instanceof SealKeyError) return err(400, e.message);
    this.opts.log.error(`admin api: ${(e as Error).stack ?? String(e)}`);
    return err(500, (e as Error).message);
  }

  /** The response, once its audit line is written (Vault refuses what it cannot audit). */
  private audited(req: HttpRequestHead, x: Exchange, res: HttpResponse): HttpResponse {
    if (!this.audit || !x.path) return res;
    try {
      this.record(req, x, res);
    } catch (e) {
      // Here the work is done, so the caller learns it was not logged.
      this.opts.log.error(`admin api: audit log ${this.audit.file}: ${(e as Error).message}`);
      return err(500, 'the request could not be written to the audit log');
    }
    return res;
  }

  /** One audit line: every string of request and response data HMAC'd, errors as they are. */
  private record(req: HttpRequestHead, x: Exchange, res: HttpResponse): void {
    const a = this.audit!;
    const body = (res.body ?? {}) as { data?: unknown; auth?: unknown; errors?: string[] };
    this.audit!.write({
      time: new Date().toISOString(),
      type: 'response',
      auth: x.caller
        ? {
            client_token: a.hash(x.token!),
            accessor: a.hash(x.caller.accessor),
            display_name: x.caller.display_name,
            policies: x.caller.policies,
          }
        : null,
      request: {
        id: randomUUID(),
        operation: x.operation,
        path: x.path,
        data: x.body ? a.hashAll(x.body) : null,
        remote_address: req.remoteAddress,
      },
      response: { status: res.status, data: a.hashAll(body.data ?? body.auth ?? null) },
      error: body.errors?.join('; ') ?? '',
    });
  }

  /** Everything that can be decided from the head; the rest of the work as the handler. */
  private async preflight(head: HttpRequestHead, x: Exchange): Promise<Admission> {
    // A public route with a body (the console) is admitted on its path: it checks its own
    // session and CSRF token, and refuses a body past its own bound.
    if (this.opts.extra && this.opts.openWithBody?.(head.rawPath)) {
      const extra = this.opts.extra;
      return { maxBody: this.opts.config.limits.maxBody, handle: async (req) => (await extra(req, false)) ?? notFound() };
    }
    const open = await this.opts.extra?.({ ...head, body: NO_BODY }, false);
    if (open) return open;
    let segs: string[];
    try {
      segs = head.rawPath.split('/').map((s) => decodeURIComponent(s));
    } catch {
      return err(400, 'invalid path encoding');
    }
    if (segs[0] !== '' || segs[1] !== 'v1') return unsupportedPath();
    const p = segs
      .slice(2)
      .join('/')
      .replace(/\/+$/, (m) => (m ? '/' : ''));
    let method = head.method;
    // Go's strconv.ParseBool, as Vault reads ?list= (hvac sends list=True)
    if (method === 'GET' && ['true', '1', 't'].includes((head.query.get('list') ?? '').toLowerCase())) method = 'LIST';
    if (method === 'PUT') method = 'POST';

    if (p === 'sys/health' && (method === 'GET' || method === 'HEAD')) {
      return {
        status: 200,
        body: { initialized: true, sealed: false, standby: false, server_time_utc: Math.floor(Date.now() / 1000), version: 'astldap' },
      };
    }

    x.path = p;
    x.operation = OPERATION[method] ?? method.toLowerCase();
    const token = tokenOf(head);
    const caller = token ? await this.tokens.lookup(token) : undefined;
    if (!token || !caller) return err(403, 'permission denied');
    Object.assign(x, { token, caller });
    if (!(await this.permitted(caller, p, method))) return err(403, 'permission denied');
    if (!this.known(p)) return unsupportedPath();
    return {
      maxBody: this.bodyBound(p, method),
      handle: async (req) => {
        let parsed: Record<string, unknown> | undefined;
        const body = () => (parsed ??= x.body = parseBody(req));
        // The server's own routes (backup, status): as any other path, what the caller's policies allow.
        const extra = await this.opts.extra?.(req, true);
        if (extra) return extra;
        return this.dispatch(p, method, body, token, caller);
      },
    };
  }

  /** Paths under a prefix some route answers (the routes themselves decide the rest). */
  private known(p: string): boolean {
    return p.startsWith('auth/token/') || p.startsWith('sys/') || this.mounts.some((m) => p === m || p.startsWith(m + '/'));
  }

  /** The body bound of a route: dynamic roles carry LDIF (adminApi.limits.maxLdifBody), the rest small JSON. */
  private bodyBound(p: string, method: string): number {
    const l = this.opts.config.limits;
    return method === 'POST' && this.mounts.some((m) => p.startsWith(`${m}/role/`)) ? l.maxLdifBody : l.maxBody;
  }

  /** The caller's policies allow the method on the path (root: everything; the default policy's self paths: every token). */
  private async permitted(caller: Caller, p: string, method: string): Promise<boolean> {
    if (caller.root || SELF_PATHS.has(p)) return true;
    if (SUDO_PATHS.has(p) && !(await this.tokens.allows(caller, p, ['sudo']))) return false;
    // As in Vault, a LIST is checked against the path with a trailing slash (`ldap/role/*` allows listing ldap/role).
    const aclPath = method === 'LIST' && !p.endsWith('/') ? p + '/' : p;
    return this.tokens.allows(caller, aclPath, capabilitiesFor(method));
  }

  private async dispatch(
    p: string,
    method: string,
    body: () => Record<string, unknown>,
    token: string,
    caller: Caller,
  ): Promise<HttpResponse> {
    const ctx = (rest: string, mount?: string): RouteCtx => ({
      engine: this.opts.engine,
      method,
      rest,
      ...(mount ? { mount } : {}),
      body,
      displayName: caller.display_name,
      accessor: caller.accessor,
    });
    if (p.startsWith('auth/token/')) return this.tokenRoute(p.slice('auth/token/'.length), method, body, token, caller);
    if (p.startsWith('sys/policy') || p.startsWith('sys/policies/acl')) return this.aclRoute(p, method, body);
    if (p === 'sys/capabilities-self') {
      // Vault's: what this token may do on each path ({"capabilities": [...]} for the first, and one key per path).
      if (method !== 'POST') return unsupportedOp();
      const b = body();
      const paths: unknown = b.paths ?? (b.path === undefined ? undefined : [b.path]);
      if (!Array.isArray(paths) || !paths.length || paths.some((x) => typeof x !== 'string')) return err(400, "'paths' is a list of paths");
      const out: Record<string, string[]> = {};
      for (const path of paths as string[]) {
        const caps = caller.root ? ['root'] : [...(await this.tokens.capabilities(caller, path.replace(/^\//, '')))].sort();
        out[path] = caps.length ? caps : ['deny'];
      }
      return ok({ capabilities: out[(paths as string[])[0]!], ...out });
    }
    if (p.startsWith('sys/audit-hash/')) {
      if (method !== 'POST') return unsupportedOp();
      if (!this.audit) return err(400, 'no audit device is enabled (adminApi.auditLog)');
      return ok({ hash: this.audit.hash(String(body().input ?? '')) });
    }
    if (p.startsWith('sys/')) return (await sysRoute(ctx(p.slice(4)))) ?? unsupportedPath();
    const mount = this.mounts.find((m) => p === m || p.startsWith(m + '/'));
    if (!mount) return unsupportedPath();
    return mountRoute(ctx(p.slice(mount.length + 1), mount));
  }

  private async tokenRoute(
    op: string,
    method: string,
    body: () => Record<string, unknown>,
    token: string,
    caller: Caller,
  ): Promise<HttpResponse> {
    if (op === 'lookup-self' && method === 'GET') return ok(this.tokens.view(token, caller));
    if (method !== 'POST') return unsupportedOp();
    if (op === 'create' || op === 'create-orphan') {
      const auth = await this.tokens.create(caller, body());
      return { status: 200, body: { ...envelope(null), auth } };
    }
    if (op === 'lookup-self') return ok(this.tokens.view(token, caller));
    if (op === 'renew-self') return err(400, 'token is not renewable: create a new one (auth/token/create)');
    if (op === 'revoke-self') {
      await this.tokens.revoke(caller);
      return noContent();
    }
    return unsupportedPath();
  }

  /** sys/policy[/<name>] (Vault's older API: rules or policy) and sys/policies/acl[/<name>]. */
  private async aclRoute(p: string, method: string, body: () => Record<string, unknown>): Promise<HttpResponse> {
    const m = /^sys\/(policy|policies\/acl)\/?(.*)$/.exec(p);
    if (!m) return unsupportedPath();
    const [, api, name = ''] = m;
    const t = this.tokens;
    if (!name) {
      if (method === 'LIST' || (api === 'policy' && method === 'GET')) {
        const keys = await t.listPolicies();
        return ok(api === 'policy' ? { policies: keys, keys } : { keys });
      }
      return unsupportedOp();
    }
    switch (method) {
      case 'GET': {
        const text = await t.getPolicy(name);
        return ok(api === 'policy' ? { name, rules: text } : { name, policy: text });
      }
      case 'POST': {
        const b = body();
        await t.putPolicy(name, b.policy ?? b.rules);
        return noContent();
      }
      case 'DELETE':
        await t.deletePolicy(name);
        return noContent();
      default:
        return unsupportedOp();
    }
  }
}

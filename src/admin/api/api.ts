// The Vault-compatible HTTP API: Vault's envelope, error shape, status codes and token header
// (X-Vault-Token or Authorization: Bearer); tokens and their ACL policies (auth/token/*,
// sys/policy, sys/policies/acl) decide what a request may do; every request is audited (one
// JSON line, secrets HMAC'd). The engine's own paths are mapped in routes.ts.

import { randomUUID } from 'node:crypto';
import type { AdminApiConfig } from '../../config/config.js';
import type { Logger } from '../../config/logger.js';
import { LdapError } from '../../ldap/result.js';
import type { Capability } from './acl-policy.js';
import { AuditLog } from './audit.js';
import type { Engine } from '../engine/engine.js';
import { envelope } from './envelope.js';
import { EngineError, invalid, type EngineErrorKind } from '../engine/errors.js';
import {
  MiniHttpServer,
  type Admission,
  type HttpLimits,
  type HttpRequest,
  type HttpRequestHead,
  type HttpResponse,
} from '../http/server.js';
import { checkFields } from '../engine/fields.js';
import { PathTable, type AdminPath, type Match, type Method, type RouteHandler, type RouteRequest } from './framework.js';
import { enginePaths, err, noContent, notFound, ok, unsupportedOp, unsupportedPath } from './routes.js';
import { SealKeyError } from '../engine/seal.js';
import { Tokens, type Caller } from './tokens.js';

export { envelope } from './envelope.js';

/** The HTTP status of each kind of engine error (Vault: 400 user error, 404, 500 internal). */
const STATUS: Record<EngineErrorKind, number> = { invalid: 400, notFound: 404, failed: 500 };

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
  /**
   * The server's own rows of the path table (/metrics, sys/astldap/*, the console), tried
   * before the API's and the engine's.
   */
  paths?: readonly AdminPath[];
}

/** The sys/health answer of a node that serves (Vault's shape). */
export function healthy(): HttpResponse {
  return {
    status: 200,
    body: { initialized: true, sealed: false, standby: false, server_time_utc: Math.floor(Date.now() / 1000), version: 'astldap' },
  };
}

export class AdminApi {
  private readonly tokens: Tokens;
  /** Every path the listener answers: the server's rows, the API's own, the engine's. */
  private readonly table: PathTable;

  private constructor(
    private readonly opts: AdminApiOptions,
    private readonly http: MiniHttpServer,
    readonly url: string,
    private readonly audit: AuditLog | undefined,
  ) {
    this.tokens = new Tokens(opts.engine.db, opts.tokens);
    // The mounts the engine answers on: the configured one, openldap and ldap.
    const mounts = [...new Set([opts.config.mount, 'openldap', 'ldap'])];
    this.table = new PathTable([...(opts.paths ?? []), ...this.ownPaths(), ...enginePaths(opts.engine)], mounts);
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
    const v1 = v1Path(head);
    let method = head.method as Method;
    // Go's strconv.ParseBool, as Vault reads ?list= (hvac sends list=True)
    if (method === 'GET' && ['true', '1', 't'].includes((head.query.get('list') ?? '').toLowerCase())) method = 'LIST';
    if ((method as string) === 'PUT') method = 'POST';
    const open = await this.unauthenticated(head, typeof v1 === 'string' ? v1 : undefined, method);
    if (open) return open;
    if (v1 === undefined) return unsupportedPath();
    if (typeof v1 !== 'string') return v1;
    const p = v1;

    x.path = p;
    x.operation = OPERATION[method] ?? method.toLowerCase();
    const token = tokenOf(head);
    const caller = token ? await this.tokens.lookup(token) : undefined;
    if (!token || !caller) return err(403, 'permission denied');
    Object.assign(x, { token, caller });
    const match = this.table.find(p);
    if (!(await this.permitted(caller, p, method, match?.path))) return err(403, 'permission denied');
    if (!match) return unsupportedPath();
    const handler = match.path.operations[method];
    if (!handler) return unsupportedOp();
    const l = this.opts.config.limits;
    return {
      // Dynamic roles carry LDIF (adminApi.limits.maxLdifBody), the rest small JSON.
      maxBody: match.path.ldifBody && method === 'POST' ? l.maxLdifBody : l.maxBody,
      handle: async (req) => (await handler(this.routeRequest(req, match, method, x, caller, token))) ?? unsupportedPath(),
    };
  }

  /** The rows open without a token, in order; the first that answers wins. */
  private async unauthenticated(head: HttpRequestHead, v1: string | undefined, method: Method): Promise<Admission | undefined> {
    for (const m of this.table.matches(head.rawPath, v1, true)) {
      const handler: RouteHandler | undefined = m.path.operations[method] ?? m.path.operations['*'];
      if (!handler) continue;
      // A row with a body (the console) is admitted on its path: it checks its own session
      // and CSRF token, and refuses a body past its own bound.
      if (m.path.withBody) {
        return {
          maxBody: this.opts.config.limits.maxBody,
          handle: async (req) => (await handler(this.routeRequest(req, m, method, undefined))) ?? notFound(),
        };
      }
      const res = await handler(this.routeRequest({ ...head, body: NO_BODY }, m, method, undefined));
      if (res) return res;
    }
    return undefined;
  }

  private routeRequest(req: HttpRequest, m: Match, method: Method, x: Exchange | undefined, caller?: Caller, token?: string): RouteRequest {
    let parsed: Record<string, unknown> | undefined;
    const fields = m.path.fields;
    return {
      method,
      path: x?.path ?? req.rawPath,
      params: m.params,
      mount: m.mount,
      body: () => {
        if (parsed) return parsed;
        const b = parseBody(req);
        if (x) x.body = b;
        if (fields) checkFields(b, fields);
        return (parsed = b);
      },
      http: req,
      caller,
      token,
    };
  }

  /**
   * The caller's policies allow the method on the path: root everything; a row of Vault's
   * default policy every token; a sudo row needs sudo too.
   */
  private async permitted(caller: Caller, p: string, method: string, row: AdminPath | undefined): Promise<boolean> {
    if (caller.root || row?.defaultPolicy) return true;
    if (row?.sudo && !(await this.tokens.allows(caller, p, ['sudo']))) return false;
    // As in Vault, a LIST is checked against the path with a trailing slash (`ldap/role/*` allows listing ldap/role).
    const aclPath = method === 'LIST' && !p.endsWith('/') ? p + '/' : p;
    return this.tokens.allows(caller, aclPath, capabilitiesFor(method));
  }

  /** The API's own rows: sys/health, tokens (auth/token/*), ACL policies, sys/audit-hash. */
  private ownPaths(): AdminPath[] {
    const t = this.tokens;
    const created = async (r: RouteRequest): Promise<HttpResponse> => {
      const auth = await t.create(r.caller!, r.body());
      return { status: 200, body: { ...envelope(null), auth } };
    };
    const self = async (r: RouteRequest): Promise<HttpResponse> => ok(t.view(r.token!, r.caller!));
    const policyList = (api: 'policy' | 'acl') => async (): Promise<HttpResponse> => {
      const keys = await t.listPolicies();
      return ok(api === 'policy' ? { policies: keys, keys } : { keys });
    };
    const policy = (api: 'policy' | 'acl', pattern: string): AdminPath => ({
      pattern,
      operations: {
        GET: async (r) => {
          const name = r.params.name!;
          const text = await t.getPolicy(name);
          return ok(api === 'policy' ? { name, rules: text } : { name, policy: text });
        },
        POST: async (r) => {
          const b = r.body();
          await t.putPolicy(r.params.name!, b.policy ?? b.rules);
          return noContent();
        },
        DELETE: async (r) => {
          await t.deletePolicy(r.params.name!);
          return noContent();
        },
      },
    });
    return [
      { pattern: 'sys/health', unauthenticated: true, operations: { GET: async () => healthy(), HEAD: async () => healthy() } },
      { pattern: 'auth/token/lookup-self', defaultPolicy: true, operations: { GET: self, POST: self } },
      { pattern: 'auth/token/create', operations: { POST: created } },
      { pattern: 'auth/token/create-orphan', operations: { POST: created } },
      {
        pattern: 'auth/token/renew-self',
        defaultPolicy: true,
        operations: { POST: async () => err(400, 'token is not renewable: create a new one (auth/token/create)') },
      },
      {
        pattern: 'auth/token/revoke-self',
        defaultPolicy: true,
        operations: {
          POST: async (r) => {
            await t.revoke(r.caller!);
            return noContent();
          },
        },
      },
      // Vault's older sys/policy (rules or policy) and sys/policies/acl.
      { pattern: 'sys/policy', operations: { GET: policyList('policy'), LIST: policyList('policy') } },
      policy('policy', 'sys/policy/*name'),
      { pattern: 'sys/policies/acl', operations: { LIST: policyList('acl') } },
      policy('acl', 'sys/policies/acl/*name'),
      {
        // Vault's: what this token may do on each path ({"capabilities": [...]} for the first, and one key per path).
        pattern: 'sys/capabilities-self',
        defaultPolicy: true,
        operations: {
          POST: async (r) => {
            const b = r.body();
            const paths: unknown = b.paths ?? (b.path === undefined ? undefined : [b.path]);
            if (!Array.isArray(paths) || !paths.length || paths.some((x) => typeof x !== 'string'))
              return err(400, "'paths' is a list of paths");
            const out: Record<string, string[]> = {};
            for (const path of paths as string[]) {
              const caps = r.caller!.root ? ['root'] : [...(await t.capabilities(r.caller!, path.replace(/^\//, '')))].sort();
              out[path] = caps.length ? caps : ['deny'];
            }
            return ok({ capabilities: out[(paths as string[])[0]!], ...out });
          },
        },
      },
      {
        pattern: 'sys/audit-hash/*path',
        operations: {
          POST: async (r) => {
            if (!this.audit) return err(400, 'no audit device is enabled (adminApi.auditLog)');
            return ok({ hash: this.audit.hash(String(r.body().input ?? '')) });
          },
        },
      },
    ];
  }
}

/**
 * The path below /v1/ (segments percent-decoded, trailing slashes as one), undefined outside
 * /v1, or the 400 of a bad encoding.
 */
function v1Path(head: HttpRequestHead): string | HttpResponse | undefined {
  let segs: string[];
  try {
    segs = head.rawPath.split('/').map((s) => decodeURIComponent(s));
  } catch {
    return err(400, 'invalid path encoding');
  }
  if (segs[0] !== '' || segs[1] !== 'v1') return undefined;
  return segs
    .slice(2)
    .join('/')
    .replace(/\/+$/, (m) => (m ? '/' : ''));
}

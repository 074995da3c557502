// The Vault-compatible HTTP API: /v1/<mount>/{config,static-role,static-cred,rotate-root,
// rotate-role} and /v1/sys/policies/password, with Vault's envelope, error shape, status codes
// and token header (X-Vault-Token or Authorization: Bearer).

import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AdminApiConfig } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { LdapError } from '../ldap/result.js';
import type { Engine } from './engine.js';
import { EngineError, invalid, type EngineErrorKind } from './errors.js';
import { MiniHttpServer, type HttpRequest, type HttpResponse } from './http.js';

export function envelope(data: unknown, warnings: string[] | null = null): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings,
    auth: null,
  };
}

const ok = (data: unknown): HttpResponse => ({ status: 200, body: envelope(data) });
const noContent = (): HttpResponse => ({ status: 204 });
const err = (status: number, ...errors: string[]): HttpResponse => ({ status, body: { errors } });
const notFound = (): HttpResponse => err(404);
const unsupportedPath = (): HttpResponse => err(404, '1 error occurred:\n\t* unsupported path\n\n');
const unsupportedOp = (): HttpResponse => err(405, '1 error occurred:\n\t* unsupported operation\n\n');

/** The HTTP status of each kind of engine error (Vault: 400 user error, 404, 500 internal). */
const STATUS: Record<EngineErrorKind, number> = { invalid: 400, notFound: 404, failed: 500 };

/** The root token: env/config, else the token file, else a new one written there (mode 0600). */
export function resolveRootToken(cfg: AdminApiConfig, log: Logger): { token: string; file?: string; created: boolean } {
  if (cfg.rootToken) return { token: cfg.rootToken, created: false };
  if (existsSync(cfg.tokenFile)) {
    const t = readFileSync(cfg.tokenFile, 'utf8').trim();
    if (t.length >= 8) return { token: t, file: cfg.tokenFile, created: false };
    log.warn(`${cfg.tokenFile} holds no usable token; generating a new one`);
  }
  const token = 'hvs.' + randomBytes(24).toString('base64url');
  mkdirSync(path.dirname(cfg.tokenFile), { recursive: true });
  writeFileSync(cfg.tokenFile, token + '\n', { mode: 0o600 });
  chmodSync(cfg.tokenFile, 0o600);
  return { token, file: cfg.tokenFile, created: true };
}

function tokenOf(req: HttpRequest): string | undefined {
  const h = req.headers['x-vault-token'];
  if (h) return h.trim();
  const a = req.headers['authorization'];
  const m = a ? /^Bearer\s+(\S+)$/i.exec(a.trim()) : null;
  return m ? m[1] : undefined;
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
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

export interface AdminApiOptions {
  engine: Engine;
  config: AdminApiConfig;
  tokens: string[];
  log: Logger;
  /** Routes of the server around the engine (/metrics, /v1/sys/astldap/...); see ExtraRoutes. */
  extra?: ExtraRoutes;
}

/**
 * Asked before the engine's routes: first without a token (authenticated false: public routes
 * such as /metrics), then, for requests with a valid token, with authenticated true. Undefined
 * means "not mine".
 */
export type ExtraRoutes = (req: HttpRequest, authenticated: boolean) => Promise<HttpResponse | undefined>;

export class AdminApi {
  private constructor(
    private readonly opts: AdminApiOptions,
    private readonly http: MiniHttpServer,
    readonly url: string,
  ) {}

  static async start(opts: AdminApiOptions & { listen: string; tls?: { cert: string | Buffer; key: string | Buffer } }): Promise<AdminApi> {
    const u = new URL(opts.listen);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = u.port === '' ? 8200 : Number(u.port);
    // The handler needs the API object, which needs the listening server: a late-bound box.
    const box: { api?: AdminApi } = {};
    const http = await MiniHttpServer.listen({
      host,
      port,
      tls: u.protocol === 'https:' ? opts.tls : undefined,
      handler: (req) => box.api!.handle(req),
    });
    const shownHost = host.includes(':') ? `[${host}]` : host;
    box.api = new AdminApi(opts, http, `${u.protocol}//${shownHost}:${http.port}`);
    return box.api;
  }

  async close(): Promise<void> {
    await this.http.close();
  }

  async handle(req: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.route(req);
    } catch (e) {
      if (e instanceof EngineError) return e.kind === 'notFound' && !e.message ? notFound() : err(STATUS[e.kind], e.message);
      if (e instanceof LdapError) return err(400, e.message || `LDAP error ${e.code}`);
      this.opts.log.error(`admin api: ${(e as Error).stack ?? String(e)}`);
      return err(500, (e as Error).message);
    }
  }

  private async route(req: HttpRequest): Promise<HttpResponse> {
    const open = await this.opts.extra?.(req, false);
    if (open) return open;
    let segs: string[];
    try {
      segs = req.rawPath.split('/').map((s) => decodeURIComponent(s));
    } catch {
      return err(400, 'invalid path encoding');
    }
    if (segs[0] !== '' || segs[1] !== 'v1') return unsupportedPath();
    const p = segs
      .slice(2)
      .join('/')
      .replace(/\/+$/, (m) => (m ? '/' : ''));
    let method = req.method;
    if (method === 'GET' && ['true', '1'].includes(req.query.get('list') ?? '')) method = 'LIST';
    if (method === 'PUT') method = 'POST';

    if (p === 'sys/health' && (method === 'GET' || method === 'HEAD')) {
      return {
        status: 200,
        body: { initialized: true, sealed: false, standby: false, server_time_utc: Math.floor(Date.now() / 1000), version: 'astldap' },
      };
    }

    const token = tokenOf(req);
    if (!token || !this.opts.tokens.some((t) => sameToken(t, token))) return err(403, 'permission denied');
    const extra = await this.opts.extra?.(req, true);
    if (extra) return extra;

    if (p === 'auth/token/lookup-self' && method === 'GET') {
      return ok({ id: token, policies: ['root'], display_name: 'root', ttl: 0, renewable: false, type: 'service' });
    }

    const mount = this.opts.config.mount;
    const e = this.opts.engine;
    if (p === 'sys/policies/password' || p === 'sys/policies/password/') {
      if (method !== 'LIST') return unsupportedOp();
      return this.listKeys(e.listPolicies(''));
    }
    if (p.startsWith('sys/policies/password/')) return this.policy(method, p.slice('sys/policies/password/'.length), req);
    if (p !== mount && !p.startsWith(mount + '/')) return unsupportedPath();
    const rest = p.slice(mount.length + 1);
    if (rest === 'config') {
      switch (method) {
        case 'GET': {
          const c = await e.getConfig();
          return c ? ok(e.publicConfig(c)) : notFound();
        }
        case 'POST':
          await e.writeConfig(parseBody(req));
          return noContent();
        case 'DELETE':
          await e.deleteConfig();
          return noContent();
        default:
          return unsupportedOp();
      }
    }
    if (rest === 'rotate-root') {
      if (method !== 'POST') return unsupportedOp();
      await e.rotateRoot();
      return noContent();
    }
    if (rest === 'static-role' || rest === 'static-role/' || (method === 'LIST' && rest.startsWith('static-role/'))) {
      if (method !== 'LIST') return unsupportedOp();
      return this.listKeys(e.listRoles(rest.slice('static-role/'.length)));
    }
    if (rest.startsWith('static-role/')) {
      const name = rest.slice('static-role/'.length);
      switch (method) {
        case 'GET': {
          const r = await e.getRole(name);
          return r ? ok(e.publicRole(r)) : notFound();
        }
        case 'POST':
          await e.writeRole(name, parseBody(req));
          return noContent();
        case 'DELETE':
          await e.deleteRole(name);
          return noContent();
        default:
          return unsupportedOp();
      }
    }
    if (rest.startsWith('static-cred/')) {
      if (method !== 'GET') return unsupportedOp();
      const r = await e.getRole(rest.slice('static-cred/'.length));
      return r ? ok(e.publicCred(r)) : notFound();
    }
    if (rest.startsWith('rotate-role/')) {
      if (method !== 'POST') return unsupportedOp();
      const name = rest.slice('rotate-role/'.length);
      if (!(await e.getRole(name))) return err(400, `role doesn't exist: ${name}`);
      try {
        await e.rotateRole(name, 'manual');
      } catch (x) {
        const msg = (x as Error).message;
        return err(
          500,
          `unable to finish rotating credentials; retries will continue in the background but it is also safe to retry manually: ${msg}`,
        );
      }
      return noContent();
    }
    return unsupportedPath();
  }

  private async listKeys(list: Promise<string[]>): Promise<HttpResponse> {
    const keys = await list;
    return keys.length ? ok({ keys }) : notFound();
  }

  private async policy(method: string, rest: string, req: HttpRequest): Promise<HttpResponse> {
    const e = this.opts.engine;
    if (rest.endsWith('/generate')) {
      if (method !== 'GET') return unsupportedOp();
      const password = await e.generateFromPolicy(rest.slice(0, -'/generate'.length));
      return ok({ password });
    }
    if (method === 'LIST') return this.listKeys(e.listPolicies(rest));
    switch (method) {
      case 'GET': {
        const text = await e.getPolicyText(rest);
        return text === undefined ? notFound() : ok({ policy: text });
      }
      case 'POST':
        await e.putPolicy(rest, parseBody(req).policy);
        return noContent();
      case 'DELETE':
        await e.deletePolicy(rest);
        return noContent();
      default:
        return unsupportedOp();
    }
  }
}

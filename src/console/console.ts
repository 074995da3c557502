// The web console's server side, mounted on the admin listener at /ui/: the page and its hashed
// assets, sign-in (an LDAP bind, or an admin API token) and the JSON API the page calls. Every
// read and write of a session is made as its identity: over the session's own bound LDAP
// connection (so the directory's access rules decide), or through the admin API with the
// session's token (so the token's policies decide, and the audit log records it).

import type { HttpRequest, HttpResponse } from '../admin/index.js';
import { DirectoryClient, describeError } from '../asterisk/ldap-client.js';
import type { ConsoleConfig } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { BindThrottle } from '../directory/bind-throttle.js';
import { Cancellation } from '../ldap/messages.js';
import { ConsoleAssets } from './assets.js';
import { ldapRoute } from './ldap-routes.js';
import { SessionStore, sameSecret, type ConsoleSession } from './sessions.js';
import { tokenRoute } from './token-routes.js';
import { MAX_BODY, bodyOf, clearCookie, cookieOf, failure, json, sameOrigin, securityHeaders, sessionCookie, str } from './web.js';

import type { AttributeInfo, ConsoleOverview, LeaseRow, SessionInfo } from './types.js';

export type { AttributeInfo, ConsoleOverview } from './types.js';

export interface ConsoleOptions {
  config: ConsoleConfig;
  suffix: string;
  /** The admin listener serves TLS: cookies get Secure, responses HSTS. */
  tls: boolean;
  /** dist/ui of the package. */
  assetsDir: string;
  /** The server's own LDAP URL (ldap:// on loopback or ldapi://) a session's connection uses. */
  ldapUrl: () => string | undefined;
  /** The one entry under the suffix with this uid or cn, found by the server; undefined if none or several. */
  findDn: (name: string) => Promise<string | undefined>;
  /** The directory's bind throttle and DN normaliser: failed sign-ins count as failed binds from the browser's address. */
  throttle: BindThrottle;
  normalize: (dn: string) => string;
  /** The admin API, called in-process (policies and audit log apply). */
  admin: (req: HttpRequest) => Promise<HttpResponse>;
  /** The secrets engine's mount (adminApi.mount). */
  mount: string;
  /** The engine's stored leases (the token's policies then decide which are shown). */
  leases: () => Promise<LeaseRow[]>;
  /** The admin API's audit log, when it writes one. */
  auditFile?: string;
  /** The Overview; privileged: with the server-wide parts (warnings, replication, backups, the seal). */
  overview: (privileged: boolean) => Promise<ConsoleOverview>;
  /** The directory's administrator (config admin.dn): a privileged LDAP sign-in. */
  adminDn: string;
  /** What the live schema says of an attribute type (public: the subschema entry says as much). */
  describeAttribute: (name: string) => AttributeInfo | undefined;
  log: Logger;
}

const LOCAL = /^(127\.|::1$|::ffff:127\.)/;

export class ConsoleServer {
  readonly sessions: SessionStore;
  private readonly assets: ConsoleAssets;

  constructor(private readonly opts: ConsoleOptions) {
    this.sessions = new SessionStore({ idleMs: opts.config.idleTimeout * 1000, lifetimeMs: opts.config.maxLifetime * 1000 });
    this.assets = new ConsoleAssets(opts.assetsDir);
    if (!this.assets.built) opts.log.warn(`console: no bundle in ${opts.assetsDir} (run npm run build)`);
  }

  close(): void {
    this.sessions.close();
  }

  /** Whether a request path is the console's (/ui and below). */
  static serves(rawPath: string): boolean {
    return rawPath === '/ui' || rawPath.startsWith('/ui/');
  }

  /** Answers requests under /ui (undefined for every other path: not the console's). */
  async handle(req: HttpRequest): Promise<HttpResponse | undefined> {
    if (!ConsoleServer.serves(req.rawPath)) return undefined;
    let res: HttpResponse;
    try {
      res = await this.route(req);
    } catch (e) {
      this.opts.log.error(`console: ${(e as Error).stack ?? String(e)}`);
      res = failure(500, 'internal error');
    }
    return { ...res, headers: { ...securityHeaders(this.opts.tls), ...res.headers } };
  }

  private async route(req: HttpRequest): Promise<HttpResponse> {
    const p = req.rawPath;
    if (req.body.length > MAX_BODY) return failure(413, 'request body too large');
    if (p === '/ui') return { status: 301, headers: { Location: '/ui/' } };
    if (!p.startsWith('/ui/api/')) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return failure(405, 'method not allowed');
      if (p === '/ui/') return this.assets.index();
      const name = p.startsWith('/ui/assets/') ? p.slice('/ui/assets/'.length) : undefined;
      return (name && this.assets.asset(name)) || failure(404, 'not found');
    }
    if (!sameOrigin(req, this.opts.tls)) return failure(403, 'cross-origin request refused');
    const api = p.slice('/ui/api/'.length);
    if (api === 'login') return req.method === 'POST' ? this.login(req) : failure(405, 'method not allowed');
    const s = this.sessions.get(cookieOf(req));
    if (!s) return failure(401, 'not signed in (or the session expired)');
    // Every write carries the session's CSRF token in a header a cross-site form cannot set.
    if (req.method !== 'GET' && !sameSecret(req.headers['x-csrf-token'] ?? '', s.csrf)) return failure(403, 'missing or wrong CSRF token');
    // A write may change what a kept listing shows.
    if (req.method !== 'GET') s.tables.clear();
    if (api === 'session' && req.method === 'GET') return json(200, this.describe(s));
    if (api === 'logout' && req.method === 'POST') {
      this.sessions.end(s);
      return json(200, { ok: true }, { 'Set-Cookie': clearCookie(this.opts.tls) });
    }
    if (api === 'overview' && req.method === 'GET') return json(200, await this.opts.overview(s.identity.privileged));
    const body = bodyOf(req);
    if (!body) return failure(400, 'the body must be a JSON object');
    const id = s.identity;
    const lost = (why: string): HttpResponse => {
      // The session's connection is gone (the server closed it, say): the session ends with it.
      this.opts.log.info(`console: session of ${id.kind === 'ldap' ? id.dn : 'a token'} ended: ${why}`);
      this.sessions.end(s);
      return failure(401, 'the session’s connection to the directory was lost: sign in again');
    };
    if (id.kind === 'ldap' && !id.client.bound) return lost('its LDAP connection was closed');
    let res: HttpResponse | undefined;
    try {
      res =
        id.kind === 'ldap'
          ? await ldapRoute(id.client, this.opts.describeAttribute, { method: req.method, api, query: req.query, body, tables: s.tables })
          : await tokenRoute((method, path, b) => this.vault(id.token, req.remoteAddress, method, path, b), {
              mount: this.opts.mount,
              method: req.method,
              api,
              body,
              token: id.token,
              privileged: id.privileged,
              leases: this.opts.leases,
              auditFile: this.opts.auditFile,
            });
    } catch (e) {
      if (id.kind === 'ldap' && !id.client.bound) return lost((e as Error).message);
      throw e;
    }
    // Dropped and silently reconnected during the request: what it read was read anonymously.
    if (id.kind === 'ldap' && !id.client.bound) return lost('its LDAP connection was closed');
    return (
      res ??
      failure(404, id.kind === 'ldap' ? 'not found (credentials need a token sign-in)' : 'not found (this page needs an LDAP sign-in)')
    );
  }

  private describe(s: ConsoleSession): SessionInfo {
    const id = s.identity;
    return {
      kind: id.kind,
      name: id.kind === 'ldap' ? id.dn : id.name,
      csrf: s.csrf,
      pages: id.kind === 'ldap' ? ['overview', 'endpoints', 'pbx', 'dialplan', 'directory', 'schema'] : ['overview', 'credentials'],
      expires: new Date(s.createdAt + this.opts.config.maxLifetime * 1000).toISOString(),
      idleTimeout: this.opts.config.idleTimeout,
    };
  }

  private async login(req: HttpRequest): Promise<HttpResponse> {
    // A JSON content type cannot be sent by a plain cross-site form: no login CSRF.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) return failure(415, 'send application/json');
    const b = bodyOf(req);
    if (!b) return failure(400, 'the body must be a JSON object');
    const user = str(b.user);
    const secret = str(b.password) ?? str(b.token);
    if (!secret || (b.kind !== 'token' && !user)) return failure(400, 'give a user and a password, or a token');
    const result =
      b.kind === 'token' ? await this.tokenSignIn(secret, req.remoteAddress) : await this.ldapSignIn(user!, secret, req.remoteAddress);
    if (typeof result === 'string') return failure(401, result);
    const s = result;
    return json(200, this.describe(s), { 'Set-Cookie': sessionCookie(s.id, this.opts.tls, this.opts.config.maxLifetime) });
  }

  /**
   * Counted as a bind from the browser's address: the throttle's delay is waited out before the
   * attempt, a success forgives it. (The loopback bind the session then makes counts too, under
   * the loopback address, as any local client's.)
   */
  private async throttled<T>(dnOrKey: string, address: string, attempt: () => Promise<T | undefined>): Promise<T | undefined> {
    const keys = BindThrottle.keys(dnOrKey, address, LOCAL.test(address));
    const wait = this.opts.throttle.attempt(keys);
    if (wait > 0) await this.opts.throttle.wait(keys, wait, new Cancellation());
    const out = await attempt();
    if (out !== undefined) this.opts.throttle.succeed(keys);
    return out;
  }

  private async ldapSignIn(user: string, password: string, address: string): Promise<ConsoleSession | string> {
    const refused = 'invalid credentials';
    const url = this.opts.ldapUrl();
    if (!url) return 'LDAP sign-in needs an ldap:// or ldapi:// listener';
    // A uid or cn the server does not find still gets a bind attempt (as cn=NAME under the
    // suffix, which is how the configured administrator is named): every refusal looks alike.
    const dn = user.includes('=')
      ? user
      : ((await this.opts.findDn(user)) ?? `cn=${user.replace(/[,=+<>#;\\"]/g, '')},${this.opts.suffix}`);
    let ndn: string;
    try {
      ndn = this.opts.normalize(dn);
    } catch {
      return refused;
    }
    const client = await this.throttled(ndn, address, async () => {
      try {
        return await DirectoryClient.connect({ url, bindDn: dn, password });
      } catch (e) {
        this.opts.log.info(`console: sign-in as "${user}" from ${address} refused: ${describeError(e)}`);
        return undefined;
      }
    });
    if (!client) return refused;
    return this.sessions.create({ kind: 'ldap', dn, client, privileged: ndn === this.opts.normalize(this.opts.adminDn) });
  }

  private async tokenSignIn(token: string, address: string): Promise<ConsoleSession | string> {
    const name = await this.throttled('console-token', address, async () => {
      const res = await this.vault(token, address, 'GET', 'auth/token/lookup-self');
      if (res.status !== 200) return undefined;
      const data = (res.body as { data?: { display_name?: string } } | undefined)?.data;
      return data?.display_name || 'token';
    });
    if (!name) return 'invalid token';
    const privileged = (await this.vault(token, address, 'GET', 'sys/astldap/status')).status === 200;
    return this.sessions.create({ kind: 'token', token, name, privileged });
  }

  /** One admin API request with a session's token, in-process. */
  private vault(token: string, address: string, method: string, path: string, body?: Record<string, unknown>): Promise<HttpResponse> {
    return this.opts.admin({
      method,
      rawPath: `/v1/${path}`,
      query: new URLSearchParams(),
      headers: { 'x-vault-token': token, 'content-type': 'application/json' },
      body: Buffer.from(body ? JSON.stringify(body) : ''),
      remoteAddress: address,
    });
  }
}

// The OpenLDAP secrets engine, Vault-compatible, managing passwords of entries in the embedded
// directory: engine config, static roles, rotation (manual, periodic, cron-scheduled), root
// rotation and password policies. All state lives in the store's meta space:
//   rotation/config          the engine config (bindpass included; never returned)
//   rotation/role/<name>     a static role and its credential state
//   passwordpolicy/<name>    a password policy's HCL text
// A rotation changes the entry's password attributes and the role record in ONE atomic store
// batch (Directory.write), so no write-ahead log is needed: either both changed or neither did.

import { createHash } from 'node:crypto';
import cron from 'node-cron';
import type { Directory } from '../directory/directory.js';
import type { Session, SearchEntry } from '../directory/requests.js';
import { hashPassword, verifyPassword } from '../access/passwords.js';
import type { Logger } from '../config/logger.js';
import { defaultPolicy, generate, parsePolicy, PolicyError, type PasswordPolicy } from './policy.js';
import { ExternalLdap } from './external.js';

export const CONFIG_KEY = 'rotation/config';
export const ROLE_PREFIX = 'rotation/role/';
export const POLICY_PREFIX = 'passwordpolicy/';

/** An error with the HTTP status it maps to (Vault: 400 user error, 404, 500 internal). */
export class EngineError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}
const bad = (m: string) => new EngineError(400, m);

export type SchemaName = 'openldap' | 'racf' | 'ad' | 'asterisk';

export interface EngineConfig {
  binddn: string;
  bindpass: string;
  url: string;
  userdn: string;
  userattr: string;
  upndomain: string;
  schema: SchemaName;
  credential_type: string;
  password_policy: string;
  length: number;
  request_timeout: number;
  connection_timeout: number;
  starttls: boolean;
  insecure_tls: boolean;
  certificate: string;
  client_tls_cert: string;
  client_tls_key: string;
  tls_min_version: string;
  tls_max_version: string;
  skip_static_role_import_rotation: boolean;
  asterisk_realm: string;
  asterisk_cleartext_secret: boolean;
  last_bind_password: string;
  last_bind_password_rotation: string | null;
  /** Whether url named the embedded directory when it was written (listener ports may change). */
  embedded?: boolean;
}

export interface RoleRecord {
  name: string;
  dn: string;
  username: string;
  rotation_period: number;
  rotation_schedule: string;
  rotation_window: number;
  password_policy: string;
  skip_import_rotation: boolean;
  password: string;
  last_password: string;
  last_vault_rotation: string | null;
  next_vault_rotation: string | null;
  created: string;
  last_error: string;
  last_error_time: string | null;
  next_retry: string | null;
  failures: number;
}

/** '90', 90, '90s', '1h30m', '24h', '1d' → seconds. */
export function parseDuration(v: unknown, field: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw bad(`invalid ${field}`);
    return Math.floor(v);
  }
  if (typeof v !== 'string' || !v.trim()) throw bad(`invalid ${field}: ${JSON.stringify(v)}`);
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s))) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n / 1000 : m[2] === 's' ? n : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n * 86400;
    pos = re.lastIndex;
  }
  if (pos !== s.length || pos === 0) throw bad(`invalid ${field}: ${JSON.stringify(v)} (use seconds or a duration such as 5s, 1h, 24h)`);
  return Math.floor(total);
}

function parseBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 1) return true;
  if (v === 'false' || v === '0' || v === 0 || v === '') return false;
  throw bad(`invalid ${field}: expected a boolean`);
}

function str(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw bad(`invalid ${field}: expected a string`);
}

const ROLE_NAME = /^[A-Za-z0-9_.@-]+(\/[A-Za-z0-9_.@-]+)*$/;

export interface EngineOptions {
  dir: Directory;
  log: Logger;
  /** LDAP URLs the server listens on (a config url naming one of them is the embedded directory). */
  ownUrls: () => string[];
  defaultRealm: string;
}

const MAX_TIMER = 2 ** 31 - 1;
const RETRY_BASE_MS = 10_000;
const RETRY_MAX_MS = 3600_000;

export class Engine {
  private readonly dir: Directory;
  private readonly log: Logger;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly chains = new Map<string, Promise<unknown>>();
  private rootChain: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(private readonly opts: EngineOptions) {
    this.dir = opts.dir;
    this.log = opts.log;
  }

  // ---------------------------------------------------------------------------------------------
  // lifecycle

  /** Schedules every stored role; overdue ones rotate at once. */
  async start(): Promise<void> {
    for await (const [, value] of this.dir.store.scanMeta(ROLE_PREFIX)) {
      const role = JSON.parse(value) as RoleRecord;
      this.schedule(role);
    }
  }

  /** Stops every timer and waits for rotations under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.chains.values(), this.rootChain]);
  }

  // ---------------------------------------------------------------------------------------------
  // storage

  async getConfig(): Promise<EngineConfig | undefined> {
    const v = await this.dir.store.getMeta(CONFIG_KEY);
    return v ? (JSON.parse(v) as EngineConfig) : undefined;
  }

  async getRole(name: string): Promise<RoleRecord | undefined> {
    const v = await this.dir.store.getMeta(ROLE_PREFIX + name);
    return v ? (JSON.parse(v) as RoleRecord) : undefined;
  }

  private async putMeta(key: string, value: string | null): Promise<void> {
    await this.dir.exclusive(() => this.dir.write({ entries: [], meta: [{ key, value }] }));
  }

  /** Keys one level below prefix (deeper ones as `dir/`), Vault's LIST semantics. */
  async list(metaPrefix: string, sub: string): Promise<string[]> {
    const full = metaPrefix + (sub ? sub.replace(/\/?$/, '/') : '');
    const out = new Set<string>();
    for await (const [key] of this.dir.store.scanMeta(full)) {
      const rest = key.slice(full.length);
      const i = rest.indexOf('/');
      out.add(i < 0 ? rest : rest.slice(0, i + 1));
    }
    return [...out].sort();
  }

  // ---------------------------------------------------------------------------------------------
  // password policies

  async getPolicyText(name: string): Promise<string | undefined> {
    return this.dir.store.getMeta(POLICY_PREFIX + name);
  }

  async putPolicy(name: string, text: unknown): Promise<void> {
    if (!ROLE_NAME.test(name)) throw bad('invalid policy name');
    if (typeof text !== 'string' || !text.trim()) throw bad('missing policy');
    let policy: PasswordPolicy;
    try {
      policy = parsePolicy(text);
      // Like Vault: make sure passwords can actually be generated before saving.
      for (let i = 0; i < 3; i++) generate(policy);
    } catch (err) {
      if (err instanceof PolicyError) throw bad(`unable to parse policy: ${err.message}`);
      throw err;
    }
    await this.putMeta(POLICY_PREFIX + name, text);
  }

  async deletePolicy(name: string): Promise<void> {
    await this.putMeta(POLICY_PREFIX + name, null);
  }

  async generateFromPolicy(name: string): Promise<string> {
    const text = await this.getPolicyText(name);
    if (text === undefined) throw new EngineError(404, `policy "${name}" not found`);
    return generate(parsePolicy(text));
  }

  private async generatePassword(cfg: EngineConfig, roleP: string, digitsOnly: boolean): Promise<string> {
    const name = roleP || cfg.password_policy;
    let policy: PasswordPolicy;
    if (name) {
      const text = await this.getPolicyText(name);
      if (text === undefined) throw new EngineError(500, `password policy "${name}" does not exist`);
      policy = parsePolicy(text);
    } else policy = defaultPolicy(cfg.length || undefined);
    if (digitsOnly && !policy.alphabet.every((c) => /[0-9]/.test(c))) {
      // Voicemail PINs are digits (the phone keypad): keep the policy's length, capped.
      policy = parsePolicy(`length = ${Math.min(Math.max(policy.length, 6), 12)}\nrule "charset" { charset = "0123456789" }`);
    }
    return generate(policy);
  }

  // ---------------------------------------------------------------------------------------------
  // config

  publicConfig(c: EngineConfig): Record<string, unknown> {
    return {
      binddn: c.binddn,
      url: c.url,
      userdn: c.userdn,
      userattr: c.userattr,
      upndomain: c.upndomain,
      schema: c.schema,
      credential_type: c.credential_type,
      password_policy: c.password_policy,
      length: c.password_policy ? 0 : c.length || 64,
      request_timeout: c.request_timeout,
      connection_timeout: c.connection_timeout,
      starttls: c.starttls,
      insecure_tls: c.insecure_tls,
      certificate: c.certificate,
      client_tls_cert: c.client_tls_cert,
      tls_min_version: c.tls_min_version,
      tls_max_version: c.tls_max_version,
      case_sensitive_names: false,
      skip_static_role_import_rotation: c.skip_static_role_import_rotation,
      last_bind_password_rotation: c.last_bind_password_rotation ?? '0001-01-01T00:00:00Z',
      asterisk_realm: c.asterisk_realm,
      asterisk_cleartext_secret: c.asterisk_cleartext_secret,
    };
  }

  async writeConfig(body: Record<string, unknown>): Promise<void> {
    const old = await this.getConfig();
    const c: EngineConfig = old
      ? { ...old }
      : {
          binddn: '',
          bindpass: '',
          url: '',
          userdn: '',
          userattr: '',
          upndomain: '',
          schema: 'openldap',
          credential_type: 'password',
          password_policy: '',
          length: 0,
          request_timeout: 90,
          connection_timeout: 30,
          starttls: false,
          insecure_tls: false,
          certificate: '',
          client_tls_cert: '',
          client_tls_key: '',
          tls_min_version: 'tls12',
          tls_max_version: 'tls12',
          skip_static_role_import_rotation: false,
          asterisk_realm: this.opts.defaultRealm,
          asterisk_cleartext_secret: false,
          last_bind_password: '',
          last_bind_password_rotation: null,
        };
    const known = new Set([
      'binddn', 'bindpass', 'url', 'userdn', 'userattr', 'upndomain', 'schema', 'credential_type', 'password_policy',
      'length', 'request_timeout', 'connection_timeout', 'starttls', 'insecure_tls', 'certificate', 'client_tls_cert',
      'client_tls_key', 'tls_min_version', 'tls_max_version', 'skip_static_role_import_rotation', 'asterisk_realm',
      'asterisk_cleartext_secret', 'case_sensitive_names', 'rotation_period', 'rotation_schedule', 'rotation_window',
      'disable_automated_rotation',
    ]);
    for (const k of Object.keys(body)) if (!known.has(k)) throw bad(`unknown field: ${k}`);
    const s = (k: string) => (body[k] !== undefined ? str(body[k], k) : undefined);
    for (const k of ['binddn', 'bindpass', 'url', 'userdn', 'userattr', 'upndomain', 'credential_type', 'password_policy', 'certificate', 'client_tls_cert', 'client_tls_key', 'tls_min_version', 'tls_max_version', 'asterisk_realm'] as const) {
      const v = s(k);
      if (v !== undefined) (c as unknown as Record<string, unknown>)[k] = v;
    }
    for (const k of ['starttls', 'insecure_tls', 'skip_static_role_import_rotation', 'asterisk_cleartext_secret'] as const) {
      if (body[k] !== undefined) c[k] = parseBool(body[k], k);
    }
    if (body.request_timeout !== undefined) c.request_timeout = parseDuration(body.request_timeout, 'request_timeout');
    if (body.connection_timeout !== undefined) c.connection_timeout = parseDuration(body.connection_timeout, 'connection_timeout');
    if (body.length !== undefined) {
      const n = Number(body.length);
      if (!Number.isInteger(n) || n < 0 || (n > 0 && n < 8)) throw bad('length must be a whole number of at least 8');
      c.length = n;
    }
    if (body.rotation_period !== undefined || body.rotation_schedule !== undefined) {
      throw bad('automated root rotation (rotation_period/rotation_schedule on config) is not supported; use rotate-root');
    }
    if (body.password_policy !== undefined && body.length !== undefined && c.password_policy && c.length) {
      throw bad('Cannot set password_policy and length');
    }
    if (c.password_policy && c.length) throw bad('Cannot set password_policy and length');
    if (body.schema !== undefined) {
      const sc = str(body.schema, 'schema').toLowerCase();
      if (!['openldap', 'racf', 'ad', 'asterisk'].includes(sc)) throw bad(`configured schema ${sc} not valid; use openldap, racf, ad or asterisk`);
      c.schema = sc as SchemaName;
    }
    if (body.url !== undefined || c.embedded === undefined) c.embedded = !this.isExternal(c);
    const external = !c.embedded;
    if (c.schema === 'ad' && !external && !this.dir.schema.attributeType('unicodePwd')) {
      throw bad('schema "ad" writes unicodePwd, which the loaded schema does not define (this directory is not Active Directory)');
    }
    if (c.schema === 'racf' && !external && (!this.dir.schema.attributeType('racfPassword') || !this.dir.schema.attributeType('racfAttributes'))) {
      throw bad('schema "racf" writes racfPassword and racfAttributes, which the loaded schema does not define');
    }
    if (!['password', 'phrase'].includes(c.credential_type)) throw bad('credential_type must be password or phrase');
    if (!c.binddn) throw bad('missing binddn');
    if (!c.bindpass) throw bad('missing bindpass');
    if (!external) {
      try {
        this.dir.normalize(c.binddn);
      } catch {
        throw bad(`binddn is not a valid DN: ${c.binddn}`);
      }
    }
    if (c.userdn && !external) {
      try {
        this.dir.normalize(c.userdn);
      } catch {
        throw bad(`userdn is not a valid DN: ${c.userdn}`);
      }
    }
    if (!c.userattr) c.userattr = c.schema === 'ad' ? 'userPrincipalName' : c.schema === 'racf' ? 'racfid' : 'cn';
    await this.verifyBind(c).catch((err: Error) => {
      throw bad(`error validating binddn/bindpass: ${err.message}`);
    });
    await this.putMeta(CONFIG_KEY, JSON.stringify(c));
  }

  async deleteConfig(): Promise<void> {
    await this.putMeta(CONFIG_KEY, null);
  }

  /**
   * Empty, `embedded` or this server's own listeners: the embedded directory (changed in one
   * atomic batch with the role state). Other ldap:// / ldaps:// URLs: an external server,
   * managed through ldapjs. A list must not mix the two.
   */
  isExternal(c: { url: string }): boolean {
    const own = this.opts.ownUrls().map((u) => u.toLowerCase().replace(/\/$/, ''));
    let embedded = 0;
    let external = 0;
    for (const raw of c.url.split(',').map((u) => u.trim()).filter(Boolean)) {
      if (raw.toLowerCase() === 'embedded') {
        embedded++;
        continue;
      }
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw bad(`invalid url ${raw}`);
      }
      if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') throw bad(`url ${raw}: use ldap:// or ldaps://`);
      const norm = `${u.protocol}//${u.host}`.toLowerCase();
      const alias = norm.replace('//localhost:', '//127.0.0.1:');
      if (own.includes(norm) || own.includes(alias)) embedded++;
      else external++;
    }
    if (embedded && external) throw bad('url must not mix this server (embedded) with external servers');
    return external > 0;
  }

  /** Whether the config manages an external server (as decided when url was written). */
  private external(c: EngineConfig): boolean {
    return c.embedded === undefined ? this.isExternal(c) : !c.embedded;
  }

  private async connect(c: EngineConfig): Promise<ExternalLdap> {
    return ExternalLdap.connect(c);
  }

  /** Runs fn over a bound connection to the external server, closing it afterwards. */
  private async withExternal<T>(c: EngineConfig, fn: (x: ExternalLdap) => Promise<T>): Promise<T> {
    const x = await this.connect(c);
    try {
      return await fn(x);
    } finally {
      x.close();
    }
  }

  /** DN comparison key (the local schema's normalisation; lowercase when it cannot normalise). */
  private dnKey(dn: string): string {
    try {
      return this.dir.normalize(dn);
    } catch {
      return dn.toLowerCase().replace(/\s*,\s*/g, ',');
    }
  }

  /** The module's bind: the server administrator (admin.dn/password) or an entry's userPassword. */
  private async verifyBind(c: EngineConfig): Promise<void> {
    if (this.external(c)) {
      await this.withExternal(c, async () => undefined);
      return;
    }
    const ndn = this.dir.normalize(c.binddn);
    const given = Buffer.from(c.bindpass, 'utf8');
    if (ndn === this.dir.adminNdn) {
      if (!(await verifyPassword(this.dir.config.admin.password, given))) throw new Error('invalid credentials for binddn');
      return;
    }
    const rec = await this.dir.store.get(ndn);
    if (!rec) throw new Error(`binddn ${c.binddn} does not exist`);
    for (const v of rec.attrs['userpassword'] ?? []) if (await verifyPassword(v, given)) return;
    throw new Error('invalid credentials for binddn');
  }

  private bindSession(c: EngineConfig): Session {
    return {
      id: 0,
      bindDn: c.binddn,
      bindNdn: this.dir.normalize(c.binddn),
      authMethod: 'simple',
      remoteAddress: 'admin-api',
      transport: 'tcp',
      tls: false,
    };
  }

  // ---------------------------------------------------------------------------------------------
  // static roles

  publicRole(r: RoleRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      dn: r.dn,
      username: r.username,
      rotation_period: r.rotation_period,
      last_vault_rotation: r.last_vault_rotation,
      next_vault_rotation: this.nextRotation(r)?.toISOString() ?? null,
      skip_import_rotation: r.skip_import_rotation,
      password_policy: r.password_policy,
      ttl: this.ttl(r),
    };
    if (r.rotation_schedule) {
      out.rotation_schedule = r.rotation_schedule;
      out.rotation_window = r.rotation_window;
    }
    out.last_error = r.last_error;
    out.last_error_time = r.last_error_time;
    out.next_retry = r.next_retry;
    out.failures = r.failures;
    return out;
  }

  publicCred(r: RoleRecord): Record<string, unknown> {
    const out: Record<string, unknown> = {
      dn: r.dn,
      username: r.username,
      password: r.password,
      last_password: r.last_password,
      last_vault_rotation: r.last_vault_rotation,
      rotation_period: r.rotation_period,
      ttl: this.ttl(r),
    };
    if (r.rotation_schedule) {
      out.rotation_schedule = r.rotation_schedule;
      out.rotation_window = r.rotation_window;
    }
    return out;
  }

  private ttl(r: RoleRecord): number {
    const next = this.nextRotation(r);
    return next ? Math.max(0, Math.round((next.getTime() - Date.now()) / 1000)) : 0;
  }

  /** When the role rotates next (ignoring retries). */
  nextRotation(r: RoleRecord): Date | undefined {
    if (r.rotation_schedule) return r.next_vault_rotation ? new Date(r.next_vault_rotation) : undefined;
    const base = Date.parse(r.last_vault_rotation ?? r.created);
    return new Date(base + r.rotation_period * 1000);
  }

  private nextCron(expr: string, after: Date): Date {
    const task = cron.createTask(expr, () => undefined);
    try {
      const runs = task.getNextRuns(5);
      const next = runs.find((d) => d.getTime() > after.getTime());
      if (next) return next;
      return task.getNextRun() ?? new Date(after.getTime() + 60_000);
    } finally {
      void task.destroy();
    }
  }

  async writeRole(name: string, body: Record<string, unknown>): Promise<void> {
    if (!ROLE_NAME.test(name)) throw bad(`invalid role name: ${name}`);
    const known = new Set(['dn', 'username', 'rotation_period', 'rotation_schedule', 'rotation_window', 'password_policy', 'skip_import_rotation']);
    for (const k of Object.keys(body)) if (!known.has(k)) throw bad(`unknown field: ${k}`);
    const cfg = await this.getConfig();
    if (!cfg) throw bad('the engine is not configured: write config first');
    const existing = await this.getRole(name);
    const now = new Date();
    const r: RoleRecord = existing
      ? { ...existing }
      : {
          name,
          dn: '',
          username: '',
          rotation_period: 0,
          rotation_schedule: '',
          rotation_window: 0,
          password_policy: '',
          skip_import_rotation: cfg.skip_static_role_import_rotation,
          password: '',
          last_password: '',
          last_vault_rotation: null,
          next_vault_rotation: null,
          created: now.toISOString(),
          last_error: '',
          last_error_time: null,
          next_retry: null,
          failures: 0,
        };
    const dnIn = body.dn !== undefined ? str(body.dn, 'dn').trim() : undefined;
    const userIn = body.username !== undefined ? str(body.username, 'username').trim() : undefined;
    if (existing) {
      if (userIn !== undefined && userIn !== existing.username) throw bad('cannot update static role username');
      if (dnIn !== undefined && dnIn !== '' && this.dnKey(dnIn) !== this.dnKey(existing.dn)) throw bad('cannot update static role distinguished name');
    } else {
      if (!userIn && !dnIn) throw bad('username is a required field to create a role');
      if (dnIn) {
        if (!this.external(cfg)) {
          try {
            this.dir.normalize(dnIn);
          } catch {
            throw bad(`dn is not a valid DN: ${dnIn}`);
          }
        }
        r.dn = dnIn;
      } else r.dn = await this.findUser(cfg, userIn!);
      r.username = userIn || this.rdnValue(r.dn);
      if (this.external(cfg)) {
        const found = await this.withExternal(cfg, (x) => x.read(r.dn)).catch((err: Error) => {
          throw bad(`cannot read ${r.dn} on ${cfg.url}: ${err.message}`);
        });
        if (!found) throw bad(`entry ${r.dn} does not exist on ${cfg.url}`);
      } else if (!(await this.dir.store.get(this.dir.normalize(r.dn)))) throw bad(`entry ${r.dn} does not exist`);
      // One role per account (Vault #123).
      const ndn = this.dnKey(r.dn);
      for await (const [, v] of this.dir.store.scanMeta(ROLE_PREFIX)) {
        const other = JSON.parse(v) as RoleRecord;
        if (this.dnKey(other.dn) === ndn) throw bad(`${r.dn} is already managed by role "${other.name}"`);
      }
    }
    if (body.skip_import_rotation !== undefined) {
      const v = parseBool(body.skip_import_rotation, 'skip_import_rotation');
      if (existing && v !== existing.skip_import_rotation) throw bad('skip_import_rotation can only be set when the role is created');
      r.skip_import_rotation = v;
    }
    if (body.password_policy !== undefined) r.password_policy = str(body.password_policy, 'password_policy');
    const hasPeriod = body.rotation_period !== undefined && body.rotation_period !== '' && body.rotation_period !== 0;
    const hasSchedule = body.rotation_schedule !== undefined && body.rotation_schedule !== '';
    if (hasPeriod && hasSchedule) throw bad('rotation_period and rotation_schedule are mutually exclusive');
    if (hasPeriod) {
      const p = parseDuration(body.rotation_period, 'rotation_period');
      if (p < 5) throw bad('rotation_period must be 5 seconds or more');
      r.rotation_period = p;
      r.rotation_schedule = '';
      r.rotation_window = 0;
      r.next_vault_rotation = null;
    } else if (hasSchedule) {
      const expr = str(body.rotation_schedule, 'rotation_schedule').trim();
      if (!cron.validate(expr)) throw bad(`invalid rotation_schedule: ${expr}`);
      r.rotation_schedule = expr;
      r.rotation_period = 0;
      r.next_vault_rotation = this.nextCron(expr, now).toISOString();
    }
    if (body.rotation_window !== undefined && body.rotation_window !== '' && body.rotation_window !== 0) {
      if (!r.rotation_schedule) throw bad('rotation_window is only valid with rotation_schedule');
      const w = parseDuration(body.rotation_window, 'rotation_window');
      if (w < 1) throw bad('rotation_window must be positive');
      r.rotation_window = w;
    }
    if (!r.rotation_period && !r.rotation_schedule) throw bad('rotation_period or rotation_schedule is required');

    if (existing) {
      // Behind any rotation under way, onto the freshest record: settings change, the
      // credential state (password, last rotation, errors) is never overwritten with a stale copy.
      await this.serial(name, async () => {
        const cur = await this.getRole(name);
        if (!cur) throw new EngineError(404, `role ${name} was deleted`);
        for (const k of ['rotation_period', 'rotation_schedule', 'rotation_window', 'next_vault_rotation', 'password_policy'] as const) {
          (cur as unknown as Record<string, unknown>)[k] = r[k];
        }
        await this.putMeta(ROLE_PREFIX + name, JSON.stringify(cur));
        this.schedule(cur);
      });
      return;
    }
    await this.putMeta(ROLE_PREFIX + name, JSON.stringify(r));
    if (!r.skip_import_rotation) {
      try {
        await this.rotateRole(name, 'create');
      } catch (err) {
        await this.putMeta(ROLE_PREFIX + name, null);
        throw new EngineError(err instanceof EngineError ? err.status : 500, `failed to rotate the password of the new role: ${(err as Error).message}`);
      }
    }
    const stored = await this.getRole(name);
    if (stored) this.schedule(stored);
  }

  async deleteRole(name: string): Promise<void> {
    // Waits for a rotation under way, then forgets the role (LDAP is not touched, as in Vault).
    await this.serial(name, async () => {
      const t = this.timers.get(name);
      if (t) clearTimeout(t);
      this.timers.delete(name);
      await this.putMeta(ROLE_PREFIX + name, null);
    });
  }

  private rdnValue(dn: string): string {
    const first = this.dir.parse(dn)[0];
    const ava = Array.isArray(first) ? first[0] : first;
    const v = (ava as { value?: unknown } | undefined)?.value;
    return typeof v === 'string' ? v : dn;
  }

  private async findUser(cfg: EngineConfig, username: string): Promise<string> {
    if (!cfg.userdn) throw bad('dn is required (or set userdn in config to search for username)');
    if (this.external(cfg)) {
      const esc = username.replace(/[\\*()\0]/g, (ch) => '\\' + ch.charCodeAt(0).toString(16).padStart(2, '0'));
      const hits = await this.withExternal(cfg, (x) => x.search(cfg.userdn, 'sub', `(${cfg.userattr || 'cn'}=${esc})`, ['1.1']));
      if (hits.length !== 1) throw bad(`expected one entry with ${cfg.userattr}=${username} under ${cfg.userdn}, found ${hits.length}`);
      return hits[0]!.dn;
    }
    const found: SearchEntry[] = [];
    const ctx = {
      session: { id: 0, bindDn: this.dir.config.admin.dn, bindNdn: this.dir.adminNdn, authMethod: 'simple' as const, remoteAddress: 'admin-api', transport: 'tcp' as const, tls: false },
      messageId: 0,
      controls: [],
      signal: new AbortController().signal,
    };
    await this.dir.search(
      ctx,
      {
        base: cfg.userdn,
        scope: 'sub',
        derefAliases: 0,
        sizeLimit: 0,
        timeLimit: 0,
        typesOnly: false,
        filter: { type: 'equality', attribute: cfg.userattr || 'cn', value: Buffer.from(username, 'utf8') },
        attributes: ['1.1'],
      },
      (e) => {
        found.push(e);
      },
    );
    if (found.length !== 1) throw bad(`expected one entry with ${cfg.userattr}=${username} under ${cfg.userdn}, found ${found.length}`);
    return found[0]!.dn;
  }

  // ---------------------------------------------------------------------------------------------
  // rotation

  /** Runs fn after every earlier job of this role: rotations of one role never overlap. */
  private serial<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(name) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.chains.set(name, tail);
    void tail.then(() => {
      if (this.chains.get(name) === tail) this.chains.delete(name);
    });
    return run;
  }

  /** Rotates now (manual or on create); on failure the error is recorded and retried later. */
  rotateRole(name: string, reason: 'manual' | 'create' | 'scheduled'): Promise<RoleRecord> {
    return this.serial(name, () => this.rotateNow(name, reason));
  }

  private async rotateNow(name: string, reason: string, dueCheck = false): Promise<RoleRecord> {
    const role = await this.getRole(name);
    if (!role) throw bad(`role doesn't exist: ${name}`);
    if (dueCheck) {
      const due = role.failures > 0 && role.next_retry ? new Date(role.next_retry) : this.nextRotation(role);
      if (due && due.getTime() > Date.now() + 500) {
        // Someone rotated meanwhile (e.g. a manual rotate-role): nothing is due yet.
        this.schedule(role);
        return role;
      }
      if (role.rotation_schedule && role.rotation_window && due && !role.failures) {
        const late = Date.now() - due.getTime();
        if (late > role.rotation_window * 1000) {
          role.next_vault_rotation = this.nextCron(role.rotation_schedule, new Date()).toISOString();
          await this.putMeta(ROLE_PREFIX + name, JSON.stringify(role));
          this.log.warn(`role ${name}: rotation window missed (${Math.round(late / 1000)} s late); next at ${role.next_vault_rotation}`);
          this.schedule(role);
          return role;
        }
      }
    }
    try {
      const updated = await this.doRotate(role);
      this.log.info(`role ${name}: password rotated (${reason})`);
      this.schedule(updated);
      return updated;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.log.warn(`role ${name}: rotation failed (${reason}): ${msg}`);
      const failed = await this.recordFailure(name, msg);
      if (failed) this.schedule(failed);
      throw err instanceof EngineError ? err : new EngineError(500, msg);
    }
  }

  private async recordFailure(name: string, msg: string): Promise<RoleRecord | undefined> {
    return this.dir.exclusive(async () => {
      const v = await this.dir.store.getMeta(ROLE_PREFIX + name);
      if (!v) return undefined;
      const r = JSON.parse(v) as RoleRecord;
      r.failures += 1;
      r.last_error = msg;
      r.last_error_time = new Date().toISOString();
      const delay = Math.min(RETRY_BASE_MS * 2 ** (r.failures - 1), RETRY_MAX_MS);
      r.next_retry = new Date(Date.now() + delay).toISOString();
      await this.dir.write({ entries: [], meta: [{ key: ROLE_PREFIX + name, value: JSON.stringify(r) }] });
      return r;
    });
  }

  private isClass(attrs: Record<string, string[]>, ...names: string[]): boolean {
    const have = new Set((attrs['objectclass'] ?? []).map((v) => v.toLowerCase()));
    return names.some((n) => have.has(n.toLowerCase()));
  }

  private key(name: string): string {
    return this.dir.schema.attributeType(name)?.key ?? name.toLowerCase();
  }

  /** Whether the entry's object classes allow the attribute (or it is there already). */
  private allows(attrs: Record<string, string[]>, attr: string): boolean {
    const key = this.key(attr);
    if (attrs[key]?.length) return true;
    for (const oc of attrs['objectclass'] ?? []) {
      const c = this.dir.schema.objectClass(oc);
      if (!c) continue;
      for (const t of [...c.allMust, ...c.allMay]) if (t.key === key) return true;
    }
    return false;
  }

  /** The attribute changes one rotation makes to an entry, for the configured schema. */
  private async buildChanges(cfg: EngineConfig, attrs: Record<string, string[]>, password: string, cleartext = false): Promise<Record<string, string[] | null>> {
    const out: Record<string, string[] | null> = {};
    const userPassword = async () => {
      if (!this.allows(attrs, 'userPassword')) {
        // e.g. AsteriskAccount entries: simpleSecurityObject (auxiliary) brings userPassword.
        out[this.key('objectClass')] = [...(attrs['objectclass'] ?? []), 'simpleSecurityObject'];
      }
      out[this.key('userPassword')] = [cleartext ? password : await hashPassword(Buffer.from(password, 'utf8'), this.dir.config.passwordScheme)];
    };
    switch (cfg.schema) {
      case 'openldap':
        await userPassword();
        break;
      case 'ad':
        out[this.key('unicodePwd')] = [Buffer.from(`"${password}"`, 'utf16le').toString('latin1')];
        break;
      case 'racf':
        out[this.key(cfg.credential_type === 'phrase' ? 'racfPassPhrase' : 'racfPassword')] = [password];
        out[this.key('racfAttributes')] = ['noexpired'];
        break;
      case 'asterisk': {
        const account = this.isClass(attrs, 'AsteriskSIPUser', 'AsteriskIAXUser', 'AsteriskAccount');
        const voicemail = this.isClass(attrs, 'AsteriskVoiceMail');
        if (account || !voicemail || attrs['userpassword']?.length) await userPassword();
        if (account) {
          const user = attrs['cn']?.[0] ?? attrs[this.key('AstAccountName')]?.[0] ?? '';
          const digest = createHash('md5').update(`${user}:${cfg.asterisk_realm}:${password}`, 'utf8').digest('hex');
          if (this.isClass(attrs, 'AsteriskSIPUser') || this.allows(attrs, 'AstAccountRealmedPassword')) out[this.key('AstAccountRealmedPassword')] = [`{md5}${digest}`];
          if (this.isClass(attrs, 'AsteriskIAXUser') || attrs[this.key('AstMD5secret')]?.length) out[this.key('AstMD5secret')] = [digest];
          const secretKey = this.key('AstAccountSecret');
          if (cfg.asterisk_cleartext_secret) out[secretKey] = [password];
          else if (attrs[secretKey]?.length) out[secretKey] = null; // a stale cleartext secret must not survive
        }
        if (voicemail) out[this.key('AstVoicemailPassword')] = [password];
        break;
      }
    }
    return out;
  }

  private isVoicemailOnly(cfg: EngineConfig, attrs: Record<string, string[]>): boolean {
    return cfg.schema === 'asterisk' && this.isClass(attrs, 'AsteriskVoiceMail');
  }

  private async doRotate(role: RoleRecord): Promise<RoleRecord> {
    const cfg = await this.getConfig();
    if (!cfg) throw new EngineError(500, 'the engine is not configured (config was deleted)');
    if (this.external(cfg)) return this.doRotateExternal(cfg, role);
    await this.verifyBind(cfg).catch((err: Error) => {
      throw new EngineError(500, `cannot bind as ${cfg.binddn}: ${err.message}`);
    });
    const ndn = this.dir.normalize(role.dn);
    const before = await this.dir.store.get(ndn);
    if (!before) throw new EngineError(500, `entry ${role.dn} does not exist (it was deleted or renamed)`);
    const password = await this.generatePassword(cfg, role.password_policy, this.isVoicemailOnly(cfg, before.attrs));
    const changes = await this.buildChanges(cfg, before.attrs, password);
    this.dir.access.requireWrite(this.bindSession(cfg), role.dn, Object.keys(changes));
    return this.dir.exclusive(async () => {
      const old = await this.dir.store.get(ndn);
      if (!old) throw new EngineError(500, `entry ${role.dn} does not exist (it was deleted or renamed)`);
      const cur = await this.dir.store.getMeta(ROLE_PREFIX + role.name);
      if (!cur) throw new EngineError(404, `role ${role.name} was deleted`);
      const r = JSON.parse(cur) as RoleRecord;
      const attrs = withChanges(old.attrs, changes);
      this.dir.stampModify(attrs, cfg.binddn);
      this.markRotated(r, password);
      await this.dir.write({
        entries: [{ ndn, old, new: { dn: old.dn, attrs } }],
        meta: [{ key: ROLE_PREFIX + r.name, value: JSON.stringify(r) }],
      });
      return r;
    });
  }

  /** A successful rotation's bookkeeping on the role record: the new and previous passwords, when, no error. */
  private markRotated(r: RoleRecord, password: string): void {
    const now = new Date();
    r.last_password = r.password;
    r.password = password;
    r.last_vault_rotation = now.toISOString();
    if (r.rotation_schedule) r.next_vault_rotation = this.nextCron(r.rotation_schedule, now).toISOString();
    r.failures = 0;
    r.last_error = '';
    r.last_error_time = null;
    r.next_retry = null;
  }

  /**
   * External server: modify there first, then store the role. Not one transaction (two
   * systems); if storing failed after the modify, the error is recorded and the next rotation
   * sets a fresh password anyway.
   */
  private async doRotateExternal(cfg: EngineConfig, role: RoleRecord): Promise<RoleRecord> {
    const password = await this.withExternal(cfg, async (x) => {
      const entry = await x.read(role.dn);
      if (!entry) throw new EngineError(500, `entry ${role.dn} does not exist on ${cfg.url} (it was deleted or renamed)`);
      const pw = await this.generatePassword(cfg, role.password_policy, this.isVoicemailOnly(cfg, entry.attrs));
      const changes = await this.buildChanges(cfg, entry.attrs, pw, true);
      await x.modify(role.dn, changes);
      return pw;
    });
    return this.dir.exclusive(async () => {
      const cur = await this.dir.store.getMeta(ROLE_PREFIX + role.name);
      if (!cur) throw new EngineError(404, `role ${role.name} was deleted`);
      const r = JSON.parse(cur) as RoleRecord;
      this.markRotated(r, password);
      await this.dir.write({ entries: [], meta: [{ key: ROLE_PREFIX + r.name, value: JSON.stringify(r) }] });
      return r;
    });
  }

  /** Arms the role's timer for its next rotation (or retry); overdue means at once. */
  schedule(role: RoleRecord): void {
    if (this.stopped) return;
    const old = this.timers.get(role.name);
    if (old) clearTimeout(old);
    let due: Date | undefined;
    if (role.failures > 0 && role.next_retry) due = new Date(role.next_retry);
    else if (role.skip_import_rotation && !role.last_vault_rotation && !role.rotation_schedule) due = this.nextRotation(role);
    else due = this.nextRotation(role);
    if (!due) return;
    const delay = Math.max(0, due.getTime() - Date.now());
    const timer = setTimeout(() => {
      this.timers.delete(role.name);
      if (delay > MAX_TIMER - 1) {
        void this.getRole(role.name).then((r) => r && this.schedule(r));
        return;
      }
      this.serial(role.name, () => this.rotateNow(role.name, 'scheduled', true)).catch(() => undefined);
    }, Math.min(delay, MAX_TIMER - 1));
    timer.unref();
    this.timers.set(role.name, timer);
  }

  // ---------------------------------------------------------------------------------------------
  // root rotation

  rotateRoot(): Promise<void> {
    const run = this.rootChain.then(() => this.doRotateRoot());
    this.rootChain = run.catch(() => undefined);
    return run;
  }

  private async doRotateRoot(): Promise<void> {
    const cfg = await this.getConfig();
    if (!cfg) throw bad('the engine is not configured: write config first');
    if (this.external(cfg)) {
      const password = await this.generatePassword(cfg, '', false);
      await this.withExternal(cfg, async (x) => {
        const entry = await x.read(cfg.binddn);
        if (!entry) throw new EngineError(500, `binddn ${cfg.binddn} is not readable on ${cfg.url}`);
        await x.modify(cfg.binddn, await this.buildChanges(cfg, entry.attrs, password, true));
      });
      await this.dir.exclusive(async () => {
        const curText = await this.dir.store.getMeta(CONFIG_KEY);
        if (!curText) throw bad('the engine is not configured');
        const cur = JSON.parse(curText) as EngineConfig;
        cur.last_bind_password = cur.bindpass;
        cur.bindpass = password;
        cur.last_bind_password_rotation = new Date().toISOString();
        await this.dir.write({ entries: [], meta: [{ key: CONFIG_KEY, value: JSON.stringify(cur) }] });
      });
      this.log.info(`rotated the password of binddn ${cfg.binddn} on ${cfg.url}`);
      return;
    }
    const ndn = this.dir.normalize(cfg.binddn);
    if (ndn === this.dir.adminNdn) {
      throw bad(
        `binddn ${cfg.binddn} is the server administrator (admin.dn); its password is set in config.yaml or ASTLDAP_ADMIN_PASSWORD and has no entry to rotate. Use a directory account as binddn to rotate it here`,
      );
    }
    await this.verifyBind(cfg).catch((err: Error) => {
      throw new EngineError(500, `cannot bind as ${cfg.binddn}: ${err.message}`);
    });
    const before = await this.dir.store.get(ndn);
    if (!before) throw new EngineError(500, `binddn ${cfg.binddn} does not exist`);
    const password = await this.generatePassword(cfg, '', false);
    // The account changes its own password: allowed like a self Password Modify (RFC 3062)
    // request, whatever the access rules say about writing userPassword.
    const changes = await this.buildChanges(cfg, before.attrs, password);
    await this.dir.exclusive(async () => {
      const old = await this.dir.store.get(ndn);
      if (!old) throw new EngineError(500, `binddn ${cfg.binddn} does not exist`);
      const curText = await this.dir.store.getMeta(CONFIG_KEY);
      if (!curText) throw bad('the engine is not configured');
      const cur = JSON.parse(curText) as EngineConfig;
      const attrs = withChanges(old.attrs, changes);
      this.dir.stampModify(attrs, cfg.binddn);
      cur.last_bind_password = cur.bindpass;
      cur.bindpass = password;
      cur.last_bind_password_rotation = new Date().toISOString();
      await this.dir.write({ entries: [{ ndn, old, new: { dn: old.dn, attrs } }], meta: [{ key: CONFIG_KEY, value: JSON.stringify(cur) }] });
    });
    this.log.info(`rotated the password of binddn ${cfg.binddn}`);
  }
}

/** A copy of an entry's attributes with password changes applied (null removes an attribute). */
function withChanges(attrs: Record<string, string[]>, changes: Record<string, string[] | null>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(attrs)) out[k] = [...v];
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

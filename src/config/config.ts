// Server configuration: config.yaml and command-line overrides merged, the environment's
// overrides applied, then parsed by the one declaration of the shape (schema.ts: types,
// defaults, checks) into a fully resolved object (absolute paths, no optionals); the defaults
// that follow from other settings (paths under dataDir, access rules for the suffix) last.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { configSchema, type FileConfig } from './schema.js';

export { packageRoot, type AccessLevel, type AccessRule, type IndexKind, type LogLevel, type PasswordScheme } from './schema.js';
import type { AccessRule } from './schema.js';

/** The resolved configuration: config.yaml's shape (schema.ts) and what the environment adds. */
export type Config = FileConfig & {
  /**
   * What the process environment adds when the configuration loads (never read from a file,
   * never logged): the seal key, and for the CLI's admin client the root token and Vault's own
   * VAULT_ADDR / VAULT_TOKEN. Nothing else in src/ reads process.env.
   */
  environment: ConfigEnvironment;
};

export interface ConfigEnvironment {
  /** ASTLDAP_SEAL_KEY: the seal key(s), a comma list (wins over adminApi.sealKeyFile). */
  sealKey?: string;
  /** ASTLDAP_ROOT_TOKEN (also applied to adminApi.rootToken unless a caller set that). */
  rootToken?: string;
  /** VAULT_ADDR: the admin API the CLI's client talks to (else adminApi.listen). */
  vaultAddr?: string;
  /** VAULT_TOKEN: the CLI client's token when ASTLDAP_ROOT_TOKEN is unset. */
  vaultToken?: string;
}

export type AdminApiConfig = Config['adminApi'];
export type AdminApiLimits = AdminApiConfig['limits'];
export type ConsoleConfig = Config['console'];
export type ReplicationConfig = Config['replication'];
export type FilterLimits = Config['limits']['filter'];
export type PasswordPolicyConfig = Config['passwordPolicy'];
export type BindThrottleConfig = Config['bindThrottle'];

/** The Asterisk service identity of the seed. */
export function asteriskIdentity(suffix: string): string {
  return `cn=asterisk,ou=services,${suffix}`;
}

/** The attributes the Asterisk realtime driver writes on (un)registration and voicemail changes. */
export const ASTERISK_WRITABLE = [
  'AstAccountIPAddress',
  'AstAccountPort',
  'AstAccountExpirationTimestamp',
  'AstAccountDefaultUser',
  'AstAccountUserAgent',
  'AstAccountLastQualifyMilliseconds',
  'AstAccountFullContact',
  'AstAccountRegistrationServer',
  'AstVoicemailPassword',
  // Queue member state that app_queue writes back (the project's extension schema).
  'AstQueueMemberPaused',
  'AstQueueMemberReasonPaused',
  'AstQueueMemberRinginuse',
];

/**
 * The group whose members may set (and read) other entries' userPassword: the account a
 * password-rotation engine binds as belongs here (data/examples/vault.ldif makes both).
 */
export function passwordManagers(suffix: string): string {
  return `cn=password-managers,ou=services,${suffix}`;
}

/**
 * Safe and useful defaults: anonymous clients see the root DSE and the subschema only (those are
 * always readable); nobody but administrators and members of the password-managers group reads
 * or writes userPassword (its owner may bind with it) or reads pwdHistory (old password hashes);
 * the Asterisk service identity reads the realtime subtrees and writes only registration
 * attributes; other authenticated users read people and services and their own entry.
 */
export function defaultAccess(suffix: string): AccessRule[] {
  const ast = `dn:${asteriskIdentity(suffix)}`;
  const realtime = ['sip', 'iax', 'extensions', 'config', 'voicemail', 'queues', 'pjsip'].map((ou) => `subtree:ou=${ou},${suffix}`);
  return [
    {
      to: '*',
      attrs: ['userPassword'],
      by: [
        { who: 'self', level: 'auth' },
        { who: `group:${passwordManagers(suffix)}`, level: 'write' },
      ],
    },
    // The password history holds old password hashes: as guarded as userPassword (read only).
    { to: '*', attrs: ['pwdHistory'], by: [{ who: `group:${passwordManagers(suffix)}`, level: 'read' }] },
    { to: realtime, attrs: ASTERISK_WRITABLE, by: [{ who: ast, level: 'write' }] },
    { to: realtime, by: [{ who: ast, level: 'read' }] },
    {
      to: `subtree:${suffix}`,
      by: [
        { who: 'self', level: 'read' },
        { who: ast, level: 'none' },
        { who: 'users', level: 'read' },
      ],
    },
  ];
}

export type ConfigOverrides = DeepPartial<Config>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** The defaults: an empty file, parsed. */
export function defaultConfig(): Config {
  return { ...configSchema.parse({}), environment: {} };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep-merges plain objects; arrays and scalars from `over` replace those in `base`. */
function merge<T>(base: T, over: unknown): T {
  if (!isObject(over)) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const cur = out[k];
    out[k] = isObject(cur) && isObject(v) && k !== 'indexes' ? merge(cur, v) : v;
  }
  return out as T;
}

/** An invalid configuration: one message per problem, each starting with its dotted key. */
export class ConfigError extends Error {
  override name = 'ConfigError';

  constructor(readonly problems: readonly string[]) {
    super(problems.join('; '));
  }
}

export interface LoadConfigOptions {
  /** Path of a YAML config file; relative paths inside it resolve against its directory. */
  file?: string;
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  let fileData: Record<string, unknown> = {};
  let input: Record<string, unknown> = {};
  if (opts.file) {
    const file = path.resolve(opts.file);
    let parsed: unknown;
    try {
      parsed = YAML.parse(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`]);
    }
    if (!isObject(parsed)) throw new ConfigError([`${file}: the top level must be a mapping`]);
    fileData = parsed;
    input = merge(input, resolvePaths(parsed, path.dirname(file)));
  }
  if (opts.overrides) input = merge(input, resolvePaths(opts.overrides as Record<string, unknown>, process.cwd()));
  // The environment overrides the file, never what a caller (embedder, command line) set explicitly.
  const env = opts.env ?? process.env;
  const setIn = (section: string, key: string, value: string): void => {
    const cur = input[section] ?? {};
    if (isObject(cur)) input[section] = { ...cur, [key]: value };
  };
  if (env.ASTLDAP_ADMIN_PASSWORD && !has(opts.overrides, ['admin', 'password'])) setIn('admin', 'password', env.ASTLDAP_ADMIN_PASSWORD);
  if (env.ASTLDAP_ROOT_TOKEN && !has(opts.overrides, ['adminApi', 'rootToken'])) setIn('adminApi', 'rootToken', env.ASTLDAP_ROOT_TOKEN);
  delete input.environment;
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.map((i) => i.message));
  const cfg: Config = { ...result.data, environment: environmentOf(env) };
  /** Did the config file or the overrides set this (nested) key? */
  const given = (...keys: string[]) => has(opts.overrides, keys) || has(fileData, keys);
  // Defaults that follow from other settings: a data directory given without a db path puts
  // the db (and the ldapi socket, the root token) inside it; the access rules and the
  // unlimited DNs follow the suffix.
  const dataGiven = given('dataDir');
  if (dataGiven && !given('dbPath')) cfg.dbPath = path.join(cfg.dataDir, 'db');
  if (!given('access')) cfg.access = defaultAccess(cfg.suffix);
  if (!given('limits', 'unlimited')) cfg.limits = { ...cfg.limits, unlimited: [asteriskIdentity(cfg.suffix)] };
  if (dataGiven && !given('ldapi', 'path')) cfg.ldapi = { ...cfg.ldapi, path: path.join(cfg.dataDir, 'ldapi') };
  if (dataGiven && !given('adminApi', 'tokenFile')) cfg.adminApi = { ...cfg.adminApi, tokenFile: path.join(cfg.dataDir, 'root-token') };
  // A bare ldapi:// means the configured socket path.
  cfg.listen = cfg.listen.map((u) => (/^ldapi:\/\/\/?$/i.test(u.trim()) ? `ldapi://${encodeURIComponent(cfg.ldapi.path)}` : u));
  return cfg;
}

/** The variables the configuration takes from the environment (empty ones count as unset). */
function environmentOf(env: NodeJS.ProcessEnv): ConfigEnvironment {
  const out: ConfigEnvironment = {};
  if (env.ASTLDAP_SEAL_KEY) out.sealKey = env.ASTLDAP_SEAL_KEY;
  if (env.ASTLDAP_ROOT_TOKEN) out.rootToken = env.ASTLDAP_ROOT_TOKEN;
  if (env.VAULT_ADDR) out.vaultAddr = env.VAULT_ADDR;
  if (env.VAULT_TOKEN) out.vaultToken = env.VAULT_TOKEN;
  return out;
}

function has(obj: unknown, keys: string[]): boolean {
  let cur: unknown = obj;
  for (const k of keys) {
    if (!isObject(cur)) return false;
    cur = cur[k];
  }
  return cur !== undefined;
}

function resolvePaths(raw: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out = { ...raw };
  for (const k of ['dataDir', 'dbPath', 'seed'] as const) {
    if (typeof out[k] === 'string' && out[k] !== '') out[k] = path.resolve(dir, out[k] as string);
  }
  if (isObject(out.tls)) {
    const t: Record<string, unknown> = { ...out.tls };
    for (const k of ['cert', 'key', 'ca']) if (typeof t[k] === 'string' && t[k] !== '') t[k] = path.resolve(dir, t[k] as string);
    out.tls = t;
  }
  if (isObject(out.ldapi) && typeof out.ldapi.path === 'string') {
    out.ldapi = { ...out.ldapi, path: path.resolve(dir, out.ldapi.path) };
  }
  if (isObject(out.adminApi)) {
    const a: Record<string, unknown> = { ...out.adminApi };
    if (typeof a.tokenFile === 'string' && a.tokenFile !== '') a.tokenFile = path.resolve(dir, a.tokenFile);
    if (isObject(a.tls)) {
      const t: Record<string, unknown> = { ...a.tls };
      for (const k of ['cert', 'key']) if (typeof t[k] === 'string' && t[k] !== '') t[k] = path.resolve(dir, t[k] as string);
      a.tls = t;
    }
    out.adminApi = a;
  }
  if (isObject(out.schema) && typeof out.schema.dir === 'string') {
    out.schema = { ...out.schema, dir: path.resolve(dir, out.schema.dir) };
  }
  return out;
}

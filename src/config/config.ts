// Server configuration: the defaults, config.yaml, environment overrides and command-line
// overrides merged into one validated, fully resolved object (absolute paths, no optionals).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

/** The package root (where schema/ and data/ ship), whatever the working directory is. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export type IndexKind = 'eq' | 'pres' | 'sub';

export interface Config {
  suffix: string;
  admin: { dn: string; password: string };
  listen: string[];
  /**
   * The ldapi:// (Unix socket) listener: a bare `ldapi://` in listen uses `path` (default
   * <dataDir>/ldapi). The socket is created mode 0600: only the server's user (and root) can
   * connect, which is what SASL EXTERNAL then authenticates.
   */
  ldapi: { path: string; identity?: string };
  /**
   * TLS for ldaps:// and StartTLS. Without cert and key, a self-signed development pair is
   * created under <dataDir>/tls on first use. With ca, clients may present certificates signed
   * by it (SASL EXTERNAL then binds as the certificate's subject DN).
   */
  tls: { cert: string | null; key: string | null; ca: string | null; requireForBind: boolean };
  /** Directory for the database and other run-time files. */
  dataDir: string;
  /** LevelDB directory (default <dataDir>/db); ignored when memory is true. */
  dbPath: string;
  /** Keep the database in memory only (tests, embedding). */
  memory: boolean;
  /** LDIF loaded when the database is empty at start; null for none. */
  seed: string | null;
  schema: { dir: string; files: string[] };
  /**
   * cacheMiB: MiB of parsed entries and posting lists kept in memory in front of LevelDB (exact
   * across writes; 0 = none); cacheEntries: an optional cap on the entries besides (null = none).
   */
  store: { sync: boolean; cacheMiB: number; cacheEntries: number | null; indexes: Record<string, IndexKind[]> };
  limits: {
    /** Entries per search for ordinary identities; 0 = unlimited. */
    sizeLimit: number;
    /** Seconds per search for ordinary identities; 0 = unlimited. */
    timeLimit: number;
    /** Largest accepted request PDU in bytes. */
    maxPduSize: number;
    /** Seconds of inactivity before an idle bound connection is closed; 0 = never (slapd's idletimeout). */
    idleTimeout: number;
    /** Seconds an unauthenticated (never or no longer bound) connection may sit idle; 0 = never. */
    anonymousIdleTimeout: number;
    /** Seconds a started PDU may take to arrive completely (a half-sent request), and a TLS handshake; 0 = forever (handshakes: 120 s). */
    pduTimeout: number;
    /** Seconds a response may wait for a client that does not read before the connection is dropped; 0 = forever. */
    writeTimeout: number;
    /** Most simultaneous connections over all URLs; 0 = unlimited. */
    maxConnections: number;
    /** Most simultaneous connections from one IP address (loopback included, not ldapi); 0 = unlimited. */
    maxConnectionsPerAddress: number;
    /** Of maxConnections, how many unauthenticated TCP/TLS connections may never take (kept for ldapi and bound sessions). */
    reservedConnections: number;
    /** TLS handshakes (ldaps:// accepts and StartTLS) one address may start per second (twice that at once); 0 = unlimited. */
    tlsHandshakeRate: number;
    /** Ceilings on a search filter for ordinary identities (the Asterisk service and unlimited DNs included). */
    filter: FilterLimits;
    /** Ceilings on a search filter for administrators: high, but finite. */
    adminFilter: FilterLimits;
    /** DNs with no size or time limit besides the administrator (e.g. the Asterisk service). */
    unlimited: string[];
    /**
     * Largest stored entry in bytes (DN, names and values), for every writer: add, modify,
     * modrdn, import, rotation. Larger is refused with constraintViolation; 0 = no limit.
     */
    maxEntrySize: number;
    /** Entries one search may examine, ordinary identities (slapd's size.unchecked); 0 = no limit. */
    examineLimit: number;
    /**
     * Bytes a persisting search (a refreshAndPersist sync consumer, a persistent search) may have
     * waiting for its client: changes queued for it plus its connection's unsent output. Past it
     * the search is ended (a sync consumer with e-syncRefreshRequired) and the queue dropped; 0 = no limit.
     */
    maxConsumerBacklog: number;
    /** RFC 5805 transactions one connection may have open at once; 0 = transactions off (not advertised). */
    maxTxnsPerConnection: number;
    /** Updates one transaction may hold (each is checked when it arrives, all applied at commit); 0 = no limit. */
    maxTxnOps: number;
    /** Bytes one transaction may hold: its updates as sent (DNs, names, values) and the entries they write; 0 = no limit. */
    maxTxnBytes: number;
    /** Seconds a transaction may stay open before it is discarded; 0 = until its connection ends. */
    txnTimeout: number;
    /** The same ceiling for administrators and the `unlimited` DNs; 0 = no limit. */
    privilegedExamineLimit: number;
  };
  /**
   * Access rules, first match wins (see AccessPolicy). Without an `access` setting the defaults
   * of defaultAccess() for the configured suffix apply.
   */
  access: AccessRule[];
  /** Delays after failed simple binds (see src/directory/bind-throttle.ts). */
  bindThrottle: BindThrottleConfig;
  /** How cleartext userPassword values are hashed before they are stored. */
  passwordScheme: PasswordScheme;
  /** Password policy as slapd's ppolicy overlay (src/directory/ppolicy.ts). */
  passwordPolicy: PasswordPolicyConfig;
  /**
   * level: what the server logs. access: one line per LDAP operation (connection, operation, DN,
   * scope, filter with password-like values redacted, result code, entries, milliseconds), like
   * slapd's `stats` level, logged at info.
   */
  log: { level: LogLevel; access: boolean };
  /** The Vault-compatible HTTP admin API (OpenLDAP secrets engine; see src/admin/). */
  adminApi: AdminApiConfig;
  /** Syncrepl provider (RFC 4533; docs/replication.md). */
  replication: ReplicationConfig;
  /** The web console at /ui/ on the admin listener (src/console/). */
  console: ConsoleConfig;
}

export interface ConsoleConfig {
  /** Serve the console at /ui/ when the admin API runs. */
  enabled: boolean;
  /** Seconds without a request after which a console session ends. */
  idleTimeout: number;
  /** Seconds after sign-in after which a console session ends, however busy. */
  maxLifetime: number;
}

export interface ReplicationConfig {
  /**
   * DNs that consumers bind as: read access to every entry and attribute of the naming context
   * (userPassword and the Asterisk secrets included) and no size or time limit.
   */
  identities: string[];
  /** Changes kept in the session log for delta refreshes; older cookies get a present phase. */
  sessionLog: number;
}

/** The largest search filter an identity may send: items (AND/OR/NOT count), nesting, assertion bytes. */
export interface FilterLimits {
  terms: number;
  depth: number;
  bytes: number;
}

export interface PasswordPolicyConfig {
  /**
   * The DN of the pwdPolicy entry for entries without a pwdPolicySubentry (slapd's
   * ppolicy_default); null or an absent entry: no policy for them.
   */
  default: string | null;
  /** Tell a client that asked for the control that its account is locked (ppolicy_use_lockout). */
  useLockout: boolean;
}

export interface BindThrottleConfig {
  /** Failures for a DN from one address (or from one remote address) before delays start. */
  freeAttempts: number;
  /** The first delay; each further failure doubles it, up to maxDelayMs. */
  delayMs: number;
  maxDelayMs: number;
  /**
   * The most that failures from other addresses may delay a bind for the same DN: an attacker
   * hammering the administrator's DN slows itself fully but everyone else by at most this.
   */
  sharedMaxDelayMs: number;
  /** Seconds after the last failure when a counter is forgotten. */
  forgetSeconds: number;
  /** Most counters kept; least recently used ones are evicted first, repeat offenders last. */
  tableSize: number;
}

export interface AdminApiConfig {
  /** Whether `astldap serve` starts it (embedders pass StartOptions.adminApi). */
  enabled: boolean;
  /** http://HOST:PORT or https://HOST:PORT (port 0 picks a free one). */
  listen: string;
  /** The engine's mount path: requests go to /v1/<mount>/... */
  mount: string;
  /** PEM files for https:// (without them a self-signed pair from <dataDir>/tls is used). */
  tls: { cert: string | null; key: string | null };
  /** The root token; null reads tokenFile, creating it on first start. Env ASTLDAP_ROOT_TOKEN wins. */
  rootToken: string | null;
  /** Where a generated root token is kept (mode 0600); default <dataDir>/root-token. */
  tokenFile: string;
  /** Further accepted tokens (all with full access). */
  tokens: string[];
  /** The SIP realm of AstAccountRealmedPassword digests the `asterisk` schema writes. */
  asteriskRealm: string;
  /**
   * The key file sealing the engine's secrets (mode 0600, made on first start; default
   * seal-key beside the db directory, outside it). Env ASTLDAP_SEAL_KEY wins.
   */
  sealKeyFile: string | null;
  /** The audit log of admin API requests (JSON lines, mode 0600); null: none. */
  auditLog: string | null;
  /** The admin listener's own bounds, apart from LDAP's (limits.*). */
  limits: AdminApiLimits;
}

export interface AdminApiLimits {
  /** Most simultaneous admin connections (more are refused with 503); lowered at start to fit the open-files limit. */
  maxConnections: number;
  /** Most simultaneous admin connections from one IP address (loopback included). */
  maxConnectionsPerAddress: number;
  /** Seconds a connection may sit with no request before it is closed; 0 = never. */
  idleTimeout: number;
  /** Seconds from a request's first byte to the end of its header (and for an https handshake); 0 = forever. */
  headTimeout: number;
  /** Seconds from the end of a request's header to the end of its body; 0 = forever. */
  bodyTimeout: number;
  /** Largest request line and header fields together, in bytes. */
  maxHeadSize: number;
  /** Largest request body, in bytes (Vault's routes take small JSON). */
  maxBody: number;
  /** Largest body of a dynamic role write (role/<name>: its creation, deletion and rollback LDIF). */
  maxLdifBody: number;
}

export type AccessLevel = 'none' | 'auth' | 'compare' | 'search' | 'read' | 'write';

export interface AccessRule {
  /** '*', 'dn:DN', 'subtree:DN' or 'children:DN'; or a list of them. */
  to: string | string[];
  /** Attribute names ('entry' for the entry itself); all when left out. */
  attrs?: string[];
  /** anyone, anonymous, users, self, admins, dn:DN, subtree:DN or group:DN, with a level. */
  by: Array<{ who: string; level: AccessLevel }>;
}

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

export type PasswordScheme = 'SSHA' | 'SSHA256' | 'SSHA512' | 'PBKDF2-SHA256' | 'PBKDF2-SHA512' | 'ARGON2';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

export type ConfigOverrides = DeepPartial<Config>;
type DeepPartial<T> = { [K in keyof T]?: T[K] extends Array<unknown> ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** The schema files config.yaml names (ppolicy: the password policy's, as slapd's overlay builds in). */
const DEFAULT_SCHEMA_FILES = ['core', 'cosine', 'inetorgperson', 'nis', 'ppolicy', 'asterisk', 'astldap-asterisk'];

const DEFAULT_ADMIN_LIMITS: AdminApiLimits = {
  maxConnections: 256,
  maxConnectionsPerAddress: 64,
  idleTimeout: 60,
  headTimeout: 10,
  bodyTimeout: 30,
  maxHeadSize: 64 * 1024,
  maxBody: 256 * 1024,
  maxLdifBody: 4 * 1024 * 1024,
};

/** RFC 5805 transactions: one per connection as slapd, bounded in updates, bytes and seconds. */
const DEFAULT_TXN_LIMITS = { maxTxnsPerConnection: 1, maxTxnOps: 100_000, maxTxnBytes: 64 * 1024 * 1024, txnTimeout: 600 };

export function defaultConfig(): Config {
  const dataDir = path.join(packageRoot, 'data');
  return {
    suffix: 'dc=example,dc=domain',
    admin: { dn: 'cn=admin,dc=example,dc=domain', password: 'secret' },
    listen: ['ldap://127.0.0.1:1389', 'ldaps://127.0.0.1:1636', 'ldapi://'],
    ldapi: { path: path.join(dataDir, 'ldapi') },
    tls: { cert: null, key: null, ca: null, requireForBind: false },
    dataDir,
    dbPath: path.join(dataDir, 'db'),
    memory: false,
    seed: path.join(dataDir, 'seed.ldif'),
    schema: { dir: path.join(packageRoot, 'schema'), files: [...DEFAULT_SCHEMA_FILES] },
    store: {
      sync: true,
      cacheMiB: 32,
      cacheEntries: null,
      indexes: {
        objectClass: ['eq', 'pres'],
        cn: ['eq', 'sub'],
        uid: ['eq', 'sub'],
        mail: ['eq', 'sub'],
        member: ['eq'],
        uniqueMember: ['eq'],
        AstExtension: ['eq', 'sub'],
        AstContext: ['eq'],
        AstAccountName: ['eq'],
        AstAccountHost: ['eq'],
        AstAccountPort: ['eq'],
        AstAccountIPAddress: ['eq'],
        AstPriority: ['eq'],
        AstQueueMemberQueueName: ['eq'],
        AstQueueMemberInterface: ['eq'],
        AstPjsipIdentifyMatch: ['eq'],
        AstConfigFilename: ['eq'],
        AstConfigCategory: ['eq'],
        AstConfigCommented: ['eq'],
        AstVoicemailMailbox: ['eq'],
        AstVoicemailContext: ['eq'],
      },
    },
    limits: {
      sizeLimit: 500,
      timeLimit: 3600,
      maxPduSize: 4 * 1024 * 1024,
      idleTimeout: 0,
      anonymousIdleTimeout: 120,
      pduTimeout: 30,
      writeTimeout: 60,
      maxConnections: 4096,
      maxConnectionsPerAddress: 512,
      reservedConnections: 256,
      tlsHandshakeRate: 50,
      filter: { terms: 512, depth: 16, bytes: 64 * 1024 },
      adminFilter: { terms: 50_000, depth: 64, bytes: 4 * 1024 * 1024 },
      unlimited: [],
      maxEntrySize: 1024 * 1024,
      examineLimit: 100_000,
      privilegedExamineLimit: 10_000_000,
      maxConsumerBacklog: 4 * 1024 * 1024,
      ...DEFAULT_TXN_LIMITS,
    },
    bindThrottle: { freeAttempts: 3, delayMs: 100, maxDelayMs: 5000, sharedMaxDelayMs: 1000, forgetSeconds: 900, tableSize: 100_000 },
    access: [],
    passwordScheme: 'PBKDF2-SHA512',
    passwordPolicy: { default: null, useLockout: true },
    log: { level: 'info', access: true },
    adminApi: {
      enabled: true,
      listen: 'http://127.0.0.1:8200',
      mount: 'openldap',
      tls: { cert: null, key: null },
      rootToken: null,
      tokenFile: path.join(dataDir, 'root-token'),
      tokens: [],
      asteriskRealm: 'asterisk',
      sealKeyFile: null,
      auditLog: null,
      limits: { ...DEFAULT_ADMIN_LIMITS },
    },
    replication: { identities: [], sessionLog: 10000 },
    console: { enabled: true, idleTimeout: 1800, maxLifetime: 43200 },
  };
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

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface LoadConfigOptions {
  /** Path of a YAML config file; relative paths inside it resolve against its directory. */
  file?: string;
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
}

export function loadConfig(opts: LoadConfigOptions = {}): Config {
  let cfg = defaultConfig();
  let fileData: Record<string, unknown> = {};
  if (opts.file) {
    const file = path.resolve(opts.file);
    let parsed: unknown;
    try {
      parsed = YAML.parse(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
    }
    if (!isObject(parsed)) throw new ConfigError(`${file}: the top level must be a mapping`);
    fileData = parsed;
    cfg = merge(cfg, resolvePaths(parsed, path.dirname(file)));
  }
  if (opts.overrides) cfg = merge(cfg, resolvePaths(opts.overrides as Record<string, unknown>, process.cwd()));
  // The environment overrides the file, never what a caller (embedder, command line) set explicitly.
  const env = opts.env ?? process.env;
  if (env.ASTLDAP_ADMIN_PASSWORD && !has(opts.overrides, ['admin', 'password'])) {
    cfg.admin = { ...cfg.admin, password: env.ASTLDAP_ADMIN_PASSWORD };
  }
  if (env.ASTLDAP_ROOT_TOKEN && !has(opts.overrides, ['adminApi', 'rootToken'])) {
    cfg.adminApi = { ...cfg.adminApi, rootToken: env.ASTLDAP_ROOT_TOKEN };
  }
  /** Did the config file or the overrides set this (nested) key? */
  const given = (...keys: string[]) => has(opts.overrides, keys) || has(fileData, keys);
  // A data directory given without a db path puts the db inside it.
  const dataGiven = given('dataDir');
  if (dataGiven && !given('dbPath')) cfg.dbPath = path.join(cfg.dataDir, 'db');
  if (!given('access')) cfg.access = defaultAccess(cfg.suffix);
  if (!given('limits', 'unlimited')) cfg.limits = { ...cfg.limits, unlimited: [asteriskIdentity(cfg.suffix)] };
  if (dataGiven && !given('ldapi', 'path')) cfg.ldapi = { ...cfg.ldapi, path: path.join(cfg.dataDir, 'ldapi') };
  if (dataGiven && !given('adminApi', 'tokenFile')) cfg.adminApi = { ...cfg.adminApi, tokenFile: path.join(cfg.dataDir, 'root-token') };
  // A bare ldapi:// means the configured socket path.
  cfg.listen = cfg.listen.map((u) => (/^ldapi:\/\/\/?$/i.test(u.trim()) ? `ldapi://${encodeURIComponent(cfg.ldapi.path)}` : u));
  validate(cfg);
  validatePasswordPolicy(cfg.passwordPolicy);
  validateConsole(cfg.console);
  return cfg;
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

function validatePasswordPolicy(pp: PasswordPolicyConfig): void {
  const fail = (m: string): never => {
    throw new ConfigError(m);
  };
  if (!isObject(pp)) fail('passwordPolicy must be a mapping');
  if (pp.default !== null && (typeof pp.default !== 'string' || pp.default === '')) fail('passwordPolicy.default must be a DN or null');
  if (typeof pp.useLockout !== 'boolean') fail('passwordPolicy.useLockout must be true or false');
}

function validate(cfg: Config): void {
  const fail = (m: string): never => {
    throw new ConfigError(m);
  };
  if (typeof cfg.suffix !== 'string' || !cfg.suffix.includes('=')) fail(`suffix must be a DN, got ${String(cfg.suffix)}`);
  if (typeof cfg.admin?.dn !== 'string' || !cfg.admin.dn) fail('admin.dn must be a DN');
  if (typeof cfg.admin.password !== 'string') fail('admin.password must be a string');
  if (!Array.isArray(cfg.listen) || cfg.listen.length === 0) fail('listen must list at least one URL');
  for (const u of cfg.listen) if (!/^ldap[si]?:\/\//i.test(u)) fail(`listen: unsupported URL ${u}`);
  if (!Array.isArray(cfg.schema.files)) fail('schema.files must be a list');
  if (!Array.isArray(cfg.access)) fail('access must be a list of rules');
  cfg.access.forEach((r, i) => {
    if (!isObject(r) || (typeof r.to !== 'string' && !Array.isArray(r.to))) fail(`access[${i}].to must be a target or a list of targets`);
    if (r.attrs !== undefined && !Array.isArray(r.attrs)) fail(`access[${i}].attrs must be a list`);
    if (
      !Array.isArray(r.by) ||
      r.by.some(
        (b) =>
          !isObject(b) || typeof b.who !== 'string' || !['none', 'auth', 'compare', 'search', 'read', 'write'].includes(b.level as string),
      )
    ) {
      fail(`access[${i}].by must list { who, level } with level none, auth, compare, search, read or write`);
    }
  });
  if ((cfg.tls.cert === null) !== (cfg.tls.key === null)) fail('tls.cert and tls.key go together');
  if (typeof cfg.tls.requireForBind !== 'boolean') fail('tls.requireForBind must be true or false');
  if (typeof cfg.store.cacheMiB !== 'number' || !(cfg.store.cacheMiB >= 0) || cfg.store.cacheMiB > 1 << 20) {
    fail('store.cacheMiB must be a number of MiB >= 0');
  }
  if (cfg.store.cacheEntries !== null && (!Number.isInteger(cfg.store.cacheEntries) || cfg.store.cacheEntries < 0)) {
    fail('store.cacheEntries must be a whole number >= 0, or null');
  }
  for (const [attr, kinds] of Object.entries(cfg.store.indexes)) {
    if (!Array.isArray(kinds) || kinds.some((k) => k !== 'eq' && k !== 'pres' && k !== 'sub')) {
      fail(`store.indexes.${attr}: use a list of eq, pres, sub`);
    }
  }
  const whole = (v: unknown, name: string, min = 0) => {
    if (!Number.isInteger(v) || (v as number) < min) fail(`${name} must be a whole number >= ${min}`);
  };
  const limitKeys = ['sizeLimit', 'timeLimit', 'maxPduSize', 'idleTimeout', 'anonymousIdleTimeout', 'pduTimeout', 'writeTimeout'] as const;
  for (const k of [...limitKeys, 'maxConnections', 'maxConnectionsPerAddress', 'reservedConnections', 'tlsHandshakeRate'] as const) {
    whole(cfg.limits[k], `limits.${k}`);
  }
  const l = cfg.limits;
  if (l.maxConnections > 0 && l.reservedConnections >= l.maxConnections)
    fail('limits.reservedConnections must be below limits.maxConnections');
  for (const f of ['filter', 'adminFilter'] as const) {
    if (!isObject(l[f])) fail(`limits.${f} must be a mapping of terms, depth and bytes`);
    for (const k of ['terms', 'depth', 'bytes'] as const) whole(l[f][k], `limits.${f}.${k}`, 1);
  }
  const t = cfg.bindThrottle;
  if (!isObject(t)) fail('bindThrottle must be a mapping');
  for (const k of ['freeAttempts', 'delayMs', 'maxDelayMs', 'sharedMaxDelayMs', 'forgetSeconds'] as const) whole(t[k], `bindThrottle.${k}`);
  whole(t.tableSize, 'bindThrottle.tableSize', 16);
  for (const k of [
    'maxEntrySize',
    'examineLimit',
    'privilegedExamineLimit',
    'maxConsumerBacklog',
    'maxTxnsPerConnection',
    'maxTxnOps',
    'maxTxnBytes',
    'txnTimeout',
  ] as const) {
    whole(cfg.limits[k], `limits.${k}`);
  }
  if (!['SSHA', 'SSHA256', 'SSHA512', 'PBKDF2-SHA256', 'PBKDF2-SHA512', 'ARGON2'].includes(cfg.passwordScheme)) {
    fail('passwordScheme must be one of SSHA, SSHA256, SSHA512, PBKDF2-SHA256, PBKDF2-SHA512, ARGON2');
  }
  if (!['error', 'warn', 'info', 'debug'].includes(cfg.log.level)) fail('log.level must be error, warn, info or debug');
  if (typeof cfg.log.access !== 'boolean') fail('log.access must be true or false');
  validateAdminApi(cfg.adminApi, fail, whole);
  const r = cfg.replication;
  if (!isObject(r) || !Array.isArray(r.identities) || r.identities.some((d) => typeof d !== 'string' || !d.includes('=')))
    fail('replication.identities must list DNs');
  if (!Number.isInteger(r.sessionLog) || r.sessionLog < 0) fail('replication.sessionLog must be a whole number >= 0');
}

function validateAdminApi(a: AdminApiConfig, fail: (m: string) => never, whole: (v: unknown, name: string, min?: number) => void): void {
  if (!isObject(a)) fail('adminApi must be a mapping');
  if (typeof a.enabled !== 'boolean') fail('adminApi.enabled must be true or false');
  if (typeof a.listen !== 'string' || !/^https?:\/\/[^/]+\/?$/i.test(a.listen))
    fail(`adminApi.listen: use http://HOST:PORT or https://HOST:PORT, got ${String(a.listen)}`);
  if (
    typeof a.mount !== 'string' ||
    !/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/.test(a.mount) ||
    a.mount.startsWith('sys')
  )
    fail('adminApi.mount must be a path such as openldap (not sys)');
  if (a.rootToken !== null && (typeof a.rootToken !== 'string' || a.rootToken.length < 8))
    fail('adminApi.rootToken must be a string of at least 8 characters (or null)');
  if (!Array.isArray(a.tokens) || a.tokens.some((t) => typeof t !== 'string' || t.length < 8))
    fail('adminApi.tokens must list strings of at least 8 characters');
  if (typeof a.asteriskRealm !== 'string' || !a.asteriskRealm) fail('adminApi.asteriskRealm must be a non-empty string');
  if (!isObject(a.tls) || (a.tls.cert === null) !== (a.tls.key === null)) fail('adminApi.tls.cert and adminApi.tls.key go together');
  if (!isObject(a.limits)) fail('adminApi.limits must be a mapping');
  for (const k of ['maxConnections', 'maxConnectionsPerAddress', 'maxHeadSize', 'maxBody', 'maxLdifBody'] as const) {
    whole(a.limits[k], `adminApi.limits.${k}`, 1);
  }
  for (const k of ['idleTimeout', 'headTimeout', 'bodyTimeout'] as const) whole(a.limits[k], `adminApi.limits.${k}`);
}

function validateConsole(c: ConsoleConfig): void {
  if (!isObject(c) || typeof c.enabled !== 'boolean') throw new ConfigError('console.enabled must be true or false');
  for (const k of ['idleTimeout', 'maxLifetime'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new ConfigError(`console.${k} must be a whole number >= 1 (seconds)`);
  }
}

// The shape of config.yaml, declared once with zod: each setting's type, its default and its
// check, with the message `astldap check` prints (the dotted key first, so check.ts can point
// at its line). The types of the rest of the tree are inferred from it (config.ts exports them).
// A new setting is one line here, and one commented line in config.yaml.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The package root (where schema/ and data/ ship), whatever the working directory is. */
export const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const dataDir = path.join(packageRoot, 'data');

// ---- building blocks: a type, a default and a message each --------------------------------------

/** A whole number of at least `min` (seconds, bytes, counts). */
const whole = (key: string, def: number, min = 0, unit = ''): z.ZodDefault<z.ZodNumber> => {
  const error = `${key} must be a whole number >= ${min}${unit}`;
  return z.number({ error }).int({ error }).min(min, { error }).default(def);
};
const flag = (key: string, def: boolean): z.ZodDefault<z.ZodBoolean> => z.boolean({ error: `${key} must be true or false` }).default(def);
const text = (key: string, def: string): z.ZodDefault<z.ZodString> => z.string({ error: `${key} must be a string` }).default(def);
/** A file or folder; null for none. */
const optionalPath = (key: string): z.ZodDefault<z.ZodNullable<z.ZodString>> =>
  z
    .string({ error: `${key} must be a path or null` })
    .nullable()
    .default(null);
const mapping = <S extends z.ZodRawShape>(key: string, shape: S) => z.object(shape, { error: `${key} must be a mapping` });
const isDn = (v: unknown): boolean => typeof v === 'string' && v.includes('=');

// ---- the sections ------------------------------------------------------------------------------

export const INDEX_KINDS = ['eq', 'pres', 'sub'] as const;
export type IndexKind = (typeof INDEX_KINDS)[number];

const DEFAULT_INDEXES: Record<string, IndexKind[]> = {
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
};

/** The schema files config.yaml names (ppolicy: the password policy's, as slapd's overlay builds in). */
const DEFAULT_SCHEMA_FILES = ['core', 'cosine', 'inetorgperson', 'nis', 'ppolicy', 'asterisk', 'astldap-asterisk'];

const ACCESS_LEVELS = ['none', 'auth', 'compare', 'search', 'read', 'write'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** The access rules; each message names the rule's position (access[2].by). */
const accessRules = z.array(z.unknown(), { error: 'access must be a list of rules' }).superRefine((rules, ctx) => {
  const problem = (message: string): void => ctx.addIssue({ code: 'custom', message });
  rules.forEach((r, i) => {
    const at = `access[${i}]`;
    const rule = typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Record<string, unknown>) : undefined;
    if (!rule || (typeof rule.to !== 'string' && !Array.isArray(rule.to))) return problem(`${at}.to must be a target or a list of targets`);
    if (rule.attrs !== undefined && !Array.isArray(rule.attrs)) problem(`${at}.attrs must be a list`);
    const isGrant = (b: unknown): boolean => {
      const g = typeof b === 'object' && b !== null ? (b as Record<string, unknown>) : {};
      return typeof g.who === 'string' && (ACCESS_LEVELS as readonly unknown[]).includes(g.level);
    };
    if (!Array.isArray(rule.by) || !rule.by.every(isGrant))
      problem(`${at}.by must list { who, level } with level none, auth, compare, search, read or write`);
  });
});

export interface AccessRule {
  /** '*', 'dn:DN', 'subtree:DN' or 'children:DN'; or a list of them. */
  to: string | string[];
  /** Attribute names ('entry' for the entry itself); all when left out. */
  attrs?: string[];
  /** anyone, anonymous, users, self, admins, dn:DN, subtree:DN or group:DN, with a level. */
  by: Array<{ who: string; level: AccessLevel }>;
}

/** The largest search filter an identity may send: items (AND/OR/NOT count), nesting, assertion bytes. */
const filterLimits = (key: string, terms: number, depth: number, bytes: number) =>
  z
    .object(
      { terms: whole(`${key}.terms`, terms, 1), depth: whole(`${key}.depth`, depth, 1), bytes: whole(`${key}.bytes`, bytes, 1) },
      { error: `${key} must be a mapping of terms, depth and bytes` },
    )
    .prefault({});

const limits = mapping('limits', {
  /** Entries per search for ordinary identities; 0 = unlimited. */
  sizeLimit: whole('limits.sizeLimit', 500),
  /** Seconds per search for ordinary identities; 0 = unlimited. */
  timeLimit: whole('limits.timeLimit', 3600),
  /** Largest accepted request PDU in bytes. */
  maxPduSize: whole('limits.maxPduSize', 4 * 1024 * 1024),
  /** Seconds of inactivity before an idle bound connection is closed; 0 = never (slapd's idletimeout). */
  idleTimeout: whole('limits.idleTimeout', 0),
  /** Seconds an unauthenticated (never or no longer bound) connection may sit idle; 0 = never. */
  anonymousIdleTimeout: whole('limits.anonymousIdleTimeout', 120),
  /** Seconds a started PDU may take to arrive completely (a half-sent request), and a TLS handshake; 0 = forever (handshakes: 120 s). */
  pduTimeout: whole('limits.pduTimeout', 30),
  /** Seconds a response may wait for a client that does not read before the connection is dropped; 0 = forever. */
  writeTimeout: whole('limits.writeTimeout', 60),
  /** Most simultaneous connections over all URLs; 0 = unlimited. */
  maxConnections: whole('limits.maxConnections', 4096),
  /** Most simultaneous connections from one IP address (loopback included, not ldapi); 0 = unlimited. */
  maxConnectionsPerAddress: whole('limits.maxConnectionsPerAddress', 512),
  /** Of maxConnections, how many unauthenticated TCP/TLS connections may never take (kept for ldapi and bound sessions). */
  reservedConnections: whole('limits.reservedConnections', 256),
  /** TLS handshakes (ldaps:// accepts and StartTLS) one address may start per second (twice that at once); 0 = unlimited. */
  tlsHandshakeRate: whole('limits.tlsHandshakeRate', 50),
  /** Ceilings on a search filter for ordinary identities (the Asterisk service and unlimited DNs included). */
  filter: filterLimits('limits.filter', 512, 16, 64 * 1024),
  /** Ceilings on a search filter for administrators: high, but finite. */
  adminFilter: filterLimits('limits.adminFilter', 50_000, 64, 4 * 1024 * 1024),
  /** DNs with no size or time limit besides the administrator (default: the Asterisk service). */
  unlimited: z.array(z.string(), { error: 'limits.unlimited must list DNs' }).default([]),
  /**
   * Largest stored entry in bytes (DN, names and values), for every writer: add, modify,
   * modrdn, import, rotation. Larger is refused with constraintViolation; 0 = no limit.
   */
  maxEntrySize: whole('limits.maxEntrySize', 1024 * 1024),
  /** Entries one search may examine, ordinary identities (slapd's size.unchecked); 0 = no limit. */
  examineLimit: whole('limits.examineLimit', 100_000),
  /** The same ceiling for administrators and the `unlimited` DNs; 0 = no limit. */
  privilegedExamineLimit: whole('limits.privilegedExamineLimit', 10_000_000),
  /**
   * Bytes a persisting search (a refreshAndPersist sync consumer, a persistent search) may have
   * waiting for its client: changes queued for it plus its connection's unsent output. Past it
   * the search is ended (a sync consumer with e-syncRefreshRequired) and the queue dropped; 0 = no limit.
   */
  maxConsumerBacklog: whole('limits.maxConsumerBacklog', 4 * 1024 * 1024),
  /** RFC 5805 transactions one connection may have open at once (one, as slapd); 0 = transactions off (not advertised). */
  maxTxnsPerConnection: whole('limits.maxTxnsPerConnection', 1),
  /** Updates one transaction may hold (each is checked when it arrives, all applied at commit); 0 = no limit. */
  maxTxnOps: whole('limits.maxTxnOps', 100_000),
  /** Bytes one transaction may hold: its updates as sent (DNs, names, values) and the entries they write; 0 = no limit. */
  maxTxnBytes: whole('limits.maxTxnBytes', 64 * 1024 * 1024),
  /** Seconds a transaction may stay open before it is discarded; 0 = until its connection ends. */
  txnTimeout: whole('limits.txnTimeout', 600),
})
  .prefault({})
  .superRefine((l, ctx) => {
    if (l.maxConnections > 0 && l.reservedConnections >= l.maxConnections)
      ctx.addIssue({
        code: 'custom',
        path: ['reservedConnections'],
        message: 'limits.reservedConnections must be below limits.maxConnections',
      });
  });

/** Delays after failed simple binds (see src/directory/bind-throttle.ts). */
const bindThrottle = mapping('bindThrottle', {
  /** Failures for a DN from one address (or from one remote address) before delays start. */
  freeAttempts: whole('bindThrottle.freeAttempts', 3),
  /** The first delay; each further failure doubles it, up to maxDelayMs. */
  delayMs: whole('bindThrottle.delayMs', 100),
  maxDelayMs: whole('bindThrottle.maxDelayMs', 5000),
  /**
   * The most that failures from other addresses may delay a bind for the same DN: an attacker
   * hammering the administrator's DN slows itself fully but everyone else by at most this.
   */
  sharedMaxDelayMs: whole('bindThrottle.sharedMaxDelayMs', 1000),
  /** Seconds after the last failure when a counter is forgotten. */
  forgetSeconds: whole('bindThrottle.forgetSeconds', 900),
  /** Most counters kept; least recently used ones are evicted first, repeat offenders last. */
  tableSize: whole('bindThrottle.tableSize', 100_000, 16),
}).prefault({});

const PASSWORD_SCHEMES = ['SSHA', 'SSHA256', 'SSHA512', 'PBKDF2-SHA256', 'PBKDF2-SHA512', 'ARGON2'] as const;
export type PasswordScheme = (typeof PASSWORD_SCHEMES)[number];
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Password policy as slapd's ppolicy overlay (src/directory/ppolicy.ts). */
const passwordPolicy = mapping('passwordPolicy', {
  /**
   * The DN of the pwdPolicy entry for entries without a pwdPolicySubentry (slapd's
   * ppolicy_default); null or an absent entry: no policy for them.
   */
  default: z
    .string({ error: 'passwordPolicy.default must be a DN or null' })
    .min(1, { error: 'passwordPolicy.default must be a DN or null' })
    .nullable()
    .default(null),
  /** Tell a client that asked for the control that its account is locked (ppolicy_use_lockout). */
  useLockout: flag('passwordPolicy.useLockout', true),
}).prefault({});

const tokenText = (key: string) => z.string({ error: key }).min(8, { error: key });

/** The admin listener's own bounds, apart from LDAP's (limits.*). */
const adminLimits = mapping('adminApi.limits', {
  /** Most simultaneous admin connections (more are refused with 503); lowered at start to fit the open-files limit. */
  maxConnections: whole('adminApi.limits.maxConnections', 256, 1),
  /** Most simultaneous admin connections from one IP address (loopback included). */
  maxConnectionsPerAddress: whole('adminApi.limits.maxConnectionsPerAddress', 64, 1),
  /** Seconds a connection may sit with no request before it is closed; 0 = never. */
  idleTimeout: whole('adminApi.limits.idleTimeout', 60),
  /** Seconds from a request's first byte to the end of its header (and for an https handshake); 0 = forever. */
  headTimeout: whole('adminApi.limits.headTimeout', 10),
  /** Seconds from the end of a request's header to the end of its body; 0 = forever. */
  bodyTimeout: whole('adminApi.limits.bodyTimeout', 30),
  /** Largest request line and header fields together, in bytes. */
  maxHeadSize: whole('adminApi.limits.maxHeadSize', 64 * 1024, 1),
  /** Largest request body, in bytes (Vault's routes take small JSON). */
  maxBody: whole('adminApi.limits.maxBody', 256 * 1024, 1),
  /** Largest body of a dynamic role write (role/<name>: its creation, deletion and rollback LDIF). */
  maxLdifBody: whole('adminApi.limits.maxLdifBody', 4 * 1024 * 1024, 1),
}).prefault({});

/** The Vault-compatible HTTP admin API (OpenLDAP secrets engine; see src/admin/). */
const adminApi = mapping('adminApi', {
  /** Whether `astldap serve` starts it (embedders pass StartOptions.adminApi). */
  enabled: flag('adminApi.enabled', true),
  /** http://HOST:PORT or https://HOST:PORT (port 0 picks a free one). */
  listen: z
    .string()
    .default('http://127.0.0.1:8200')
    .superRefine((v, ctx) => {
      if (!/^https?:\/\/[^/]+\/?$/i.test(v))
        ctx.addIssue({ code: 'custom', message: `adminApi.listen: use http://HOST:PORT or https://HOST:PORT, got ${v}` });
    }),
  /** The engine's mount path: requests go to /v1/<mount>/... */
  mount: z
    .string({ error: 'adminApi.mount must be a path such as openldap (not sys)' })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*(\/[A-Za-z0-9][A-Za-z0-9_.-]*)*$/, {
      error: 'adminApi.mount must be a path such as openldap (not sys)',
    })
    .refine((m) => !m.startsWith('sys'), { error: 'adminApi.mount must be a path such as openldap (not sys)' })
    .default('openldap'),
  /** PEM files for https:// (without them a self-signed pair from <dataDir>/tls is used). */
  tls: mapping('adminApi.tls', { cert: optionalPath('adminApi.tls.cert'), key: optionalPath('adminApi.tls.key') })
    .prefault({})
    .refine((t) => (t.cert === null) === (t.key === null), { error: 'adminApi.tls.cert and adminApi.tls.key go together' }),
  /** The root token; null reads tokenFile, creating it on first start. Env ASTLDAP_ROOT_TOKEN wins. */
  rootToken: tokenText('adminApi.rootToken must be a string of at least 8 characters (or null)').nullable().default(null),
  /** Where a generated root token is kept (mode 0600); default <dataDir>/root-token. */
  tokenFile: text('adminApi.tokenFile', path.join(dataDir, 'root-token')),
  /** Further accepted tokens (all with full access). */
  tokens: z
    .array(tokenText('adminApi.tokens must list strings of at least 8 characters'), {
      error: 'adminApi.tokens must list strings of at least 8 characters',
    })
    .default([]),
  /** The SIP realm of AstAccountRealmedPassword digests the `asterisk` schema writes. */
  asteriskRealm: z
    .string({ error: 'adminApi.asteriskRealm must be a non-empty string' })
    .min(1, { error: 'adminApi.asteriskRealm must be a non-empty string' })
    .default('asterisk'),
  /**
   * The key file sealing the engine's secrets (mode 0600, made on first start; default
   * seal-key beside the db directory, outside it). Env ASTLDAP_SEAL_KEY wins.
   */
  sealKeyFile: optionalPath('adminApi.sealKeyFile'),
  /** The audit log of admin API requests (JSON lines, mode 0600); null: none. */
  auditLog: optionalPath('adminApi.auditLog'),
  limits: adminLimits,
}).prefault({});

/** The whole file. Every key has a default: an empty file is a working development server. */
export const configSchema = z.object({
  suffix: z
    .string()
    .default('dc=example,dc=domain')
    .superRefine((v, ctx) => {
      if (!isDn(v)) ctx.addIssue({ code: 'custom', message: `suffix must be a DN, got ${String(v)}` });
    }),
  admin: mapping('admin', {
    dn: z.string({ error: 'admin.dn must be a DN' }).min(1, { error: 'admin.dn must be a DN' }).default('cn=admin,dc=example,dc=domain'),
    password: z.string({ error: 'admin.password must be a string' }).default('secret'),
  }).prefault({}),
  listen: z
    .array(z.string({ error: 'listen must list URLs' }), { error: 'listen must list at least one URL' })
    .min(1, { error: 'listen must list at least one URL' })
    .default(['ldap://127.0.0.1:1389', 'ldaps://127.0.0.1:1636', 'ldapi://'])
    .superRefine((urls, ctx) => {
      for (const u of urls) if (!/^ldap[si]?:\/\//i.test(u)) ctx.addIssue({ code: 'custom', message: `listen: unsupported URL ${u}` });
    }),
  /**
   * The ldapi:// (Unix socket) listener: a bare `ldapi://` in listen uses `path` (default
   * <dataDir>/ldapi). The socket is created mode 0600: only the server's user (and root) can
   * connect, which is what SASL EXTERNAL then authenticates.
   */
  ldapi: mapping('ldapi', {
    path: text('ldapi.path', path.join(dataDir, 'ldapi')),
    /** The DN an ldapi:// SASL EXTERNAL bind gets (default: the server user's gidNumber+uidNumber DN). */
    identity: z.string({ error: 'ldapi.identity must be a DN' }).optional(),
  }).prefault({}),
  /**
   * TLS for ldaps:// and StartTLS. Without cert and key, a self-signed development pair is
   * created under <dataDir>/tls on first use. With ca, clients may present certificates signed
   * by it (SASL EXTERNAL then binds as the certificate's subject DN).
   */
  tls: mapping('tls', {
    cert: optionalPath('tls.cert'),
    key: optionalPath('tls.key'),
    ca: optionalPath('tls.ca'),
    requireForBind: flag('tls.requireForBind', false),
  })
    .prefault({})
    .refine((t) => (t.cert === null) === (t.key === null), { error: 'tls.cert and tls.key go together' }),
  /** Directory for the database and other run-time files. */
  dataDir: text('dataDir', dataDir),
  /** LevelDB directory (default <dataDir>/db); ignored when memory is true. */
  dbPath: text('dbPath', path.join(dataDir, 'db')),
  /** Keep the database in memory only (tests, embedding). */
  memory: flag('memory', false),
  /** LDIF loaded when the database is empty at start; null for none. */
  seed: z.string({ error: 'seed must be a path or null' }).nullable().default(path.join(dataDir, 'seed.ldif')),
  schema: mapping('schema', {
    dir: text('schema.dir', path.join(packageRoot, 'schema')),
    files: z.array(z.string(), { error: 'schema.files must be a list' }).default(() => [...DEFAULT_SCHEMA_FILES]),
  }).prefault({}),
  store: mapping('store', {
    sync: flag('store.sync', true),
    /**
     * The key layout of a new database: 3 (entries by ID, docs/store-layout-3.md; the default) or 2
     * (entries by DN). A layout-2 database is migrated to 3 at start when 3 is set (src/store/migrate.ts);
     * a layout-3 one stays 3.
     */
    layout: z.union([z.literal(2), z.literal(3)], { error: 'store.layout must be 2 or 3' }).default(3),
    /**
     * MiB of entries, records and posting lists kept in memory in front of LevelDB (exact across
     * writes; 0 = none); null: the layout's own budget (64 MiB in layout 3, 32 in layout 2).
     */
    cacheMiB: z
      .number({ error: 'store.cacheMiB must be a number of MiB >= 0, or null' })
      .min(0, { error: 'store.cacheMiB must be a number of MiB >= 0, or null' })
      .max(1 << 20, { error: 'store.cacheMiB must be a number of MiB >= 0, or null' })
      .nullable()
      .default(null),
    /** An optional cap on the cached entries besides the MiB (null = none). */
    cacheEntries: z
      .number({ error: 'store.cacheEntries must be a whole number >= 0, or null' })
      .int({ error: 'store.cacheEntries must be a whole number >= 0, or null' })
      .min(0, { error: 'store.cacheEntries must be a whole number >= 0, or null' })
      .nullable()
      .default(null),
    indexes: z
      .record(z.string(), z.unknown(), { error: 'store.indexes must be a mapping of attribute: [eq, pres, sub]' })
      .default(() => structuredClone(DEFAULT_INDEXES))
      .superRefine((ix, ctx) => {
        for (const [attr, kinds] of Object.entries(ix)) {
          if (!Array.isArray(kinds) || kinds.some((k) => !(INDEX_KINDS as readonly unknown[]).includes(k)))
            ctx.addIssue({ code: 'custom', message: `store.indexes.${attr}: use a list of eq, pres, sub` });
        }
      })
      .transform((ix) => ix as Record<string, IndexKind[]>),
  }).prefault({}),
  limits,
  /**
   * Access rules, first match wins (see AccessPolicy). Without an `access` setting the defaults
   * of defaultAccess() for the configured suffix apply.
   */
  access: accessRules.default([]).transform((rules) => rules as AccessRule[]),
  bindThrottle,
  /** How cleartext userPassword values are hashed before they are stored. */
  passwordScheme: z
    .enum(PASSWORD_SCHEMES, { error: 'passwordScheme must be one of SSHA, SSHA256, SSHA512, PBKDF2-SHA256, PBKDF2-SHA512, ARGON2' })
    .default('PBKDF2-SHA512'),
  passwordPolicy,
  /**
   * level: what the server logs. access: one line per LDAP operation (connection, operation, DN,
   * scope, filter with password-like values redacted, result code, entries, milliseconds), like
   * slapd's `stats` level, logged at info.
   */
  log: mapping('log', {
    level: z.enum(LOG_LEVELS, { error: 'log.level must be error, warn, info or debug' }).default('info'),
    access: flag('log.access', true),
  }).prefault({}),
  adminApi,
  /** Syncrepl provider (RFC 4533; docs/replication.md). */
  replication: mapping('replication', {
    /**
     * DNs that consumers bind as: read access to every entry and attribute of the naming context
     * (userPassword and the Asterisk secrets included) and no size or time limit.
     */
    identities: z
      .array(z.string().refine(isDn, { error: 'replication.identities must list DNs' }), { error: 'replication.identities must list DNs' })
      .default([]),
    /** Changes kept in the session log for delta refreshes; older cookies get a present phase. */
    sessionLog: whole('replication.sessionLog', 10000),
  }).prefault({}),
  /** The web console at /ui/ on the admin listener (src/console/). */
  console: mapping('console', {
    /** Serve the console at /ui/ when the admin API runs. */
    enabled: flag('console.enabled', true),
    /** Seconds without a request after which a console session ends. */
    idleTimeout: whole('console.idleTimeout', 1800, 1, ' (seconds)'),
    /** Seconds after sign-in after which a console session ends, however busy. */
    maxLifetime: whole('console.maxLifetime', 43200, 1, ' (seconds)'),
  }).prefault({}),
});

/** The settings of a file, resolved: every key present, defaults filled in. */
export type FileConfig = z.output<typeof configSchema>;

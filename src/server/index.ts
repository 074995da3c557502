// Assembles a running server from a configuration: schema registry, store, directory core and
// listeners; loads the seed into an empty database; offers LDIF import/export and reset for
// embedding in test suites.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startAdmin, type AdminHandle } from '../admin/index.js';
import { loadConfig, type Config, type ConfigOverrides } from '../config/config.js';
import { ensurePrivateDir } from '../config/files.js';
import { createLogger, silentLogger, type Logger } from '../config/logger.js';
import { tlsProvider } from '../config/tls.js';
import { Directory } from '../directory/directory.js';
import { Frontend } from '../directory/frontend.js';
import { indexSpecs, makeIndexer } from '../directory/indexing.js';
import { searchRequest, type OperationContext, type SearchEntry } from '../ldap/messages.js';
import { LdapError } from '../ldap/result.js';
import { parseLdif, formatLdifEntry, readLdifChunks, type LdifRecord } from '../ldif/ldif.js';
import { listen, type Listener, type ListenOptions } from '../protocol/listener.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { buildRegistry, fileSources, mergeStored, SCHEMA_META_KEY, type SchemaSourceText } from '../schema/manager.js';
import { bulkTargets, commitAdds, inLdif, prepareAdds, stoppedAt, type AddRecord, type BulkTarget } from './bulk.js';
import { serverPaths } from './admin-paths.js';
import { applyDescriptorBudget } from './descriptors.js';
import { extendedCodecs, frontendOptions } from './extended.js';
import { mountConsole } from './console-mount.js';
import type { ConsoleServer } from '../console/console.js';
import { DataDirLock } from './lock.js';
import type { OperationSummary } from '../protocol/observer.js';
import { serverObserver, ServerMetrics } from './observe.js';
import { warmUp } from './warm.js';
import { migrateToLayout3, type MigrateOptions } from '../store/migrate.js';
import { openStore } from '../store/index.js';
import type { EntryRecord, Store, StoreHealth } from '../store/types.js';

/** Adds per LevelDB batch when loading LDIF (also the records parsed at a time from a file). */
const BULK_CHUNK = 2000;

export interface StartOptions {
  /** A config.yaml to read (relative paths inside resolve against its folder). */
  configFile?: string;
  /** Settings that override the file and the defaults. */
  config?: ConfigOverrides;
  /** Shorthands for common overrides. */
  dataDir?: string;
  listen?: string[];
  memory?: boolean;
  /** LDIF file loaded into an empty database; false for none (default: the config's seed). */
  seed?: string | false;
  /** LDIF text loaded into an empty database (after the seed file, if any). */
  seedLdif?: string;
  /** A logger; false silences the server (the default for embedding is warnings only). */
  logger?: Logger | false;
  /**
   * Start the Vault-compatible admin HTTP API (src/admin/): true for config.adminApi.listen, or
   * a URL (http://HOST:PORT, port 0 for a free one). Default off for embedding; `astldap serve`
   * turns it on when adminApi.enabled is true ('auto').
   */
  adminApi?: boolean | string | 'auto';
  /** The naming context (config.suffix); the administrator's DN then defaults to cn=admin,<suffix>. */
  suffix?: string;
  /** The administrator (config.admin): explicit values win over ASTLDAP_ADMIN_PASSWORD. */
  admin?: { dn?: string; password?: string };
  /** Called after every LDAP operation with its access-log summary (tests reading the access log). */
  onOperation?: (summary: OperationSummary) => void;
  /** A bulk load (LDIF import) follows: the store is tuned for many writes. */
  bulk?: boolean;
  /**
   * Warm a large on-disk database before listening (LevelDB's table files opened, the search
   * path run), so the first searches are not slower than the rest; at most 0.4 s. Default true.
   */
  warm?: boolean;
}

export interface ImportOptions {
  /**
   * Keep the stored operational attributes the records carry (entryUUID, creators, timestamps,
   * entryCSN), as slapadd does: for loading a dump into an empty database.
   */
  exact?: boolean;
  /** Told the bytes read and the records applied so far (a file import). */
  onProgress?: (bytes: number, records: number) => void;
}

/** A saved state of the database (entries and stored state), for AstldapServer.restore(). */
export interface DirectorySnapshot {
  readonly entries: ReadonlyArray<readonly [string, EntryRecord]>;
  readonly meta: ReadonlyArray<readonly [string, string]>;
}

/** A store that starts failing (a full disk) is an error in the log; its recovery is news. */
function logStoreHealth(log: Logger, h: StoreHealth): void {
  if (h.state === 'failing') log.error(`the database is failing: writes are refused until it recovers (${h.reason})`);
  else log.info('the database has recovered: writes are taken again');
}

/** A failed migration, said so (layout 3 is the default: an operator who upgraded may not know one ran). */
function migrationFailed(dbPath: string, err: unknown): Error {
  return new Error(
    `the migration of ${dbPath} to store layout 3 failed (${(err as Error).message}); the next start finishes or undoes ` +
      'what it left, and store.layout: 2 in the configuration keeps a layout-2 database as it is',
    { cause: err },
  );
}

export class AstldapServer {
  private constructor(
    readonly config: Config,
    readonly directory: Directory,
    readonly frontend: Frontend,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly seedLdif: string | undefined,
  ) {}

  /** The LDAP listeners: opened once the seed is loaded, so the first client sees it. */
  private listener: Listener | undefined;
  /** The admin API and secrets engine, when started (StartOptions.adminApi). */
  admin: AdminHandle | undefined;
  /** The web console on the admin listener (config.console.enabled), when the admin API runs. */
  console: ConsoleServer | undefined;

  /** Operation, connection and rotation metrics (served at /metrics on the admin listener). */
  readonly metrics = new ServerMetrics({
    entries: () => this.store.count(),
    indexes: () => this.store.indexes.size,
    writable: () => this.store.health().state === 'ok',
  });
  readonly startedAt = new Date();
  private lock: DataDirLock | undefined;
  /** A data directory made for this server alone (embedding), removed on close. */
  private ownDataDir: string | undefined;
  private closing: Promise<void> | undefined;

  /** How to bind as the administrator (the password as configured: cleartext unless a {SCHEME} hash was given). */
  get credentials(): { dn: string; password: string } {
    return { dn: this.config.admin.dn, password: this.config.admin.password };
  }

  /** The console's URL (the admin listener's /ui/), when it runs. */
  get consoleUrl(): string | undefined {
    return this.console && this.admin ? `${this.admin.url}/ui/` : undefined;
  }

  /** The admin API's URL (port resolved), when it runs. */
  get adminUrl(): string | undefined {
    return this.admin?.url;
  }

  /** The URLs actually listened on (ports resolved when 0 was asked for). */
  get urls(): string[] {
    return this.listener?.urls ?? [];
  }
  get url(): string {
    return this.urls.find((u) => u.startsWith('ldap://')) ?? this.urls[0]!;
  }
  get port(): number {
    return Number(new URL(this.url).port);
  }

  static async start(opts: StartOptions = {}): Promise<AstldapServer> {
    const overrides: ConfigOverrides = { ...(opts.config ?? {}) };
    if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
    if (opts.listen !== undefined) overrides.listen = opts.listen;
    if (opts.memory !== undefined) overrides.memory = opts.memory;
    if (opts.seed !== undefined) overrides.seed = opts.seed === false ? null : opts.seed;
    if (opts.suffix !== undefined) overrides.suffix = opts.suffix;
    if (opts.admin) overrides.admin = { ...overrides.admin, ...opts.admin };
    if (overrides.suffix !== undefined && overrides.admin?.dn === undefined) {
      overrides.admin = { ...overrides.admin, dn: `cn=admin,${overrides.suffix}` };
    }
    const config = loadConfig({ file: opts.configFile, overrides });
    const log = opts.logger === false ? silentLogger : (opts.logger ?? createLogger(config.log.level));
    // LDAP's and the admin listener's connection caps must fit in the open-files limit.
    const holds = applyDescriptorBudget(config, opts.adminApi === 'auto' ? config.adminApi.enabled : Boolean(opts.adminApi), log);

    // The data directory holds the database, the development TLS key and the root token: the
    // server user's alone (0700), whatever the umask.
    if (!config.memory && !ensurePrivateDir(config.dataDir)) log.warn(`cannot make ${config.dataDir} private (mode 0700)`);

    // The schema files first (the index configuration needs their types), then what was
    // added or changed over LDAP and stored in the database.
    const files = fileSources(config.schema.dir, config.schema.files);
    let schema = buildRegistry(files);
    const specs = indexSpecs(config, schema);
    for (const name of Object.keys(config.store.indexes)) {
      if (!schema.attributeType(name)) log.warn(`index on unknown attribute type ${name} ignored`);
    }
    // The indexer reads the live schema: the directory's, once it exists (schema changes live).
    const live = { schema: (): SchemaRegistry => schema };
    const indexer = makeIndexer(() => live.schema());
    // One process per data directory: a second one gets the holder's pid, not a LevelDB error.
    const lock = config.memory ? undefined : DataDirLock.acquire(config.dataDir);
    const open = (): Promise<Store> =>
      openStore({
        path: config.memory ? undefined : config.dbPath,
        memory: config.memory,
        indexes: specs,
        indexer,
        sync: config.store.sync,
        layout: config.store.layout,
        ...(config.store.cacheMiB !== null ? { cacheBytes: Math.floor(config.store.cacheMiB * 1024 * 1024) } : {}),
        ...(config.store.cacheEntries !== null ? { cacheEntries: config.store.cacheEntries } : {}),
        bulk: opts.bulk ?? false,
        onHealth: (h) => logStoreHealth(log, h),
        onWarning: (m) => log.warn(m),
        onInfo: (m) => log.info(m),
      });
    let store: Store;
    try {
      store = await open();
    } catch (err) {
      lock?.release();
      throw err;
    }
    let sources = files;
    const stored = await store.getMeta(SCHEMA_META_KEY);
    if (stored) {
      sources = mergeStored(files, JSON.parse(stored) as SchemaSourceText[]);
      schema = buildRegistry(sources);
    }
    // A layout-2 database and layout 3 asked for: migrated now, its entries indexed with the
    // schema it holds (read above), before anything is served.
    if (!config.memory && config.store.layout === 3 && !store.movesSubtrees) {
      store = await migrated(store, open, { dbPath: config.dbPath, indexes: specs, indexer, say: (m) => log.info(m) }).catch((err) => {
        lock?.release();
        throw migrationFailed(config.dbPath, err);
      });
    }
    const directory = new Directory({ config, schema, store, logger: log, schemaSources: sources });
    live.schema = () => directory.schema;
    await directory.init();
    const frontend = new Frontend(directory, frontendOptions());

    const server = new AstldapServer(config, directory, frontend, store, log, opts.seedLdif);
    server.lock = lock;
    try {
      if ((await store.count()) === 0) await server.loadSeed();
      else if (!opts.bulk && opts.warm !== false) await warmUp(store, directory, frontend);
      const listener = await listen(config.listen, server.listenOptions(opts.onOperation, holds.ldap));
      server.listener = listener;
      const wantAdmin = opts.adminApi === 'auto' ? config.adminApi.enabled : Boolean(opts.adminApi);
      if (wantAdmin) await server.startAdminApi(opts.adminApi, listener, holds.admin);
      lock?.update({ urls: listener.urls, adminUrl: server.admin?.url });
    } catch (err) {
      await store.close();
      lock?.release();
      throw err;
    }
    return server;
  }

  /** The LDAP listeners' options: the frontend, the extended operations' codecs, the limits (seconds in config, ms here). */
  private listenOptions(onOperation: StartOptions['onOperation'], refusalHold: number): ListenOptions {
    const { config, log } = this;
    const l = config.limits;
    return {
      handler: this.frontend,
      extended: extendedCodecs,
      maxPduSize: l.maxPduSize,
      idleTimeout: l.idleTimeout * 1000,
      anonymousIdleTimeout: l.anonymousIdleTimeout * 1000,
      pduTimeout: l.pduTimeout * 1000,
      writeTimeout: l.writeTimeout * 1000,
      maxConnections: l.maxConnections,
      maxConnectionsPerAddress: l.maxConnectionsPerAddress,
      reservedConnections: l.reservedConnections,
      tlsHandshakeRate: l.tlsHandshakeRate,
      refusalHold,
      logger: log,
      tls: tlsProvider(config, log),
      observer: serverObserver(this.metrics, log, config.log.access, onOperation),
    };
  }

  /** The admin API with the server's own routes (metrics, status, backup) and rotation metrics. */
  private async startAdminApi(want: StartOptions['adminApi'], listener: Listener, refusalHold: number): Promise<void> {
    const { config, directory, log } = this;
    try {
      this.admin = await startAdmin({
        config,
        directory,
        log,
        ownUrls: () => listener.urls,
        listen: typeof want === 'string' && want !== 'auto' ? want : undefined,
        paths: serverPaths({
          metrics: this.metrics,
          console: () => this.console,
          storeHealth: () => this.store.health(),
          status: () => this.status(),
          backup: () => this.backupLdif(),
        }),
        onRotation: (kind, ok) => this.metrics.rotation(kind, ok),
        refusalHold,
      });
      if (config.console.enabled) {
        this.console = mountConsole({
          config,
          directory,
          frontend: this.frontend,
          metrics: this.metrics,
          admin: this.admin,
          adminContext: () => this.adminContext(),
          ldapUrls: () => listener.urls,
          entries: () => this.store.count(),
          log,
        });
      }
    } catch (err) {
      // The default address taken (another server, a parallel test run): the directory
      // still serves; an explicitly requested admin API is an error.
      if (want === 'auto' && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
        log.warn(`admin api not started: ${config.adminApi.listen} is in use (use --admin-listen)`);
      } else {
        await listener.close();
        throw err;
      }
    }
  }

  private async loadSeed(): Promise<void> {
    if (this.config.seed) {
      if (existsSync(this.config.seed)) {
        const n = await this.importLdif(readFileSync(this.config.seed, 'utf8'));
        this.log.info(`loaded ${n} entries from ${this.config.seed}`);
      } else this.log.warn(`seed ${this.config.seed} not found; starting empty`);
    }
    if (this.seedLdif) await this.importLdif(this.seedLdif);
  }

  /** A session with the administrator's identity, for internal writes. */
  adminContext(): OperationContext {
    return this.directory.internalContext(this.config.admin.dn, 'internal');
  }

  /** Applies LDIF (content or change records) as the administrator; returns the record count. */
  async importLdif(text: string, opts: ImportOptions = {}): Promise<number> {
    const records = parseLdif(text);
    await this.applyRecords(records, opts.exact ?? false);
    return records.length;
  }

  /**
   * Applies an LDIF file read as a stream, in bounded memory whatever its size (one run of
   * records at a time); `onProgress` sees the bytes read and the records applied so far.
   */
  async importLdifFile(file: string, opts: ImportOptions = {}): Promise<number> {
    let n = 0;
    let bytes = 0;
    // Into an empty database the import is all or nothing: a failure returns it to what it was
    // before (empty, its schema and settings as they were). Into one with entries the records
    // before the failing one stay, as with ldapadd, and the error says where to resume.
    const before = (await this.store.count()) === 0 ? await this.snapshot() : undefined;
    // The next chunk is read and parsed while this one is written (LevelDB works in its own
    // threads): two chunks in memory at most. (Building one chunk's entries while the previous
    // one was written as well measured no faster: the two cores are busy with LevelDB's
    // compaction and the garbage collector's helpers meanwhile.)
    const chunks = readLdifChunks(file, BULK_CHUNK, (b) => (bytes = b))[Symbol.asyncIterator]();
    let next = chunks.next();
    try {
      for (let r = await next; !r.done; r = await next) {
        next = chunks.next();
        next.catch(() => undefined); // reported when awaited
        await this.applyRecords(r.value, opts.exact ?? false);
        n += r.value.length;
        opts.onProgress?.(bytes, n);
      }
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      if (before) {
        // Undoing needs the disk too: a full one refuses it, and the first error still says why.
        const undone = await this.restore(before).then(
          () => '; nothing was imported: the database is empty again (an import into an empty database is all or nothing)',
          (undo: unknown) => {
            const why = undo instanceof Error ? undo.message : String(undo);
            return `; undoing the import failed ${why === err.message ? 'for the same reason' : `too (${why})`}: the records before the failure stay`;
          },
        );
        err.message += undone;
      } else {
        const line = stoppedAt(err);
        if (line !== undefined) {
          err.message +=
            `; the records before line ${line} were applied, that one and the rest were not:` +
            ` correct it, then import the file from line ${line} on (tail -n +${line} FILE)`;
        }
      }
      throw err;
    } finally {
      await chunks.return?.(undefined);
    }
    return n;
  }

  private async applyRecords(records: LdifRecord[], exact: boolean): Promise<void> {
    const targets = bulkTargets(this.directory, records);
    for (let i = 0; i < records.length;) {
      // Runs of plain adds go in chunks, one LevelDB batch each; everything else one by one.
      let j = i;
      while (j < records.length && j - i < BULK_CHUNK && targets[j] !== undefined) j++;
      // A dump's adds keep their stored stamps, which only the bulk path can set.
      if (j - i > 1 || (exact && j > i)) {
        const run = await prepareAdds(this.directory, records.slice(i, j) as AddRecord[], targets.slice(i, j) as BulkTarget[], exact);
        await commitAdds(this.directory, this.config.admin.dn, run);
      } else await this.applyRecord(records[i]!);
      i = Math.max(j, i + 1);
    }
  }

  private async applyRecord(r: LdifRecord): Promise<void> {
    const ctx = this.adminContext();
    const fe = this.frontend;
    try {
      switch (r.kind) {
        case 'add':
          await fe.add(ctx, { dn: r.dn, attributes: r.attributes });
          break;
        case 'delete':
          await fe.delete(ctx, { dn: r.dn });
          break;
        case 'modify':
          await fe.modify(ctx, { dn: r.dn, changes: r.changes });
          break;
        case 'modrdn':
          await fe.modifyDN(ctx, { dn: r.dn, newRdn: r.newRdn, deleteOldRdn: r.deleteOldRdn, newSuperior: r.newSuperior });
          break;
      }
    } catch (err) {
      throw inLdif(err, r);
    }
  }

  /** Every entry under the suffix as LDIF, parents first, with all attributes (operational too). */
  async exportLdif(opts: { operational?: boolean } = {}): Promise<string> {
    const entries: SearchEntry[] = [];
    const ctx = this.adminContext();
    await this.frontend
      .search(ctx, searchRequest(this.config.suffix, { attributes: opts.operational ? ['*', '+'] : ['*'] }), (e) => {
        entries.push(e);
      })
      .catch((err: unknown) => {
        if (!(err instanceof LdapError && err.code === 32)) throw err;
      });
    return entries.map((e) => formatLdifEntry(e.dn, e.attributes)).join('\n');
  }

  /** Empties the database and loads the seed again (between tests). */
  async reset(): Promise<void> {
    await this.directory.writer.transaction(() => this.store.clear());
    // Replicas holding a cookie from before the reset get a present phase (deletes are not logged).
    await this.directory.sync.restart(this.directory.writer);
    await this.loadSeed();
  }

  /**
   * Loads a dump (export, backup or slapcat output) into an empty database as slapadd does: the
   * entries as given, with their entryUUID, creators, timestamps and entryCSN kept.
   */
  async loadDump(text: string): Promise<number> {
    if ((await this.store.count()) !== 0) throw new Error('the database is not empty: a dump loads into an empty data directory only');
    return this.importLdif(text, { exact: true });
  }

  /** A consistent LDIF copy of everything (operational attributes included): writes wait meanwhile. */
  backupLdif(): Promise<string> {
    return this.directory.writer.transaction(() => this.exportLdif({ operational: true }));
  }

  /** Saves the database's state; restore() returns to it (fast fixtures between tests). */
  snapshot(): Promise<DirectorySnapshot> {
    return this.directory.writer.transaction(async () => {
      const entries: Array<[string, EntryRecord]> = [];
      for await (const [ndn, rec] of this.store.subtree('')) entries.push([ndn, structuredClone(rec)]);
      const meta: Array<[string, string]> = [];
      for await (const kv of this.store.scanMeta('')) meta.push(kv);
      return { entries, meta };
    });
  }

  /** Returns the database to a snapshot (entries and stored state; a live schema change stays). */
  async restore(snap: DirectorySnapshot): Promise<void> {
    await this.directory.writer.transaction(async () => {
      await this.store.clear();
      await this.store.write({
        entries: snap.entries.map(([ndn, rec]) => ({ ndn, new: structuredClone(rec) as EntryRecord })),
        meta: snap.meta.map(([key, value]) => ({ key, value })),
      });
    });
  }

  /** What a running server tells `astldap status`. */
  async status(): Promise<Record<string, unknown>> {
    return {
      pid: process.pid,
      started: this.startedAt.toISOString(),
      uptime_seconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      suffix: this.config.suffix,
      urls: this.urls,
      admin_url: this.adminUrl ?? null,
      entries: await this.store.count(),
      store: this.store.health(),
      memory: this.config.memory,
      data_dir: this.config.memory ? null : this.config.dataDir,
    };
  }

  /**
   * Stops: the admin API, then the listeners (with graceMs, requests in flight may finish that
   * long before their connections are closed), then pending writes, then the store; releases
   * the data directory's lock.
   */
  close(opts: { graceMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      this.console?.close();
      this.console = undefined;
      if (this.admin) await this.admin.close();
      this.admin = undefined;
      await this.listener?.close(opts.graceMs);
      await this.directory.writer.transaction(async () => undefined);
      await this.store.close();
      this.lock?.release();
      if (this.ownDataDir) rmSync(this.ownDataDir, { recursive: true, force: true });
    })();
    return this.closing;
  }

  /** `await using server = await startServer(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Embedding: the server owns a temporary data directory, removed on close. */
  static async startOwning(opts: StartOptions, dataDir: string | undefined): Promise<AstldapServer> {
    try {
      const server = await AstldapServer.start(opts);
      server.ownDataDir = dataDir;
      return server;
    } catch (err) {
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
      throw err;
    }
  }
}

/** The store migrated to layout 3 and opened again; closed if that fails. */
async function migrated(store: Store, open: () => Promise<Store>, opts: MigrateOptions): Promise<Store> {
  try {
    await migrateToLayout3(store, opts);
    return await open();
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Starts a server for embedding. Without a configFile the defaults suit a test suite: one
 * ldap://127.0.0.1 listener on a free port (no ldaps, no ldapi unless listed; the admin API,
 * when asked for, on a free port too), a memory
 * database, {SSHA} for new passwords of memory servers (cheap fixtures; set passwordScheme to
 * change it), no packaged seed for another suffix, warnings-only logging without the access
 * log, and run-time files (ldapi socket,
 * root token, development certificate) in a private temporary folder removed on close, never
 * inside the package.
 */
export function startServer(opts: StartOptions = {}): Promise<AstldapServer> {
  if (opts.configFile) return AstldapServer.start(opts);
  const given = opts.config ?? {};
  const config: ConfigOverrides = { ...given };
  const dataGiven = opts.dataDir !== undefined || given.dataDir !== undefined;
  const memory = opts.memory ?? given.memory ?? !dataGiven;
  if (memory && given.passwordScheme === undefined) config.passwordScheme = 'SSHA';
  if (given.log?.level === undefined || given.log?.access === undefined) {
    config.log = { level: given.log?.level ?? 'warn', access: given.log?.access ?? false };
  }
  // The packaged seed is for the default suffix: another suffix starts without it.
  const otherSuffix = (opts.suffix ?? given.suffix) !== undefined;
  const seed = opts.seed ?? (otherSuffix && given.seed === undefined ? false : undefined);
  const own = dataGiven ? undefined : mkdtempSync(path.join(os.tmpdir(), 'astldap-'));
  return AstldapServer.startOwning(
    {
      ...opts,
      config,
      memory,
      seed,
      listen: opts.listen ?? given.listen ?? ['ldap://127.0.0.1:0'],
      // The admin API, when asked for, also on a free port unless configured.
      adminApi: opts.adminApi === true && given.adminApi?.listen === undefined ? 'http://127.0.0.1:0' : opts.adminApi,
      ...(own ? { dataDir: own } : {}),
    },
    own,
  );
}

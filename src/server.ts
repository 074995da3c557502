// Assembles a running server from a configuration: schema registry, store, directory core and
// listeners; loads the seed into an empty database; offers LDIF import/export and reset for
// embedding in test suites.

import { existsSync, readFileSync } from 'node:fs';
import { startAdmin, type AdminHandle } from './admin/index.js';
import { loadConfig, type Config, type ConfigOverrides } from './config/config.js';
import { createLogger, silentLogger, type Logger } from './config/logger.js';
import { tlsProvider } from './config/tls.js';
import { Directory } from './directory/directory.js';
import { addRdnValues, buildAttributes } from './directory/entry-build.js';
import { Frontend } from './directory/frontend.js';
import { indexSpecs, makeIndexer } from './directory/indexing.js';
import type { OperationContext, SearchEntry } from './ldap/messages.js';
import { LdapError } from './ldap/result.js';
import { parseLdif, formatLdifEntry, readLdifChunks, type LdifRecord } from './ldif/ldif.js';
import { listen, type Listener } from './protocol/listener.js';
import { prettyDn } from './schema/dn.js';
import type { SchemaRegistry } from './schema/registry.js';
import { buildRegistry, fileSources, mergeStored, SCHEMA_META_KEY, type SchemaSourceText } from './schema/manager.js';
import { openStore } from './store/index.js';
import type { Store } from './store/types.js';

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
  /** A bulk load (LDIF import) follows: the store is tuned for many writes. */
  bulk?: boolean;
}

export class AstldapServer {
  private constructor(
    readonly config: Config,
    readonly directory: Directory,
    readonly frontend: Frontend,
    private readonly store: Store,
    private readonly listener: Listener,
    private readonly log: Logger,
    private readonly seedLdif: string | undefined,
  ) {}

  /** The admin API and secrets engine, when started (StartOptions.adminApi). */
  admin: AdminHandle | undefined;

  /** The admin API's URL (port resolved), when it runs. */
  get adminUrl(): string | undefined {
    return this.admin?.url;
  }

  /** The URLs actually listened on (ports resolved when 0 was asked for). */
  get urls(): string[] {
    return this.listener.urls;
  }
  get url(): string {
    return this.listener.urls.find((u) => u.startsWith('ldap://')) ?? this.listener.urls[0]!;
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
    const config = loadConfig({ file: opts.configFile, overrides });
    const log = opts.logger === false ? silentLogger : (opts.logger ?? createLogger(config.log.level));

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
    const indexer = makeIndexer(() => live.schema(), specs);
    const store = await openStore({
      path: config.memory ? undefined : config.dbPath,
      memory: config.memory,
      indexes: specs,
      indexer,
      sync: config.store.sync,
      cacheEntries: config.store.cacheEntries,
      bulk: opts.bulk ?? false,
    });
    let sources = files;
    const stored = await store.getMeta(SCHEMA_META_KEY);
    if (stored) {
      sources = mergeStored(files, JSON.parse(stored) as SchemaSourceText[]);
      schema = buildRegistry(sources);
    }
    const directory = new Directory({ config, schema, store, logger: log, schemaSources: sources });
    live.schema = () => directory.schema;
    await directory.init();
    const frontend = new Frontend(directory);

    const server = new AstldapServer(config, directory, frontend, store, undefined as unknown as Listener, log, opts.seedLdif);
    try {
      if ((await store.count()) === 0) await server.loadSeed();
      const listener = await listen(config.listen, {
        handler: frontend,
        maxPduSize: config.limits.maxPduSize,
        idleTimeout: config.limits.idleTimeout * 1000,
        maxConnections: config.limits.maxConnections,
        logger: log,
        tls: tlsProvider(config, log),
      });
      (server as unknown as { listener: Listener }).listener = listener;
      const wantAdmin = opts.adminApi === 'auto' ? config.adminApi.enabled : Boolean(opts.adminApi);
      if (wantAdmin) {
        try {
          server.admin = await startAdmin({
            config,
            directory,
            log,
            ownUrls: () => listener.urls,
            listen: typeof opts.adminApi === 'string' && opts.adminApi !== 'auto' ? opts.adminApi : undefined,
          });
        } catch (err) {
          // The default address taken (another server, a parallel test run): the directory
          // still serves; an explicitly requested admin API is an error.
          if (opts.adminApi === 'auto' && (err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
            log.warn(`admin api not started: ${config.adminApi.listen} is in use (use --admin-listen)`);
          } else {
            await listener.close();
            throw err;
          }
        }
      }
    } catch (err) {
      await store.close();
      throw err;
    }
    return server;
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
  async importLdif(text: string): Promise<number> {
    const records = parseLdif(text);
    await this.applyRecords(records);
    return records.length;
  }

  /**
   * Applies an LDIF file read as a stream, in bounded memory whatever its size (one run of
   * records at a time); `onProgress` sees the bytes read and the records applied so far.
   */
  async importLdifFile(file: string, onProgress?: (bytes: number, records: number) => void): Promise<number> {
    let n = 0;
    let bytes = 0;
    for await (const records of readLdifChunks(file, BULK_CHUNK, (b) => (bytes = b))) {
      await this.applyRecords(records);
      n += records.length;
      onProgress?.(bytes, n);
    }
    return n;
  }

  private async applyRecords(records: LdifRecord[]): Promise<void> {
    for (let i = 0; i < records.length;) {
      // Runs of plain adds go in chunks, one LevelDB batch each; everything else one by one.
      let j = i;
      const ndns: string[] = [];
      for (let ndn; j < records.length && j - i < BULK_CHUNK && (ndn = this.bulkable(records[j]!)) !== undefined; j++) ndns.push(ndn);
      if (j - i > 1) await this.bulkAdd(records.slice(i, j) as Array<Extract<LdifRecord, { kind: 'add' }>>, ndns);
      else await this.applyRecord(records[i]!);
      i = Math.max(j, i + 1);
    }
  }

  /**
   * The normalised DN of a plain add inside the naming context; undefined for anything else
   * (cn=config and bad DNs take the ordinary path).
   */
  private bulkable(r: LdifRecord): string | undefined {
    if (r.kind !== 'add') return undefined;
    try {
      const ndn = this.directory.normalize(r.dn);
      return this.directory.inNamingContext(ndn) ? ndn : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Adds many entries with the checks of an add (schema, RDN values, new DN, existing parent)
   * in one atomic batch: a bulk load costs one write per chunk instead of one per entry.
   */
  private async bulkAdd(run: Array<Extract<LdifRecord, { kind: 'add' }>>, ndns: string[]): Promise<void> {
    const dir = this.directory;
    await dir.writer.transaction(async (tx) => {
      for (const [i, r] of run.entries()) {
        try {
          const ndn = ndns[i]!;
          const rdns = dir.parse(r.dn);
          const attrs = await buildAttributes(dir.schema, dir.config.passwordScheme, r.attributes);
          addRdnValues(dir.schema, rdns[0]!, attrs);
          await tx.add(this.config.admin.dn, ndn, prettyDn(r.dn), attrs);
        } catch (err) {
          // What came before the failing record stays (as ldapadd without -c leaves it).
          await tx.commit();
          throw inLdif(err, r);
        }
      }
    });
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
      .search(
        ctx,
        {
          base: this.config.suffix,
          scope: 'sub',
          derefAliases: 0,
          sizeLimit: 0,
          timeLimit: 0,
          typesOnly: false,
          filter: { type: 'present', attribute: 'objectClass' },
          attributes: opts.operational ? ['*', '+'] : ['*'],
        },
        (e) => {
          entries.push(e);
        },
      )
      .catch((err: unknown) => {
        if (!(err instanceof LdapError && err.code === 32)) throw err;
      });
    return entries.map((e) => formatLdifEntry(e.dn, e.attributes)).join('\n');
  }

  /** Empties the database and loads the seed again (between tests). */
  async reset(): Promise<void> {
    await this.directory.writer.transaction(() => this.store.clear());
    await this.loadSeed();
  }

  async close(): Promise<void> {
    if (this.admin) await this.admin.close();
    this.admin = undefined;
    await this.listener.close();
    await this.store.close();
  }
}

/** An LDIF record's failure, with the record's DN and line in the message. */
function inLdif(err: unknown, r: LdifRecord): unknown {
  if (err instanceof LdapError) return new LdapError(err.code, `${r.dn} (LDIF line ${r.line}): ${err.message}`, err.matchedDN);
  return err;
}

export function startServer(opts: StartOptions = {}): Promise<AstldapServer> {
  return AstldapServer.start(opts);
}

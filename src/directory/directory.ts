// The directory core's state for one server: configuration, the live schema, the store, the
// access policy and the write path, plus everything else one server owns (the change clock,
// paged-search cursors, bind throttling). Two servers in one process share none of it. The
// operations (one file each) take a Directory; the Frontend routes requests to them.

import { readFileSync } from 'node:fs';
import { AccessPolicy } from '../access/access-rules.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { silentLogger } from '../config/logger.js';
import type { OperationContext, Session } from '../ldap/messages.js';
import { isBelow, parentNdn } from '../ldap/ndn.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { normalizeDn, normalizeRdns, parseDn, type Rdn } from '../schema/dn.js';
import type { SchemaSourceText } from '../schema/manager.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { Lru } from '../store/lru.js';
import type { EntryRecord, Store } from '../store/types.js';
import { BindThrottle } from './bind-throttle.js';
import { ChangeClock } from './clock.js';
import { PagedCursors } from './paged.js';
import { SyncConsumers } from './sync/consumers.js';
import { SyncState } from './sync/log.js';
import { Transactions } from './txn.js';
import { Writer } from './write.js';

export const SUBSCHEMA_DN = 'cn=Subschema';
export const VENDOR_NAME = 'astldap';
/** The root DSE's vendorVersion: the package's own version (package.json, two folders up from src/ and dist/). */
export const VENDOR_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

export interface DirectoryOptions {
  config: Config;
  schema: SchemaRegistry;
  store: Store;
  logger?: Logger;
  /** The schema sources the registry was built from (for cn=schema,cn=config). */
  schemaSources?: SchemaSourceText[];
}

/**
 * Node cannot read a Unix socket peer's credentials (SO_PEERCRED); the ldapi socket is mode 0600,
 * so a peer runs as this server's user (or root). Its identity is given in OpenLDAP's form.
 */
export function defaultExternalIdentity(): string {
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  return `gidNumber=${gid}+uidNumber=${uid},cn=peercred,cn=external,cn=auth`;
}

/** Normalised DNs remembered (per schema), and the longest DN remembered. */
const NDN_CACHE_SIZE = 4096;
const NDN_CACHE_MAX_LENGTH = 256;

export class Directory {
  readonly config: Config;
  readonly store: Store;
  readonly log: Logger;
  readonly suffixNdn: string;
  readonly adminNdn: string;
  /** The SASL EXTERNAL identity of ldapi:// clients (OpenLDAP's peercred form). */
  readonly externalDn: string;
  readonly externalNdn: string;
  readonly subschemaNdn: string;
  readonly access: AccessPolicy;
  readonly writer: Writer;
  readonly clock = new ChangeClock();
  readonly cursors = new PagedCursors();
  readonly throttle: BindThrottle;
  /** Replication state: contextCSN and the session log (RFC 4533 provider). */
  readonly sync: SyncState;
  /** Open LDAP transactions (RFC 5805) of every connection. */
  readonly txns: Transactions;
  /** Who replicates from this server (sync consumers, persistent searches) and how far behind. */
  readonly consumers = new SyncConsumers();
  private registry: SchemaRegistry;
  private ndnCache: { schema: SchemaRegistry | undefined; map: Lru<string, string> } = { schema: undefined, map: new Lru(0) };
  private sources: SchemaSourceText[];

  constructor(opts: DirectoryOptions) {
    this.config = opts.config;
    this.registry = opts.schema;
    this.sources = opts.schemaSources ?? [];
    this.store = opts.store;
    this.throttle = new BindThrottle(opts.config.bindThrottle);
    this.log = opts.logger ?? silentLogger;
    this.suffixNdn = this.normalize(opts.config.suffix);
    this.adminNdn = this.normalize(opts.config.admin.dn);
    this.externalDn = opts.config.ldapi.identity ?? defaultExternalIdentity();
    this.externalNdn = this.normalize(this.externalDn);
    this.subschemaNdn = this.normalize(SUBSCHEMA_DN);
    this.access = new AccessPolicy({
      config: this.config,
      schema: () => this.registry,
      normalize: (dn) => this.normalize(dn),
      isAdmin: (s) => this.isAdmin(s),
      log: this.log,
    });
    this.writer = new Writer(this);
    this.writer.onCommit((batch) => this.access.onWrite(batch));
    this.writer.onCommit(() => this.consumers.committed());
    this.sync = new SyncState(this.clock, this.config.replication.sessionLog);
    this.txns = new Transactions(this);
  }

  /** Loads what the access policy keeps in memory (group members). */
  async init(): Promise<void> {
    await this.access.init((ndn) => this.store.get(ndn));
    await this.sync.init(this.store, this.writer);
  }

  get schema(): SchemaRegistry {
    return this.registry;
  }

  /** The live schema sources, in load order (cn=schema,cn=config shows them). */
  get schemaSources(): SchemaSourceText[] {
    return this.sources;
  }

  /** A new schema, already validated and stored: applies at once on every connection. */
  applySchema(sources: SchemaSourceText[], registry: SchemaRegistry): void {
    this.sources = sources;
    this.registry = registry;
    this.clock.schemaChanged();
  }

  /**
   * Normalises a DN, turning any failure into invalidDNSyntax. Short DNs (search bases, bind DNs:
   * the same few on every request) are remembered, per schema: normalising is a parse and a
   * matching rule per RDN, several microseconds of every lookup.
   */
  normalize(dn: string): string {
    if (dn.length <= NDN_CACHE_MAX_LENGTH) {
      if (this.ndnCache.schema !== this.registry) this.ndnCache = { schema: this.registry, map: new Lru(NDN_CACHE_SIZE) };
      const hit = this.ndnCache.map.get(dn);
      if (hit !== undefined) return hit;
    }
    try {
      const ndn = normalizeDn(dn, this.registry);
      if (dn.length <= NDN_CACHE_MAX_LENGTH) this.ndnCache.map.set(dn, ndn);
      return ndn;
    } catch (err) {
      if (err instanceof LdapError) throw err;
      throw new LdapError(ResultCode.invalidDNSyntax, 'invalid DN');
    }
  }

  /** The DN parsed and normalised in one pass (a bulk load's DNs are each seen once: no cache). */
  parseNormalized(dn: string): { rdns: Rdn[]; ndn: string } {
    try {
      const rdns = parseDn(dn);
      return { rdns, ndn: normalizeRdns(rdns, this.registry, dn) };
    } catch (err) {
      if (err instanceof LdapError) throw err;
      throw new LdapError(ResultCode.invalidDNSyntax, 'invalid DN');
    }
  }

  parse(dn: string): Rdn[] {
    try {
      return parseDn(dn);
    } catch (err) {
      if (err instanceof LdapError) throw err;
      throw new LdapError(ResultCode.invalidDNSyntax, 'invalid DN');
    }
  }

  /** The configured administrator, or the EXTERNAL identity of an ldapi:// client. */
  isAdmin(session: Session): boolean {
    if (session.bindNdn === '') return false;
    if (session.bindNdn === this.adminNdn) return true;
    return session.transport === 'ldapi' && session.authMethod === 'sasl' && session.bindNdn === this.externalNdn;
  }

  /** True for DNs the server holds (the suffix and below). */
  inNamingContext(ndn: string): boolean {
    return ndn === this.suffixNdn || isBelow(ndn, this.suffixNdn);
  }

  /**
   * The entry, or noSuchObject. With a session, an entry it may not know of (slapd's
   * `disclose`) is answered exactly as an absent one: same code, same matchedDN, same message.
   */
  async getEntry(ndn: string, session?: Session): Promise<EntryRecord> {
    const rec = await this.store.get(ndn);
    if (rec && (session === undefined || this.discloses(session, ndn))) return rec;
    throw new LdapError(ResultCode.noSuchObject, '', await this.matchedDn(ndn, session));
  }

  /** May the session learn that the stored entry ndn exists (slapd's `disclose` on `entry`)? */
  discloses(session: Session, ndn: string): boolean {
    return this.isAdmin(session) || this.access.canDisclose(session, ndn);
  }

  /**
   * The matchedDN for a missing (or undisclosed) ndn: its deepest existing ancestor, or with a
   * session, the deepest one that session may know of; '' when there is none. Ancestors are
   * walked past, not stopped at, so a hidden entry and an absent sibling answer the same.
   */
  async matchedDn(ndn: string, session?: Session): Promise<string> {
    for (let cur = parentNdn(ndn); cur !== ''; cur = parentNdn(cur)) {
      const rec = await this.store.get(cur);
      if (rec && (session === undefined || this.discloses(session, cur))) return rec.dn;
    }
    return '';
  }

  /** An operation context for the server's own work (import, export, the admin module). */
  internalContext(bindDn: string, label: string): OperationContext {
    const session: Session = {
      id: 0,
      bindDn,
      bindNdn: bindDn === '' ? '' : this.normalize(bindDn),
      authMethod: 'simple',
      remoteAddress: label,
      transport: 'tcp',
      tls: false,
    };
    return { session, messageId: 0, controls: {}, signal: new AbortController().signal };
  }
}

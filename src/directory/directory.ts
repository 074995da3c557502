// The directory core: owns the schema, the store and the configuration, and answers each LDAP
// operation (one file per operation beside this one) as a plain async function. It knows
// nothing of sockets or BER; the protocol layer calls it through RequestHandler.

import { randomUUID } from 'node:crypto';
import { LdapError, ResultCode } from '../errors.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { silentLogger } from '../config/logger.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { normalizeDn, parseDn } from '../schema/dn.js';
import type { EntryRecord, Indexer, IndexSpec, Store, WriteBatch } from '../store/types.js';
import type {
  AddRequest,
  BindRequest,
  BindResponse,
  CompareRequest,
  DeleteRequest,
  ExtendedRequest,
  ExtendedResponse,
  LdapResult,
  ModifyDNRequest,
  ModifyRequest,
  OperationContext,
  RequestHandler,
  SearchRequest,
  SendEntry,
  Session,
} from './requests.js';
import { bind } from './bind.js';
import { search } from './search.js';
import { add } from './add.js';
import { modify } from './modify.js';
import { del } from './delete.js';
import { modifyDN } from './modrdn.js';
import { compare } from './compare.js';
import { extended } from './extended.js';
import { releaseSession } from './controls.js';
import { AccessPolicy } from './access.js';
import { ConfigTree } from './cn-config.js';
import type { SchemaSourceText } from '../schema/manager.js';

export const SUBSCHEMA_DN = 'cn=Subschema';
export const VENDOR_NAME = 'astldap';
export const VENDOR_VERSION = '0.1.0';

/** Controls the core understands (others marked critical are refused by the protocol layer). */
export const SUPPORTED_CONTROLS = [
  '2.16.840.1.113730.3.4.2', // ManageDsaIT (RFC 3296): accepted; there are no referrals to manage
  '1.2.840.113556.1.4.319', // Simple Paged Results (RFC 2696)
  '1.2.840.113556.1.4.473', // server-side sorting request (RFC 2891)
  '1.3.6.1.1.12', // assertion (RFC 4528)
  '1.3.6.1.1.13.1', // pre-read (RFC 4527)
  '1.3.6.1.1.13.2', // post-read (RFC 4527)
];

export const EXT_WHOAMI = '1.3.6.1.4.1.4203.1.11.3';
export const EXT_PASSWD_MODIFY = '1.3.6.1.4.1.4203.1.11.1';
export const SUPPORTED_EXTENSIONS = [EXT_PASSWD_MODIFY, EXT_WHOAMI];

export const SUPPORTED_FEATURES = [
  '1.3.6.1.1.14', // Modify-Increment (RFC 4525)
  '1.3.6.1.4.1.4203.1.5.1', // all operational attributes: '+' (RFC 3673)
  '1.3.6.1.4.1.4203.1.5.2', // objectClass attribute lists: '@class' (RFC 4529)
  '1.3.6.1.4.1.4203.1.5.3', // absolute true and false filters (RFC 4526)
  '1.3.6.1.4.1.4203.1.5.4', // language tag options (RFC 3866)
];

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

export function generalizedTime(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
}

let csnCounter = 0;
let lastCsnTime = '';
/** OpenLDAP-form change sequence number: time.usec#count#sid#mod. */
export function makeCsn(d = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const time = `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds() * 1000, 6)}Z`;
  csnCounter = time === lastCsnTime ? csnCounter + 1 : 0;
  lastCsnTime = time;
  return `${time}#${csnCounter.toString(16).padStart(6, '0')}#000#000000`;
}

export class Directory implements RequestHandler {
  readonly config: Config;
  schema: SchemaRegistry;
  readonly store: Store;
  readonly log: Logger;
  readonly access: AccessPolicy;
  readonly suffixNdn: string;
  readonly adminNdn: string;
  /** The SASL EXTERNAL identity of ldapi:// clients (OpenLDAP's peercred form). */
  readonly externalDn: string;
  readonly externalNdn: string;
  readonly configTree: ConfigTree;
  readonly subschemaNdn: string;
  private writeChain: Promise<unknown> = Promise.resolve();

  constructor(opts: DirectoryOptions) {
    this.config = opts.config;
    this.schema = opts.schema;
    this.store = opts.store;
    this.log = opts.logger ?? silentLogger;
    this.suffixNdn = this.normalize(opts.config.suffix);
    this.adminNdn = this.normalize(opts.config.admin.dn);
    this.externalDn = opts.config.ldapi.identity ?? defaultExternalIdentity();
    this.externalNdn = this.normalize(this.externalDn);
    this.access = new AccessPolicy(this);
    this.configTree = new ConfigTree(this, opts.schemaSources ?? []);
    this.subschemaNdn = this.normalize(SUBSCHEMA_DN);
  }

  /** The index configuration as the store wants it (attribute keys resolved via the schema). */
  static indexSpecs(config: Config, schema: SchemaRegistry): IndexSpec[] {
    const out: IndexSpec[] = [];
    for (const [name, kinds] of Object.entries(config.store.indexes)) {
      const t = schema.attributeType(name);
      if (!t) continue; // an index on a type the schema lacks is ignored (warned at start)
      out.push({ attr: t.key, eq: kinds.includes('eq'), pres: kinds.includes('pres'), sub: kinds.includes('sub') });
    }
    return out;
  }

  /** Normalised values of the indexed attributes, for the store. */
  static makeIndexer(getSchema: () => SchemaRegistry, specs: IndexSpec[]): Indexer {
    const keys = specs.map((s) => s.attr);
    return (rec: EntryRecord) => {
      const schema = getSchema();
      const out = new Map<string, string[]>();
      for (const key of keys) {
        const vals = rec.attrs[key];
        if (!vals || !vals.length) continue;
        if (key === 'objectclass') {
          out.set(key, vals.map((v) => schema.objectClass(v)?.key ?? v.toLowerCase()));
          continue;
        }
        const rule = schema.attributeType(key)?.equality;
        const norm: string[] = [];
        for (const v of vals) {
          const n = rule ? rule.normalize(v) : v;
          if (n !== undefined) norm.push(n);
        }
        out.set(key, norm);
      }
      return out;
    };
  }

  /** Normalises a DN, turning any failure into invalidDNSyntax. */
  normalize(dn: string): string {
    try {
      return normalizeDn(dn, this.schema);
    } catch (err) {
      if (err instanceof LdapError) throw err;
      throw new LdapError(ResultCode.invalidDNSyntax, 'invalid DN');
    }
  }

  parse(dn: string) {
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
    return ndn === this.suffixNdn || ndn.endsWith(',' + this.suffixNdn);
  }

  /** The entry, or noSuchObject with the deepest existing ancestor as matchedDN. */
  async getEntry(ndn: string): Promise<EntryRecord> {
    const rec = await this.store.get(ndn);
    if (rec) return rec;
    throw new LdapError(ResultCode.noSuchObject, '', await this.matchedDn(ndn));
  }

  async matchedDn(ndn: string): Promise<string> {
    let cur = ndn;
    for (;;) {
      const i = cur.indexOf(',');
      if (i < 0) return '';
      cur = cur.slice(i + 1);
      const rec = await this.store.get(cur);
      if (rec) return rec.dn;
    }
  }

  /** Serialises writes: each runs alone, in arrival order, so read-check-write is consistent. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.writeChain.then(fn, fn);
    this.writeChain = run.catch(() => undefined);
    return run;
  }

  async write(batch: WriteBatch): Promise<void> {
    await this.store.write(batch);
    this.access.onWrite(batch);
  }

  /** Operational attributes for a new entry (RFC 4512 §3.4, OpenLDAP's entryUUID/entryCSN). */
  stampCreate(attrs: Record<string, string[]>, actorDn: string, structural: string): void {
    const now = new Date();
    const t = generalizedTime(now);
    attrs['structuralobjectclass'] = [structural];
    attrs['entryuuid'] = [randomUUID()];
    attrs['creatorsname'] = [actorDn];
    attrs['createtimestamp'] = [t];
    attrs['entrycsn'] = [makeCsn(now)];
    attrs['modifiersname'] = [actorDn];
    attrs['modifytimestamp'] = [t];
  }

  stampModify(attrs: Record<string, string[]>, actorDn: string): void {
    const now = new Date();
    attrs['entrycsn'] = [makeCsn(now)];
    attrs['modifiersname'] = [actorDn];
    attrs['modifytimestamp'] = [generalizedTime(now)];
  }

  // RequestHandler: each operation lives in its own file.
  bind(ctx: OperationContext, req: BindRequest): Promise<BindResponse> {
    return bind(this, ctx, req);
  }
  search(ctx: OperationContext, req: SearchRequest, send: SendEntry): Promise<LdapResult> {
    return search(this, ctx, req, send);
  }
  add(ctx: OperationContext, req: AddRequest): Promise<LdapResult> {
    return add(this, ctx, req);
  }
  modify(ctx: OperationContext, req: ModifyRequest): Promise<LdapResult> {
    return modify(this, ctx, req);
  }
  delete(ctx: OperationContext, req: DeleteRequest): Promise<LdapResult> {
    return del(this, ctx, req);
  }
  modifyDN(ctx: OperationContext, req: ModifyDNRequest): Promise<LdapResult> {
    return modifyDN(this, ctx, req);
  }
  compare(ctx: OperationContext, req: CompareRequest): Promise<LdapResult> {
    return compare(this, ctx, req);
  }
  extended(ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse> {
    return extended(this, ctx, req);
  }
  /** The connection ended: free what the session held (paged-results cursors). */
  disconnect(session: Session): void {
    releaseSession(this, session);
  }
}

export function success(message = ''): LdapResult {
  return { code: ResultCode.success, matchedDN: '', message };
}

// The frontend: what the protocol layer calls (RequestHandler). It routes each request once, by
// its target DN, to the special entries (root DSE, cn=Subschema, cn=config) or to the naming
// context's operations (one file each), as slapd routes with select_backend.

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
  SendSyncInfo,
  Session,
} from '../ldap/messages.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { add, addRootDse } from './add.js';
import { bind } from './bind.js';
import { ConfigTree, isConfigDn } from './cn-config.js';
import { compare } from './compare.js';
import { del } from './delete.js';
import type { Directory } from './directory.js';
import { ExtendedHandlers, type ExtendedHandler } from './extended.js';
import { modify } from './modify.js';
import { modifyDN } from './modrdn.js';
import { requireUnrestricted } from './ppolicy.js';
import { rootDseSource } from './root-dse.js';
import { storedEntries, type SearchSource } from './search/collect.js';
import { search } from './search/index.js';
import { subschemaSource } from './subschema.js';
import { syncSearch } from './sync/search.js';
import type { UpdateRequest } from './txn.js';
import { passwordModify } from './password-modify.js';
import type { TransactionRunner } from './write.js';

type Route = 'rootDse' | 'subschema' | 'config' | 'entries';

/** What the server hands the frontend from the layers it cannot import (server/extended.ts). */
export interface FrontendOptions {
  /** The extended operations' handlers, one row of the server's table each. */
  extended: readonly ExtendedHandler[];
  /** The OIDs of the request controls the protocol layer decodes (its codec registry). */
  controls: readonly string[];
  /** Extended operations the connection runs itself, before any handler (StartTLS), to advertise beside the table's. */
  connectionExtensions?: readonly string[];
}

export class Frontend implements RequestHandler {
  readonly configTree: ConfigTree;
  private readonly extendedOps: ExtendedHandlers;
  private readonly rootDse: SearchSource;

  constructor(
    readonly dir: Directory,
    opts: FrontendOptions,
  ) {
    this.configTree = new ConfigTree(dir);
    this.extendedOps = new ExtendedHandlers(opts.extended);
    this.rootDse = rootDseSource({
      controls: [...opts.controls],
      extensions: [...(opts.connectionExtensions ?? []), ...this.extendedOps.oids],
    });
  }

  private route(ndn: string): Route {
    if (ndn === '') return 'rootDse';
    if (ndn === this.dir.subschemaNdn) return 'subschema';
    if (isConfigDn(ndn)) return 'config';
    return 'entries';
  }

  private searchSource(route: Route): SearchSource {
    switch (route) {
      case 'rootDse':
        return this.rootDse;
      case 'subschema':
        return subschemaSource;
      case 'config':
        return this.configTree.source;
      case 'entries':
        return storedEntries;
    }
  }

  bind(ctx: OperationContext, req: BindRequest): Promise<BindResponse> {
    // RFC 5805 §3.5: a bind aborts the connection's transactions without notice.
    this.dir.txns.endSession(ctx.session.id);
    return bind(this.dir, ctx, req);
  }

  search(ctx: OperationContext, req: SearchRequest, send: SendEntry, sendInfo?: SendSyncInfo): Promise<LdapResult> {
    const baseNdn = this.dir.normalize(req.base);
    const route = this.route(baseNdn);
    // The restriction of a reset password is the naming context's (slapd's overlay is its database's).
    if (route === 'entries') requireUnrestricted(ctx);
    if (ctx.controls.sync || ctx.controls.persistentSearch) {
      // Only the naming context is replicated (slapd's syncprov sits on one database too).
      if (route !== 'entries' || !this.dir.inNamingContext(baseNdn)) {
        throw new LdapError(ResultCode.unwillingToPerform, 'sync and persistent searches apply to the naming context only');
      }
      return syncSearch(this.dir, ctx, req, baseNdn, send, sendInfo);
    }
    return search(this.dir, ctx, req, baseNdn, send, this.searchSource(route));
  }

  async add(ctx: OperationContext, req: AddRequest): Promise<LdapResult> {
    requireUnrestricted(ctx);
    if (this.dir.parse(req.dn).length === 0) addRootDse();
    const ndn = this.dir.normalize(req.dn);
    if (this.route(ndn) === 'config') return this.inTxn(ctx, () => this.configTree.add(ctx, req, ndn));
    return this.update(ctx, req, (run) => add(this.dir, ctx, req, ndn, run));
  }

  async modify(ctx: OperationContext, req: ModifyRequest): Promise<LdapResult> {
    const ndn = this.dir.normalize(req.dn);
    switch (this.route(ndn)) {
      case 'config':
        return this.inTxn(ctx, () => this.configTree.modify(ctx, req, ndn));
      case 'subschema':
        return this.inTxn(ctx, () => this.configTree.modifySubschema(ctx, req));
      default:
        return this.update(ctx, req, (run) => modify(this.dir, ctx, req, ndn, run));
    }
  }

  async delete(ctx: OperationContext, req: DeleteRequest): Promise<LdapResult> {
    requireUnrestricted(ctx);
    const ndn = this.dir.normalize(req.dn);
    const route = this.route(ndn);
    if (route === 'config' || route === 'subschema') {
      this.configTree.requireAccess(ctx.session, true);
      throw new LdapError(ResultCode.unwillingToPerform, 'schema entries cannot be deleted; delete their definitions with modify');
    }
    return this.update(ctx, req, (run) => del(this.dir, ctx, req, ndn, run));
  }

  async modifyDN(ctx: OperationContext, req: ModifyDNRequest): Promise<LdapResult> {
    requireUnrestricted(ctx);
    const ndn = this.dir.normalize(req.dn);
    const route = this.route(ndn);
    if (route === 'config' || route === 'subschema') {
      this.configTree.requireAccess(ctx.session, true);
      throw new LdapError(ResultCode.unwillingToPerform, 'cn=config entries cannot be renamed');
    }
    return this.update(ctx, req, (run) => modifyDN(this.dir, ctx, req, ndn, run));
  }

  async compare(ctx: OperationContext, req: CompareRequest): Promise<LdapResult> {
    requireUnrestricted(ctx);
    return compare(this.dir, ctx, req, this.dir.normalize(req.dn));
  }

  /** By the request's handler (the server's table); none: "unsupported extended operation". */
  async extended(ctx: OperationContext, req: ExtendedRequest): Promise<ExtendedResponse> {
    if (ctx.controls.txnSpec) {
      // RFC 5805 §2.2: Password Modify may be part of a transaction; no other extended operation.
      if (req.kind === 'passwordModify') return this.dir.txns.queue(ctx, req, (run) => passwordModify(this.dir, ctx, req, run));
      throw new LdapError(ResultCode.unwillingToPerform, 'this extended operation cannot be part of a transaction');
    }
    return this.extendedOps.run(this.dir, ctx, req);
  }

  /**
   * An update of the naming context: run now, or with the Transaction Specification control,
   * checked and queued in its transaction (synchronously called: updates queue in arrival order).
   */
  private update(ctx: OperationContext, req: UpdateRequest, op: (run?: TransactionRunner) => Promise<LdapResult>): Promise<LdapResult> {
    return ctx.controls.txnSpec ? this.dir.txns.queue(ctx, req, op) : op();
  }

  /** cn=config and the subschema are not part of the transactions' database (slapd: one database per transaction). */
  private inTxn(ctx: OperationContext, op: () => Promise<LdapResult>): Promise<LdapResult> {
    if (ctx.controls.txnSpec) throw new LdapError(ResultCode.affectsMultipleDSAs, 'transaction cannot span multiple database contexts');
    return op();
  }

  /** The connection ended: free what the session held (paged-results cursors, transactions). */
  disconnect(session: Session): void {
    this.dir.cursors.release(session.id);
    this.dir.txns.endSession(session.id);
  }
}

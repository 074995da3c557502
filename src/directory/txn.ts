// LDAP transactions (RFC 5805), as slapd runs them: Start Transaction gives the connection an
// identifier; each update carrying it is checked at once (access, schema, existence as the
// transaction would see it) and answered success; End Transaction runs every queued update again,
// in order, under the write lock in one WriteTransaction, so they see each other as slapd's
// backend transaction does, and commits them as ONE store batch (entries, indexes, sync log), or
// nothing. A transaction belongs to one connection and identity and dies with them.

import { randomBytes } from 'node:crypto';
import type {
  AddRequest,
  DeleteRequest,
  ExtendedRequest,
  ExtendedResponse,
  LdapResult,
  ModifyDNRequest,
  ModifyRequest,
  OperationContext,
} from '../ldap/messages.js';
import type { Logger } from '../config/logger.js';
import { OID } from '../ldap/oids.js';
import { LdapError, ResultCode, success } from '../ldap/result.js';
import { WriteTransaction, type TransactionRunner, type Writer, type WriterContext } from './write.js';

/** What transactions need of their server (the Directory is one). */
export interface TransactionHost extends WriterContext {
  readonly writer: Writer;
  readonly log: Logger;
}

/** One queued update: its message ID and the part of its operation that runs under the lock. */
interface Update {
  messageId: number;
  apply: (tx: WriteTransaction) => Promise<unknown>;
}

interface Txn {
  readonly key: string;
  readonly sessionId: number;
  /** The identity that started it: a later bind ends it anyway (RFC 5805 §3.5), this is a second guard. */
  readonly bindNdn: string;
  readonly updates: Update[];
  bytes: number;
  /** Updates accepted or being checked (the limit counts those still checking). */
  reserved: number;
  /** The checks of arriving updates, in arrival order; End waits for them. */
  checking: Promise<void>;
  /** Where arriving updates are checked: never written, it only shows them to the later ones. */
  readonly view: WriteTransaction;
  settling: boolean;
  timer?: NodeJS.Timeout;
}

/** The update that failed at commit, and why. */
class UpdateFailed extends Error {
  constructor(
    readonly messageId: number,
    readonly failure: LdapError,
  ) {
    super(failure.message);
  }
}

const invalidId = (): LdapError => new LdapError(ResultCode.txnIdInvalid, 'invalid transaction identifier');

export type UpdateRequest = AddRequest | ModifyRequest | DeleteRequest | ModifyDNRequest | PasswordModifyRequest;
type PasswordModifyRequest = Extract<ExtendedRequest, { kind: 'passwordModify' }>;

/** Bytes of an update as counted against limits.maxTxnBytes: DNs, attribute names and values. */
export function updateBytes(req: UpdateRequest): number {
  if ('kind' in req) return Buffer.byteLength(req.userIdentity ?? '') + (req.oldPassword?.length ?? 0) + (req.newPassword?.length ?? 0);
  let n = Buffer.byteLength(req.dn);
  if ('attributes' in req) for (const a of req.attributes) n += a.type.length + a.values.reduce((s, v) => s + v.length, 0);
  if ('changes' in req) for (const c of req.changes) n += c.type.length + c.values.reduce((s, v) => s + v.length, 0);
  if ('newRdn' in req) n += Buffer.byteLength(req.newRdn) + Buffer.byteLength(req.newSuperior ?? '');
  return n;
}

/** The extended operations' handlers (Start and End Transaction), for whatever holds the transactions (the Directory). */
export async function txnStart(dir: { txns: Transactions }, ctx: OperationContext): Promise<ExtendedResponse> {
  return dir.txns.start(ctx);
}

export function txnEnd(
  dir: { txns: Transactions },
  ctx: OperationContext,
  req: { identifier: Buffer; commit: boolean },
): Promise<ExtendedResponse> {
  return dir.txns.end(ctx, req.identifier, req.commit);
}

export class Transactions {
  private readonly open = new Map<string, Txn>();

  constructor(private readonly dir: TransactionHost) {}

  /** Transactions are on (and advertised) unless limits.maxTxnsPerConnection is 0. */
  get enabled(): boolean {
    return this.dir.config.limits.maxTxnsPerConnection > 0;
  }

  /** Transactions open now (all connections). */
  get size(): number {
    return this.open.size;
  }

  start(ctx: OperationContext): ExtendedResponse {
    if (!this.enabled) throw new LdapError(ResultCode.protocolError, 'unsupported extended operation');
    if (ctx.controls.preRead || ctx.controls.postRead || ctx.controls.assertion) {
      throw new LdapError(ResultCode.protocolError, 'start transaction: controls not appropriate');
    }
    const max = this.dir.config.limits.maxTxnsPerConnection;
    let mine = 0;
    for (const t of this.open.values()) if (t.sessionId === ctx.session.id) mine++;
    // slapd's words (it allows one per connection).
    if (mine >= max) throw new LdapError(ResultCode.busy, 'Too many transactions');
    const id = randomBytes(8).toString('hex');
    const view = new WriteTransaction(this.dir, () => Promise.reject(new Error('a transaction view is never written')));
    view.hold();
    const txn: Txn = {
      key: id,
      sessionId: ctx.session.id,
      bindNdn: ctx.session.bindNdn,
      updates: [],
      bytes: 0,
      reserved: 0,
      checking: Promise.resolve(),
      view,
      settling: false,
    };
    const timeout = this.dir.config.limits.txnTimeout;
    if (timeout > 0) {
      txn.timer = setTimeout(() => {
        if (txn.settling) return;
        this.dir.log.info(`conn=${txn.sessionId} transaction discarded: open for more than limits.txnTimeout (${timeout} s)`);
        this.abort(txn, ctx, ResultCode.adminLimitExceeded, `transaction open for more than limits.txnTimeout (${timeout} s)`);
      }, timeout * 1000);
      txn.timer.unref();
    }
    this.open.set(id, txn);
    return { ...success(), txnId: Buffer.from(id, 'latin1') };
  }

  /**
   * An update carrying the Transaction Specification control: checked (run through `op` against
   * the transaction's view) and queued, or refused with the reason. Must be called in arrival
   * order before the caller awaits anything: updates are checked, and later applied, in that order.
   */
  queue<R extends LdapResult>(ctx: OperationContext, req: UpdateRequest, op: (run: TransactionRunner) => Promise<R>): Promise<R> {
    // Off: the control is not offered, as for any critical control the server does not support.
    if (!this.enabled) throw new LdapError(ResultCode.unavailableCriticalExtension, `critical control ${OID.txnSpec} is not supported`);
    const txn = this.find(ctx, ctx.controls.txnSpec!);
    if (txn.settling) throw invalidId();
    // slapd's limitation, and what RFC 5805 §4.5 would otherwise return in updatesControls.
    if (ctx.controls.preRead) throw new LdapError(ResultCode.unwillingToPerform, 'cannot perform pre-read in transaction');
    if (ctx.controls.postRead) throw new LdapError(ResultCode.unwillingToPerform, 'cannot perform post-read in transaction');
    const limits = this.dir.config.limits;
    if (limits.maxTxnOps > 0 && txn.reserved >= limits.maxTxnOps) {
      throw new LdapError(ResultCode.adminLimitExceeded, `transaction holds limits.maxTxnOps (${limits.maxTxnOps}) updates`);
    }
    const bytes = updateBytes(req);
    if (limits.maxTxnBytes > 0 && txn.bytes + bytes > limits.maxTxnBytes) {
      throw new LdapError(ResultCode.adminLimitExceeded, `transaction would exceed limits.maxTxnBytes (${limits.maxTxnBytes} bytes)`);
    }
    txn.reserved++;
    txn.bytes += bytes;
    const checked = txn.checking.then(async (): Promise<R> => {
      let apply: Update['apply'] | undefined;
      const run: TransactionRunner = (fn) => {
        apply = fn;
        return fn(txn.view);
      };
      const staged = txn.view.stagedBytes;
      let answer: R;
      try {
        // Its answer as checked (success; Password Modify's generated password, applied at commit).
        answer = await op(run);
      } catch (err) {
        txn.reserved--;
        txn.bytes -= bytes;
        throw err;
      }
      // The entries it writes count too (a small modify of a large entry holds a copy of it); past
      // the bound the view already holds this update, so the transaction cannot go on.
      txn.bytes += txn.view.stagedBytes - staged;
      if (limits.maxTxnBytes > 0 && txn.bytes > limits.maxTxnBytes && this.open.get(txn.key) === txn) {
        const why = `its updates and the entries they write exceed limits.maxTxnBytes (${limits.maxTxnBytes} bytes)`;
        this.abort(txn, ctx, ResultCode.adminLimitExceeded, why);
        throw new LdapError(ResultCode.adminLimitExceeded, `transaction discarded: ${why}`);
      }
      // Dead meanwhile (bind, disconnect, timeout): nothing to queue into. (Settling is fine: End
      // arrived after this update and waits for its check.)
      if (this.open.get(txn.key) !== txn) throw invalidId();
      txn.updates.push({ messageId: ctx.messageId, apply: apply! });
      return answer;
    });
    txn.checking = checked.then(
      () => undefined,
      () => undefined,
    );
    return checked;
  }

  /** End Transaction: abort discards; commit applies every update in one batch or none. */
  async end(ctx: OperationContext, identifier: Buffer, commit: boolean): Promise<ExtendedResponse> {
    if (!this.enabled) throw new LdapError(ResultCode.protocolError, 'unsupported extended operation');
    const txn = this.find(ctx, identifier);
    if (txn.settling) throw invalidId();
    txn.settling = true;
    try {
      await txn.checking;
      if (this.open.get(txn.key) !== txn) throw invalidId();
      if (!commit) return success('transaction aborted');
      if (txn.updates.length === 0) throw new LdapError(ResultCode.operationsError, 'no updates to commit');
      return await this.commit(txn);
    } finally {
      this.drop(txn);
    }
  }

  /** The session ended, or bound again (RFC 5805 §3.5): its transactions are void. */
  endSession(sessionId: number): void {
    for (const t of [...this.open.values()]) if (t.sessionId === sessionId && !t.settling) this.drop(t);
  }

  private async commit(txn: Txn): Promise<ExtendedResponse> {
    try {
      await this.dir.writer.transaction(async (tx) => {
        const release = tx.hold();
        for (const u of txn.updates) {
          try {
            await u.apply(tx);
          } catch (err) {
            if (err instanceof LdapError) throw new UpdateFailed(u.messageId, err);
            throw err;
          }
        }
        await release();
      });
    } catch (err) {
      if (err instanceof UpdateFailed) {
        const { code, matchedDN, message } = err.failure;
        return { code, matchedDN, message, txnFailedMessageId: err.messageId };
      }
      if (err instanceof LdapError) throw err;
      this.dir.log.error(`conn=${txn.sessionId} transaction commit failed: ${(err as Error).message}`);
      throw new LdapError(ResultCode.other, 'transaction commit failed');
    }
    return success();
  }

  private find(ctx: OperationContext, identifier: Buffer): Txn {
    const txn = this.open.get(identifier.toString('latin1'));
    // Another connection's identifier is as unknown as a made-up one.
    if (!txn || txn.sessionId !== ctx.session.id || txn.bindNdn !== ctx.session.bindNdn) throw invalidId();
    return txn;
  }

  /**
   * The server cannot go on with the transaction (RFC 5805 §3.3): it is void, and the client is
   * told with an Aborted Transaction Notice carrying its identifier.
   */
  private abort(txn: Txn, ctx: OperationContext, code: number, message: string): void {
    this.drop(txn);
    ctx.session.notify?.({ code, matchedDN: '', message, oid: OID.txnAborted, txnId: Buffer.from(txn.key, 'latin1') });
  }

  private drop(txn: Txn): void {
    if (txn.timer) clearTimeout(txn.timer);
    if (this.open.get(txn.key) === txn) this.open.delete(txn.key);
  }
}

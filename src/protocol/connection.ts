// One client connection: frames LDAPMessages out of the byte stream, dispatches them to the
// RequestHandler and writes the responses. Every failure stays inside this connection: a broken
// PDU ends this socket (with a Notice of Disconnection), never the process.

import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../config/logger.js';
import type { TlsProvider } from '../config/tls.js';
import {
  Cancellation,
  type Control,
  type OperationContext,
  type RequestHandler,
  type SearchEntry,
  type Session,
  type SyncInfo,
} from '../ldap/messages.js';
import { OID } from '../ldap/oids.js';
import { ResultCode } from '../ldap/result.js';
import { BerError } from './ber.js';
import { isSupportedControl } from './controls/index.js';
import { Deadline } from './deadline.js';
import { decodeMessage, ProtocolError, RequestTag, type LdapMessage } from './decode.js';
import { NO_EXTENDED_OPERATIONS, type ExtendedCodecs } from './extended/index.js';
import { Framer } from './framer.js';
import { CorkedOutput } from './output.js';
import type { ProtocolObserver } from './observer.js';
import { asLdapError, describe, operationSummary, summarize } from './describe.js';
import { handshake, peerDn, RENEGOTIATION_REFUSED, upgradeSocket } from './peer.js';
import {
  ENCODER_BY_OP_TAG,
  ENCODER_BY_OP_TYPE,
  encodeAddResponse,
  encodeBindResponse,
  encodeCompareResponse,
  encodeDeleteResponse,
  encodeExtendedResponse,
  encodeModifyDNResponse,
  encodeModifyResponse,
  encodeNoticeOfDisconnection,
  encodeSearchDone,
  encodeSearchEntry,
  encodeSyncInfoResponse,
} from './encode.js';

export interface ConnectionOptions {
  handler: RequestHandler;
  /** The extended operations' codecs (the server's table); none but StartTLS without it. */
  extended?: ExtendedCodecs;
  /** This connection's session id (unique within its server). */
  id: number;
  /** Largest accepted LDAPMessage content length, in octets. */
  maxPduSize: number;
  /** Milliseconds without a request after which an idle bound connection is closed; 0 = never. */
  idleTimeout: number;
  /** The same for a connection that is not bound (anonymous): usually much shorter. */
  anonymousIdleTimeout?: number;
  /** Milliseconds a started PDU may take to arrive completely; 0 = forever. */
  pduTimeout?: number;
  /** Milliseconds output may stay stuck (the client does not read) before the socket is dropped; 0 = forever. */
  writeTimeout?: number;
  logger: Logger;
  transport: Session['transport'];
  /** Called once after the socket has closed. */
  onClose?: (conn: Connection) => void;
  /** Called after every bind (the session's identity may have changed). */
  onAuthChange?: (conn: Connection) => void;
  /** TLS for StartTLS; undefined when the server has no TLS configured. */
  tls?: TlsProvider;
  /** Asked before a StartTLS handshake: false when this client's address has started too many lately. */
  mayStartTls?: () => boolean;
  /** Told about every finished operation (access log, metrics). */
  observer?: ProtocolObserver;
}

/** Queued requests above which the socket stops being read (a client pipelining without limit). */
const QUEUE_HIGH_WATER = 64;
/** How long a closing socket may take to flush before it is destroyed. */
const CLOSE_GRACE_MS = 2000;

type Queued = { msg: LdapMessage; receivedAt: number };

interface Running {
  controller: Cancellation;
  abandoned: boolean;
  /** Search entries sent so far. */
  entries: number;
}

/** Bind and StartTLS run alone: nothing else in flight before, nothing started until done. */
function runsAlone(msg: LdapMessage): boolean {
  return msg.op.type === 'bind' || (msg.op.type === 'extended' && msg.op.oid === OID.startTls);
}

export class Connection {
  readonly session: Session;
  private socket: Socket;
  private readonly opts: ConnectionOptions;
  private readonly log: Logger;
  private readonly tag: string;
  private readonly extended: ExtendedCodecs;

  private readonly framer: Framer;

  /** Requests received but not started: they wait behind a bind (RFC 4511 §4.2.1). */
  private readonly queue: Queued[] = [];
  private readonly running = new Map<number, Running>();
  private bindInProgress = false;
  private paused = false;

  private closing = false;
  private readonly output = new CorkedOutput(() => this.socket);
  private closed = false;
  private drainWait: Promise<void> | undefined;
  private readonly idleDeadline = new Deadline(() => this.onIdle());
  private lastRequest = Date.now();
  /** Armed while part of a PDU waits for the rest (slow loris). */
  private readonly pduDeadline = new Deadline(() => this.onPduTimeout());
  /** Armed while output is backed up because the client does not read. */
  private readonly writeDeadline = new Deadline(() => this.onWriteTimeout());
  /** What this connection has buffered for its client (one function for all its requests). */
  private readonly unsentBytes = (): number => this.socket.writableLength;

  constructor(socket: Socket, opts: ConnectionOptions) {
    this.socket = socket;
    this.opts = opts;
    this.extended = opts.extended ?? NO_EXTENDED_OPERATIONS;
    this.framer = new Framer(opts.maxPduSize);
    this.log = opts.logger;
    this.session = {
      id: opts.id,
      bindDn: '',
      bindNdn: '',
      authMethod: 'anonymous',
      remoteAddress: socket.remoteAddress ?? (opts.transport === 'ldapi' ? 'ldapi' : ''),
      transport: opts.transport,
      tls: opts.transport === 'tls',
      notify: (res) => void this.write(encodeExtendedResponse(0, res, res.txnId)), // unsolicited (messageID 0; the Aborted Transaction Notice names its transaction)
    };
    this.tag = `conn=${opts.id}`;
    socket.setNoDelay?.(true);
    if (socket instanceof tls.TLSSocket) {
      const dn = peerDn(socket, opts.tls);
      if (dn) this.session.tlsPeerDn = dn;
    }
    this.attach(socket);
    this.log.debug(`${this.tag} open from ${this.session.remoteAddress || opts.transport} (${opts.transport})`);
    this.armIdleTimer();
  }

  /** Bound to an identity (anonymous otherwise). */
  get authenticated(): boolean {
    return this.session.bindNdn !== '';
  }

  /** Something is running or waiting: not an idle connection (a graceful shutdown waits for it). */
  get busy(): boolean {
    return this.running.size > 0 || this.queue.length > 0 || this.bindInProgress;
  }

  private attach(socket: Socket): void {
    socket.on('drain', () => this.writeDeadline.clear());
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => this.log.debug(`${this.tag} socket error: ${err.message}`));
    socket.on('close', () => this.onClosed());
  }

  /** Ends the connection at once (server shutdown, or evicted to make room). */
  destroy(reason?: string): void {
    if (reason) this.log.debug(`${this.tag} closing: ${reason}`);
    this.abortAll();
    this.socket.destroy();
  }

  // ---- framing ------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      const completed = this.framer.push(
        chunk,
        (buf, start, end) => this.onFrame(buf, start, end),
        () => this.closing,
      );
      // The deadline runs from the first byte of each PDU: a completed frame restarts it.
      if (completed || this.framer.pending === 0 || this.closing) this.pduDeadline.clear();
      if (this.framer.pending > 0 && !this.closing) this.pduDeadline.arm(this.opts.pduTimeout ?? 0);
    } catch (err) {
      this.onFatal(err);
    }
  }

  /** A broken envelope or an unacceptable PDU: Notice of Disconnection, then close. */
  private onFatal(err: unknown): void {
    if (err instanceof BerError || err instanceof ProtocolError) {
      const level = err instanceof BerError && err.reason === 'length-too-large' ? 'warn' : 'debug';
      this.log[level](`${this.tag} protocol error, closing: ${err.message}`);
      this.close({ code: ResultCode.protocolError, message: err.message });
    } else {
      this.log.warn(`${this.tag} unexpected error, closing: ${describe(err)}`);
      this.close({ code: ResultCode.other, message: 'internal error' });
    }
  }

  private onFrame(buf: Buffer, start: number, end: number): void {
    let msg: LdapMessage;
    try {
      msg = decodeMessage(buf, start, end, this.extended);
    } catch (err) {
      const encode = err instanceof ProtocolError && err.opTag !== undefined ? ENCODER_BY_OP_TAG.get(err.opTag) : undefined;
      if (err instanceof ProtocolError && !err.fatal && err.messageId !== undefined && encode) {
        // The envelope is sound: answer this operation only (RFC 4511 §4.1.1).
        this.log.debug(`${this.tag} op=${err.messageId} rejected: ${err.message}`);
        // A failed bind leaves the session anonymous (RFC 4513 §5.1.1).
        if (err.opTag === RequestTag.bind) {
          this.resetToAnonymous();
          this.authChanged();
        }
        this.write(encode(err.messageId, { code: err.resultCode, matchedDN: '', message: err.message }));
        return;
      }
      throw err;
    }
    this.onMessage(msg);
  }

  // ---- dispatch -----------------------------------------------------------------------------

  private onMessage(msg: LdapMessage): void {
    this.lastRequest = Date.now();
    this.idleDeadline.clear();
    const { op, messageId } = msg;
    if (op.type === 'unbind') {
      this.log.debug(`${this.tag} op=${messageId} UNBIND`);
      this.close();
      return;
    }
    if (op.type === 'abandon') {
      this.log.debug(`${this.tag} op=${messageId} ABANDON op=${op.messageId}`);
      this.abandon(op.messageId);
      this.armIdleTimer();
      return;
    }
    const unsupported = msg.rawControls.find((c: Control) => c.critical && !isSupportedControl(c.oid));
    if (unsupported) {
      this.log.debug(`${this.tag} op=${messageId} ${op.type} refused: critical control ${unsupported.oid}`);
      this.write(
        ENCODER_BY_OP_TYPE[op.type]!(messageId, {
          code: ResultCode.unavailableCriticalExtension,
          matchedDN: '',
          message: `critical control ${unsupported.oid} is not supported`,
        }),
      );
      this.armIdleTimer();
      return;
    }
    if (this.running.has(messageId) || this.queue.some((q) => q.msg.messageId === messageId)) {
      // RFC 4511 §4.1.1.1: a messageID must be unique among outstanding requests.
      this.write(
        ENCODER_BY_OP_TYPE[op.type]!(messageId, {
          code: ResultCode.protocolError,
          matchedDN: '',
          message: 'messageID already in use',
        }),
      );
      return;
    }
    this.queue.push({ msg, receivedAt: this.lastRequest });
    this.pump();
  }

  /** Starts queued requests in order; a bind waits for all others and blocks those after it. */
  private pump(): void {
    while (this.queue.length > 0 && !this.closing) {
      if (this.bindInProgress) break;
      const next = this.queue[0]!;
      if (runsAlone(next.msg)) {
        if (this.running.size > 0) break;
        this.bindInProgress = true;
      }
      this.queue.shift();
      this.start(next);
    }
    // Flow control: stop reading while requests pile up behind a bind or a slow handler.
    if (!this.closing) {
      if (!this.paused && this.queue.length >= QUEUE_HIGH_WATER) {
        this.paused = true;
        this.socket.pause();
      } else if (this.paused && this.queue.length < QUEUE_HIGH_WATER / 2) {
        this.paused = false;
        this.socket.resume();
      }
    }
    this.armIdleTimer();
  }

  private start({ msg, receivedAt }: Queued): void {
    const controller = new Cancellation();
    const run: Running = { controller, abandoned: false, entries: 0 };
    this.running.set(msg.messageId, run);
    const ctx: OperationContext = {
      session: this.session,
      messageId: msg.messageId,
      controls: msg.controls,
      signal: controller,
      startTime: receivedAt,
      unsentBytes: this.unsentBytes,
    };
    void this.execute(msg, ctx, run).finally(() => {
      if (this.running.get(msg.messageId) === run) this.running.delete(msg.messageId);
      if (runsAlone(msg)) this.bindInProgress = false;
      if (msg.op.type === 'bind') this.authChanged();
      if (run.abandoned) this.log.debug(`${this.tag} op=${msg.messageId} ${msg.op.type} stopped (abandoned or disconnected)`);
      this.pump();
    });
  }

  /** Runs one operation and reports it to the observer, whatever the outcome. */
  private async execute(msg: LdapMessage, ctx: OperationContext, run: Running): Promise<void> {
    let code: number | undefined;
    try {
      code = await this.answer(msg, ctx, run);
    } finally {
      this.report(msg, ctx, run, code);
    }
  }

  private report(msg: LdapMessage, ctx: OperationContext, run: Running, code: number | undefined): void {
    const observer = this.opts.observer;
    if (!observer?.onOperation) return;
    const summary = operationSummary(this.session, msg, run, code ?? ResultCode.other, ctx.startTime, observer.detail !== false);
    try {
      observer.onOperation(summary);
    } catch (err) {
      this.log.warn(`${this.tag} operation observer failed: ${describe(err)}`);
    }
  }

  /** Runs the operation and sends its response; returns the result code (undefined: none). */
  private async answer(msg: LdapMessage, ctx: OperationContext, run: Running): Promise<number | undefined> {
    const { op, messageId } = msg;
    const h = this.opts.handler;
    const encode = ENCODER_BY_OP_TYPE[op.type]!;
    // What is logged: the op and its DN, never credentials or values.
    // A huge filter's text is not built unless it is written.
    if (this.log.debugEnabled !== false) this.log.debug(`${this.tag} op=${messageId} ${summarize(msg.op)}`);
    let response: Buffer;
    let code: number = ResultCode.success;
    const noted = <T extends { code: number }>(r: T): T => {
      code = r.code;
      return r;
    };
    try {
      switch (op.type) {
        case 'bind':
          response = encodeBindResponse(messageId, noted(await h.bind(ctx, op.request)));
          break;
        case 'search': {
          const send = (entry: SearchEntry): void | Promise<void> =>
            this.sendPdu(run, () => encodeSearchEntry(messageId, entry), entry.deferrable);
          const sendInfo = (info: SyncInfo): void | Promise<void> => this.sendPdu(run, () => encodeSyncInfoResponse(messageId, info));
          response = encodeSearchDone(messageId, noted(await h.search(ctx, op.request, send, sendInfo)));
          break;
        }
        case 'add':
          response = encodeAddResponse(messageId, noted(await h.add(ctx, op.request)));
          break;
        case 'modify':
          response = encodeModifyResponse(messageId, noted(await h.modify(ctx, op.request)));
          break;
        case 'delete':
          response = encodeDeleteResponse(messageId, noted(await h.delete(ctx, op.request)));
          break;
        case 'modifyDN':
          response = encodeModifyDNResponse(messageId, noted(await h.modifyDN(ctx, op.request)));
          break;
        case 'compare':
          response = encodeCompareResponse(messageId, noted(await h.compare(ctx, op.request)));
          break;
        case 'extended': {
          if (op.oid === OID.startTls) return await this.startTls(messageId);
          const res = noted(await h.extended(ctx, op.request));
          response = encodeExtendedResponse(messageId, res, this.extended.responseValue(op.request, res));
          break;
        }
        default:
          return undefined;
      }
    } catch (err) {
      const ldapErr = asLdapError(err);
      if (ldapErr) {
        code = ldapErr.code;
        response = encode(messageId, { code, matchedDN: ldapErr.matchedDN, message: ldapErr.message, controls: ldapErr.controls });
      } else if (run.abandoned || this.closing) {
        return undefined; // The handler gave up because the operation was abandoned; no response is due.
      } else {
        this.log.error(`${this.tag} op=${messageId} ${op.type} failed: ${describe(err)}`);
        code = ResultCode.other;
        response = encode(messageId, { code: ResultCode.other, matchedDN: '', message: 'internal error' });
      }
    }
    // RFC 4511 §4.11: an abandoned operation gets no response.
    if (run.abandoned) return code;
    this.log.debug(`${this.tag} op=${messageId} ${op.type} result=${code}`);
    this.write(response);
    // The last answer leaves at once (a turn of the event loop less per request); while other
    // requests of this client are in flight, their answers still join it in one write.
    if (this.running.size <= 1 && this.queue.length === 0) this.flush();
    return code;
  }

  /**
   * StartTLS (RFC 4511 §4.14, RFC 4513 §3): answer success in the clear, then run the TLS
   * handshake on the same socket. Nothing else is in flight (it is exclusive, like bind).
   */
  private async startTls(messageId: number): Promise<number> {
    const refuse = (code: number, message: string): number => {
      this.write(encodeExtendedResponse(messageId, { code, matchedDN: '', message, oid: OID.startTls }));
      return code;
    };
    if (!this.opts.tls) return refuse(ResultCode.unavailable, 'TLS is not configured');
    if (this.session.tls) return refuse(ResultCode.operationsError, 'TLS already started');
    if (this.session.transport === 'ldapi') return refuse(ResultCode.unwillingToPerform, 'StartTLS is not offered on ldapi');
    if (this.opts.mayStartTls?.() === false) return refuse(ResultCode.busy, 'too many TLS handshakes from this address; try again later');
    if (this.queue.length > 0 || this.framer.pending > 0) return refuse(ResultCode.operationsError, 'other operations are outstanding');
    let context: tls.SecureContext;
    try {
      context = await this.opts.tls.context();
    } catch (err) {
      this.log.error(`${this.tag} TLS context unavailable: ${describe(err)}`);
      return refuse(ResultCode.unavailable, 'TLS is not available');
    }
    this.write(encodeExtendedResponse(messageId, { code: ResultCode.success, matchedDN: '', message: '', oid: OID.startTls }));
    this.flush(); // the response must leave in the clear before the handshake takes the socket
    const secure = upgradeSocket(this.socket, context, this.opts.tls, () => this.log.info(`${this.tag} ${RENEGOTIATION_REFUSED}`));
    this.socket = secure;
    this.attach(secure);
    // A client that never starts (or never finishes) the handshake is cut off as on ldaps://.
    const done = await handshake(secure, this.opts.tls, this.opts.pduTimeout ?? 0);
    if (done.secure) {
      this.session.tls = true;
      if (done.peerDn) this.session.tlsPeerDn = done.peerDn;
    }
    this.log.debug(`${this.tag} ${done.secure ? 'TLS started' : `StartTLS handshake failed: ${done.reason}`}`);
    return ResultCode.success;
  }

  /** A search's entry or intermediate response: returns a Promise while the socket is backed up. */
  private sendPdu(run: Running, encode: () => Buffer, deferrable = false): void | Promise<void> {
    if (run.abandoned || this.closing) return;
    run.entries++;
    if (!this.write(encode(), deferrable)) return this.waitForDrain();
  }

  private waitForDrain(): Promise<void> {
    // One shared waiter: concurrent searches need not each add a 'drain' listener.
    this.drainWait ??= new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        this.drainWait = undefined;
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
    return this.drainWait;
  }

  private abandon(target: number): void {
    const run = this.running.get(target);
    if (run) {
      run.abandoned = true;
      run.controller.abort();
      return;
    }
    // Not started yet (waiting behind a bind): drop it silently.
    const i = this.queue.findIndex((q) => q.msg.messageId === target);
    if (i >= 0) this.queue.splice(i, 1);
  }

  private resetToAnonymous(): void {
    this.session.bindDn = '';
    this.session.bindNdn = '';
    this.session.authMethod = 'anonymous';
  }

  // ---- output and lifecycle -----------------------------------------------------------------

  /**
   * Writes one PDU; false means the socket buffer is full (or the socket is gone). PDUs written
   * in one turn of the event loop (a search's entries and its result) leave in one syscall.
   */
  private write(buf: Buffer, deferrable = false): boolean {
    if (this.closing || this.socket.destroyed) return false;
    try {
      const ok = this.output.write(buf, deferrable);
      if (!ok) this.writeDeadline.arm(this.opts.writeTimeout ?? 0);
      return ok;
    } catch (err) {
      this.log.debug(`${this.tag} write failed: ${describe(err)}`);
      return false;
    }
  }

  /** Sends what write() corked, now. */
  private flush(): void {
    this.output.flush();
  }

  /** Closes gracefully: optional Notice of Disconnection, flush, then end the socket. */
  private close(notice?: { code: number; message: string }): void {
    if (this.closing) return;
    if (notice) this.write(encodeNoticeOfDisconnection(notice.code, notice.message));
    this.closing = true;
    this.framer.reset();
    this.queue.length = 0;
    this.abortAll();
    this.idleDeadline.clear();
    this.pduDeadline.clear();
    try {
      this.socket.end();
    } catch {
      /* already gone */
    }
    // A peer that never reads or never closes its side must not keep the socket alive.
    setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS).unref();
  }

  private abortAll(): void {
    for (const run of this.running.values()) {
      run.abandoned = true;
      run.controller.abort();
    }
  }

  private onClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    this.queue.length = 0;
    this.framer.reset();
    this.abortAll();
    this.idleDeadline.clear();
    this.pduDeadline.clear();
    this.writeDeadline.clear();
    this.log.debug(`${this.tag} closed`);
    try {
      this.opts.handler.disconnect?.(this.session);
    } catch (err) {
      this.log.warn(`${this.tag} disconnect handler failed: ${describe(err)}`);
    }
    try {
      this.opts.onClose?.(this);
    } catch (err) {
      this.log.warn(`${this.tag} close callback failed: ${describe(err)}`);
    }
  }

  // ---- deadlines: idle, incomplete PDU, unread output ----------------------------------------

  private authChanged(): void {
    this.opts.onAuthChange?.(this); // the listener's bookkeeping: plain Set updates, nothing to throw
    // The idle deadline depends on the identity: re-arm it for the new one.
    this.idleDeadline.clear();
    this.armIdleTimer();
  }

  private onPduTimeout(): void {
    if (this.framer.pending === 0 || this.closing) return;
    // Our own flow control holds the rest back, not the client: wait again.
    if (this.paused) return this.pduDeadline.arm(this.opts.pduTimeout ?? 0);
    this.log.debug(`${this.tag} incomplete request for ${this.opts.pduTimeout} ms, closing`);
    this.close({ code: ResultCode.protocolError, message: 'request not completed in time' });
  }

  /** Output the client has not read within writeTimeout ends the connection (slapd's writetimeout). */
  private onWriteTimeout(): void {
    if (this.closed || this.socket.writableLength === 0) return;
    this.log.debug(`${this.tag} client did not read its results for ${this.opts.writeTimeout} ms, closing`);
    this.destroy();
  }

  /** Arms the idle deadline when nothing is in progress (bound and unbound sessions have their own). */
  private armIdleTimer(): void {
    const timeout = this.authenticated ? this.opts.idleTimeout : (this.opts.anonymousIdleTimeout ?? this.opts.idleTimeout);
    if (timeout <= 0 || this.closing || this.busy) return;
    this.idleDeadline.arm(Math.max(1, this.lastRequest + timeout - Date.now()));
  }

  private onIdle(): void {
    if (this.busy || this.closing) return;
    const timeout = this.authenticated ? this.opts.idleTimeout : (this.opts.anonymousIdleTimeout ?? this.opts.idleTimeout);
    if (Date.now() - this.lastRequest < timeout) return this.armIdleTimer();
    this.log.debug(`${this.tag} idle for ${timeout} ms${this.authenticated ? '' : ' without binding'}, closing`);
    this.close();
  }
}

// One admin HTTP connection: bytes go through the streaming parser; each head is put to the
// application before its body is read (a refusal is answered at once and, when a body was
// announced, the connection closed unread); pipelined requests are handled one after another.
// Its timers: idle (no request), head deadline, body deadline.

import type net from 'node:net';
import { RequestParser, type RequestHead } from './parser.js';
import type { Admit, HttpLimits, HttpRequest, HttpRequestHead, HttpResponse } from './types.js';

/**
 * Requests of one connection handled at once. One: a pipelined request is read, admitted and
 * handled only once the one before it is answered, so a GET after a POST sees its write, and
 * a request after revoke-self sees the token gone (RFC 9112 9.3.2 allows parallel handling of
 * safe methods only; Vault's clients do not pipeline anyway).
 */
const MAX_IN_FLIGHT = 1;
/** Bytes of a response written at a time (see send()). */
const WRITE_SLICE = 64 * 1024;

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** A whole response as bytes; always with Content-Length (a HEAD's without its body, RFC 9110 9.3.2). */
export function encodeResponse(res: HttpResponse, keepAlive: boolean, forHead = false): Buffer {
  const raw = res.raw !== undefined;
  const payload = raw
    ? Buffer.from(res.raw!)
    : res.body === undefined
      ? Buffer.alloc(0)
      : Buffer.from(JSON.stringify(res.body) + '\n', 'utf8');
  const headers: Record<string, string> = {
    'Cache-Control': 'no-store',
    ...(res.body === undefined || raw ? {} : { 'Content-Type': 'application/json' }),
    'Content-Length': String(payload.length),
    Date: new Date().toUTCString(),
    Connection: keepAlive ? 'keep-alive' : 'close',
    ...res.headers,
  };
  let head = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? 'Status'}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  const start = Buffer.from(head + '\r\n', 'latin1');
  return forHead ? start : Buffer.concat([start, payload]);
}

const failure = (err: unknown): HttpResponse => ({ status: 500, body: { errors: [err instanceof Error ? err.message : String(err)] } });

export class HttpConnection {
  private readonly parser: RequestParser;
  /** Responses go out in request order, even when a later handler finishes first. */
  private chain: Promise<void> = Promise.resolve();
  private inFlight = 0;
  /** A head is with the application (admission), or the pipeline is full: read no further. */
  private held = false;
  /** No more requests are read (an error, a refusal, Connection: close). */
  private done = false;
  private timer: NodeJS.Timeout | undefined;
  private timerKind: 'idle' | 'head' | 'body' | undefined;
  /** A response is still being written out. */
  private draining = false;
  private head: RequestHead | undefined;
  private admitted: ((req: HttpRequest) => Promise<HttpResponse>) | undefined;

  constructor(
    private readonly sock: net.Socket,
    private readonly admit: Admit,
    private readonly limits: HttpLimits,
    private readonly closing: () => boolean,
  ) {
    this.parser = new RequestParser({ maxHeadSize: limits.maxHeadSize, maxHeaders: 100 });
    sock.setNoDelay(true);
    // A TLS socket is new here (the TCP one under it has its handler in server.ts).
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: Buffer) => {
      if (this.done) return;
      this.parser.push(chunk);
      this.pump();
    });
    sock.on('close', () => this.clearTimer());
    this.arm();
  }

  /** Parses what there is, as far as admission and the pipeline allow. */
  private pump(): void {
    while (!this.done && !this.held) {
      const step = this.parser.next();
      if (step.kind === 'more') break;
      if (step.kind === 'error') {
        this.finish({ status: step.error.status, body: { errors: [step.error.message] } });
        break;
      }
      if (step.kind === 'head') this.onHead(step.head);
      else this.onBody(step.body);
    }
    this.arm();
  }

  private onHead(head: RequestHead): void {
    this.head = head;
    this.held = true;
    this.sock.pause();
    this.admit(this.requestHead(head))
      .catch(failure)
      .then((a) => {
        if (this.sock.destroyed) return;
        if ('status' in a && head.framing.kind !== 'none') {
          // Refused on the head: its body is never read, so the connection cannot go on.
          this.head = undefined;
          this.finish(a);
          return;
        }
        // A refusal of a request without a body is answered as any response (keep-alive).
        this.admitted = 'status' in a ? () => Promise.resolve(a) : a.handle;
        this.parser.startBody('status' in a ? 0 : a.maxBody);
        // 100 Continue only when the body will be read (not to a Content-Length past the bound).
        const waiting =
          head.expectContinue && head.framing.kind !== 'none' && !this.parser.failed && this.parser.buffered === 0 && this.inFlight === 0;
        if (waiting) this.sock.write('HTTP/1.1 100 Continue\r\n\r\n');
        this.release();
      });
  }

  private onBody(body: Buffer): void {
    const head = this.head!;
    const handle = this.admitted!;
    this.head = this.admitted = undefined;
    const req: HttpRequest = { ...this.requestHead(head), body };
    // Handled now; the next pipelined request is read once this one is answered.
    const keepAlive = head.keepAlive && !this.closing();
    this.answer(
      Promise.resolve()
        .then(() => handle(req))
        .catch(failure),
      keepAlive,
      head.method === 'HEAD',
    );
    if (!keepAlive) this.done = true;
  }

  /** What the application sees of a request's head: the target split into path and query. */
  private requestHead(head: RequestHead): HttpRequestHead {
    const q = head.target.indexOf('?');
    return {
      method: head.method,
      rawPath: q < 0 ? head.target : head.target.slice(0, q),
      query: new URLSearchParams(q < 0 ? '' : head.target.slice(q + 1)),
      headers: head.headers,
      remoteAddress: this.sock.remoteAddress ?? '',
    };
  }

  /** Queues a response behind the earlier ones; ends the connection after it unless keepAlive. */
  private answer(pending: Promise<HttpResponse>, keepAlive: boolean, forHead = false): void {
    this.inFlight++;
    if (this.inFlight >= MAX_IN_FLIGHT) this.hold();
    this.chain = this.chain.then(async () => {
      const res = await pending;
      this.inFlight--;
      if (this.sock.destroyed) return;
      const open = keepAlive && !this.closing();
      await this.send(encodeResponse(res, open, forHead));
      if (this.sock.destroyed) return;
      if (!open) this.end();
      else if (this.inFlight < MAX_IN_FLIGHT) this.release();
      this.arm();
    });
  }

  /**
   * Writes a response in slices, each waiting for the one before to drain: a client that reads
   * slowly but steadily (a large backup) is never cut off, one that stops reading for
   * idleTimeout is. (One big write would show no progress until all of it was out.)
   */
  private async send(bytes: Buffer): Promise<void> {
    for (let i = 0; i < bytes.length && !this.sock.destroyed; i += WRITE_SLICE) {
      if (this.sock.write(bytes.subarray(i, i + WRITE_SLICE))) continue;
      this.draining = true;
      const moved = await this.drained();
      this.draining = false;
      if (!moved) {
        this.sock.destroy();
        return;
      }
    }
  }

  /** True once the output drains; false when the connection closes or idleTimeout passes first. */
  private drained(): Promise<boolean> {
    return new Promise((resolve) => {
      const ms = this.limits.idleTimeout;
      const timer = ms > 0 ? setTimeout(() => done(false), ms) : undefined;
      const onDrain = () => done(true);
      const onClose = () => done(false);
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.sock.off('drain', onDrain);
        this.sock.off('close', onClose);
        resolve(ok);
      };
      this.sock.on('drain', onDrain);
      this.sock.on('close', onClose);
    });
  }

  /** The last response of this connection: nothing more is read. */
  private finish(res: HttpResponse): void {
    this.done = true;
    this.answer(Promise.resolve(res), false);
  }

  private hold(): void {
    this.held = true;
    this.sock.pause();
  }

  private release(): void {
    if (this.done || this.sock.destroyed || this.inFlight >= MAX_IN_FLIGHT) return;
    if (this.head && !this.admitted) return; // still with the application
    this.held = false;
    this.sock.resume();
    this.pump();
  }

  /**
   * Ends the connection. Input still arriving is read and dropped for a moment (a lingering
   * close: destroying with unread input would reset the connection before the client has read
   * the response); a client that neither reads nor stops sending is cut off then.
   */
  private end(): void {
    this.done = true;
    this.clearTimer();
    this.sock.end();
    this.sock.resume();
    // Counted from when the last response is out ('finish'), however long a large one takes.
    this.sock.once('finish', () => setTimeout(() => this.sock.destroy(), 2_000).unref());
  }

  /** The one timer that applies now: head deadline, body deadline, or idle. */
  private arm(): void {
    if (this.done || this.sock.destroyed) return this.clearTimer();
    const idle = this.inFlight === 0 && !this.head && !this.draining;
    const kind = this.parser.inHead ? 'head' : this.parser.inBody ? 'body' : idle ? 'idle' : undefined;
    if (kind === this.timerKind) return;
    this.clearTimer();
    if (!kind) return;
    const ms = kind === 'head' ? this.limits.headTimeout : kind === 'body' ? this.limits.bodyTimeout : this.limits.idleTimeout;
    if (ms <= 0) return;
    this.timerKind = kind;
    this.timer = setTimeout(() => this.expire(kind), ms);
    this.timer.unref();
  }

  private expire(kind: 'idle' | 'head' | 'body'): void {
    this.timer = this.timerKind = undefined;
    if (kind === 'idle') {
      this.sock.destroy();
      return;
    }
    this.finish({
      status: 408,
      body: { errors: [kind === 'head' ? 'request head not received in time' : 'request body not received in time'] },
    });
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = this.timerKind = undefined;
  }
}

// A small HTTP/1.1 server on node:net / node:tls. Node's http module refuses methods outside its
// fixed list, and Vault clients send `LIST`; so requests are parsed here: request line, headers,
// Content-Length or chunked bodies, Expect: 100-continue, keep-alive and pipelining (answered
// in order). Responses always carry Content-Length.

import net from 'node:net';
import tls from 'node:tls';

export interface HttpRequest {
  method: string;
  /** The path as sent (percent-decoded per segment by the router). */
  rawPath: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: Buffer;
  remoteAddress: string;
}

export interface HttpResponse {
  status: number;
  /** JSON-serialised when present; no body (and no Content-Type) when undefined. */
  body?: unknown;
  /** A body sent as it is (give its Content-Type in headers); wins over body. */
  raw?: string | Buffer;
  headers?: Record<string, string>;
}

export type Handler = (req: HttpRequest) => Promise<HttpResponse>;

const MAX_HEAD = 64 * 1024;
const MAX_BODY = 4 * 1024 * 1024;
const IDLE_MS = 60_000;

const REASONS: Record<number, string> = {
  100: 'Continue',
  200: 'OK',
  204: 'No Content',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export interface HttpServerOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  handler: Handler;
}

export class MiniHttpServer {
  private server: net.Server;
  private sockets = new Set<net.Socket>();
  private closing = false;

  private constructor(private readonly opts: HttpServerOptions) {
    const onConn = (s: net.Socket) => this.onConnection(s);
    this.server = opts.tls ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key }, onConn) : net.createServer(onConn);
  }

  static async listen(opts: HttpServerOptions): Promise<MiniHttpServer> {
    const s = new MiniHttpServer(opts);
    await new Promise<void>((resolve, reject) => {
      s.server.once('error', reject);
      s.server.listen(opts.port, opts.host, () => {
        s.server.off('error', reject);
        resolve();
      });
    });
    return s;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    this.closing = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    await done;
    // The native handle outlives close() until a garbage collection: let it hold no handler.
    this.server.removeAllListeners();
  }

  private onConnection(sock: net.Socket): void {
    if (this.closing) {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    sock.setTimeout(IDLE_MS, () => sock.destroy());
    sock.setNoDelay(true);
    let buf: Buffer = Buffer.alloc(0);
    // Responses go out in request order, even when a later handler finishes first.
    let chain = Promise.resolve();
    let sentContinue = false;
    let dead = false;
    sock.on('data', (chunk: Buffer) => {
      if (dead) return;
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      for (;;) {
        const parsed = parseRequest(buf, sock.remoteAddress ?? '');
        if (parsed.kind === 'more') {
          if (parsed.expectContinue && !sentContinue) {
            sentContinue = true;
            sock.write('HTTP/1.1 100 Continue\r\n\r\n');
          }
          return;
        }
        if (parsed.kind === 'error') {
          dead = true;
          chain = chain.then(() => {
            this.write(sock, parsed.status, { errors: [parsed.message] }, false);
            sock.end();
          });
          return;
        }
        buf = buf.subarray(parsed.consumed);
        sentContinue = false;
        chain = this.respond(sock, chain, parsed.req, parsed.keepAlive);
        if (!parsed.keepAlive) {
          dead = true;
          return;
        }
      }
    });
  }

  /** Runs the handler at once and queues its response behind the earlier ones. */
  private respond(sock: net.Socket, chain: Promise<void>, req: HttpRequest, keepAlive: boolean): Promise<void> {
    const pending = this.opts
      .handler(req)
      .catch((err: unknown): HttpResponse => ({ status: 500, body: { errors: [err instanceof Error ? err.message : String(err)] } }));
    return chain.then(async () => {
      const res = await pending;
      if (sock.destroyed) return;
      this.write(sock, res.status, res.raw ?? res.body, keepAlive && !this.closing, res.headers, res.raw !== undefined);
      if (!keepAlive || this.closing) sock.end();
    });
  }

  private write(
    sock: net.Socket,
    status: number,
    body: unknown,
    keepAlive: boolean,
    extra: Record<string, string> = {},
    raw = false,
  ): void {
    if (sock.destroyed) return;
    const payload = raw
      ? Buffer.from(body as string | Buffer)
      : body === undefined
        ? Buffer.alloc(0)
        : Buffer.from(JSON.stringify(body) + '\n', 'utf8');
    const headers: Record<string, string> = {
      'Cache-Control': 'no-store',
      ...(body === undefined || raw ? {} : { 'Content-Type': 'application/json' }),
      'Content-Length': String(payload.length),
      Date: new Date().toUTCString(),
      Connection: keepAlive ? 'keep-alive' : 'close',
      ...extra,
    };
    let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    sock.write(Buffer.concat([Buffer.from(head + '\r\n', 'latin1'), payload]));
  }
}

/** A complete chunked body and the bytes it took, undefined when incomplete, 'bad' when malformed. */
function parseChunked(buf: Buffer): { body: Buffer; consumed: number } | undefined | 'bad' {
  const parts: Buffer[] = [];
  let p = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', p);
    if (eol < 0) return undefined;
    const size = parseInt(buf.subarray(p, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) return 'bad';
    p = eol + 2;
    if (size === 0) {
      // Trailers (ignored) end with an empty line.
      const end = buf.indexOf('\r\n', p);
      if (end < 0) return undefined;
      if (end === p) return { body: Buffer.concat(parts), consumed: p + 2 };
      const tEnd = buf.indexOf('\r\n\r\n', p);
      if (tEnd < 0) return undefined;
      return { body: Buffer.concat(parts), consumed: tEnd + 4 };
    }
    if (buf.length < p + size + 2) return undefined;
    parts.push(buf.subarray(p, p + size));
    p += size + 2;
  }
}

type Parsed =
  | { kind: 'more'; expectContinue: boolean }
  | { kind: 'error'; status: number; message: string }
  | { kind: 'request'; req: HttpRequest; consumed: number; keepAlive: boolean };

/** One request from the front of buf: complete, incomplete (read more), or refused. */
function parseRequest(buf: Buffer, remoteAddress: string): Parsed {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0)
    return buf.length > MAX_HEAD
      ? { kind: 'error', status: 431, message: 'request header too large' }
      : { kind: 'more', expectContinue: false };
  const lines = buf.subarray(0, headEnd).toString('latin1').split('\r\n');
  const m = /^([A-Za-z-]+) (\S+) HTTP\/(1\.[01])$/.exec(lines[0] ?? '');
  if (!m) return { kind: 'error', status: 400, message: 'malformed request line' };
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i <= 0) return { kind: 'error', status: 400, message: 'malformed header' };
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] !== undefined ? `${headers[k]}, ${v}` : v;
  }
  const rest = buf.subarray(headEnd + 4);
  const body = readBody(rest, headers);
  if (body.kind !== 'body') return body;
  const conn = (headers['connection'] ?? '').toLowerCase();
  const keepAlive = m[3] === '1.1' ? !conn.includes('close') : conn.includes('keep-alive');
  const target = m[2]!;
  const q = target.indexOf('?');
  const req: HttpRequest = {
    method: m[1]!.toUpperCase(),
    rawPath: q < 0 ? target : target.slice(0, q),
    query: new URLSearchParams(q < 0 ? '' : target.slice(q + 1)),
    headers,
    body: body.body,
    remoteAddress,
  };
  return { kind: 'request', req, consumed: headEnd + 4 + body.consumed, keepAlive };
}

/** The body after the head: chunked or by Content-Length, bounded by MAX_BODY. */
function readBody(
  rest: Buffer,
  headers: Record<string, string>,
): { kind: 'body'; body: Buffer; consumed: number } | Exclude<Parsed, { kind: 'request' }> {
  const expectContinue = /100-continue/i.test(headers['expect'] ?? '');
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parsed = parseChunked(rest);
    if (parsed === 'bad') return { kind: 'error', status: 400, message: 'malformed chunked body' };
    if (!parsed)
      return rest.length > MAX_BODY ? { kind: 'error', status: 413, message: 'request body too large' } : { kind: 'more', expectContinue };
    return { kind: 'body', body: parsed.body, consumed: parsed.consumed };
  }
  const len = headers['content-length'] === undefined ? 0 : Number(headers['content-length']);
  if (!Number.isInteger(len) || len < 0) return { kind: 'error', status: 400, message: 'bad Content-Length' };
  if (len > MAX_BODY) return { kind: 'error', status: 413, message: 'request body too large' };
  if (rest.length < len) return { kind: 'more', expectContinue };
  return { kind: 'body', body: Buffer.from(rest.subarray(0, len)), consumed: len };
}

// A small HTTP/1.1 server on node:net / node:tls. Node's http module refuses methods outside its
// fixed list, and Vault clients send `LIST`; so requests are parsed here (parser.ts), and each
// connection is run by connection.ts. This file owns the listener and its bounds: a cap on
// connections in all and per address (refused with 503 at accept, before a TLS handshake). A refused
// plain-HTTP socket is held a while before its 503, so a client reconnecting on every close waits
// rather than spinning the listener (config/refusal.ts).

import net from 'node:net';
import tls from 'node:tls';
import { RateLimitedWarning, silentLogger, type Logger } from '../../config/logger.js';
import { RefusalHold } from '../../config/refusal.js';
import { HttpConnection, encodeResponse } from './connection.js';
import type { Admit, HttpLimits } from './types.js';

export type { Admission, Admit, HttpLimits, HttpRequest, HttpRequestHead, HttpResponse } from './types.js';

/** Sockets past the cap that may still be open while their 503 goes out: Node drops any beyond. */
export const REFUSAL_SLACK = 32;
/** At most one refusal warning in this long (the rest counted), as the LDAP listener's. */
const WARN_EVERY_MS = 10_000;

export interface HttpServerOptions {
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  admit: Admit;
  limits: HttpLimits;
  log?: Logger;
}

export class MiniHttpServer {
  private readonly server: net.Server;
  private readonly limits: HttpLimits;
  private readonly sockets = new Set<net.Socket>();
  private readonly perAddress = new Map<string, number>();
  private closing = false;
  private readonly refusals: RateLimitedWarning;
  private readonly held: RefusalHold;

  private constructor(private readonly opts: HttpServerOptions) {
    this.limits = opts.limits;
    const hold = opts.limits.refusalHold ?? opts.limits.maxConnections;
    this.held = new RefusalHold(hold);
    this.refusals = new RateLimitedWarning(opts.log ?? silentLogger, WARN_EVERY_MS, 'admin api connection refusals');
    const serve = (s: net.Socket) => {
      if (this.closing) return s.destroy();
      // TLS 1.2 renegotiation is refused: the attempt is an error, which ends the connection.
      if (s instanceof tls.TLSSocket) s.disableRenegotiation();
      new HttpConnection(s, opts.admit, this.limits, () => this.closing);
    };
    if (opts.tls) {
      this.server = tls.createServer(
        { cert: opts.tls.cert, key: opts.tls.key, handshakeTimeout: this.limits.headTimeout || 120_000 },
        serve,
      );
      this.server.on('tlsClientError', (_e, s) => s.destroy());
    } else this.server = net.createServer((s) => this.accepted(s) && serve(s));
    // TLS: counted at TCP accept, so a client that never finishes its handshake holds a place too.
    if (opts.tls) this.server.on('connection', (s: net.Socket) => this.accepted(s));
    // A backstop below the descriptor budget: Node itself drops connections past it (held
    // refusals are connections too).
    this.server.maxConnections = this.limits.maxConnections + hold + REFUSAL_SLACK;
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
    this.held.close();
    await done;
    // The native handle outlives close() until a garbage collection: let it hold no handler.
    this.server.removeAllListeners();
  }

  /** Counts a new TCP connection against the caps; refuses it (503, then closed) past them. */
  private accepted(sock: net.Socket): boolean {
    sock.on('error', () => sock.destroy());
    const address = sock.remoteAddress ?? '';
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    const fromHere = this.perAddress.get(address) ?? 0;
    const why =
      maxConnections > 0 && this.sockets.size >= maxConnections
        ? `limit of ${maxConnections} connections reached`
        : maxConnectionsPerAddress > 0 && fromHere >= maxConnectionsPerAddress
          ? `limit of ${maxConnectionsPerAddress} connections from one address reached`
          : undefined;
    if (why) {
      this.refuse(sock, address, why);
      return false;
    }
    this.sockets.add(sock);
    this.perAddress.set(address, fromHere + 1);
    sock.once('close', () => {
      this.sockets.delete(sock);
      const n = (this.perAddress.get(address) ?? 1) - 1;
      if (n > 0) this.perAddress.set(address, n);
      else this.perAddress.delete(address);
    });
    return true;
  }

  private refuse(sock: net.Socket, address: string, why: string): void {
    this.refusals.warn(`admin api: ${why}, refusing ${address}`);
    // Plain TCP gets a 503 it can read; a TLS client would need a handshake first, so it is just closed.
    if (this.opts.tls) {
      sock.destroy();
      return;
    }
    // Held first, then told why (the 503 a plain client can read), then closed.
    this.held.hold(sock, (s) => {
      s.end(encodeResponse({ status: 503, body: { errors: [`admin api: ${why}`] } }, false));
      setTimeout(() => s.destroy(), 1_000).unref();
    });
  }
}

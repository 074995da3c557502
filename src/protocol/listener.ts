// Listening sockets for ldap://, ldaps:// and ldapi:// URLs; each accepted socket becomes one
// Connection. The connection limits are shared by all URLs, as they bound the whole process; an
// unauthenticated flood can fill only its own share: when a limit is reached the oldest idle
// unauthenticated connection makes room, so a flood never locks out ldapi or bound sessions.
// An ldaps:// socket counts from accept, while its TLS handshake runs (bounded by pduTimeout).
// A flood must cost little: a refused socket is held (paused, unread) for a while rather than
// closed at once, so a client that reconnects on every close waits instead of spinning; an address
// may push out its own connections and start TLS handshakes only so often (token buckets).

import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { RateLimitedWarning, type Logger } from '../config/logger.js';
import { AddressBuckets, RefusalHold } from '../config/refusal.js';
import type { TlsProvider } from '../config/tls.js';
import type { RequestHandler } from '../ldap/messages.js';
import { Connection } from './connection.js';
import type { ExtendedCodecs } from './extended/index.js';
import type { ProtocolObserver } from './observer.js';
import { handshake, RENEGOTIATION_REFUSED, serverTlsSocket } from './peer.js';

export interface ListenOptions {
  handler: RequestHandler;
  /** The extended operations' codecs (the server's table, server/extended.ts). */
  extended?: ExtendedCodecs;
  maxPduSize: number;
  /** Milliseconds (as are the other timeouts here); 0 = never. */
  idleTimeout: number;
  anonymousIdleTimeout?: number;
  pduTimeout?: number;
  writeTimeout?: number;
  /** Most simultaneous connections over all URLs; 0 = unlimited. */
  maxConnections: number;
  /** Most simultaneous TCP/TLS connections from one IP address; 0 = unlimited. */
  maxConnectionsPerAddress?: number;
  /** Connections unauthenticated TCP/TLS clients cannot take: kept for ldapi and bound sessions. */
  reservedConnections?: number;
  logger: Logger;
  /** TLS for ldaps:// and StartTLS; without it ldaps:// cannot listen and StartTLS is refused. */
  tls?: TlsProvider;
  /** Told about connections and finished operations (access log, metrics). */
  observer?: ProtocolObserver;
  /** TLS handshakes (ldaps:// accepts and StartTLS) one address may start per second; 0 = unlimited. */
  tlsHandshakeRate?: number;
  /** Most refused sockets held before they are closed (default maxConnections; 0 = close at once). */
  refusalHold?: number;
}

export interface Listener {
  /** The URLs actually listened on (ephemeral ports resolved). */
  urls: string[];
  /**
   * Stops accepting, then closes every connection; with graceMs, connections with requests in
   * flight get up to that long to answer them first (a graceful shutdown).
   */
  close(graceMs?: number): Promise<void>;
}

type Endpoint = { scheme: 'ldap' | 'ldaps'; host: string; port: number } | { scheme: 'ldapi'; path: string };

/** Parses an LDAP URL into what to listen on; a DN, attributes or filter part is not accepted. */
export function parseListenUrl(url: string): Endpoint {
  const m = /^(ldaps?|ldapi):\/\/([^/?#]*)\/?$/i.exec(url.trim());
  if (!m) throw new Error(`invalid listen URL "${url}": expected ldap://host:port, ldaps://host:port or ldapi://path`);
  const scheme = m[1]!.toLowerCase() as Endpoint['scheme'];
  const rest = m[2]!;
  if (scheme === 'ldapi') {
    let path: string;
    try {
      path = decodeURIComponent(rest);
    } catch {
      throw new Error(`invalid listen URL "${url}": bad percent-encoding`);
    }
    if (!path) throw new Error(`invalid listen URL "${url}": ldapi:// needs a percent-encoded socket path`);
    return { scheme, path };
  }
  // Host: an IPv6 literal in brackets, a name or IPv4 address, or empty for all interfaces.
  const hm = /^(\[[0-9a-fA-F:.%a-zA-Z]+\]|[^:[\]]*)(?::(\d{1,5}))?$/.exec(rest);
  if (!hm) throw new Error(`invalid listen URL "${url}": bad host or port`);
  const rawHost = hm[1]!;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  const port = hm[2] !== undefined ? Number(hm[2]) : scheme === 'ldaps' ? 636 : 389;
  if (port > 65535) throw new Error(`invalid listen URL "${url}": port out of range`);
  return { scheme, host, port };
}

function formatUrl(scheme: string, host: string, port: number): string {
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Removes a socket file left by a dead server; refuses when a server still answers on it. */
async function removeStaleSocket(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return; // Nothing there.
  }
  if (!st.isSocket()) throw new Error(`cannot listen on ldapi socket ${path}: the path exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = net.connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`cannot listen on ldapi socket ${path}: another server is listening on it`);
  await unlink(path);
}

function listenOn(server: net.Server, args: net.ListenOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(args, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}

/** What the connection limits count: a connection, or an ldaps:// socket still in its TLS handshake. */
interface Slot {
  readonly busy: boolean;
  readonly authenticated: boolean;
  destroy(reason?: string): void;
}

/** Limit warnings: at most one line per this many milliseconds; the rest are counted in the next. */
const LIMIT_WARNING_MS = 10_000;
/**
 * Connections one address may push out per second to make room for its new ones (and how many
 * at once): enough for a client behind the same address as a flood to get in once the flood
 * pauses, not enough for a pool of reconnecting sockets to turn the listener into a loop of
 * connection setups and teardowns. (ldaps:// sockets are rationed before this, by the TLS
 * handshake rate.)
 */
const EVICTIONS_PER_SECOND = 64;
const EVICTION_BURST = 512;

/** The listening sockets and live connections of one server. */
class Listeners implements Listener {
  readonly urls: string[] = [];
  private nextSessionId = 1;
  private readonly connections = new Set<Slot>();
  /** TCP/TLS connections not bound to an identity, oldest first: the ones evicted to make room. */
  private readonly unauthenticated = new Set<Slot>();
  /** The client address of each TCP/TLS connection, and how many connections each address has. */
  private readonly addressOf = new Map<Slot, string>();
  private readonly perAddress = new Map<string, number>();
  private readonly limitWarning: RateLimitedWarning;
  private readonly servers: net.Server[] = [];
  /** Every raw socket, including those still in a TLS handshake, so close() can end them all. */
  private readonly sockets = new Set<net.Socket>();
  private closing: Promise<void> | undefined;
  /** Refused TCP/TLS sockets, held before they are closed. */
  private readonly held: RefusalHold;
  private readonly evictions = new AddressBuckets(EVICTIONS_PER_SECOND, EVICTION_BURST);
  private readonly handshakes: AddressBuckets;

  constructor(private readonly opts: ListenOptions) {
    this.limitWarning = new RateLimitedWarning(opts.logger, LIMIT_WARNING_MS, 'connection limit events');
    this.held = new RefusalHold(opts.refusalHold ?? opts.maxConnections);
    const rate = opts.tlsHandshakeRate ?? 0;
    this.handshakes = new AddressBuckets(rate, 2 * rate);
  }

  private get log(): Logger {
    return this.opts.logger;
  }

  /** Waits until no connection has a request in flight, at most ms milliseconds. */
  private async settle(ms: number): Promise<void> {
    const end = Date.now() + ms;
    while ([...this.connections].some((c) => c.busy) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, SETTLE_POLL_MS));
    }
  }

  /** Takes a place for a new socket from address (undefined: ldapi), or refuses and ends the socket. */
  private admit(socket: net.Socket, address: string | undefined, transport: string): boolean {
    // Socket errors before a Connection exists must not become uncaught exceptions.
    socket.on('error', (err) => this.log.debug(`socket error: ${err.message}`));
    const refusal = this.makeRoom(address);
    if (!refusal) return true;
    this.warnLimit(`${refusal}, refusing ${address ?? transport}`);
    this.refuse(socket, address);
    return false;
  }

  /** Ends a refused socket: an ldapi one at once, a TCP/TLS one after its hold. */
  private refuse(socket: net.Socket, address: string | undefined): void {
    if (address === undefined || this.closing) socket.destroy();
    else this.held.hold(socket);
  }

  /** Counts a slot against the limits (TCP/TLS ones per address, and as evictable). */
  private track(slot: Slot, address: string | undefined): void {
    this.connections.add(slot);
    if (address === undefined) return;
    this.addressOf.set(slot, address);
    this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
    this.unauthenticated.add(slot);
  }

  /**
   * An ldaps:// socket: counted from accept, like any connection, while its handshake runs; the
   * handshake must finish within pduTimeout. Renegotiation is refused (the socket is closed).
   */
  private acceptTls(raw: net.Socket, context: tls.SecureContext, provider: TlsProvider): void {
    const address = raw.remoteAddress ?? '';
    if (!this.handshakes.take(address)) {
      this.warnLimit(`more than ${this.opts.tlsHandshakeRate} TLS handshakes a second, refusing ${address}`);
      this.refuse(raw, address);
      return;
    }
    if (!this.admit(raw, address, 'tls')) return;
    let conn: Connection | undefined;
    const secure = serverTlsSocket(raw, context, provider, () =>
      this.log.info(`${conn ? `conn=${conn.session.id} ` : ''}${RENEGOTIATION_REFUSED} (from ${address})`),
    );
    const pending: Slot = {
      busy: false,
      authenticated: false,
      destroy: (reason) => {
        if (reason) this.log.debug(`TLS handshake from ${address} ended: ${reason}`);
        secure.destroy();
      },
    };
    this.track(pending, address);
    raw.once('close', () => this.release(pending));
    void handshake(secure, provider, this.opts.pduTimeout ?? 0).then((done) => {
      const counted = this.release(pending); // false: evicted or closed meanwhile
      if (!done.secure) this.log.debug(`TLS handshake from ${address} failed: ${done.reason}`);
      else if (!counted || secure.destroyed) secure.destroy();
      else conn = this.accept(secure, 'tls', address);
    });
  }

  /** A new connection on an admitted socket (address undefined: ldapi). */
  private accept(socket: net.Socket, transport: 'tcp' | 'tls' | 'ldapi', address?: string): Connection | undefined {
    const { opts, log } = this;
    // The slot the handshake held was just released: this takes it again, never a further one.
    if (transport !== 'tls' && !this.admit(socket, address, transport)) return undefined;
    try {
      const conn = new Connection(socket, {
        handler: opts.handler,
        ...(opts.extended ? { extended: opts.extended } : {}),
        id: this.nextSessionId++,
        maxPduSize: opts.maxPduSize,
        idleTimeout: opts.idleTimeout,
        ...(opts.anonymousIdleTimeout !== undefined ? { anonymousIdleTimeout: opts.anonymousIdleTimeout } : {}),
        ...(opts.pduTimeout !== undefined ? { pduTimeout: opts.pduTimeout } : {}),
        ...(opts.writeTimeout !== undefined ? { writeTimeout: opts.writeTimeout } : {}),
        logger: log,
        transport,
        onClose: (c) => {
          this.release(c);
          opts.observer?.onConnection?.(false, transport);
        },
        onAuthChange: (c) => this.authChanged(c),
        ...(address !== undefined ? { mayStartTls: () => this.handshakes.take(address) } : {}),
        ...(opts.tls ? { tls: opts.tls } : {}),
        ...(opts.observer ? { observer: opts.observer } : {}),
      });
      this.track(conn, address);
      opts.observer?.onConnection?.(true, transport);
      return conn;
    } catch (err) {
      log.error(`cannot set up connection: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
      return undefined;
    }
  }

  /**
   * Frees a place for a new connection from `address` (undefined: ldapi) by evicting the oldest
   * idle unauthenticated TCP/TLS connection where a limit is reached; says why when it cannot.
   */
  private makeRoom(address: string | undefined): string | undefined {
    const { maxConnections: max } = this.opts;
    const perAddress = this.opts.maxConnectionsPerAddress ?? 0;
    // Making room is rationed per address (ldapi is not): see EVICTIONS_PER_SECOND.
    const mayEvict = (): boolean => address === undefined || this.evictions.take(address);
    if (address !== undefined && perAddress > 0 && (this.perAddress.get(address) ?? 0) >= perAddress) {
      if (!mayEvict() || !this.evict((c) => this.addressOf.get(c) === address)) {
        return `limit of ${perAddress} connections from one address reached`;
      }
    }
    if (max <= 0) return undefined;
    // Unauthenticated TCP/TLS clients share what the reserve leaves; ldapi and bound sessions all of it.
    const anonymousShare = max - (this.opts.reservedConnections ?? 0);
    if (address !== undefined && this.unauthenticated.size >= anonymousShare) {
      if (!mayEvict() || !this.evict(() => true)) return `limit of ${anonymousShare} unauthenticated connections reached`;
    }
    if (this.connections.size >= max && !(mayEvict() && this.evict(() => true))) return `connection limit ${max} reached`;
    return undefined;
  }

  /** Ends the oldest unauthenticated connection that matches, an idle one first. */
  private evict(matches: (c: Slot) => boolean): boolean {
    let victim: Slot | undefined;
    for (const c of this.unauthenticated) {
      if (!matches(c)) continue;
      if (!c.busy) {
        victim = c;
        break;
      }
      victim ??= c;
    }
    if (!victim) return false;
    this.release(victim);
    victim.destroy('evicted: connection limit reached, oldest unauthenticated connection');
    this.warnLimit('connection limit reached: evicting the oldest unauthenticated connections');
    return true;
  }

  /** At most one warning per LIMIT_WARNING_MS: a flood must not flood the log too (the rest are counted). */
  private warnLimit(message: string): void {
    this.limitWarning.warn(message);
  }

  /** Forgets a connection or handshake (closed or evicted); safe to call twice; false if it was not counted. */
  private release(conn: Slot): boolean {
    if (!this.connections.delete(conn)) return false;
    this.unauthenticated.delete(conn);
    const address = this.addressOf.get(conn);
    if (address === undefined) return true;
    this.addressOf.delete(conn);
    const n = (this.perAddress.get(address) ?? 1) - 1;
    if (n > 0) this.perAddress.set(address, n);
    else this.perAddress.delete(address);
    return true;
  }

  /** A bind changed the identity: a bound session leaves the evictable set, an anonymous one re-enters it (as the newest). */
  private authChanged(conn: Slot): void {
    if (!this.addressOf.has(conn)) return;
    this.unauthenticated.delete(conn);
    if (!conn.authenticated) this.unauthenticated.add(conn);
  }

  /** A server socket for the endpoint, accepting into this listener. */
  private async createServer(url: string, ep: Endpoint): Promise<net.Server> {
    if (ep.scheme === 'ldapi') return net.createServer((s) => this.accept(s, 'ldapi'));
    if (ep.scheme === 'ldap') return net.createServer((s) => this.accept(s, 'tcp', s.remoteAddress ?? ''));
    const provider = this.opts.tls;
    if (!provider) throw new Error(`cannot listen on ${url}: ldaps:// needs a TLS key and certificate`);
    // The same TLS socket as StartTLS makes: the handshake counted and bounded from accept (a
    // tls.Server counts a socket only once secure, and leaves a timed-out handshake open).
    const context = await provider.context();
    return net.createServer((s) => this.acceptTls(s, context, provider));
  }

  /** Listens on one URL; records the URL actually bound (ephemeral port resolved). */
  async open(url: string): Promise<void> {
    const ep = parseListenUrl(url);
    const server = await this.createServer(url, ep);
    server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    try {
      if (ep.scheme === 'ldapi') {
        await removeStaleSocket(ep.path);
        await listenOn(server, { path: ep.path });
        // Only the server's user may connect: ldapi access is trusted by the peer's identity.
        await chmod(ep.path, 0o600);
        this.urls.push(url);
      } else {
        await listenOn(server, ep.host ? { host: ep.host, port: ep.port } : { port: ep.port });
        const addr = server.address() as net.AddressInfo;
        this.urls.push(formatUrl(ep.scheme, ep.host || addr.address, addr.port));
      }
    } catch (err) {
      await closeServer(server);
      const msg = err instanceof Error ? err.message : String(err);
      throw new Error(msg.startsWith('cannot listen') ? msg : `cannot listen on ${url}: ${msg}`);
    }
    // After startup, a server error is logged rather than thrown into the event loop.
    server.on('error', (err) => this.log.error(`listener ${url}: ${err.message}`));
    this.servers.push(server);
    this.log.info(`listening on ${this.urls[this.urls.length - 1]}`);
  }

  close(graceMs = 0): Promise<void> {
    this.closing ??= (async () => {
      const done = Promise.all(this.servers.map(closeServer));
      this.held.close();
      if (graceMs > 0) await this.settle(graceMs);
      for (const conn of this.connections) conn.destroy();
      for (const s of this.sockets) s.destroy();
      // server.close() resolves once every accepted socket has closed.
      await done;
      // A closed server's native handle is released only by a later garbage collection, and its
      // listeners would keep the handler (the whole directory) alive until then: drop them.
      for (const server of this.servers) server.removeAllListeners();
      this.servers.length = 0;
      this.connections.clear();
    })();
    return this.closing;
  }
}

/** Checks for requests in flight this often during a graceful close. */
const SETTLE_POLL_MS = 20;

/** Listens on every URL (all or none: a failure closes what was opened). */
export async function listen(urls: string[], opts: ListenOptions): Promise<Listener> {
  const listeners = new Listeners(opts);
  try {
    for (const url of urls) await listeners.open(url);
  } catch (err) {
    await listeners.close();
    throw err;
  }
  return listeners;
}

// Listening sockets for ldap://, ldaps:// and ldapi:// URLs; each accepted socket becomes one
// Connection. The connection limit is shared by all URLs, as it bounds the whole process.

import { chmod, lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../config/logger.js';
import type { RequestHandler } from '../directory/requests.js';
import { Connection, type TlsProvider } from './connection.js';

export interface ListenOptions {
  handler: RequestHandler;
  supportedControls: string[];
  maxPduSize: number;
  idleTimeout: number;
  /** Most simultaneous connections over all URLs; 0 = unlimited. */
  maxConnections: number;
  logger: Logger;
  /** TLS for ldaps:// and StartTLS; without it ldaps:// cannot listen and StartTLS is refused. */
  tls?: TlsProvider;
}

export interface Listener {
  /** The URLs actually listened on (ephemeral ports resolved). */
  urls: string[];
  close(): Promise<void>;
}

type Endpoint =
  | { scheme: 'ldap' | 'ldaps'; host: string; port: number }
  | { scheme: 'ldapi'; path: string };

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

export async function listen(urls: string[], opts: ListenOptions): Promise<Listener> {
  const log = opts.logger;
  const supportedControls = new Set(opts.supportedControls);
  const connections = new Set<Connection>();
  const servers: net.Server[] = [];
  // Every raw socket, including those still in a TLS handshake, so close() can end them all.
  const sockets = new Set<net.Socket>();
  const actualUrls: string[] = [];

  const accept = (socket: net.Socket, transport: 'tcp' | 'tls' | 'ldapi'): void => {
    // Connection errors before the Connection exists must not become uncaught exceptions.
    socket.on('error', (err) => log.debug(`socket error: ${err.message}`));
    if (opts.maxConnections > 0 && connections.size >= opts.maxConnections) {
      log.warn(`connection limit ${opts.maxConnections} reached, refusing ${socket.remoteAddress ?? transport}`);
      socket.destroy();
      return;
    }
    try {
      const conn = new Connection(socket, {
        handler: opts.handler,
        supportedControls,
        maxPduSize: opts.maxPduSize,
        idleTimeout: opts.idleTimeout,
        logger: log,
        transport,
        onClose: (c) => connections.delete(c),
        ...(opts.tls ? { tls: opts.tls } : {}),
      });
      connections.add(conn);
    } catch (err) {
      log.error(`cannot set up connection: ${err instanceof Error ? err.message : String(err)}`);
      socket.destroy();
    }
  };

  try {
    for (const url of urls) {
      const ep = parseListenUrl(url);
      let server: net.Server;
      if (ep.scheme === 'ldaps') {
        if (!opts.tls) throw new Error(`cannot listen on ${url}: ldaps:// needs a TLS key and certificate`);
        const tlsServer = tls.createServer({
          ...(await opts.tls.options()),
          requestCert: opts.tls.requestCert,
          rejectUnauthorized: false, // a client certificate is optional; verified ones name an identity
        });
        tlsServer.on('secureConnection', (s) => accept(s, 'tls'));
        tlsServer.on('tlsClientError', (err) => log.debug(`TLS handshake failed: ${err.message}`));
        server = tlsServer;
      } else {
        const transport = ep.scheme === 'ldapi' ? 'ldapi' : 'tcp';
        server = net.createServer((s) => accept(s, transport));
      }
      server.on('connection', (s: net.Socket) => {
        sockets.add(s);
        s.once('close', () => sockets.delete(s));
      });
      try {
        if (ep.scheme === 'ldapi') {
          await removeStaleSocket(ep.path);
          await listenOn(server, { path: ep.path });
          // Only the server's user may connect: ldapi access is trusted by the peer's identity.
          await chmod(ep.path, 0o600);
          actualUrls.push(url);
        } else {
          await listenOn(server, ep.host ? { host: ep.host, port: ep.port } : { port: ep.port });
          const addr = server.address() as net.AddressInfo;
          actualUrls.push(formatUrl(ep.scheme, ep.host || addr.address, addr.port));
        }
      } catch (err) {
        await closeServer(server);
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(msg.startsWith('cannot listen') ? msg : `cannot listen on ${url}: ${msg}`);
      }
      // After startup, a server error is logged rather than thrown into the event loop.
      server.on('error', (err) => log.error(`listener ${url}: ${err.message}`));
      servers.push(server);
      log.info(`listening on ${actualUrls[actualUrls.length - 1]}`);
    }
  } catch (err) {
    await Promise.all(servers.map(closeServer));
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    urls: actualUrls,
    close(): Promise<void> {
      closing ??= (async () => {
        const done = Promise.all(servers.map(closeServer));
        for (const conn of connections) conn.destroy();
        for (const s of sockets) s.destroy();
        // server.close() resolves once every accepted socket has closed.
        await done;
      })();
      return closing;
    },
  };
}

// Start-up warm-up of a large on-disk directory, before the listener opens: the first lookups
// after a start otherwise each paid for LevelDB opening table files (0.1-3 ms apiece) and for the
// first runs of the protocol, search and encoding code, so a client's first search took several
// times the steady latency. The searches go through a private loopback connection, so the code
// they warm is the code a client's request runs. Bounded in time; skipped for small or in-memory
// directories (nothing to gain).

import net, { type AddressInfo, type Socket } from 'node:net';
import { silentLogger } from '../config/logger.js';
import type { Directory } from '../directory/directory.js';
import type { Frontend } from '../directory/frontend.js';
import { BerReader, BerWriter } from '../protocol/ber.js';
import { Connection } from '../protocol/connection.js';
import { Framer } from '../protocol/framer.js';
import { serverObserver, ServerMetrics } from './observe.js';
import type { Store } from '../store/types.js';

/** Below this many entries the database is read into the OS cache by the first few lookups anyway. */
const WARM_MIN_ENTRIES = 10_000;
const WARM_BUDGET_MS = 400;
const WARM_SEARCHES = 400;
/** The warm-up connection's session id (listeners number theirs from 1). */
const WARM_SESSION_ID = -1;

/** Returns how many warm-up searches answered. */
export async function warmUp(
  store: Store,
  directory: Directory,
  frontend: Frontend,
  { minEntries = WARM_MIN_ENTRIES, budgetMs = WARM_BUDGET_MS }: { minEntries?: number; budgetMs?: number } = {},
): Promise<number> {
  if (!store.warm || (await store.count()) < minEntries) return 0;
  const deadline = Date.now() + budgetMs;
  const ndns = await lookupTargets(store, await store.warm(deadline - budgetMs / 2));
  const eq = [...store.indexes.values()].filter((s) => s.eq).map((s) => s.attr);
  let link: Awaited<ReturnType<typeof privateConnection>>;
  try {
    link = await privateConnection(directory, frontend);
  } catch {
    return 0; // no loopback here: the warm-up is best-effort
  }
  let answered = 0;
  try {
    for (const ndn of ndns) {
      if (Date.now() > deadline) break;
      const rec = await store.get(ndn);
      if (!rec) continue;
      // Lookups by one of the entry's indexed values, alone and with its class (Asterisk's shape),
      // then the entry by its DN: requests as a client sends them, answered as a client gets them.
      const attr = eq.find((a) => a !== 'objectclass' && rec.attrs[a]?.length) ?? 'objectclass';
      const value = rec.attrs[attr]?.[0];
      const pdus =
        value === undefined
          ? []
          : [undefined, rec.attrs['objectclass']?.at(-1)].map((oc) => searchPdu(directory.config.suffix, attr, value, oc));
      pdus.push(searchPdu(rec.dn, undefined, undefined, undefined));
      let ok = true;
      for (const pdu of pdus) ok = (await link.ask(pdu)) && ok;
      if (!ok && link.closed) break;
      if (ok) answered++;
    }
  } finally {
    link.close();
  }
  return answered;
}

/**
 * The entries to look up: those the store's sampling reached (spread over the key space, for the
 * table files), then siblings of theirs up to WARM_SEARCHES (the code needs many runs to be
 * compiled; where the entries are does not matter for that).
 */
async function lookupTargets(store: Store, sampled: string[]): Promise<string[]> {
  const out = new Set(sampled.slice(0, WARM_SEARCHES));
  for (const ndn of sampled) {
    if (out.size >= WARM_SEARCHES) break;
    const comma = ndn.indexOf(',');
    if (comma < 0) continue;
    for await (const sibling of store.children(ndn.slice(comma + 1))) {
      if (out.size >= WARM_SEARCHES) break;
      out.add(sibling);
    }
  }
  return [...out];
}

/**
 * A connection of the server's own protocol code on a private loopback socket (a listener of its
 * own that accepts that one client and closes), bound as the administrator: no credentials cross
 * it and nothing outside can reach it. Its operations are counted in scratch metrics of its own
 * (the warm-up is not in the server's). The first searches after a start otherwise ran that code cold
 * (socket reads and writes included): a client's first lookup took several times the steady
 * latency.
 */
async function privateConnection(
  directory: Directory,
  frontend: Frontend,
): Promise<{ ask(pdu: Buffer): Promise<boolean>; readonly closed: boolean; close(): void }> {
  const { client, server } = await loopbackPair();
  let pending: { resolve: (ok: boolean) => void } | undefined;
  // Responses, framed as the server frames requests: a search is answered once its
  // SearchResultDone (APPLICATION 5) arrives.
  const framer = new Framer(directory.config.limits.maxPduSize);
  const onFrame = (buf: Buffer, start: number, end: number) => {
    const success = searchDone(buf, start, end);
    if (success === undefined || !pending) return;
    const p = pending;
    pending = undefined;
    p.resolve(success);
  };
  client.on('data', (chunk: Buffer) => {
    try {
      framer.push(chunk, onFrame, () => client.destroyed);
    } catch {
      client.destroy(); // a broken answer ends the warm-up
    }
  });
  const done = () => {
    pending?.resolve(false);
    pending = undefined;
  };
  client.on('error', done);
  client.on('close', done);
  const conn = new Connection(server, {
    handler: frontend,
    id: WARM_SESSION_ID,
    maxPduSize: directory.config.limits.maxPduSize,
    idleTimeout: 0,
    logger: silentLogger,
    transport: 'tcp',
    // Its own scratch metrics (the same code as the server's, a registry nobody reads).
    observer: serverObserver(new ServerMetrics({ entries: () => Promise.resolve(0), indexes: () => 0 }), silentLogger, false),
  });
  conn.session.bindDn = directory.config.admin.dn;
  conn.session.bindNdn = directory.adminNdn;
  conn.session.authMethod = 'simple';
  return {
    // An answer that does not come within a second (it always does) ends the warm-up, not start-up.
    ask: (pdu) =>
      new Promise<boolean>((resolve) => {
        if (client.destroyed) return resolve(false);
        const timer = setTimeout(done, 1000);
        pending = {
          resolve: (ok) => {
            clearTimeout(timer);
            resolve(ok);
          },
        };
        client.write(pdu);
      }),
    get closed() {
      return client.destroyed;
    },
    close: () => {
      done();
      conn.destroy();
      client.destroy();
    },
  };
}

/**
 * Two connected TCP sockets on 127.0.0.1: a one-shot listener accepts its own client only, and
 * closes at its first connection (or after a second). `beforeClient` runs once the listener is
 * open, before the client connects (tests put a stranger first there).
 */
export function loopbackPair(beforeClient?: (port: number) => Promise<void>): Promise<{ client: Socket; server: Socket }> {
  return new Promise((resolve, reject) => {
    const listener = net.createServer({ noDelay: true });
    let client: Socket | undefined;
    let server: Socket | undefined;
    let connected = false;
    let settled = false;
    const end = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      listener.close();
      if (!err && client && server) return resolve({ client, server });
      client?.destroy();
      server?.destroy();
      reject(err ?? new Error('warm-up: no loopback connection'));
    };
    // Open for a moment only, whatever happens.
    const timer = setTimeout(end, 1000);
    timer.unref();
    // Both ends known: the accepted socket must be this client's (anyone else is turned away).
    const check = () => {
      if (!connected || !client || !server) return;
      if (server.remotePort === client.localPort && server.remoteAddress === client.localAddress) end();
      else end(new Error('warm-up: the loopback peer is not its own client'));
    };
    listener.once('error', end);
    listener.once('connection', (s) => {
      server = s;
      listener.close();
      check();
    });
    listener.listen(0, '127.0.0.1', async () => {
      const { port } = listener.address() as AddressInfo;
      await beforeClient?.(port);
      if (settled) return;
      client = net.connect({ port, host: '127.0.0.1', noDelay: true });
      client.once('error', end);
      client.once('connect', () => {
        connected = true;
        check();
      });
    });
  });
}

/** For a SearchResultDone frame, whether it reports success; undefined for any other message. */
function searchDone(buf: Buffer, start: number, end: number): boolean | undefined {
  const r = new BerReader(buf, start, end);
  r.enter();
  r.readInteger();
  if (r.peek() !== 0x65) return undefined;
  r.enter(0x65);
  return r.readEnumerated() === 0;
}

/**
 * A SearchRequest PDU (RFC 4511 §4.5.1): a subtree search for (&(objectClass=oc)(attr=value))
 * under base, the shape of Asterisk's lookups, or (attr=value) without a class; without attr, a
 * base-scope read of the entry at base ((objectClass=*)).
 */
function searchPdu(base: string, attr: string | undefined, value: string | undefined, oc: string | undefined): Buffer {
  const w = new BerWriter(256);
  const equality = (a: string, v: string) => {
    w.startSequence(0xa3);
    w.writeString(a);
    w.writeString(v);
    w.endSequence();
  };
  w.startSequence();
  w.writeInteger(1);
  w.startSequence(0x63);
  w.writeString(base);
  w.writeEnumerated(attr === undefined ? 0 : 2);
  w.writeEnumerated(0);
  w.writeInteger(0);
  w.writeInteger(0);
  w.writeBoolean(false);
  if (attr === undefined || value === undefined) w.writeString('objectClass', 0x87);
  else if (oc) {
    w.startSequence(0xa0);
    equality('objectClass', oc);
    equality(attr, value);
    w.endSequence();
  } else equality(attr, value);
  w.startSequence();
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.toBuffer();
}

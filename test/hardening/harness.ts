// What the hardening tests share: a server on loopback (TCP and a private ldapi socket) whose log
// lines are captured so tests can wait for events instead of sleeping, and a few raw BER pieces
// for clients that misbehave on purpose.

import net from 'node:net';
import path from 'node:path';
import type { AstldapServer, StartOptions } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

export const B = 'dc=example,dc=domain';
export const ADMIN = `cn=admin,${B}`;

export interface Hardened {
  server: AstldapServer;
  url: string;
  ldapi: string;
  /** Every log line so far, debug included. */
  logs: string[];
  /** Resolves with the first log line (past or future) that matches. */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

/** Starts astldap from config.yaml with the packaged seed, on 127.0.0.1 and a temp ldapi socket. */
export async function startHardened(
  config: StartOptions['config'] = {},
  opts: { seedLdif?: string; /** Further URLs to listen on (ldaps://127.0.0.1:0). */ listen?: string[] } = {},
): Promise<Hardened> {
  const { startServer } = await import('../../src/index.js');
  const dir = tempDir('astldap-hard-');
  const socket = path.join(dir, 'ldapi');
  const ldapi = `ldapi://${encodeURIComponent(socket)}`;
  const logs: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  const sink = (level: string) => (msg: string) => {
    const line = `${level} ${msg}`;
    logs.push(line);
    for (const w of [...waiters]) {
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  const logger = { error: sink('ERROR'), warn: sink('WARN'), info: sink('INFO'), debug: sink('DEBUG') };
  try {
    const server = await startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      memory: true,
      dataDir: dir,
      listen: ['ldap://127.0.0.1:0', ldapi, ...(opts.listen ?? [])],
      seedLdif: opts.seedLdif,
      config,
      logger,
    });
    return {
      server,
      url: server.url,
      ldapi,
      logs,
      waitForLog(re, timeoutMs = 30_000) {
        const seen = logs.find((l) => re.test(l));
        if (seen) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const w = { re, resolve };
          waiters.push(w);
          setTimeout(() => {
            if (waiters.includes(w)) reject(new Error(`no log line matching ${re} within ${timeoutMs} ms`));
          }, timeoutMs).unref();
        });
      },
      async stop() {
        await server.close();
        removeDir(dir);
      },
    };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}

/** Opens a TCP connection (optionally from a given local address) and resolves once connected. */
export function connect(url: string, localAddress?: string): Promise<net.Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port), ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves once pred holds, checking every 50 ms, or throws after ms. */
export async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Resolves when the socket has closed (whoever closed it). */
export function closed(s: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    if (s.destroyed) return resolve();
    s.once('close', () => resolve());
  });
}

// ---- raw BER, just enough for binds and searches ------------------------------------------------

export function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else if (n < 0x100) len = Buffer.from([0x81, n]);
  else if (n < 0x10000) len = Buffer.from([0x82, n >> 8, n & 0xff]);
  else len = Buffer.from([0x84, (n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const int = (v: number) => tlv(0x02, Buffer.from([v & 0x7f]));
const str = (s: string, tag = 0x04) => tlv(tag, Buffer.from(s));
const msg = (id: number, op: Buffer, controls?: Buffer) => tlv(0x30, Buffer.concat([int(id), op, ...(controls ? [controls] : [])]));

export function bindPdu(id: number, dn: string, password: string): Buffer {
  return msg(id, tlv(0x60, Buffer.concat([int(3), str(dn), str(password, 0x80)])));
}

/** A subtree search (by default for (objectClass=*)) returning all user attributes. */
export function searchPdu(id: number, base: string, filter = str('objectClass', 0x87)): Buffer {
  const enumerated = (v: number) => tlv(0x0a, Buffer.from([v]));
  return msg(
    id,
    tlv(
      0x63,
      Buffer.concat([
        str(base),
        enumerated(2),
        enumerated(0),
        int(0),
        int(0),
        tlv(0x01, Buffer.from([0])),
        filter,
        tlv(0x30, Buffer.alloc(0)),
      ]),
    ),
  );
}

/** A base search for (objectClass=*) with a critical assertion control (RFC 4528) carrying `assertion`. */
export function assertedSearchPdu(id: number, base: string, assertion: Buffer): Buffer {
  const enumerated = (v: number) => tlv(0x0a, Buffer.from([v]));
  const control = tlv(0x30, Buffer.concat([str('1.3.6.1.1.12'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, assertion)]));
  const op = Buffer.concat([
    str(base),
    enumerated(0),
    enumerated(0),
    int(0),
    int(0),
    tlv(0x01, Buffer.from([0])),
    str('objectClass', 0x87),
    tlv(0x30, Buffer.alloc(0)),
  ]);
  return msg(id, tlv(0x63, op), tlv(0xa0, control));
}

/** (|(attr=*n1*)(attr=*n2*)...): an OR of substring items, one per needle. */
export function orOfSubstrings(attr: string, needles: string[]): Buffer {
  return tlv(0xa1, Buffer.concat(needles.map((n) => tlv(0xa4, Buffer.concat([str(attr), tlv(0x30, str(n, 0x81))])))));
}

/** `levels` nested ANDs around (objectClass=*). */
export function nestedAnd(levels: number): Buffer {
  let f = str('objectClass', 0x87);
  for (let i = 0; i < levels; i++) f = tlv(0xa0, f);
  return f;
}

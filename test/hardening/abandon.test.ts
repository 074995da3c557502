// Abandon and unbind in the middle of a large search (issue 11, item 8). A raw client reads one
// entry, stops reading (the server then waits on the socket's backpressure, mid-search), and
// abandons or unbinds. After an abandon no result for the search arrives and the connection
// answers later requests; after an unbind the server closes the connection and frees what the
// session held (paged-results cursors); the server serves others throughout.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { abandonRequest, bindRequest, readMessages, searchRequest, str, tlv, unbindRequest, type Received } from '../helpers/ber.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const N = 3000;
const ENTRY = 0x64;
const DONE = 0x65;

/** A connection bound as the administrator (no size limit), with every message it receives. */
async function rawClient(
  url: string,
): Promise<{ socket: net.Socket; got: Received[]; next: (pred: (m: Received) => boolean) => Promise<Received> }> {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  const got: Received[] = [];
  const waiters: Array<{ pred: (m: Received) => boolean; resolve: (m: Received) => void }> = [];
  readMessages(socket, (m) => {
    got.push(m);
    for (const w of [...waiters]) {
      if (!w.pred(m)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  const next = (pred: (m: Received) => boolean) =>
    new Promise<Received>((resolve, reject) => {
      const seen = got.find(pred);
      if (seen) return resolve(seen);
      waiters.push({ pred, resolve });
      socket.once('close', () => reject(new Error('connection closed')));
    });
  await new Promise<void>((res, rej) => socket.once('connect', res).once('error', rej));
  socket.write(bindRequest(1, `cn=admin,${B}`, 'secret'));
  await next((m) => m.id === 1 && m.op === 0x61);
  return { socket, got, next };
}

describe('abandon and unbind in the middle of a large search', () => {
  let ast: InProcessAstldap;

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true });
    const ldif = Array.from({ length: N }, (_, i) =>
      [
        `dn: uid=bulk${i},ou=people,${B}`,
        'objectClass: inetOrgPerson',
        `uid: bulk${i}`,
        `cn: bulk ${i}`,
        'sn: bulk',
        `description: ${'d'.repeat(1000)}`,
        '',
      ].join('\n'),
    ).join('\n');
    await ast.server.importLdif(ldif);
  });
  afterAll(async () => ast?.stop());

  const othersServed = async () => {
    const r = await runTool('ldapsearch', ['-H', ast.url, ...bindArgs(`cn=admin,${B}`, 'secret'), '-LLL', '-b', B, '-s', 'base', '1.1']);
    expect(r.code, r.stderr).toBe(0);
  };

  it('abandon: no result for the search, later requests on the connection are answered', async () => {
    const c = await rawClient(ast.url);
    c.socket.write(searchRequest(2, B, 2));
    await c.next((m) => m.id === 2 && m.op === ENTRY);
    c.socket.pause(); // the server blocks on backpressure, mid-search
    c.socket.write(abandonRequest(3, 2));
    c.socket.write(searchRequest(4, B, 0));
    await othersServed();
    c.socket.resume();
    await c.next((m) => m.id === 4 && m.op === DONE);
    c.socket.write(searchRequest(5, B, 0));
    await c.next((m) => m.id === 5 && m.op === DONE);
    const entries = c.got.filter((m) => m.id === 2 && m.op === ENTRY).length;
    expect(entries).toBeGreaterThan(0);
    expect(entries, 'the search stopped').toBeLessThan(N);
    expect(
      c.got.some((m) => m.id === 2 && m.op !== ENTRY),
      'no result for the abandoned search',
    ).toBe(false);
    expect(
      c.got.some((m) => m.id === 3),
      'abandon has no response',
    ).toBe(false);
    c.socket.destroy();
  });

  it('unbind: the server closes the connection and frees the session', async () => {
    const c = await rawClient(ast.url);
    // A paged search first: its cursor is what the session holds on the server.
    const paged = tlv(
      0xa0,
      tlv(
        0x30,
        Buffer.concat([
          str('1.2.840.113556.1.4.319'),
          str(tlv(0x30, Buffer.concat([tlv(0x02, Buffer.from([10])), str('')])).toString('latin1')),
        ]),
      ),
    );
    c.socket.write(searchRequest(2, B, 2, paged));
    await c.next((m) => m.id === 2 && m.op === DONE);
    const cursors = () => Array.from({ length: 10_000 }, (_, sid) => ast.server.directory.cursors.count(sid)).reduce((a, b) => a + b, 0);
    expect(cursors()).toBe(1);
    c.socket.write(searchRequest(3, B, 2));
    await c.next((m) => m.id === 3 && m.op === ENTRY);
    c.socket.pause();
    const closed = new Promise<void>((res) => c.socket.once('close', () => res()));
    c.socket.write(unbindRequest(4));
    c.socket.resume();
    await closed;
    expect(
      c.got.some((m) => m.id === 3 && m.op === DONE),
      'no result after unbind',
    ).toBe(false);
    // The server's side of the close may follow the client's: wait for it (bounded).
    await vi.waitFor(() => expect(cursors()).toBe(0), { timeout: 10_000, interval: 20 });
    await othersServed();
  });
});

// config/refusal.ts: the per-address token buckets and the hold for refused sockets that both
// listeners use against reconnect floods (issue 25's soak).

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AddressBuckets, RefusalHold } from '../../src/config/refusal.js';

describe('AddressBuckets', () => {
  it('gives each address its burst, then its rate, and is unlimited at rate 0', () => {
    const b = new AddressBuckets(2, 4);
    const t = 1_000_000;
    expect([1, 2, 3, 4, 5].map(() => b.take('a', t))).toEqual([true, true, true, true, false]);
    expect(b.take('b', t)).toBe(true); // another address has its own bucket
    expect(b.take('a', t + 499)).toBe(false); // 0.998 of a token
    expect(b.take('a', t + 500)).toBe(true); // one token back after half a second at 2/s
    expect(b.take('a', t + 500)).toBe(false);
    expect(b.take('a', t + 60_000)).toBe(true); // refilled, but never past the burst
    expect([1, 2, 3, 4].map(() => b.take('a', t + 60_000))).toEqual([true, true, true, false]);
    const open = new AddressBuckets(0, 0);
    expect(Array.from({ length: 100 }, () => open.take('a', t)).every(Boolean)).toBe(true);
  });
});

describe('RefusalHold', () => {
  const servers: net.Server[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  /** n client sockets to a server whose accepted sockets go to `onAccept`. */
  async function pairs(n: number, onAccept: (s: net.Socket) => void): Promise<net.Socket[]> {
    const server = net.createServer(onAccept);
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    return Promise.all(
      Array.from(
        { length: n },
        () =>
          new Promise<net.Socket>((resolve) => {
            const c = net.connect(port, '127.0.0.1', () => resolve(c));
            c.on('error', () => {});
          }),
      ),
    );
  }

  const closedAt = (s: net.Socket): Promise<number> => new Promise((r) => s.once('close', () => r(Date.now())));

  it('holds up to its size for holdMs, then releases; a socket that finds it full is closed at once', async () => {
    const hold = new RefusalHold(2, 1_000);
    const clients = await pairs(3, (s) => hold.hold(s));
    const start = Date.now();
    const times = await Promise.all(clients.map(closedAt));
    const sorted = times.map((t) => t - start).sort((a, b) => a - b);
    // One of the three found the hold full: closed long before the other two.
    expect(sorted[0]).toBeLessThan(sorted[1]!);
    expect(sorted[1]).toBeGreaterThanOrEqual(900);
    expect(hold.overflow).toBe(1);
    expect(hold.size).toBe(0);
  });

  it('close() ends every held socket', async () => {
    const hold = new RefusalHold(10, 60_000);
    const clients = await pairs(3, (s) => hold.hold(s));
    while (hold.size < 3) await new Promise((r) => setTimeout(r, 10));
    const gone = Promise.all(clients.map(closedAt));
    hold.close();
    await gone;
    expect(hold.size).toBe(0);
  });
});

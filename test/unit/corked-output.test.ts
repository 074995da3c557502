// A connection's corked output on a real loopback socket: an answer leaves at the end of its turn;
// a persist-phase change after a quiet spell leaves at once, the changes of a burst after it wait
// together (up to DEFERRED_FLUSH_MS or DEFERRED_FLUSH_BYTES); anything that may not wait takes the
// waiting changes with it. The clock is the test's, so nothing depends on the machine's speed.

import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CorkedOutput, DEFERRED_FLUSH_BYTES, DEFERRED_FLUSH_MS, EAGER_FLUSH_BYTES, EAGER_FLUSH_LIMIT } from '../../src/protocol/output.js';

interface Pair {
  sender: net.Socket;
  /** Every byte the peer has read so far. */
  received: () => Buffer;
  close: () => void;
}

async function socketPair(): Promise<Pair> {
  const chunks: Buffer[] = [];
  let peer: net.Socket | undefined;
  const server = net.createServer((s) => {
    peer = s;
    s.on('data', (c: Buffer) => chunks.push(c));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  const sender = await new Promise<net.Socket>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
  });
  while (!peer) await turn();
  return {
    sender,
    received: () => Buffer.concat(chunks),
    close: () => {
      sender.destroy();
      peer?.destroy();
      server.close();
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((r) => setTimeout(r, 5));
}

const pdu = (n: number): Buffer => Buffer.from(`pdu ${n};`);

/** A CorkedOutput on the pair's sender with the test's clock, which `tick(ms)` moves on. */
function clocked(pair: Pair): { out: CorkedOutput; tick: (ms: number) => void } {
  let now = 1_000_000;
  const out = new CorkedOutput(
    () => pair.sender,
    () => now,
  );
  return { out, tick: (ms) => (now += ms) };
}

describe('CorkedOutput', () => {
  let pair: Pair | undefined;
  afterEach(() => pair?.close());

  it('an answer leaves at the end of its turn, with whatever was written in that turn', async () => {
    pair = await socketPair();
    const out = new CorkedOutput(() => pair!.sender);
    out.write(pdu(1), false);
    out.write(pdu(2), false);
    expect(pair.sender.writableCorked).toBe(1);
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
    await until(() => pair!.received().length === 12);
    expect(pair.received().toString()).toBe('pdu 1;pdu 2;');
  });

  it("a long answer starts leaving at each EAGER_FLUSH_BYTES corked, up to EAGER_FLUSH_LIMIT a turn; then the rest leaves at the turn's end", async () => {
    pair = await socketPair();
    const out = new CorkedOutput(() => pair!.sender);
    const kib = (n: number): Buffer => Buffer.alloc(1024, 0x30 + (n % 10));
    const steps = EAGER_FLUSH_BYTES / 1024;
    let n = 0;
    // Just under a step: corked.
    for (let i = 1; i < steps; i++) out.write(kib(n++), false);
    expect(pair.sender.writableCorked).toBe(1);
    // The step: written to the socket now, within the turn.
    out.write(kib(n++), false);
    expect(pair.sender.writableCorked).toBe(0);
    // Steps until the limit; past it, what is written stays corked for the rest of the turn.
    while (n * 1024 < EAGER_FLUSH_LIMIT) out.write(kib(n++), false);
    for (let i = 0; i < 2 * steps; i++) out.write(kib(n++), false);
    expect(pair.sender.writableCorked).toBe(1);
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
    await until(() => pair!.received().length === n * 1024);
    const got = pair.received();
    for (let i = 0; i < n; i++) expect(got[i * 1024]).toBe(0x30 + (i % 10));
    // A new turn has its steps again.
    for (let i = 0; i < steps; i++) out.write(kib(n++), false);
    expect(pair.sender.writableCorked).toBe(0);
  });

  it('a lone persist-phase change leaves at once; the changes of a burst after it wait to leave together, in order', async () => {
    pair = await socketPair();
    const { out, tick } = clocked(pair);
    // The first change after a quiet spell: sent at the end of this turn, no timer.
    out.write(pdu(1), true);
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
    // The next ones follow it closely: they stay corked past the turn, then leave in one write.
    for (let i = 2; i <= 20; i++) {
      tick(1);
      out.write(pdu(i), true);
    }
    await turn();
    expect(pair.sender.writableCorked).toBe(1);
    await until(() => pair!.sender.writableCorked === 0);
    const all = Array.from({ length: 20 }, (_, i) => pdu(i + 1).toString()).join('');
    await until(() => pair!.received().length === all.length);
    expect(pair.received().toString()).toBe(all);
    // After a quiet spell as long as the window, a change leaves at once again.
    tick(DEFERRED_FLUSH_MS);
    out.write(pdu(21), true);
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
  });

  it('an answer or a full write takes the waiting changes with it at the end of the turn', async () => {
    pair = await socketPair();
    const { out, tick } = clocked(pair);
    out.write(pdu(1), true);
    await turn();
    tick(1);
    out.write(pdu(2), true); // waits (corked) until the timer...
    await turn();
    expect(pair.sender.writableCorked).toBe(1);
    out.write(pdu(3), false); // ...or something that may not wait
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
    tick(1);
    out.write(pdu(4), true);
    await turn();
    expect(pair.sender.writableCorked).toBe(1);
    out.flush();
    expect(pair.sender.writableCorked).toBe(0);
    // A burst that reaches the byte bound leaves at the end of its turn, not at the timer.
    tick(1);
    out.write(pdu(5), true);
    tick(1);
    out.write(Buffer.alloc(DEFERRED_FLUSH_BYTES, 0x2e), true);
    expect(pair.sender.writableCorked).toBe(1);
    await turn();
    expect(pair.sender.writableCorked).toBe(0);
    const expected = 'pdu 1;pdu 2;pdu 3;pdu 4;pdu 5;'.length + DEFERRED_FLUSH_BYTES;
    await until(() => pair!.received().length === expected);
    expect(pair.received().subarray(0, 30).toString()).toBe('pdu 1;pdu 2;pdu 3;pdu 4;pdu 5;');
  });
});

// A consumer that stops reading its socket while changes keep coming: a refreshAndPersist sync
// consumer and a persistent search. What waits for it (queued changes and the connection's
// unsent output) is bounded by limits.maxConsumerBacklog; past it the search ends, with
// e-syncRefreshRequired for a sync consumer, and a warning says which consumer and why.

import { afterEach, describe, expect, it } from 'vitest';
import { BerWriter } from '../../src/protocol/ber.js';
import { RawLdap } from '../helpers/raw-ldap.js';
import { ADMIN, B, startHardened, type Hardened } from './harness.js';

const BASE = `ou=bounds,${B}`;
const BIG = `uid=big,${BASE}`;
const SYNC_REQUEST = '1.3.6.1.4.1.4203.1.9.1.1';
const PSEARCH = '2.16.840.1.113730.3.4.3';
const BACKLOG = 1024 * 1024;
/** Each change sends a 200 KB value; far more of them than the bound and the kernel's buffers hold. */
const VALUE_BYTES = 200 * 1024;
const MAX_CHANGES = 150;

function refreshAndPersist(): Buffer {
  const w = new BerWriter(16);
  w.startSequence();
  w.writeEnumerated(3);
  w.endSequence();
  return w.toBuffer();
}

function persistentSearch(): Buffer {
  const w = new BerWriter(16);
  w.startSequence();
  w.writeInteger(15);
  w.writeBoolean(true); // changesOnly
  w.writeBoolean(false);
  w.endSequence();
  return w.toBuffer();
}

describe('a consumer that stops reading', () => {
  let h: Hardened | undefined;
  const clients: RawLdap[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await h?.stop();
    h = undefined;
  });

  /** Writes big changes until the drop is logged; returns how many were written. */
  async function changeUntilDropped(server: Hardened): Promise<number> {
    const { Client } = await import('ldapts');
    const admin = new Client({ url: server.url });
    try {
      await admin.bind(ADMIN, 'secret');
      for (let i = 1; i <= MAX_CHANGES; i++) {
        const value = String(i % 10).repeat(VALUE_BYTES);
        const { Attribute, Change } = await import('ldapts');
        await admin.modify(
          BIG,
          new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [value] }) }),
        );
        if (server.logs.some((l) => /dropping/.test(l))) return i;
      }
      throw new Error(`no consumer dropped after ${MAX_CHANGES} changes of ${VALUE_BYTES} bytes`);
    } finally {
      await admin.unbind();
    }
  }

  async function setUp(): Promise<{ server: Hardened; c: RawLdap }> {
    const server = await startHardened({ limits: { maxConsumerBacklog: BACKLOG, writeTimeout: 0, idleTimeout: 0 } });
    h = server;
    const { Client } = await import('ldapts');
    const admin = new Client({ url: server.url });
    await admin.bind(ADMIN, 'secret');
    await admin.add(BASE, { objectClass: 'organizationalUnit', ou: 'bounds' });
    await admin.add(BIG, { objectClass: 'inetOrgPerson', uid: 'big', cn: 'big', sn: 'big' });
    await admin.unbind();
    const c = await RawLdap.connect(Number(new URL(server.url).port));
    clients.push(c);
    expect(await c.bind(ADMIN, 'secret')).toBe(0);
    return { server, c };
  }

  it('a refreshAndPersist consumer is ended with e-syncRefreshRequired once its backlog passes the bound', async () => {
    const { server, c } = await setUp();
    const id = c.search(BASE, [{ oid: SYNC_REQUEST, critical: true, value: refreshAndPersist() }]);
    await c.next((m) => m.messageId === id && m.tag === 0x79); // refresh done: persisting
    c.take(() => true);
    c.pause();
    const written = await changeUntilDropped(server);
    const line = server.logs.find((l) => /dropping/.test(l))!;
    expect(line).toMatch(/^WARN dropping sync consumer conn=\d+ op=\d+ from 127\.0\.0\.1 bound as "cn=admin,dc=example,dc=domain"/);
    expect(line).toMatch(/over limits\.maxConsumerBacklog \(1048576\)/);
    // Read on: what was already sent, then the end of the search. The changes queued behind the
    // bound were dropped, not sent.
    c.resume();
    const done = await c.next((m) => m.messageId === id && m.tag === 0x65, 60_000);
    expect(done.code).toBe(4096);
    expect(c.take((m) => m.messageId === id && m.tag === 0x64).length).toBeLessThan(written);
    // The connection still answers.
    expect(await c.bind(ADMIN, 'secret')).toBe(0);
  });

  it('a persistent search is ended the same way, with adminLimitExceeded', async () => {
    const { server, c } = await setUp();
    const id = c.search(BASE, [{ oid: PSEARCH, critical: true, value: persistentSearch() }], ['*']);
    // Requests start in order: once a later search is answered, the persistent one listens.
    const probe = c.search(BIG, [], ['1.1']);
    await c.next((m) => m.messageId === probe && m.tag === 0x65);
    c.take(() => true);
    c.pause();
    const written = await changeUntilDropped(server);
    expect(server.logs.find((l) => /dropping/.test(l))).toMatch(/^WARN dropping persistent search conn=\d+ .*maxConsumerBacklog/);
    c.resume();
    const done = await c.next((m) => m.messageId === id && m.tag === 0x65, 60_000);
    expect(done.code).toBe(11);
    expect(c.take((m) => m.messageId === id && m.tag === 0x64).length).toBeLessThan(written);
  });
});

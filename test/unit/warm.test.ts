// Start-up warm-up of an on-disk directory: the store's bisection of its key space reaches
// entries across the whole of it, and the warm-up's searches (a decoded Asterisk-shaped request,
// an equality lookup, a base read) all answer.

import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { Directory } from '../../src/directory/directory.js';
import { Frontend } from '../../src/directory/frontend.js';
import { frontendOptions } from '../../src/server/extended.js';
import { indexSpecs, makeIndexer } from '../../src/directory/indexing.js';
import { buildRegistry, fileSources } from '../../src/schema/manager.js';
import net from 'node:net';
import { loopbackPair, warmUp } from '../../src/server/warm.js';
import { midpoints } from '../../src/store/keys.js';
import { openStore } from '../../src/store/index.js';
import { useTempDir } from '../helpers/tmp.js';

const dir = useTempDir('astldap-warm-', 'each');

describe('start-up warm-up', () => {
  it('midpoints lie strictly between their bounds', () => {
    const pairs: Array<[string, string]> = [
      ['e\0uid=user1,ou=p', 'e\0uid=user9,ou=p'],
      ['e\0a', 'e\0b'],
      ['e\0abc', 'e\0abd'],
      ['q\0cn\0x', 'q\0uid\0y'],
      ['s\0', 's\0\uffff'],
      ['e\0uid=u0240,ou', 'e\0uid=u0399,ou'],
      ['e\0uid=u0000,ou', 'e\0uid=u0100,ou'],
    ];
    for (const [a, b] of pairs) {
      for (const m of midpoints(a, b))
        expect(m > a && m < b, `${JSON.stringify(a)} < ${JSON.stringify(m)} < ${JSON.stringify(b)}`).toBe(true);
    }
  });

  it.each([2, 3] as const)('layout %i: samples entries across the key space and runs its searches on them', async (layout) => {
    const config = loadConfig({ overrides: { dataDir: dir(), seed: null, store: { layout } }, env: {} });
    const sources = fileSources(config.schema.dir, config.schema.files);
    const schema = buildRegistry(sources);
    const specs = indexSpecs(config, schema);
    const store = await openStore({ path: config.dbPath, indexes: specs, indexer: makeIndexer(() => schema), sync: false, layout });
    const d = new Directory({ config, schema, store, schemaSources: sources });
    await d.init();
    const fe = new Frontend(d, frontendOptions());
    try {
      const admin = d.internalContext(config.admin.dn, 'test');
      const add = (dn: string, attrs: Record<string, string[]>) =>
        fe.add(admin, { dn, attributes: Object.entries(attrs).map(([type, v]) => ({ type, values: v.map((x) => Buffer.from(x)) })) });
      const suffix = config.suffix;
      await add(suffix, { objectClass: ['dcObject', 'organization'], dc: [suffix.split(',')[0]!.split('=')[1]!], o: ['x'] });
      await add(`ou=people,${suffix}`, { objectClass: ['organizationalUnit'], ou: ['people'] });
      for (let i = 0; i < 400; i++) {
        await add(`uid=u${String(i).padStart(4, '0')},ou=people,${suffix}`, {
          objectClass: ['inetOrgPerson'],
          uid: [`u${String(i).padStart(4, '0')}`],
          cn: [`User ${i}`],
          sn: ['S'],
        });
      }
      const sampled = await store.warm!(Date.now() + 5000);
      expect(sampled.length).toBeGreaterThan(100);
      // Layout 3's records are bisected by ID: 402 IDs in 9 levels of bisection (511 seeks) are
      // nearly all reached (text midpoints over the IDs' digits reached 88 of them).
      if (layout === 3) expect(sampled.length).toBeGreaterThan(350);
      const people = sampled.filter((n) => n.startsWith('uid=')).sort();
      // Spread over the key space: from the first hundred to the last hundred people.
      expect(people[0]! < 'uid=u0100').toBe(true);
      expect(people.at(-1)! > 'uid=u0300').toBe(true);
      // Below its threshold it does nothing; above, every one of its 400 lookups answers (given
      // the time: its real budget is a fraction of a second, and this machine may be busy).
      expect(await warmUp(store, d, fe)).toBe(0);
      expect(await warmUp(store, d, fe, { minEntries: 100, budgetMs: 60_000 })).toBe(400);
    } finally {
      await store.close();
    }
  });

  it('runs its searches over a private loopback pair that accepts only its own client, then closes', async () => {
    let port = 0;
    const { client, server } = await loopbackPair(async (p) => void (port = p));
    try {
      expect(server.remotePort).toBe(client.localPort);
      const got = new Promise<string>((r) => server.once('data', (d: Buffer) => r(d.toString())));
      client.write('ping');
      expect(await got).toBe('ping');
      // The listener is gone: nobody else can connect.
      const late = net.connect({ port, host: '127.0.0.1' });
      await expect(new Promise((ok, fail) => late.once('connect', ok).once('error', fail))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      client.destroy();
      server.destroy();
    }
  });

  it('turns away a stranger that connects to the private listener first (the warm-up is then skipped)', async () => {
    let stranger: net.Socket | undefined;
    await expect(
      loopbackPair(async (port) => {
        stranger = net.connect({ port, host: '127.0.0.1' });
        await new Promise((r) => stranger!.once('connect', r));
      }),
      // Its own client then finds the listener closed (or, had it got in, would not be taken).
    ).rejects.toThrow(/ECONNREFUSED|not its own client/);
    // The stranger's connection was closed, not given the administrator's session.
    await new Promise<void>((r) => (stranger!.destroyed ? r() : stranger!.once('close', () => r())));
    expect(stranger!.destroyed).toBe(true);
  });
});

// Everything the store keeps besides the entries (the decoded-entry cache, posting lists, index
// keys, children, the count) agrees with the entries after mixed concurrent writes, renames and
// deletes over LDAP, on a real LevelDB with a small cache (evictions) and with values shared by
// more entries than a posting list holds; again after a restart with cold caches.

import path from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Attribute, Change, Client } from 'ldapts';
import { afterEach, describe, expect, it } from 'vitest';
import type { LevelStore } from '../../src/store/index.js';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { removeDir } from '../helpers/tmp.js';

const B = 'dc=example,dc=domain';
const ADMIN = { dn: `cn=admin,${B}`, pw: 'secret' };
const COLOURS = ['red', 'green', 'blue'];
const SEED = [
  `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n`,
  `dn: ou=a,${B}\nobjectClass: organizationalUnit\nou: a\n`,
  `dn: ou=b,${B}\nobjectClass: organizationalUnit\nou: b\n`,
].join('\n');

/** A small deterministic generator, so that a failure can be replayed. */
function prng(seed: number): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x80000000;
  };
}

interface Model {
  /** dn → colour of each live entry this worker owns. */
  live: Map<string, string>;
}

async function worker(url: string, w: number, ops: number, model: Model, touchCached = false): Promise<void> {
  const c = new Client({ url });
  await c.bind(ADMIN.dn, ADMIN.pw);
  if (touchCached) {
    const dns = [...model.live.keys()].slice(0, 12);
    // Read twice: a full cache takes an entry on its second read.
    for (const dn of [...dns, ...dns]) await c.search(dn, { scope: 'base', attributes: ['cn'] });
    for (const [i, dn] of dns.entries()) {
      const uid = /^uid=([^,]+)/.exec(dn)![1]!;
      if (i % 3 === 0) {
        await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: [uid, 'red'] }) }));
        model.live.set(dn, 'red');
      } else if (i % 3 === 1) {
        const to = `uid=${uid}x,ou=b,${B}`;
        await c.modifyDN(dn, to);
        model.live.set(to, model.live.get(dn)!);
        model.live.delete(dn);
      } else {
        await c.del(dn);
        model.live.delete(dn);
      }
    }
    await c.unbind();
    return;
  }
  const rnd = prng(w + 1);
  const pick = <T>(xs: T[]) => xs[Math.floor(rnd() * xs.length)]!;
  let next = 0;
  try {
    for (let i = 0; i < ops; i++) {
      const dns = [...model.live.keys()];
      const r = rnd();
      if (dns.length < 30 || r < 0.5) {
        const uid = `w${w}n${next++}`;
        const dn = `uid=${uid},ou=${pick(['a', 'b'])},${B}`;
        const colour = pick(COLOURS);
        await c.add(dn, { objectClass: 'inetOrgPerson', uid, cn: [uid, colour], sn: 'x', mail: `${uid}@example.com` });
        model.live.set(dn, colour);
      } else if (r < 0.7) {
        const dn = pick(dns);
        const colour = pick(COLOURS);
        const uid = /^uid=([^,]+)/.exec(dn)![1]!;
        await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'cn', values: [uid, colour] }) }));
        model.live.set(dn, colour);
      } else if (r < 0.85) {
        const dn = pick(dns);
        const colour = model.live.get(dn)!;
        const uid = `w${w}n${next++}`;
        const ou = pick(['a', 'b']);
        // A rename that also moves: the old RDN value goes, the new one comes.
        await c.modifyDN(dn, `uid=${uid},ou=${ou},${B}`);
        model.live.delete(dn);
        model.live.set(`uid=${uid},ou=${ou},${B}`, colour);
      } else {
        const dn = pick(dns);
        await c.del(dn);
        model.live.delete(dn);
      }
    }
  } finally {
    await c.unbind();
  }
}

/** Readers that keep the caches busy while the writers run. */
async function reader(url: string, until: () => boolean): Promise<number> {
  const c = new Client({ url });
  await c.bind(ADMIN.dn, ADMIN.pw);
  let n = 0;
  try {
    while (!until()) {
      for (const colour of COLOURS) {
        await c.search(B, { scope: 'sub', filter: `(&(objectClass=inetOrgPerson)(cn=${colour}))`, attributes: ['cn'] });
        n++;
      }
    }
  } finally {
    await c.unbind();
  }
  return n;
}

async function expectAgreement(ast: InProcessAstldap, models: Model[]): Promise<void> {
  const store = ast.server.directory.store as LevelStore;
  expect(await store.check()).toEqual([]);
  const c = new Client({ url: ast.url });
  await c.bind(ADMIN.dn, ADMIN.pw);
  try {
    for (const colour of COLOURS) {
      const want = models.flatMap((m) => [...m.live].filter(([, v]) => v === colour).map(([dn]) => dn.toLowerCase()));
      const { searchEntries } = await c.search(B, {
        scope: 'sub',
        filter: `(&(objectClass=inetOrgPerson)(cn=${colour}))`,
        attributes: ['1.1'],
      });
      expect(searchEntries.map((e) => e.dn.toLowerCase()).sort()).toEqual(want.sort());
    }
    const all = models.reduce((a, m) => a + m.live.size, 0);
    const { searchEntries } = await c.search(B, { scope: 'sub', filter: '(objectClass=inetOrgPerson)', attributes: ['1.1'] });
    expect(searchEntries.length).toBe(all);
  } finally {
    await c.unbind();
  }
}

describe('store caches and derived keys', () => {
  let ast: InProcessAstldap | undefined;
  afterEach(async () => {
    await ast?.stop();
    ast = undefined;
  });

  // Small caches, by entries or by bytes (store.cacheMiB: 0.1 MiB holds a few dozen entries), so
  // that evictions and re-reads happen all the time.
  it.each([
    ['40 entries', { sync: false, cacheEntries: 40 }],
    ['0.1 MiB', { sync: false, cacheMiB: 0.1 }],
  ])(
    'with caches of %s, agree with the entries after concurrent adds, modifies, renames and deletes, and after a restart',
    async (_name, store) => {
      ast = await startAstldap({ memory: false, seedLdif: SEED, config: { store } });
      const models: Model[] = Array.from({ length: 4 }, () => ({ live: new Map() }));
      let done = false;
      const readers = Promise.all([reader(ast.url, () => done), reader(ast.url, () => done)]);
      try {
        await Promise.all(models.map((m, w) => worker(ast!.url, w, 200, m)));
      } finally {
        done = true;
      }
      expect((await readers).every((n) => n > 0)).toBe(true);
      // Last, writes to entries just read (so cached), with no read after them.
      await Promise.all(models.map((m, w) => worker(ast!.url, w + 10, 0, m, true)));
      // Some colour is shared by more entries than a posting list holds (64).
      const counts = COLOURS.map((col) => models.reduce((a, m) => a + [...m.live.values()].filter((v) => v === col).length, 0));
      expect(Math.max(...counts)).toBeGreaterThan(64);
      await expectAgreement(ast, models);

      // Cold caches on the same database.
      const { startServer } = await import('../../src/index.js');
      const dataDir = ast.dataDir!;
      await ast.server.close();
      const server = await startServer({
        configFile: path.join(repoRoot, 'config.yaml'),
        dataDir,
        memory: false,
        listen: ['ldap://127.0.0.1:0'],
        seed: false,
        config: { store },
        logger: false,
      });
      ast = {
        server,
        url: server.url,
        dataDir,
        async stop() {
          await server.close();
          removeDir(dataDir);
        },
      };
      await expectAgreement(ast, models);

      // No key is stored with an empty value: classic-level 3.0.0 leaks the native copy of every
      // empty value it writes (about 32 bytes per index key; 1.2 GiB over a 1M-entry import).
      await server.close();
      ast = undefined;
      const db = new ClassicLevel<string, string>(path.join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
      await db.open();
      const kinds = new Map<string, number>();
      const empty: string[] = [];
      let layout: string | undefined;
      try {
        for await (const [k, v] of db.iterator()) {
          if (k === 'x\x00layout') layout = v;
          kinds.set(k[0]!, (kinds.get(k[0]!) ?? 0) + 1);
          if (v === '') empty.push(JSON.stringify(k));
        }
      } finally {
        await db.close();
        removeDir(dataDir);
      }
      expect(empty).toEqual([]);
      // Entries, children, equality, posting lists, substrings: by DN (layout 2) or by ID (layout 3).
      const want = layout === '3' ? ['r', 'n', 'q', 's', 'p'] : ['e', 'c', 'i', 'q', 's'];
      for (const kind of want) expect(kinds.get(kind) ?? 0, `${kind} keys in layout ${layout}`).toBeGreaterThan(0);
    },
    120_000,
  );
});

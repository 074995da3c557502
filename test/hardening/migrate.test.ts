// Migration of a layout-2 database to store layout 3 at start (issue 22), by the built CLI on
// real LevelDB folders: every entry comes across with all its attributes, operational ones
// included, and the sync log with it (`astldap verify` clean, an old cookie still gets a delta);
// the progress and the kept old database are in the log. Crash-safe: kill -9 while the copy is
// under way leaves the layout-2 database whole and the next start migrates again; the states a
// kill after the copy was declared complete can leave (marker with the copy unswapped, marker
// between the two renames, marker after both) are each finished by the next start.

import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnAstldap } from '../helpers/astldap.js';
import { syncRo } from '../helpers/sync.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, configCopy, copyDataDir, peopleLdif, runCli, until, withDb } from './store-tools.js';

const PEOPLE = 2000;

/** The whole tree with operational attributes, entries sorted by DN (what must survive the migration). */
async function everything(url: string): Promise<string> {
  const r = await runTool('ldapsearch', [
    '-H',
    url,
    ...bindArgs(...ADMIN),
    '-LLL',
    '-o',
    'ldif-wrap=no',
    '-b',
    B,
    '(objectClass=*)',
    '*',
    '+',
  ]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout
    .trim()
    .split('\n\n')
    .map((e) =>
      e
        .split('\n')
        // Computed per search, not stored.
        .filter((l) => !/^(hasSubordinates|subschemaSubentry|entryDN|numSubordinates):/i.test(l))
        .join('\n'),
    )
    .sort()
    .join('\n\n');
}

/** The key layout the database at DATA/db has. */
const layoutOf = (data: string) => withDb(data, async (db) => db.get('x\x00layout'));

describe('migration of a layout-2 database to layout 3', () => {
  const dir = useTempDir('astldap-migrate-');
  const layout3 = () => path.join(dir(), 'layout3.yaml');
  const layout2 = () => path.join(dir(), 'layout2.yaml');
  /** config.yaml with no store.layout: the default, layout 3, so an upgrade migrates. */
  const asShipped = () => path.join(dir(), 'default.yaml');
  /** The original layout-2 data directory, copied for each case. */
  const original = () => path.join(dir(), 'layout2');
  let before = '';
  let cookie = '';

  /** serve on DATA with the layout-2 or the layout-3 config; fn gets the URL; stopped after, with its output. */
  async function withServer<T>(data: string, config: string, fn: (url: string) => Promise<T>): Promise<{ out: T; log: string }> {
    const server = await spawnAstldap(
      ['serve', '--config', config, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin', '--no-seed'],
      {
        timeoutMs: 180_000,
      },
    );
    try {
      return { out: await fn(server.url), log: server.output() };
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
  }

  /** Started with layout 3, DATA holds the original's entries in layout 3: verify clean, no leftovers. */
  async function expectMigrated(data: string): Promise<void> {
    const { out } = await withServer(data, layout3(), async (url) => everything(url));
    expect(out).toBe(before);
    const db = path.join(data, 'db');
    expect(existsSync(`${db}.layout3.tmp`)).toBe(false);
    expect(existsSync(`${db}.layout3.ready`)).toBe(false);
    expect(await layoutOf(data)).toBe('3');
    const v = await runCli(['verify', '--data', data]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: no problems found');
  }

  beforeAll(async () => {
    configCopy(layout3(), (cfg) => (cfg.store.layout = 3));
    configCopy(asShipped(), (cfg) => delete cfg.store.layout);
    // The layout-2 side said as such, whatever config.yaml's default.
    configCopy(layout2(), (cfg) => (cfg.store.layout = 2));
    const file = path.join(dir(), 'people.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(PEOPLE));
    expect((await runCli(['import', file, '--data', original()], { config: layout2() })).code).toBe(0);
    // Changes through a server: the sync log has records, and a cookie from before them.
    const { out } = await withServer(original(), layout2(), async (url) => {
      const c = (await syncRo(url, ADMIN, B)).cookie!;
      const ldif = [
        `dn: uid=p1,ou=people,${B}\nchangetype: modify\nreplace: mail\nmail: changed@example.domain\n`,
        `dn: uid=p2,ou=people,${B}\nchangetype: modrdn\nnewrdn: uid=p2x\ndeleteoldrdn: 1\n`,
        `dn: uid=p3,ou=people,${B}\nchangetype: delete\n`,
      ].join('\n');
      const r = await runTool('ldapmodify', ['-H', url, ...bindArgs(...ADMIN)], { stdin: ldif });
      expect(r.code, r.stderr).toBe(0);
      return { c, all: await everything(url) };
    });
    cookie = out.c;
    before = out.all;
    expect(await layoutOf(original())).toBe('2');
  }, 300_000);

  it('at start with the default layout: every entry and the sync log come across; the log says how far and where the old one is kept', async () => {
    const data = path.join(dir(), 'plain');
    copyDataDir(original(), data);
    const { out, log } = await withServer(data, asShipped(), async (url) => {
      const delta = await syncRo(url, ADMIN, B, cookie);
      return { all: await everything(url), delta };
    });
    expect(out.all).toBe(before);
    expect(log).toMatch(new RegExp(`migrating ${PEOPLE + 1} entries from store layout 2 to layout 3`));
    expect(log).toMatch(/migrated \d+ entries to store layout 3 in [\d.]+ s; the layout-2 database is kept at \S+db\.layout2\.old/);
    // The old cookie gets a delta from the log that came across: the three changes, nothing more.
    expect(out.delta.code).toBe(0);
    expect(out.delta.refreshDeletes).toBe(true);
    expect(out.delta.states.get(`uid=p1,ou=people,${B}`)).toBe('added');
    expect(out.delta.states.get(`uid=p2x,ou=people,${B}`)).toBe('added');
    expect(out.delta.states.size).toBe(2);
    expect(out.delta.idSet).toHaveLength(1);
    expect(existsSync(path.join(data, 'db.layout2.old'))).toBe(true);
    await expectMigrated(data);
  }, 300_000);

  it('kill -9 while the copy is under way: the layout-2 database is whole, the next start migrates again', async () => {
    const data = path.join(dir(), 'killed');
    // More entries than the other cases, so that the copy lasts a while: the kill lands in it.
    const file = path.join(dir(), 'many.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(40_000));
    expect((await runCli(['import', file, '--data', data], { config: layout2() })).code).toBe(0);
    const { out: grown } = await withServer(data, layout2(), async (url) => everything(url));
    const tmp = path.join(data, 'db.layout3.tmp');
    const child = spawn(
      process.execPath,
      [CLI, 'serve', '--config', layout3(), '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin', '--no-seed'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<string | number | null>((r) => child.once('exit', (code, signal) => r(signal ?? code)));
    // Under way: the copy's folder exists and LevelDB has written into it.
    const started = await until(() => /migrating \d+ entries/.test(log) && existsSync(path.join(tmp, 'CURRENT')), 120_000);
    expect(started, log).toBe(true);
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(log).not.toMatch(/migrated \d+ entries/);
    expect(existsSync(`${path.join(data, 'db')}.layout3.ready`)).toBe(false);
    // The database itself is the layout-2 one, untouched.
    expect(await layoutOf(data)).toBe('2');
    const v = await runCli(['verify', '--data', data]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    // The next start removes the unfinished copy and migrates again.
    const { out, log: again } = await withServer(data, layout3(), async (url) => everything(url));
    expect(again).toMatch(/removed an unfinished copy of a migration to layout 3/);
    expect(out).toBe(grown);
    expect(existsSync(tmp)).toBe(false);
    expect(await layoutOf(data)).toBe('3');
  }, 300_000);

  describe('a kill after the copy was declared complete', () => {
    let done = '';
    beforeAll(async () => {
      done = path.join(dir(), 'done');
      copyDataDir(original(), done);
      await withServer(done, layout3(), async () => undefined);
      expect(await layoutOf(done)).toBe('3');
    }, 300_000);

    // Each state as the crash leaves it, made from a finished migration's folders.
    const states: Array<[string, (db: string) => void]> = [
      [
        'the marker written, nothing renamed yet',
        (db) => {
          renameSync(db, `${db}.layout3.tmp`);
          renameSync(`${db}.layout2.old`, db);
          writeFileSync(`${db}.layout3.ready`, 'complete\n');
        },
      ],
      [
        'the old database renamed away, the copy not yet in its place',
        (db) => {
          renameSync(db, `${db}.layout3.tmp`);
          writeFileSync(`${db}.layout3.ready`, 'complete\n');
        },
      ],
      ['both renamed, the marker not yet removed', (db) => writeFileSync(`${db}.layout3.ready`, 'complete\n')],
    ];

    it.each(states)(
      '%s: the next start finishes the migration',
      async (_name, leave) => {
        const data = path.join(dir(), `state-${states.findIndex(([n]) => n === _name)}`);
        rmSync(data, { recursive: true, force: true });
        copyDataDir(done, data);
        leave(path.join(data, 'db'));
        await expectMigrated(data);
        expect(existsSync(path.join(data, 'db.layout2.old'))).toBe(true);
      },
      300_000,
    );
  });
});

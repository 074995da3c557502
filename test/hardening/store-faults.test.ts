// The store under faults (issue 25). G1, a full disk: the database on a 20 MB tmpfs (mounted by
// the test, which runs as root) filled by a filler file and by the server's own writes. A write
// the disk refuses answers unwillingToPerform with a message that says the disk is full; reads
// go on; /v1/sys/health, /metrics and `astldap status` say the store is failing; once the filler
// is deleted writes succeed again without a restart; a start while the disk is full says why
// (LevelDB's own error); `astldap verify` finds the database consistent afterwards; an import
// onto a disk that fills names the disk as the reason. The server is the built CLI (`astldap
// serve`) as a child process, driven with ldapts, ldapsearch and HTTP.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, CONFIG, runCli } from './store-tools.js';

/** Writes 1 MiB chunks, then 4 KiB ones, until the file system is full (ENOSPC); leaves `keep` bytes free when given. */
function fill(file: string, keep = 0, limit = 1 << 30): number {
  const fd = openSync(file, 'a');
  let written = 0;
  try {
    for (const size of [1 << 20, 4096]) {
      const buf = Buffer.alloc(size, 0x61);
      for (;;) {
        if (keep && free(path.dirname(file)) - size < keep) break;
        if (written >= limit) break;
        try {
          writeSync(fd, buf);
          written += size;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

function free(dir: string): number {
  const out = execFileSync('df', ['-B1', '--output=avail', dir], { encoding: 'utf8' });
  return Number(out.trim().split('\n').pop());
}

/** A person whose description does not compress (LevelDB's tables are compressed). */
const bulky = (uid: string): Record<string, string | string[]> => ({
  objectClass: ['inetOrgPerson'],
  uid,
  cn: uid,
  sn: uid,
  description: randomBytes(30_000).toString('base64'),
});

describe('a full disk under the database (G1)', () => {
  let dir: string;
  let mount: string;
  let config: string;
  let server: SpawnedAstldap | undefined;
  let admin: string;
  const added: string[] = [];
  let refused: string | undefined;

  const start = async () => {
    server = await spawnAstldap(['serve', '--config', config, '--listen', 'ldap://127.0.0.1:0', '--admin-listen', 'http://127.0.0.1:0'], {
      timeoutMs: 60_000,
    });
    admin = /astldap admin api on (\S+)/.exec(server.output())![1]!;
  };
  const client = async () => {
    const c = new Client({ url: server!.url, timeout: 60_000 });
    await c.bind(...ADMIN);
    return c;
  };
  const tryAdd = async (uid: string): Promise<{ code: number; message: string }> => {
    const c = await client();
    try {
      await c.add(`uid=${uid},ou=people,${B}`, bulky(uid));
      return { code: 0, message: '' };
    } catch (err) {
      const e = err as { code?: number; message: string };
      return { code: e.code ?? -1, message: e.message };
    } finally {
      await c.unbind();
    }
  };
  const health = async () => {
    const r = await fetch(`${admin}/v1/sys/health`);
    return { status: r.status, body: (await r.json()) as { store?: { state: string; reason: string; diskFull: boolean } } };
  };
  const writableGauge = async () => /^astldap_store_writable (\d)$/m.exec(await (await fetch(`${admin}/metrics`)).text())?.[1];
  const present = async (uid: string) =>
    (
      await runTool('ldapsearch', [
        '-H',
        server!.url,
        ...bindArgs(...ADMIN),
        '-LLL',
        '-b',
        `uid=${uid},ou=people,${B}`,
        '-s',
        'base',
        '1.1',
      ])
    ).code === 0;

  beforeAll(async () => {
    dir = tempDir('astldap-full-');
    mount = path.join(dir, 'tmpfs');
    mkdirSync(mount, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=20m,mode=0700', 'tmpfs', mount]);
    // The data directory (lock, token) on the ordinary disk, the database alone on the tmpfs.
    const cfg = YAML.parse(readFileSync(CONFIG, 'utf8')) as Record<string, unknown>;
    Object.assign(cfg, {
      dataDir: path.join(dir, 'data'),
      dbPath: path.join(mount, 'db'),
      seed: path.join(repoRoot, 'data/seed.ldif'),
      schema: { ...(cfg['schema'] as object), dir: path.join(repoRoot, 'schema') },
    });
    config = path.join(dir, 'config.yaml');
    writeFileSync(config, YAML.stringify(cfg), { mode: 0o600 });
    await start(); // the packaged seed has ou=people
  }, 120_000);

  afterAll(async () => {
    await server?.kill('SIGKILL');
    if (mount) {
      try {
        execFileSync('umount', [mount]);
      } catch {
        execFileSync('umount', ['-l', mount]);
      }
    }
    if (dir) removeDir(dir);
  });

  it('a write the full disk refuses answers 53, saying the disk is full; reads go on; health and status say failing', async () => {
    // Room for about 6 MB more: LevelDB's log, then its table files, run out.
    fill(path.join(mount, 'filler'), 6 << 20);
    let last = { code: 0, message: '' };
    for (let i = 0; i < 400 && last.code === 0; i++) {
      last = await tryAdd(`big${i}`);
      if (last.code === 0) added.push(`big${i}`);
      else refused = `big${i}`;
    }
    expect(refused, 'no write was refused').toBeDefined();
    expect(last.code).toBe(53);
    expect(last.message).toMatch(/the disk is full \(.*No space left on device\): the change was not stored/);
    expect(last.message).not.toContain(mount); // no server paths to clients
    expect(added.length).toBeGreaterThan(0);

    // Refused again while full, without touching the disk.
    expect(await tryAdd('again')).toMatchObject({ code: 53, message: expect.stringMatching(/disk is full/) });
    // Reads go on: the base, the first and the last acknowledged entries.
    expect(await present(added[0]!)).toBe(true);
    expect(await present(added[added.length - 1]!)).toBe(true);
    expect(await present(refused!)).toBe(false);

    expect(await writableGauge()).toBe('0');
    const h = await health();
    expect(h.status).toBe(503);
    expect(h.body.store).toMatchObject({ state: 'failing', diskFull: true, reason: expect.stringMatching(/No space left on device/) });
    const st = await runCli(['status'], { config });
    expect(st.code, st.stdout + st.stderr).toBe(4);
    expect(st.stdout).toMatch(/store +FAILING since \S+, writes refused: .*No space left on device/);
    expect(server!.output()).toMatch(
      /the database is failing: writes are refused until it recovers \(IO error: .*No space left on device\)/,
    );
  }, 300_000);

  it('once space is freed, writes succeed again without a restart; health and status say ok', async () => {
    rmSync(path.join(mount, 'filler'));
    const r = await tryAdd('afterfree');
    expect(r, r.message).toMatchObject({ code: 0 });
    added.push('afterfree');
    expect(await tryAdd(refused!)).toMatchObject({ code: 0 });
    added.push(refused!);
    for (const uid of added) expect(await present(uid), uid).toBe(true);
    expect((await health()).status).toBe(200);
    expect(await writableGauge()).toBe('1');
    const st = await runCli(['status'], { config });
    expect(st.code, st.stdout + st.stderr).toBe(0);
    expect(st.stdout).toMatch(/store +ok/);
    expect(server!.output()).toMatch(/the database has recovered: writes are taken again/);
  }, 120_000);

  it('a start while the disk is full says why (LevelDB error); once freed it starts, and verify finds it consistent', async () => {
    // Killed with writes in the log, then the disk filled: the start must replay the log.
    expect((await tryAdd('inlog')).code).toBe(0);
    added.push('inlog');
    await server!.kill('SIGKILL');
    server = undefined;
    fill(path.join(mount, 'filler'));
    const failed = await runCli(['serve', '--listen', 'ldap://127.0.0.1:0', '--no-admin'], { config, timeoutMs: 60_000 });
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/cannot open the database at \S+: IO error: .*No space left on device/);
    rmSync(path.join(mount, 'filler'));
    await start();
    for (const uid of added) expect(await present(uid), uid).toBe(true);
    expect(await server!.kill('SIGTERM')).toBe(0);
    server = undefined;
    const v = await runCli(['verify'], { config });
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: no problems found');
  }, 180_000);

  it('astldap import onto a disk that fills: exit 1, the disk named as the reason, even when undoing fails for it too', async () => {
    const small = path.join(dir, 'small');
    mkdirSync(small, { mode: 0o700 });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m,mode=0700', 'tmpfs', small]);
    try {
      const cfg = YAML.parse(readFileSync(config, 'utf8')) as Record<string, unknown>;
      Object.assign(cfg, { dataDir: path.join(dir, 'import-data'), dbPath: path.join(small, 'db'), seed: null });
      const other = path.join(dir, 'import.yaml');
      writeFileSync(other, YAML.stringify(cfg), { mode: 0o600 });
      const file = path.join(dir, 'bulky.ldif');
      const records = [BASE_LDIF];
      for (let i = 0; i < 400; i++) {
        const v = bulky(`imp${i}`);
        records.push(
          `dn: uid=imp${i},ou=people,${B}\nobjectClass: inetOrgPerson\nuid: imp${i}\ncn: imp${i}\nsn: imp${i}\ndescription: ${String(v['description'])}\n`,
        );
      }
      writeFileSync(file, records.join('\n'));
      const r = await runCli(['import', file], { config: other });
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/^astldap: the disk is full \(No space left on device\): the change was not stored/);
      expect(r.stderr).toMatch(/nothing was imported|undoing the import failed for the same reason/);
    } finally {
      execFileSync('umount', [small]);
    }
  }, 180_000);
});

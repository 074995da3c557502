// The astldap command as an operator uses it, on real data directories: the data-directory lock,
// export/backup/status against a running server, import and restore into empty directories,
// graceful SIGTERM, hash, check and --help.

import { execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/access/passwords.js';
import { CLI, spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot, ROOT_DN, ROOT_PW } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const CONFIG = path.join(repoRoot, 'config.yaml');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js ...args` to completion. */
function cli(args: string[], opts: { stdin?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: repoRoot, env: { ...process.env, ...opts.env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(opts.stdin ?? '');
  });
}

/** `astldap serve` on a data directory with free ports; the admin API on a free port too. */
function serve(data: string, ...more: string[]): Promise<SpawnedAstldap> {
  return spawnAstldap([
    'serve',
    '--config',
    CONFIG,
    '--data',
    data,
    '--listen',
    'ldap://127.0.0.1:0',
    '--admin-listen',
    'http://127.0.0.1:0',
    ...more,
  ]);
}

const at = (dir: string) => ['--config', CONFIG, '--data', dir];

const person = (uid: string) =>
  `dn: uid=${uid},ou=people,dc=example,dc=domain\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nuserPassword: pw-${uid}\n\n`;

describe('astldap on a data directory', () => {
  const tmp = useTempDir('astldap-cli-');

  it('locks the data directory: a second process is told the lock and the pid; SIGTERM exits 0 and unlocks', async () => {
    const data = path.join(tmp(), 'locked');
    const server = await serve(data);
    try {
      const lock = path.join(data, 'astldap.pid');
      expect(statSync(lock).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: server.pid });
      const second = await cli(['serve', ...at(data), '--listen', 'ldap://127.0.0.1:0', '--no-admin']);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`in use by astldap pid ${server.pid}`);
      expect(second.stderr).toContain(lock);
      const imp = await cli(['import', path.join(repoRoot, 'data/examples/entry.ldif'), ...at(data)]);
      expect(imp.code).toBe(1);
      expect(imp.stderr).toContain(`pid ${server.pid}`);
      // A write acknowledged before SIGTERM is on disk after the graceful stop.
      const add = await runTool('ldapadd', ['-H', server.url, ...bindArgs(ROOT_DN, ROOT_PW)], { stdin: person('before-stop') });
      expect(add.code).toBe(0);
    } finally {
      expect(await server.kill('SIGTERM')).toBe(0);
    }
    expect(server.output()).toContain('astldap stopped');
    expect(existsSync(path.join(data, 'astldap.pid'))).toBe(false);
    const dump = await cli(['export', ...at(data)]);
    expect(dump.code).toBe(0);
    expect(dump.stdout).toContain('dn: uid=before-stop,ou=people,dc=example,dc=domain');
  });

  it('SIGTERM lets a request in flight finish before the connections close', async () => {
    const data = path.join(tmp(), 'graceful');
    const config = path.join(tmp(), 'debug.yaml');
    // Debug logging shows when a request has started (its line is written before it runs).
    writeFileSync(config, 'log:\n  level: debug\n');
    const server = await spawnAstldap(['serve', '--config', config, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin']);
    const alice = 'uid=alice,ou=people,dc=example,dc=domain';
    // Failed binds make the next one wait (bind throttling: 100 ms doubling after 3 failures):
    // after 8, the 9th waits 3.2 s inside the server, long enough to be in flight at SIGTERM.
    for (let i = 0; i < 8; i++) expect((await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(alice, 'wrong')])).code).toBe(49);
    const started = () => (server.output().match(/BIND dn="uid=alice,ou=people,dc=example,dc=domain" v3 simple/g) ?? []).length;
    const inFlight = runTool('ldapwhoami', ['-H', server.url, ...bindArgs(alice, 'wrong')]);
    await new Promise<void>((resolve) => {
      const check = () => (started() >= 9 ? resolve() : setTimeout(check, 20));
      check();
    });
    const exited = server.kill('SIGTERM');
    // The answer still arrives (49, not "can't contact"), then the server exits 0.
    const r = await inFlight;
    expect(r.code, r.stderr + server.output().slice(-3000)).toBe(49);
    expect(await exited).toBe(0);
    expect(server.output()).toMatch(/stopping \(SIGTERM\)[\s\S]*BIND dn="uid=alice[^\n]*result=49[\s\S]*astldap stopped/);
  });

  it('takes over a stale lock whose process is gone', async () => {
    const data = path.join(tmp(), 'stale');
    const dead = await new Promise<number>((resolve) => {
      const c = spawn(process.execPath, ['-e', '0']);
      c.once('exit', () => resolve(c.pid!));
    });
    const first = await serve(data);
    await first.kill('SIGTERM');
    writeFileSync(path.join(data, 'astldap.pid'), JSON.stringify({ pid: dead, started: new Date().toISOString(), urls: [] }), {
      mode: 0o600,
    });
    const server = await serve(data);
    expect(JSON.parse(readFileSync(path.join(data, 'astldap.pid'), 'utf8')).pid).toBe(server.pid);
    expect(await server.kill('SIGINT')).toBe(0);
  });

  it('exports, backs up and reports status online while writes continue; restore gives back the backup', async () => {
    const data = path.join(tmp(), 'online');
    const server = await serve(data);
    let writing = true;
    let written = 0;
    // Writes keep arriving while the backup is taken.
    const writer = (async () => {
      while (writing && written < 200) {
        const r = await runTool('ldapadd', ['-H', server.url, ...bindArgs(ROOT_DN, ROOT_PW)], { stdin: person(`w${written}`) });
        expect(r.code).toBe(0);
        written++;
      }
    })();
    try {
      const status = await cli(['status', ...at(data)]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain(`pid        ${server.pid}`);
      expect(status.stdout).toContain(`listening  ${server.url}`);
      expect(status.stdout).toMatch(/entries {4}\d+/);
      expect(status.stdout).toMatch(/up \d+ s/);

      const file = path.join(tmp(), 'online.ldif');
      const backup = await cli(['backup', file, ...at(data)]);
      expect(backup.code).toBe(0);
      expect(backup.stdout).toContain('from the running server');
      expect(statSync(file).mode & 0o777).toBe(0o600);

      const exp = await cli(['export', ...at(data)]);
      expect(exp.code).toBe(0);
      expect(exp.stdout).toContain('entryUUID: ');

      // The backup is a consistent snapshot: it loads into an empty directory and exports back unchanged.
      const target = path.join(tmp(), 'restored');
      const restore = await cli(['restore', file, ...at(target)]);
      expect(restore.code).toBe(0);
      const again = await cli(['export', ...at(target)]);
      expect(again.stdout).toBe(readFileSync(file, 'utf8'));
      // restore refuses a database with entries.
      const twice = await cli(['restore', file, ...at(target)]);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toContain('not empty');
    } finally {
      writing = false;
      await writer;
      expect(await server.kill('SIGTERM')).toBe(0);
    }
    expect(written).toBeGreaterThan(0);
    const none = await cli(['status', ...at(data)]);
    expect(none.code).toBe(3);
    expect(none.stdout).toContain('no server is running');
  });

  it('imports a full dump into a new data directory exactly (no seed) and exports the same directory', async () => {
    const src = path.join(tmp(), 'src');
    const server = await serve(src);
    const mod = await runTool('ldapmodify', ['-H', server.url, ...bindArgs(ROOT_DN, ROOT_PW)], {
      stdin: 'dn: uid=alice,ou=people,dc=example,dc=domain\nchangetype: modify\nreplace: mail\nmail: alice@example.org\n',
    });
    expect(mod.code).toBe(0);
    await server.kill('SIGTERM');
    const dump = await cli(['export', ...at(src)]);
    expect(dump.code).toBe(0);
    const file = path.join(tmp(), 'dump.ldif');
    writeFileSync(file, dump.stdout, { mode: 0o600 });

    const fresh = path.join(tmp(), 'fresh');
    const imp = await cli(['import', file, ...at(fresh)]);
    expect(imp.stderr).toBe('');
    expect(imp.code).toBe(0);
    const back = await cli(['export', ...at(fresh)]);
    // Operational attributes included: entryUUID, creators, timestamps, entryCSN survive.
    expect(back.stdout).toBe(dump.stdout);
    expect(back.stdout).toContain('mail: alice@example.org');

    // Into a database with entries, import applies records (here: one new entry).
    const more = path.join(tmp(), 'more.ldif');
    writeFileSync(more, person('late'));
    const applied = await cli(['import', more, ...at(fresh)]);
    expect(applied.stdout).toContain('applied 1 records');
  });
});

describe('astldap offline helpers', () => {
  const tmp = useTempDir('astldap-cli-');

  it('hash prints a {SCHEME} value a bind accepts, like slappasswd', async () => {
    for (const scheme of ['SSHA', 'PBKDF2-SHA512']) {
      const r = await cli(['hash', '-s', 'top secret', '-h', scheme]);
      expect(r.code).toBe(0);
      const value = r.stdout.trim();
      expect(value.startsWith(`{${scheme}}`)).toBe(true);
      expect(await verifyPassword(value, Buffer.from('top secret'))).toBe(true);
    }
    const stdin = await cli(['hash'], { stdin: 'from stdin\n' });
    expect(await verifyPassword(stdin.stdout.trim(), Buffer.from('from stdin'))).toBe(true);
    const bad = await cli(['hash', '-s', 'x', '-h', 'ROT13']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('unknown scheme ROT13');
  });

  it('check names the key and the line of each error', async () => {
    const ok = await cli(['check', '--config', CONFIG]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('OK');
    const file = path.join(tmp(), 'bad.yaml');
    writeFileSync(file, 'suffix: dc=example,dc=domain\nlimits:\n  sizeLimit: 10\n  idleTimeout: -5\n');
    const bad = await cli(['check', '--config', file]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`${file}:4: limits.idleTimeout must be a whole number >= 0`);
    writeFileSync(file, 'suffix: dc=example,dc=domain\nsufix: typo\n');
    expect((await cli(['check', '--config', file])).stdout).toContain(`${file}:2: sufix: unknown setting`);
    writeFileSync(file, 'suffix: dc=example,dc=domain\nlisten: [ldap://x\n');
    const syntax = await cli(['check', '--config', file]);
    expect(syntax.code).toBe(1);
    expect(syntax.stdout).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:\\d+: `));
  });

  it('--help works on every command', async () => {
    for (const command of ['serve', 'export', 'backup', 'import', 'restore', 'hash', 'check', 'status']) {
      const r = await cli([command, '--help']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(`usage: astldap ${command}`);
    }
    for (const command of ['role', 'cred', 'rotate', 'rotate-root', 'policy']) {
      const r = await cli([command, '-h']);
      expect(r.code, command).toBe(0);
      expect(r.stdout, command).toContain(command);
    }
    const top = await cli(['--help']);
    expect(top.stdout).toContain('usage: astldap <command>');
  });
});

// kill -9 in the middle of writes (issue 25): of `astldap import` while it loads a few thousand
// entries, and of a running server while OpenLDAP's ldapadd streams entries to it. After each, a
// restart finds a consistent database: `astldap verify` (entries against the schema, every index
// against the entries, the sync log against the entries) reports nothing; every entry is whole
// (all its values as sent) or absent; after the ldapadd, every entry the server acknowledged is
// there. Processes are the built CLI; "under way" is read from what they have written (the
// database's files, ldapadd's acknowledgements), never from a sleep.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, spawnAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool, toolEnv } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, CONFIG, folderBytes, peopleLdif, runCli, until } from './store-tools.js';

/** Every entry under ou=people as the server returns it (uid → its sn, cn and mail values). */
async function people(url: string): Promise<Map<string, string>> {
  const r = await runTool('ldapsearch', [
    '-H',
    url,
    ...bindArgs(...ADMIN),
    '-LLL',
    '-b',
    `ou=people,${B}`,
    '-s',
    'one',
    '(objectClass=*)',
    'uid',
    'cn',
    'sn',
    'mail',
  ]);
  expect(r.code, r.stderr).toBe(0);
  const out = new Map<string, string>();
  for (const e of parseLdifEntries(r.stdout)) {
    const v = (a: string) => (e.attrs.get(a)?.values ?? []).join('|');
    out.set(v('uid'), `${v('cn')};${v('sn')};${v('mail')}`);
  }
  return out;
}

/** What peopleLdif wrote for uid=p<i>, in the form people() returns. */
const expected = (i: number) => `Person p${i};${i};p${i}@example.domain`;

/** The server on a data directory, in the background; stopped after fn. */
async function withServer<T>(data: string, fn: (url: string) => Promise<T>): Promise<T> {
  // No seed: an import killed before its first chunk leaves an empty database, which must stay so.
  const server = await spawnAstldap(
    ['serve', '--config', CONFIG, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin', '--no-seed'],
    {
      timeoutMs: 120_000,
    },
  );
  try {
    return await fn(server.url);
  } finally {
    expect(await server.kill('SIGTERM')).toBe(0);
  }
}

describe('kill -9 in the middle of writes', () => {
  const dir = useTempDir('astldap-crash-');

  it('during astldap import: the restarted database is consistent, each entry whole or absent', async () => {
    const N = 20_000;
    const file = path.join(dir(), 'import.ldif');
    writeFileSync(file, BASE_LDIF + '\n' + peopleLdif(N));
    const data = path.join(dir(), 'import-data');
    const child = spawn(process.execPath, [CLI, 'import', file, '--config', CONFIG, '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<string | number | null>((r) => child.once('exit', (code, signal) => r(signal ?? code)));
    // Under way: LevelDB has taken a few chunks (2,000 entries each, about 1.5 MB with their index keys).
    const started = await until(() => folderBytes(path.join(data, 'db')) > 4 << 20 || child.exitCode !== null, 120_000);
    expect(started).toBe(true);
    expect(child.exitCode, `the import ended before it could be killed:\n${out}`).toBeNull();
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const v = await runCli(['verify', '--data', data]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    expect(v.stdout).toContain('OK: no problems found');
    const found = await withServer(data, people);
    // Cut short: some entries loaded, not all; each one loaded is whole.
    expect(found.size).toBeGreaterThan(0);
    expect(found.size).toBeLessThan(N);
    for (const [uid, got] of found) expect(got, uid).toBe(expected(Number(uid.slice(1))));
  }, 300_000);

  it('during a large ldapadd to a running server: every acknowledged entry is there, whole; verify finds no problem', async () => {
    const data = path.join(dir(), 'ldapadd-data');
    const base = path.join(dir(), 'base.ldif');
    writeFileSync(base, BASE_LDIF);
    expect((await runCli(['import', base, '--data', data])).code).toBe(0);
    const server = await spawnAstldap(['serve', '--config', CONFIG, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin'], {
      timeoutMs: 120_000,
    });
    const N = 5000;
    // ldapadd -v prints "modify complete" once the server acknowledged an entry; line-buffered.
    const add = spawn('stdbuf', ['-oL', 'ldapadd', '-v', '-H', server.url, ...bindArgs(...ADMIN)], {
      env: toolEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    add.stdout.on('data', (b: Buffer) => (out += b.toString()));
    add.stderr.on('data', () => undefined);
    const addExited = new Promise<number | null>((r) => add.once('exit', (code) => r(code)));
    add.stdin.on('error', () => undefined); // the tool stops reading once the server is gone
    add.stdin.end(peopleLdif(N));
    const acks = () => out.split('modify complete').length - 1;
    expect(await until(() => acks() >= 300 || add.exitCode !== null, 120_000)).toBe(true);
    expect(add.exitCode, 'ldapadd finished before the server could be killed').toBeNull();
    await server.kill('SIGKILL');
    expect(await addExited).not.toBe(0);

    const acknowledged = [...out.matchAll(/adding new entry "uid=(p\d+),ou=people,[^"]*"\nmodify complete/g)].map((m) => m[1]!);
    expect(acknowledged.length).toBeGreaterThanOrEqual(300);
    expect(acknowledged.length).toBeLessThan(N);
    const v = await runCli(['verify', '--data', data]);
    expect(v.code, v.stdout + v.stderr).toBe(0);
    const found = await withServer(data, people);
    for (const uid of acknowledged) expect(found.get(uid), uid).toBe(expected(Number(uid.slice(1))));
    // Beyond them, at most the one in flight when the server died (stored, its answer lost).
    for (const [uid, got] of found) expect(got, uid).toBe(expected(Number(uid.slice(1))));
    expect(found.size - acknowledged.length).toBeGreaterThanOrEqual(0);
    expect(found.size - acknowledged.length).toBeLessThanOrEqual(1);
  }, 300_000);
});

// kill -9 during the commit of a large LDAP transaction (RFC 5805): `ldapmodify -a -E txn`
// queues a few thousand adds (each acknowledged), then sends End Transaction; the server is
// killed as soon as the last add was acknowledged (End in flight or its commit running), or once
// the database's files start growing after it (its one batch being written), or after End was
// answered (then all of it must be there). After a restart,
// `astldap verify` finds no problem and the transaction is all there or not at all, each entry
// whole. "Under way" is read from what the processes wrote, never from a sleep.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnAstldap } from '../helpers/astldap.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool, toolEnv } from '../helpers/tools.js';
import { ADMIN, B, BASE_LDIF, CONFIG, folderBytes, peopleLdif, runCli, until } from './store-tools.js';

const N = 3000;

const serve = (data: string) =>
  spawnAstldap(['serve', '--config', CONFIG, '--data', data, '--listen', 'ldap://127.0.0.1:0', '--no-admin'], { timeoutMs: 120_000 });

describe('kill -9 during a transaction commit', () => {
  const dir = useTempDir('astldap-txn-crash-');

  it.each([['after the last update was queued'], ['once the database grows after End'], ['after End was answered']])(
    'killed %s: after restart the transaction is all there or absent, verify finds nothing',
    async (when) => {
      const data = path.join(dir(), when.replace(/\W+/g, '-'));
      const base = path.join(dir(), 'base.ldif');
      writeFileSync(base, BASE_LDIF);
      expect((await runCli(['import', base, '--data', data])).code).toBe(0);
      const server = await serve(data);
      const mod = spawn('stdbuf', ['-oL', 'ldapmodify', '-a', '-v', '-E', 'txn', '-H', server.url, ...bindArgs(...ADMIN)], {
        env: toolEnv,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      mod.stdout.on('data', (b: Buffer) => (out += b.toString()));
      mod.stderr.on('data', () => undefined);
      const modExited = new Promise<number | null>((r) => mod.once('exit', (code) => r(code)));
      mod.stdin.on('error', () => undefined);
      mod.stdin.end(peopleLdif(N));
      const acks = () => out.split('modify complete').length - 1;
      expect(await until(() => acks() >= N || mod.exitCode !== null, 240_000, 2)).toBe(true);
      expect(acks(), out.slice(-2000)).toBe(N);
      if (when.startsWith('once')) {
        const db = path.join(data, 'db');
        const before = folderBytes(db);
        await until(() => folderBytes(db) > before || mod.exitCode !== null, 120_000, 2);
      }
      if (when.startsWith('after End')) expect(await modExited).toBe(0);
      const answered = mod.exitCode === 0;
      await server.kill('SIGKILL');
      await modExited;

      const v = await runCli(['verify', '--data', data]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toContain('OK: no problems found');
      const again = await serve(data);
      try {
        const r = await runTool('ldapsearch', [
          '-H',
          again.url,
          ...bindArgs(...ADMIN),
          '-LLL',
          '-b',
          `ou=people,${B}`,
          '-s',
          'one',
          '(objectClass=*)',
          'uid',
          'sn',
          'mail',
        ]);
        expect(r.code, r.stderr).toBe(0);
        const found = parseLdifEntries(r.stdout);
        expect([0, N]).toContain(found.length);
        // Answered before the kill: durable, all of it.
        if (answered) expect(found.length).toBe(N);
        for (const e of found) {
          const uid = e.attrs.get('uid')!.values[0]!;
          const i = uid.slice(1);
          expect(e.attrs.get('sn')?.values, uid).toEqual([i]);
          expect(e.attrs.get('mail')?.values, uid).toEqual([`${uid}@example.domain`]);
        }
      } finally {
        expect(await again.kill('SIGTERM')).toBe(0);
      }
    },
    400_000,
  );
});

#!/usr/bin/env node
// The migration of issue 22 (target 5): N people imported with `astldap import` into a layout-2
// database, then `astldap serve` with store.layout: 3 started on it, which migrates before it
// listens. Prints the import's and the migrating start's wall time and peak memory (/usr/bin/time),
// the database's size before and after, and a plain start on the migrated database for
// comparison. Usage: node bench/migrate.mjs [N=100000]. Needs a built tree (npm run build).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const cli = path.join(root, 'dist', 'cli', 'main.js');
const N = Number(process.argv[2] ?? 100_000);
const SUFFIX = 'dc=example,dc=com';
const work = mkdtempSync(path.join(os.tmpdir(), 'astldap-migrate-bench-'));

async function writeLdif(file) {
  const out = createWriteStream(file);
  const put = (s) => (out.write(s) ? undefined : new Promise((r) => out.once('drain', r)));
  await put(`dn: ${SUFFIX}\nobjectClass: domain\ndc: example\n\ndn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n`);
  for (let i = 0; i < N; i++) {
    await put(
      `dn: uid=u${i},ou=people,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: u${i}\ncn: User ${i}\nsn: S${i}\n` +
        `mail: u${i}@example.com\ntelephoneNumber: +1 555 ${String(i).padStart(7, '0')}\n\n`,
    );
  }
  await new Promise((r) => out.end(r));
}

const config = (layout) =>
  [
    `suffix: ${SUFFIX}`,
    `admin: { dn: "cn=admin,${SUFFIX}", password: secret }`,
    `dataDir: ${path.join(work, 'data')}`,
    'seed: null',
    `store: { sync: true, layout: ${layout}, indexes: { objectClass: [eq, pres], cn: [eq, sub], uid: [eq, sub], mail: [eq, sub] } }`,
    'log: { level: info }',
    'adminApi: { enabled: false }',
    `schema: { dir: ${path.join(root, 'schema')} }`,
  ].join('\n') + '\n';

function duMiB(dir) {
  return Math.round(Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split(/\s/)[0]) / 1024);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** `astldap serve` until it listens, then SIGTERM: wall time to listening and peak memory. */
async function timedStart(configFile) {
  const port = await freePort();
  const t0 = Date.now();
  const child = spawn(
    '/usr/bin/time',
    ['-f', 'PEAK_KB=%M', process.execPath, cli, 'serve', '--config', configFile, '--listen', `ldap://127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  child.stdout.on('data', (b) => (out += b));
  child.stderr.on('data', (b) => (out += b));
  const listening = await new Promise((resolve) => {
    const check = () =>
      /astldap listening on/.test(out) ? resolve(Date.now() - t0) : child.exitCode !== null ? resolve(NaN) : setTimeout(check, 20);
    check();
  });
  // /usr/bin/time passes the signal on to node and reports once it has exited.
  const exited = new Promise((r) => child.once('exit', r));
  spawnSync('pkill', ['-TERM', '-P', String(child.pid)]);
  await exited;
  const m = /PEAK_KB=(\d+)/.exec(out);
  return { ms: listening, peakMiB: m ? Math.round(Number(m[1]) / 1024) : NaN, log: out };
}

try {
  if (!existsSync('/usr/bin/time')) throw new Error('needs /usr/bin/time (apt-get install time)');
  const ldif = path.join(work, 'people.ldif');
  await writeLdif(ldif);
  writeFileSync(path.join(work, 'layout2.yaml'), config(2));
  writeFileSync(path.join(work, 'layout3.yaml'), config(3));
  const t0 = Date.now();
  const imp = spawnSync(
    '/usr/bin/time',
    ['-f', 'PEAK_KB=%M', process.execPath, cli, 'import', ldif, '--config', path.join(work, 'layout2.yaml')],
    {
      encoding: 'utf8',
    },
  );
  if (imp.status !== 0) throw new Error(`import failed: ${imp.stderr}`);
  const importMs = Date.now() - t0;
  const importPeak = Math.round(Number(/PEAK_KB=(\d+)/.exec(imp.stderr)?.[1]) / 1024);
  const db = path.join(work, 'data', 'db');
  const before = duMiB(db);
  const migrating = await timedStart(path.join(work, 'layout3.yaml'));
  const said = /migrated (\d+) entries to store layout 3 in ([\d.]+) s/.exec(migrating.log);
  if (!said) throw new Error(`no migration in the log:\n${migrating.log}`);
  const after = duMiB(db);
  const plain = await timedStart(path.join(work, 'layout3.yaml'));
  console.log(`${N} people: import (layout 2) ${importMs} ms, peak ${importPeak} MiB, database ${before} MiB`);
  console.log(
    `migrating start: migration ${Number(said[2]) * 1000} ms (log), listening after ${migrating.ms} ms, peak ${migrating.peakMiB} MiB, database ${after} MiB`,
  );
  console.log(`plain start on the migrated database: listening after ${plain.ms} ms, peak ${plain.peakMiB} MiB`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

#!/usr/bin/env node
// The astldap command: `serve` runs the server; export/backup/status talk to a running server (or
// read a stopped one's database); import/restore load LDIF into a stopped server's database;
// hash and check are offline helpers. Options override config.yaml.

import { existsSync, writeFileSync, chmodSync, statSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { hashPassword, type HashScheme } from '../access/passwords.js';
import { loadConfig, packageRoot, type Config } from '../config/config.js';
import { recordBackup } from '../server/backups.js';
import { DataDirLockedError, readLock, type LockInfo } from '../server/lock.js';
import { adminCommand, ADMIN_USAGE, clientToken } from '../admin/api/client.js';
import { checkConfigFile } from './check.js';
import { exitWhenWritten, writeOut } from './output.js';
import type { LoadJob, LoadMessage } from './load-worker.js';
import type { Base } from './offline.js';

const COMMON = `  --config FILE         configuration file (default: ./config.yaml, else the packaged one)
  --data DIR            data directory (database under DIR/db)
  -h, --help            help for the command
`;

const HELP: Record<string, string> = {
  serve: `usage: astldap serve [options]

Runs the server until SIGTERM or SIGINT (then: stop accepting, finish requests in flight for up
to 10 s, flush and close the database, exit 0). The data directory is locked (astldap.pid).

  --listen URL          ldap://HOST:PORT, ldapi://PATH or ldaps://HOST:PORT; repeatable
  --no-seed             do not load the seed LDIF into an empty database
  --memory              keep the database in memory only
  --admin-listen URL    where the Vault-compatible admin API listens (http[s]://HOST:PORT;
                        port 0 picks a free one; default adminApi.listen, http://127.0.0.1:8200)
  --no-admin            do not start the admin API
${COMMON}`,
  export: `usage: astldap export [options]

Prints the database as LDIF (operational attributes included). Against a running server (its
lock in the data directory) the snapshot comes from the server through its admin API.
${COMMON}`,
  backup: `usage: astldap backup FILE [options]

Writes a consistent LDIF snapshot to FILE (mode 0600: it holds password hashes), from the
running server through its admin API (writes wait while it is taken) or from a stopped
server's database. astldap restore FILE loads it into an empty data directory.
${COMMON}`,
  import: `usage: astldap import FILE [options]

Loads LDIF into a stopped server's database. An empty database takes exactly the file, as
slapadd does (no seed; a dump's entryUUIDs, timestamps and entryCSNs are kept); otherwise the
records (content or change records) are applied as the administrator.
${COMMON}`,
  restore: `usage: astldap restore FILE [options]

Loads a backup into an empty data directory (the server stopped); refuses a database with
entries.
${COMMON}`,
  hash: `usage: astldap hash [-s SECRET] [-h SCHEME]

Prints a {SCHEME} hash of SECRET (read from stdin when -s is not given), like slappasswd.
Schemes: PBKDF2-SHA512 (default), PBKDF2-SHA256, SSHA512, SSHA256, SSHA, ARGON2.
  -s SECRET             the password
  -h SCHEME             the scheme
  --help                this text
`,
  check: `usage: astldap check [--config FILE]

Validates a configuration file: each error names the key and its line. Exit 0 when valid.
${COMMON}`,
  verify: `usage: astldap verify [options]

Checks a stopped server's database offline, as slapschema does: every entry against the schema,
every index against the entries (both ways), the sync log against the entries. Prints a summary
and each problem found; exit 0 when there is none, 1 otherwise.
${COMMON}`,
  status: `usage: astldap status [options]

Shows the running server of the data directory: pid, listeners, entries, uptime (through its
admin API; without it, what its lock file records). Exit 3 when no server runs, 4 when its
database is failing (writes refused: a full disk, an I/O error).
${COMMON}`,
};

const usage = `usage: astldap <command> [options]     (astldap <command> --help for its options)

commands:
  serve                 run the server (default command)
  export                print the database as LDIF (online through a running server)
  backup FILE           write a consistent LDIF snapshot (online through a running server)
  import FILE           load LDIF into a stopped server's database (empty: exactly the file)
  restore FILE          load a backup into an empty data directory
  hash -s SECRET        hash a password (like slappasswd)
  check                 validate a configuration file
  verify                check a stopped server's database (schema, indexes, sync log)
  status                show the running server (listeners, entries, uptime)
${ADMIN_USAGE}
options:
${COMMON}  --admin-url URL       (role/cred/rotate) the admin API to talk to (default: env VAULT_ADDR,
                        else adminApi.listen)
`;

/** How long SIGTERM/SIGINT lets requests in flight finish before connections are closed. */
const SHUTDOWN_GRACE_MS = 10_000;

function defaultConfigFile(): string | undefined {
  const local = path.resolve('config.yaml');
  if (existsSync(local)) return local;
  const packaged = path.join(packageRoot, 'config.yaml');
  return existsSync(packaged) ? packaged : undefined;
}

type Values = Record<string, string | boolean | string[] | undefined>;

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      data: { type: 'string' },
      listen: { type: 'string', multiple: true },
      'no-seed': { type: 'boolean' },
      memory: { type: 'boolean' },
      'admin-listen': { type: 'string' },
      'no-admin': { type: 'boolean' },
      'admin-url': { type: 'string' },
      dn: { type: 'string' },
      username: { type: 'string' },
      'rotation-period': { type: 'string' },
      'rotation-schedule': { type: 'string' },
      'rotation-window': { type: 'string' },
      'password-policy': { type: 'string' },
      'skip-import-rotation': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
      // hash: -s SECRET -h SCHEME (slappasswd's letters); -h is help for every other command.
      s: { type: 'string', short: 's' },
      h: { type: 'string', short: 'h' },
    },
  });
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'asterisk') return (await import('./asterisk.js')).asteriskCommand(argv.slice(1));
  // `-h` alone (no value) is help everywhere but `hash`, where it names the scheme.
  const bareHelp = argv.findIndex((a, i) => a === '-h' && (argv[0] !== 'hash' || i === argv.length - 1));
  if (bareHelp >= 0) argv = argv.map((a, i) => (i === bareHelp ? '--help' : a));
  const { values, positionals } = parse(argv);
  const command = positionals[0] ?? 'serve';
  if (values.help) {
    const text = positionals[0] === undefined ? usage : (HELP[command] ?? (ADMIN_COMMANDS.has(command) ? ADMIN_USAGE : usage));
    process.stdout.write(text);
    return 0;
  }
  const base: Base = {
    configFile: values.config ?? defaultConfigFile(),
    dataDir: values.data,
    listen: values.listen,
    memory: values.memory,
    seed: values['no-seed'] ? false : undefined,
  };
  switch (command) {
    case 'serve':
      return serve(base, values);
    case 'export': {
      const { text } = await snapshot(base);
      await writeOut(text);
      return 0;
    }
    case 'backup': {
      const file = need(positionals[1], 'backup needs a FILE to write');
      const { text, online } = await snapshot(base);
      writeFileSync(file, text, { mode: 0o600 });
      chmodSync(file, 0o600);
      const n = text.split('\n').filter((l) => l.startsWith('dn:') || l.startsWith('dn::')).length;
      process.stdout.write(`wrote ${n} entries to ${file} (${online ? 'from the running server' : 'offline'})\n`);
      noteBackup(base, file, n);
      return 0;
    }
    case 'import':
    case 'restore':
      return load(command, need(positionals[1], `${command} needs an LDIF file`), base);
    case 'hash':
      return hash(values);
    case 'check':
      return checkConfigFile(base.configFile, (line) => process.stdout.write(line + '\n'));
    case 'verify':
      return (await import('./verify.js')).verifyCommand(base, writeOut);
    case 'status':
      return status(base);
    default:
      if (ADMIN_COMMANDS.has(command)) return adminCommand(command, positionals.slice(1), values, base.configFile);
      process.stderr.write(usage);
      return 2;
  }
}

const ADMIN_COMMANDS = new Set(['role', 'cred', 'rotate', 'rotate-root', 'policy']);

function need(v: string | undefined, message: string): string {
  if (!v) throw new Error(message);
  return v;
}

/**
 * The old generation of the server's heap grows by at most 100% of what survived its last full
 * collection, instead of V8's own factor (up to 4x, meant for short-lived programs): at 100k
 * entries under mixed load, 271 MiB resident instead of 346, the same throughput, p99 +4-16%
 * (BENCHMARKS.md). Read by V8 at every collection, so it can be set here (unlike the young
 * generation's size, which the launchers pass). Only `astldap serve`: an embedding program's heap
 * is its own.
 */
const HEAP_GROWING_PERCENT = 100;

/**
 * V8's allocation-site pretenuring, off for the server. While the caches fill at start-up nearly
 * every entry a read decodes is kept, so V8 learns that the decoder's objects live long and
 * allocates them straight in the old generation from then on; once the caches are full almost all
 * of them are garbage, each pinning the young strings it holds through every young collection
 * until a full one (layout 3, 100k uid reads in-process: 2.1-2.5 MB surviving each young
 * collection instead of 0.6-0.7, 40% more CPU a read, 50-70 MiB more resident; layout 2's
 * JSON.parse is not tracked this way and measured the same). Set before the server's modules load.
 */
const SERVE_V8_FLAGS = [`--heap-growing-percent=${HEAP_GROWING_PERCENT}`, '--no-allocation-site-pretenuring'];

async function serve(base: Base, values: Values): Promise<number> {
  for (const flag of SERVE_V8_FLAGS) v8.setFlagsFromString(flag);
  const adminApi = values['no-admin'] ? false : ((values['admin-listen'] as string | undefined) ?? 'auto');
  // The server's modules load only for the commands that run one (import and restore load in a worker).
  const { AstldapServer } = await import('../server/index.js');
  const server = await AstldapServer.start({ ...base, adminApi });
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    process.stderr.write(`astldap stopping (${signal}): finishing requests in flight\n`);
    server.close({ graceMs: SHUTDOWN_GRACE_MS }).then(
      () => {
        process.stderr.write('astldap stopped\n');
        void exitWhenWritten(0);
      },
      (err: unknown) => {
        process.stderr.write(`astldap: close failed: ${err instanceof Error ? err.message : String(err)}\n`);
        void exitWhenWritten(1);
      },
    );
  };
  // Before the lines below: whoever waits for them may signal at once.
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // The admin lines first: whoever waits for `astldap listening on` then has them too.
  if (server.admin) {
    process.stdout.write(`astldap admin api on ${server.admin.url}\n`);
    if (server.consoleUrl) process.stdout.write(`astldap console on ${server.consoleUrl}\n`);
    if (server.admin.tokenFile) {
      process.stdout.write(`astldap admin root token ${server.admin.tokenCreated ? 'written to' : 'in'} ${server.admin.tokenFile}\n`);
    }
  }
  for (const u of server.urls) process.stdout.write(`astldap listening on ${u}\n`);
  return -1; // keep running
}

function configOf(base: Base): Config {
  return loadConfig({ file: base.configFile, overrides: base.dataDir !== undefined ? { dataDir: base.dataDir } : undefined });
}

/** The running server's admin API, asked with the root token (env, config or token file). */
async function askServer(cfg: Config, held: { file: string; info: LockInfo }, apiPath: string): Promise<Response> {
  if (!held.info.adminUrl) {
    throw new Error(`${new DataDirLockedError(held.file, held.info).message}; it runs without its admin API, which this needs`);
  }
  const token = clientToken(cfg);
  const res = await fetch(`${held.info.adminUrl}/v1/${apiPath}`, { headers: { 'X-Vault-Token': token } });
  if (!res.ok) throw new Error(`the running server (pid ${held.info.pid}) answered ${res.status}: ${(await res.text()).trim()}`);
  return res;
}

/** Records the backup in the data directory (the console's Overview shows it); a failure only warns. */
function noteBackup(base: Base, file: string, entries: number): void {
  const cfg = configOf(base);
  if (cfg.memory) return;
  try {
    recordBackup(cfg.dataDir, { at: new Date().toISOString(), path: path.resolve(file), entries });
  } catch (e) {
    process.stderr.write(`astldap backup: the backup is written, but not recorded in ${cfg.dataDir}: ${(e as Error).message}\n`);
  }
}

/** The database as LDIF: from the running server when one holds the data directory. */
async function snapshot(base: Base): Promise<{ text: string; online: boolean }> {
  const cfg = configOf(base);
  const held = cfg.memory ? undefined : readLock(cfg.dataDir);
  if (held) return { text: await (await askServer(cfg, held, 'sys/astldap/backup')).text(), online: true };
  const { openOffline } = await import('./offline.js');
  const server = await openOffline(base);
  try {
    return { text: await server.backupLdif(), online: false };
  } finally {
    await server.close();
  }
}

/**
 * Heap bounds of the load's worker: its live set is two chunks of records (at most 2,000
 * records or 16 MiB of LDIF each) plus the store's caches, far below these.
 */
const LOAD_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 48 };
/**
 * The load's heap growth between full collections, in percent of the live set: V8 picks a small
 * factor for a heap capped as low as LOAD_LIMITS (a full collection after every ~40 MiB promoted:
 * 37 of them in a 100k import); the cap still bounds the heap. A V8 flag, process-wide: the
 * command's own thread only waits for the worker.
 */
const LOAD_HEAP_GROWING_PERCENT = 300;

async function load(command: 'import' | 'restore', file: string, base: Base): Promise<number> {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  const progress = importProgress(file);
  const job: LoadJob = { command, file, base, progress: progress !== undefined };
  v8.setFlagsFromString(`--heap-growing-percent=${LOAD_HEAP_GROWING_PERCENT}`);
  const worker = new Worker(new URL('./load-worker.js', import.meta.url), { workerData: job, resourceLimits: LOAD_LIMITS });
  const result = await new Promise<{ empty: boolean; records: number }>((resolve, reject) => {
    worker.on('message', (m: LoadMessage) => {
      if (m.type === 'progress') progress?.(m.bytes, m.records);
      else if (m.type === 'done') resolve(m);
      else reject(new Error(m.message));
    });
    worker.on('error', reject);
    worker.on('exit', (code) => reject(new Error(`the load stopped (worker exit ${code})`)));
  });
  await worker.terminate();
  process.stdout.write(`${result.empty ? 'loaded' : 'applied'} ${result.records} records\n`);
  return 0;
}

async function hash(values: Values): Promise<number> {
  const scheme = ((values.h as string | undefined) ?? 'PBKDF2-SHA512').replace(/^\{|\}$/g, '').toUpperCase() as HashScheme;
  const known = ['SSHA', 'SSHA256', 'SSHA512', 'PBKDF2-SHA256', 'PBKDF2-SHA512', 'ARGON2'];
  if (!known.includes(scheme)) throw new Error(`unknown scheme ${scheme}: use one of ${known.join(', ')}`);
  let secret = values.s as string | undefined;
  if (secret === undefined) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    secret = Buffer.concat(chunks)
      .toString('utf8')
      .replace(/\r?\n$/, '');
  }
  if (!secret) throw new Error('hash needs a secret: -s SECRET or on stdin');
  process.stdout.write((await hashPassword(Buffer.from(secret, 'utf8'), scheme)) + '\n');
  return 0;
}

async function status(base: Base): Promise<number> {
  const cfg = configOf(base);
  const held = cfg.memory ? undefined : readLock(cfg.dataDir);
  if (!held) {
    process.stdout.write(`no server is running on ${cfg.dataDir} (no live lock ${path.join(cfg.dataDir, 'astldap.pid')})\n`);
    return 3;
  }
  let s: Record<string, unknown> = { pid: held.info.pid, started: held.info.started, urls: held.info.urls, admin_url: held.info.adminUrl };
  if (held.info.adminUrl) s = ((await (await askServer(cfg, held, 'sys/astldap/status')).json()) as { data: Record<string, unknown> }).data;
  const lines = [
    `pid        ${String(s.pid)}`,
    `started    ${String(s.started)}${s.uptime_seconds !== undefined ? ` (up ${String(s.uptime_seconds)} s)` : ''}`,
    ...((s.urls as string[]) ?? []).map((u) => `listening  ${u}`),
    `admin api  ${String(s.admin_url ?? 'off')}`,
  ];
  if (s.entries !== undefined) lines.push(`entries    ${String(s.entries)}`);
  const store = s.store as { state: string; reason?: string; since?: string } | undefined;
  if (store) lines.push(`store      ${store.state === 'ok' ? 'ok' : `FAILING since ${store.since}, writes refused: ${store.reason}`}`);
  process.stdout.write(lines.join('\n') + '\n');
  return store && store.state !== 'ok' ? 4 : 0;
}

// Everything the server creates is its user's alone: LevelDB makes its files (tables, logs,
// MANIFEST) with the process umask, so the command runs with 077 (files 0600, folders 0700).
// Embedders keep their own umask; the data and database folders are 0700 for them too.
process.umask(0o077);

// A command's exit waits for its output to be written out (a pipe drains after the last write).
main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) void exitWhenWritten(code);
  },
  (err: unknown) => {
    process.stderr.write(`astldap: ${err instanceof Error ? err.message : String(err)}\n`);
    void exitWhenWritten(1);
  },
);

/** A progress bar on stderr when it is a terminal (nothing otherwise). */
function importProgress(file: string): ((bytes: number, records: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const total = statSync(file).size || 1;
  const started = Date.now();
  return (bytes, records) => {
    const frac = Math.min(1, bytes / total);
    const width = 30;
    const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
    const secs = (Date.now() - started) / 1000;
    process.stderr.write(`\r[${bar}] ${(frac * 100).toFixed(0).padStart(3)}% ${records} records ${secs.toFixed(1)} s`);
    if (frac >= 1) process.stderr.write('\n');
  };
}

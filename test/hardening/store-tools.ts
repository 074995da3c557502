// What the store-fault and verify tests share: the built CLI run as a child process (its exit
// code and output), LDIF of many people, and a LevelDB database opened directly (to corrupt a
// copy on purpose).

import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Level } from 'level';
import YAML from 'yaml';
import { CLI } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';

export const B = 'dc=example,dc=domain';
export const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
export const CONFIG = path.join(repoRoot, 'config.yaml');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli/main.js ARGS --config config.yaml` (or opts.config; generous timeout); never rejects. */
export function runCli(args: readonly string[], opts: { cwd?: string; timeoutMs?: number; config?: string } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args, '--config', opts.config ?? CONFIG],
      { cwd: opts.cwd ?? repoRoot, timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    );
  });
}

/** The parts of config.yaml a copy edits. */
export type ConfigCopy = { store: { layout?: 2 | 3; indexes: Record<string, string[]> } } & Record<string, unknown>;

/**
 * Writes a copy of config.yaml to FILE (elsewhere: its schema directory and seed made absolute),
 * changed by `edit` (e.g. store.layout: the layout a test's new database gets); returns FILE.
 */
export function configCopy(file: string, edit: (cfg: ConfigCopy) => void): string {
  const cfg = YAML.parse(readFileSync(CONFIG, 'utf8')) as ConfigCopy;
  Object.assign(cfg, {
    schema: { ...(cfg['schema'] as object), dir: path.join(repoRoot, 'schema') },
    seed: path.resolve(repoRoot, cfg['seed'] as string),
  });
  edit(cfg);
  writeFileSync(file, YAML.stringify(cfg));
  return file;
}

/** The base entry and ou=people (for an empty database). */
export const BASE_LDIF = `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\ndn: ou=people,${B}\nobjectClass: organizationalUnit\nou: people\n`;

/** uid=<prefix><i>,ou=people for i in [from, from + n), as LDIF records. */
export function peopleLdif(n: number, prefix = 'p', from = 0): string {
  const out: string[] = [];
  for (let i = from; i < from + n; i++) {
    out.push(
      `dn: uid=${prefix}${i},ou=people,${B}\nobjectClass: inetOrgPerson\nuid: ${prefix}${i}\ncn: Person ${prefix}${i}\nsn: ${i}\nmail: ${prefix}${i}@example.domain\n`,
    );
  }
  return out.join('\n');
}

/** A copy of a data directory (its database and files), for corrupting one while keeping the original. */
export function copyDataDir(from: string, to: string): void {
  cpSync(from, to, { recursive: true });
}

/** Opens a stopped server's database (DATA/db) directly with `level`, runs fn, closes it. */
export async function withDb<T>(dataDir: string, fn: (db: Level<string, string>) => Promise<T>): Promise<T> {
  const db = new Level<string, string>(path.join(dataDir, 'db'), { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

/** Polls until cond() holds (every everyMs, up to timeoutMs); false when it never did. */
export async function until(cond: () => boolean, timeoutMs: number, everyMs = 10): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return cond();
}

/** Bytes in a folder's files (0 while it does not exist). */
export function folderBytes(dir: string): number {
  try {
    return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

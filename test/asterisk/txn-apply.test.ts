// The asterisk commands' writes as LDAP transactions (issues 20 and 21): against astldap, which
// advertises RFC 5805, `convert --apply` commits each file's changes in one write of the server
// (counted on its write path) and `endpoint add/remove` the endpoint, auth and aor in one; a
// file with an entry the server refuses leaves nothing of that file. Against astldap with
// transactions off (limits.maxTxnsPerConnection: 0) the same commands fall back to one request
// per change and take back what they did when one fails. Against a private slapd (back-mdb
// offers transactions too) `convert --apply` goes through slapd's transactions.

import { spawn } from 'node:child_process';
import { appendFileSync, cpSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { repoRoot, ROOT_DN, ROOT_PW, slapdAvailable, SUFFIX } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';
import { startAsteriskSlapd, type AsteriskSlapd } from './slapd-asterisk.js';

const FIXTURE = path.join(repoRoot, 'test/fixtures/asterisk-pbx');
const tmp = useTempDir('astldap-txn-apply-');
const ENDPOINT = (name: string) => `cn=${name},ou=endpoints,ou=pjsip,${SUFFIX}`;

function astldap(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'test' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** DNs below base (sub), lowercased. */
async function dns(url: string, base = SUFFIX): Promise<string[]> {
  const r = await runTool('ldapsearch', [...bindArgs(ROOT_DN, ROOT_PW), '-H', url, '-LLL', '-o', 'ldif-wrap=no', '-b', base, '1.1']);
  if (r.code === 32) return [];
  expect(r.code, r.stderr).toBe(0);
  return [...r.stdout.matchAll(/^dn: (.*)$/gm)].map((m) => m[1]!.toLowerCase()).sort();
}

/** A copy of the fixture PBX whose pjsip.conf (through an included file) has one phone too large for the server. */
function brokenPbx(name: string): string {
  const dir = path.join(tmp(), name);
  cpSync(FIXTURE, dir, { recursive: true });
  const huge = 'x'.repeat(12_000);
  appendFileSync(
    path.join(dir, 'pjsip.d/phones-more.conf'),
    `\n[1199](endpoint-base)\nauth=1199\naors=1199\ncallerid="${huge}" <1199>\n\n[1199](auth-base)\nusername=1199\npassword=pw\n\n[1199](aor-base)\n`,
  );
  return dir;
}

/** Entry counts of the server's write batches while fn runs. */
async function batchesDuring(ast: InProcessAstldap, fn: () => Promise<void>): Promise<number[]> {
  const sizes: number[] = [];
  const stop = ast.server.directory.writer.onCommit((b) => {
    if (b.entries.length) sizes.push(b.entries.length);
  });
  try {
    await fn();
  } finally {
    stop();
  }
  return sizes;
}

// Entries of the fixture are well under 8 KiB; the broken phone's endpoint is over it.
const SMALL_ENTRIES = { limits: { maxEntrySize: 8192 } };

describe.each([
  ['transactions', SMALL_ENTRIES],
  ['transactions off: one by one, taken back', { limits: { maxEntrySize: 8192, maxTxnsPerConnection: 0 } }],
])('asterisk commands against astldap (%s)', (mode, config) => {
  const txn = mode === 'transactions';
  let ast: InProcessAstldap;
  const conn = () => ['-H', ast.url, '-D', ROOT_DN, '-w', ROOT_PW];

  beforeAll(async () => {
    ast = await startAstldap({ packagedSeed: true, config: config as never });
  });
  afterAll(async () => {
    await ast?.stop();
  });

  it('the root DSE offers transactions only when they are on', async () => {
    const r = await runTool('ldapsearch', ['-x', '-H', ast.url, '-LLL', '-b', '', '-s', 'base', '(objectClass=*)', 'supportedExtension']);
    expect(r.stdout.includes('1.3.6.1.1.21.1')).toBe(txn);
  });

  it('a file with an entry the server refuses: nothing of that file, the other files applied', async () => {
    const before = await dns(ast.url);
    const r = await astldap(['asterisk', 'convert', brokenPbx(`broken-${txn}`), '--apply', ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/pjsip\.conf: add cn=1199,.*maxEntrySize.*nothing of pjsip\.conf was applied/);
    const after = await dns(ast.url);
    const added = after.filter((d) => !before.includes(d));
    // Not one PJSIP object (only the containers, applied first on their own), but voicemail.conf's
    // mailboxes (a later file) are there.
    expect(added.filter((d) => d.includes('ou=pjsip,') && !d.startsWith('ou='))).toEqual([]);
    expect(added.some((d) => d.startsWith('cn=') && d.endsWith(`ou=voicemail,${SUFFIX}`.toLowerCase()))).toBe(true);
  });

  it('convert --apply: one write per file with transactions, one per change without', async () => {
    const sizes = await batchesDuring(ast, async () => {
      const r = await astldap(['asterisk', 'convert', FIXTURE, '--apply', ...conn()]);
      expect(r.stderr).toMatch(/applied: /);
    });
    const total = sizes.reduce((a, b) => a + b, 0);
    expect(total).toBeGreaterThan(100); // the phones, auths and aors of pjsip.conf at least
    if (txn) {
      // pjsip.conf's changes (its 50 phones: 150 entries, and more) arrive as one batch.
      expect(sizes.length).toBeLessThanOrEqual(8);
      expect(Math.max(...sizes)).toBeGreaterThanOrEqual(150);
    } else expect(sizes.every((n) => n === 1)).toBe(true);
  });

  it('endpoint add and remove: the endpoint, its auth and aor in one write (or three taken back together)', async () => {
    const added = await batchesDuring(ast, async () => {
      const r = await astldap(['asterisk', 'endpoint', 'add', '7001', '--password', 'pw7001', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
    });
    expect(added).toEqual(txn ? [3] : [1, 1, 1]);
    const removed = await batchesDuring(ast, async () => {
      const r = await astldap(['asterisk', 'endpoint', 'remove', '7001', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
    });
    expect(removed).toEqual(txn ? [3] : [1, 1, 1]);
    // The endpoint object itself refused (added last): its auth and aor are not left behind.
    const before = await dns(ast.url);
    const r = await astldap(['asterisk', 'endpoint', 'add', '7002', '--password', 'pw', '--callerid', 'y'.repeat(12_000), ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/add cn=7002,ou=endpoints.*maxEntrySize/);
    expect(r.stderr).toMatch(txn ? /nothing was applied/ : /2 change\(s\) before it taken back/);
    expect(await dns(ast.url)).toEqual(before);
  });

  it('queue remove takes the queue and its members together', async () => {
    for (const args of [
      ['queue', 'add', 'txnq'],
      ['queue', 'member', 'add', 'txnq', 'PJSIP/7003'],
      ['queue', 'member', 'add', 'txnq', 'PJSIP/7004'],
    ]) {
      const r = await astldap(['asterisk', ...args, ...conn()]);
      expect(r.code, r.stderr).toBe(0);
    }
    const removed = await batchesDuring(ast, async () => {
      const r = await astldap(['asterisk', 'queue', 'remove', 'txnq', ...conn()]);
      expect(r.code, r.stderr).toBe(0);
    });
    expect(removed).toEqual(txn ? [3] : [1, 1, 1]);
  });
});

describe.skipIf(!slapdAvailable())('convert --apply against slapd (its RFC 5805 transactions)', () => {
  let slapd: AsteriskSlapd;

  beforeAll(async () => {
    slapd = await startAsteriskSlapd(readFileSync(path.join(repoRoot, 'data/seed.ldif'), 'utf8'));
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  it('slapd advertises transactions, and the converted PBX loads through them', async () => {
    const root = await runTool('ldapsearch', ['-x', '-H', slapd.url, '-LLL', '-b', '', '-s', 'base', '(objectClass=*)', '+']);
    expect(root.stdout).toMatch(/supportedExtension: 1\.3\.6\.1\.1\.21\.1$/m);
    const r = await astldap(['asterisk', 'convert', FIXTURE, '--apply', '-H', slapd.url, '-D', ROOT_DN, '-w', ROOT_PW]);
    expect(r.stderr).toMatch(/applied: /);
    expect(await dns(slapd.url, ENDPOINT('1101'))).toEqual([ENDPOINT('1101').toLowerCase()]);
  });
});

// A private slapd for the Asterisk replay suite. test/helpers/slapd.ts loads only the stock
// Asterisk schema and gives everyone read-only access, so this variant (same layout: temp dir,
// free loopback port, data loaded with slapadd) adds:
//   - schema/astldap-asterisk.schema after the stock schema/asterisk.schema;
//   - write access for the Asterisk identity everywhere (slapd is the reference for what the
//     driver reads back, not for astldap's access rules: see the astldapOnly cases in replay.test.ts);
//   - no size/time limit for the Asterisk identity (slapd's default 500 would fail big scans,
//     and the driver throws away a whole answer on sizeLimitExceeded), 500 for everyone else.

import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, repoRoot, ROOT_PW, SUFFIX } from '../helpers/slapd.js';
import { runTool } from '../helpers/tools.js';

const execFileP = promisify(execFile);
const SLAPD = existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
const SLAPADD = existsSync('/usr/sbin/slapadd') ? '/usr/sbin/slapadd' : 'slapadd';

export const ASTERISK_DN = `cn=asterisk,ou=services,${SUFFIX}`;

export interface AsteriskSlapd {
  url: string;
  stop(): Promise<void>;
}

function conf(dir: string): string {
  const schemas = [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `/etc/ldap/schema/${s}.schema`),
    path.join(repoRoot, 'schema/asterisk.schema'),
    path.join(repoRoot, 'schema/astldap-asterisk.schema'),
  ];
  return [
    ...schemas.map((s) => `include ${s}`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    'sizelimit 500',
    'timelimit 3600',
    'database mdb',
    'maxsize 1073741824',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    `rootpw ${ROOT_PW}`,
    `directory ${dir}/db`,
    `limits dn.exact="${ASTERISK_DN}" size=unlimited time=unlimited`,
    'index objectClass eq',
    'index cn eq,sub',
    'access to attrs=userPassword by self write by anonymous auth by * none',
    `access to * by dn.exact="${ASTERISK_DN}" write by * read`,
    '',
  ].join('\n');
}

export async function startAsteriskSlapd(ldif: string): Promise<AsteriskSlapd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'astldap-ast-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  const confFile = path.join(dir, 'slapd.conf');
  writeFileSync(confFile, conf(dir));
  const ldifFile = path.join(dir, 'load.ldif');
  writeFileSync(ldifFile, ldif);
  try {
    await execFileP(SLAPADD, ['-q', '-f', confFile, '-l', ldifFile]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new Error(`slapadd failed: ${e.stderr ?? e.message}`);
  }
  let child: ChildProcess | undefined;
  let port = 0;
  let lastErr = '';
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    const c = spawn(SLAPD, ['-d', '0', '-f', confFile, '-h', `ldap://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    let exited = false;
    c.on('exit', () => (exited = true));
    for (let i = 0; i < 100 && !exited; i++) {
      const r = await runTool('ldapsearch', ['-x', '-H', `ldap://127.0.0.1:${port}`, '-b', '', '-s', 'base', '-LLL', '1.1'], { timeoutMs: 5000 }).catch(
        () => undefined,
      );
      if (r?.code === 0) {
        child = c;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    if (!child) {
      lastErr = stderr;
      if (!exited) c.kill('SIGKILL');
    }
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`slapd did not start: ${lastErr}`);
  }
  const proc = child;
  return {
    url: `ldap://127.0.0.1:${port}`,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise((res) => proc.once('exit', res));
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

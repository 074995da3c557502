// A private OpenLDAP slapd (Debian's) for differential tests: its own temp dir, a free loopback
// port, the project's schema set, data loaded offline with slapadd before it starts.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { removeDir, tempDir } from './tmp.js';
import { runTool } from './tools.js';

const execFileP = promisify(execFile);

export const SUFFIX = 'dc=example,dc=domain';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'secret';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const SLAPD = existsSync('/usr/sbin/slapd') ? '/usr/sbin/slapd' : 'slapd';
/** Whether Debian's slapd ships the sssvlv overlay (sorting for the differential suite). */
export const SSSVLV = existsSync('/usr/lib/ldap/sssvlv.la') || existsSync('/usr/lib/ldap/sssvlv.so');
const SLAPADD = existsSync('/usr/sbin/slapadd') ? '/usr/sbin/slapadd' : 'slapadd';

/** The Asterisk schema: the project's copy once it ships one, else the verbatim reference. */
export function asteriskSchemaFile(): string {
  const own = path.join(repoRoot, 'schema/asterisk.schema');
  if (existsSync(own)) return own;
  return '/work/shared/reference/asterisk/asterisk.ldap-schema';
}

export function slapdAvailable(): boolean {
  return existsSync(SLAPD) || existsSync('/usr/sbin/slapd');
}

/** A free TCP port on 127.0.0.1 (bound with port 0, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface SlapdOptions {
  /** LDIF loaded with slapadd before the server starts. */
  ldif?: string;
  suffix?: string;
}

export interface Slapd {
  url: string;
  port: number;
  dir: string;
  suffix: string;
  rootDn: string;
  rootPw: string;
  /** How the slapd process ended, while the test still holds it (a crash of slapd's own); undefined while it runs. */
  ended(): string | undefined;
  stop(): Promise<void>;
}

/**
 * The start of a private slapd.conf: Debian's core, cosine, inetorgperson and nis schemas and
 * then `schemas`, run files in dir, back-mdb loaded.
 */
export function confPreamble(dir: string, schemas: string[]): string[] {
  return [
    ...['core', 'cosine', 'inetorgperson', 'nis'].map((s) => `include /etc/ldap/schema/${s}.schema`),
    ...schemas.map((s) => `include ${s}`),
    `pidfile ${dir}/slapd.pid`,
    `argsfile ${dir}/slapd.args`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
  ];
}

/** A back-mdb database for suffix in dir/db, with its root DN and password. */
export function mdbDatabase(dir: string, suffix: string, rootDn: string, rootPw: string): string[] {
  return ['database mdb', 'maxsize 1073741824', `suffix "${suffix}"`, `rootdn "${rootDn}"`, `rootpw ${rootPw}`, `directory ${dir}/db`];
}

function slapdConf(dir: string, suffix: string): string {
  return [
    ...confPreamble(dir, [asteriskSchemaFile()]),
    // Server-side sorting (RFC 2891) is the sssvlv overlay's; paged results are back-mdb's own.
    ...(SSSVLV ? ['moduleload sssvlv'] : []),
    // Let ACLs decide anonymous writes (50), as astldap does, instead of slapd's blanket 8.
    'allow update_anon',
    'sizelimit 500',
    'timelimit 3600',
    ...mdbDatabase(dir, suffix, `cn=admin,${suffix}`, ROOT_PW),
    ...(SSSVLV ? ['overlay sssvlv'] : []),
    'index objectClass eq',
    'index cn,uid,mail eq,sub',
    'access to attrs=userPassword by self write by anonymous auth by * none',
    'access to * by * read',
    '',
  ].join('\n');
}

export interface Launched {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** The pid slapd wrote to the conf's pidfile, if it wrote one yet. */
function pidFromFile(pidFile: string | undefined): number | undefined {
  if (!pidFile) return undefined;
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs `slapd -f conf` on a free loopback port and resolves once it answers a root DSE search.
 * A port picked by bind-to-0 can be taken in between: it retries a few times. An answer on the
 * port counts only once this slapd has written its pid file (it does so after it has bound its
 * listeners; one that failed to bind exits without): otherwise the answer may be another test's
 * server that took the port, and this slapd already gone.
 */
export async function launchSlapd(conf: string): Promise<Launched> {
  const pidFile = /^pidfile\s+(\S+)\s*$/m.exec(readFileSync(conf, 'utf8'))?.[1];
  let lastErr = '';
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const c = spawn(SLAPD, ['-d', '0', '-f', conf, '-h', `ldap://127.0.0.1:${port}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    let exited = false;
    c.on('exit', () => (exited = true));
    const url = `ldap://127.0.0.1:${port}`;
    for (let i = 0; i < 100 && !exited; i++) {
      const r = await runTool('ldapsearch', ['-x', '-H', url, '-b', '', '-s', 'base', '-LLL', '1.1'], { timeoutMs: 5000 }).catch(
        () => undefined,
      );
      if (r?.code === 0 && !exited && (pidFile === undefined || pidFromFile(pidFile) === c.pid)) {
        return {
          child: c,
          port,
          async stop() {
            if (c.exitCode !== null || c.signalCode !== null) return;
            const gone = new Promise((res) => c.once('exit', res));
            c.kill('SIGTERM');
            const t = setTimeout(() => c.kill('SIGKILL'), 5000);
            await gone;
            clearTimeout(t);
          },
        };
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    lastErr = stderr;
    if (!exited) c.kill('SIGKILL');
  }
  throw new Error(`slapd did not start: ${lastErr}`);
}

/**
 * A private slapd in a fresh temp dir: writes slapd.conf (made by `conf` for that dir), loads
 * `ldif` offline with slapadd, then launches it. The dir is removed again on failure.
 */
export async function setUpSlapd(
  prefix: string,
  conf: (dir: string) => string,
  ldif?: string,
): Promise<{ dir: string; launched: Launched }> {
  const dir = tempDir(prefix);
  try {
    mkdirSync(path.join(dir, 'db'));
    const confFile = path.join(dir, 'slapd.conf');
    writeFileSync(confFile, conf(dir));
    if (ldif !== undefined) {
      const ldifFile = path.join(dir, 'load.ldif');
      writeFileSync(ldifFile, ldif);
      await execFileP(SLAPADD, ['-q', '-f', confFile, '-l', ldifFile]).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`slapadd failed: ${err.stderr ?? err.message}`);
      });
    }
    return { dir, launched: await launchSlapd(confFile) };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}

/** Starts slapd; resolves once it answers a root DSE search. */
export async function startSlapd(opts: SlapdOptions = {}): Promise<Slapd> {
  const suffix = opts.suffix ?? SUFFIX;
  const { dir, launched } = await setUpSlapd('astldap-slapd-', (d) => slapdConf(d, suffix), opts.ldif);
  const { port } = launched;
  return {
    url: `ldap://127.0.0.1:${port}`,
    port,
    dir,
    suffix,
    rootDn: `cn=admin,${suffix}`,
    rootPw: ROOT_PW,
    ended() {
      const c = launched.child;
      return c.signalCode ?? (c.exitCode !== null ? `exit ${c.exitCode}` : undefined) ?? undefined;
    },
    async stop() {
      await launched.stop();
      removeDir(dir);
    },
  };
}

// Files at rest (issue 11, item 2, the file part): whatever the umask, the data directory and
// every folder in it are 0700 and every file 0600 (LevelDB's files, the development TLS pair,
// the root token; the ldapi socket 0600 inside the 0700 folder), and userPassword values are
// stored hashed: a scan of every byte under the data directory finds none of the passwords the
// tools wrote, while it does find an ordinary value written the same way (the scan can see).

import { chmodSync, lstatSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer } from '../../src/index.js';
import { spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const ADMIN = bindArgs(`cn=admin,${B}`, 'secret');
const SECRETS = ['Cleartext-Secret-4711', 'Changed-Secret-0815', 'Generated-By-Passwd-9'];
const MARKER = 'Visible-Marker-Value-2718';

/** Every path under dir (dir first), with its lstat. */
function walk(dir: string): Array<{ p: string; st: ReturnType<typeof lstatSync> }> {
  const st = lstatSync(dir);
  const out = [{ p: dir, st }];
  if (st.isDirectory()) for (const n of readdirSync(dir)) out.push(...walk(path.join(dir, n)));
  return out;
}

const mode = (st: ReturnType<typeof lstatSync>) => (st.mode & 0o777).toString(8);

describe('files at rest: astldap serve under umask 022', () => {
  const dir = useTempDir('astldap-files-');
  let server: SpawnedAstldap | undefined;
  let data: string;

  beforeAll(async () => {
    data = path.join(dir(), 'data');
    server = await spawnAstldap(
      [
        'serve',
        '--data',
        data,
        '--listen',
        'ldap://127.0.0.1:0',
        '--listen',
        'ldaps://127.0.0.1:0',
        '--listen',
        'ldapi://',
        '--admin-listen',
        'http://127.0.0.1:0',
      ],
      { cwd: dir(), umask: '022' },
    );
    const url = server.url;
    const add = await runTool('ldapadd', ['-H', url, ...ADMIN], {
      stdin: [
        `dn: uid=carol,ou=people,${B}`,
        'objectClass: inetOrgPerson',
        'uid: carol',
        'cn: Carol',
        'sn: Carol',
        `description: ${MARKER}`,
        `userPassword: ${SECRETS[0]}`,
        '',
      ].join('\n'),
    });
    expect(add.code, add.stderr).toBe(0);
    const mod = await runTool('ldapmodify', ['-H', url, ...ADMIN], {
      stdin: `dn: uid=carol,ou=people,${B}\nchangetype: modify\nreplace: userPassword\nuserPassword: ${SECRETS[1]}\n`,
    });
    expect(mod.code, mod.stderr).toBe(0);
    const pw = await runTool('ldappasswd', ['-H', url, ...ADMIN, '-s', SECRETS[2]!, `uid=bob,ou=people,${B}`]);
    expect(pw.code, pw.stderr).toBe(0);
    // The last password works: it was written, in a form that verifies.
    expect((await runTool('ldapwhoami', ['-H', url, ...bindArgs(`uid=bob,ou=people,${B}`, SECRETS[2])])).code).toBe(0);
  });
  afterAll(async () => {
    await server?.kill();
  });

  const checkModes = () => {
    const entries = walk(data);
    expect(entries.some((e) => e.p.endsWith('.log') || /MANIFEST/.test(e.p))).toBe(true);
    expect(entries.some((e) => e.p.endsWith(path.join('tls', 'key.pem')))).toBe(true);
    expect(entries.some((e) => e.p.endsWith('root-token'))).toBe(true);
    for (const { p, st } of entries) {
      if (st.isDirectory()) expect(mode(st), p).toBe('700');
      else expect(mode(st), p).toBe('600');
    }
  };

  it('while it runs: folders 0700, files and the ldapi socket 0600', () => {
    checkModes();
    expect(walk(data).some((e) => e.st.isSocket())).toBe(true);
  });

  it('no userPassword in clear in any file; an ordinary value is found (the scan sees values)', async () => {
    // Stopped, so LevelDB has written everything it holds.
    await server!.kill();
    server = undefined;
    checkModes();
    const files = walk(data).filter((e) => e.st.isFile());
    const blob = Buffer.concat(files.map((f) => readFileSync(f.p)));
    expect(blob.includes(MARKER), 'the marker value is readable in the files').toBe(true);
    for (const s of SECRETS) expect(blob.includes(s), `cleartext ${s} at rest`).toBe(false);
  });
});

describe('files at rest: an embedder (its own umask)', () => {
  const dir = useTempDir('astldap-embed-');

  it('a data folder that was 0755 becomes 0700, its database folder too', async () => {
    const data = path.join(dir(), 'data');
    mkdirSync(data, { mode: 0o755 });
    chmodSync(data, 0o755);
    const server = await startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      dataDir: data,
      listen: ['ldap://127.0.0.1:0'],
      seed: false,
      logger: false,
    });
    try {
      expect(mode(lstatSync(data))).toBe('700');
      for (const { p, st } of walk(path.join(data, 'db'))) expect(mode(st), p).toBe(st.isDirectory() ? '700' : '600');
    } finally {
      await server.close();
    }
  });
});

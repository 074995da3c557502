// The embedding API as another project's test suite uses it: suffix and admin options, the bind
// credentials, defaults that write nothing into the package, explicit options over the
// environment, snapshot/restore, `await using`, and no growth over many start/close cycles.

import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'ldapts';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type OperationSummary } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';

const FIXTURE = `dn: dc=test,dc=local
objectClass: dcObject
objectClass: organization
dc: test
o: Test

dn: ou=people,dc=test,dc=local
objectClass: organizationalUnit
ou: people

dn: uid=ann,ou=people,dc=test,dc=local
objectClass: inetOrgPerson
uid: ann
cn: Ann
sn: Test
userPassword: ann-pw
`;

async function bindAndCount(url: string, dn: string, password: string, base: string): Promise<number> {
  const c = new Client({ url, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(dn, password);
    const { searchEntries } = await c.search(base, { scope: 'sub', filter: '(objectClass=*)' });
    return searchEntries.length;
  } finally {
    await c.unbind();
  }
}

describe('embedding', () => {
  const saved = process.env.ASTLDAP_ADMIN_PASSWORD;
  afterEach(() => {
    if (saved === undefined) delete process.env.ASTLDAP_ADMIN_PASSWORD;
    else process.env.ASTLDAP_ADMIN_PASSWORD = saved;
  });

  it('serves another suffix from suffix + admin options; the admin DN follows the suffix; explicit options beat the environment', async () => {
    process.env.ASTLDAP_ADMIN_PASSWORD = 'from-the-environment';
    await using server = await startServer({
      suffix: 'dc=test,dc=local',
      admin: { password: 'fixture-pw' },
      seed: false,
      seedLdif: FIXTURE,
    });
    expect(server.credentials).toEqual({ dn: 'cn=admin,dc=test,dc=local', password: 'fixture-pw' });
    const { dn, password } = server.credentials;
    expect(await bindAndCount(server.url, dn, password, 'dc=test,dc=local')).toBe(3);
    // The fixture's cleartext password was hashed with the cheap default of memory servers.
    const c = new Client({ url: server.url });
    await c.bind(dn, password);
    const { searchEntries } = await c.search('uid=ann,ou=people,dc=test,dc=local', { scope: 'base', attributes: ['userPassword'] });
    await c.unbind();
    expect(String(searchEntries[0]!.userPassword)).toMatch(/^\{SSHA\}/);
  });

  it('reports every operation to onOperation (an access log a test can read)', async () => {
    const seen: OperationSummary[] = [];
    await using server = await startServer({ suffix: 'dc=test,dc=local', seedLdif: FIXTURE, onOperation: (s) => seen.push(s) });
    const { dn, password } = server.credentials;
    expect(await bindAndCount(server.url, dn, password, 'ou=people,dc=test,dc=local')).toBe(2);
    expect(seen.map((s) => s.type)).toEqual(['bind', 'search']);
    expect(seen[1]).toMatchObject({ dn: 'ou=people,dc=test,dc=local', scope: 'sub', filter: '(objectClass=*)', code: 0, entries: 2 });
    expect(JSON.stringify(seen)).not.toContain(password);
  });

  it('says what to do when a fixture lies outside the naming context', async () => {
    await expect(startServer({ seed: false, seedLdif: FIXTURE })).rejects.toThrow(
      'dc=test,dc=local (LDIF line 1) is outside the naming context dc=example,dc=domain; set suffix',
    );
  });

  it('defaults: one ldap:// listener on a free port, nothing written inside the package', async () => {
    const ldapi = path.join(repoRoot, 'data', 'ldapi');
    const token = path.join(repoRoot, 'data', 'root-token');
    const before = [ldapi, token].map((f) => (existsSync(f) ? statSync(f).mtimeMs : undefined));
    const server = await startServer({ listen: ['ldap://127.0.0.1:0', 'ldapi://'], adminApi: true });
    try {
      expect(server.urls).toHaveLength(2);
      expect(server.url).toMatch(/^ldap:\/\/127\.0\.0\.1:\d+$/);
      expect(server.port).toBeGreaterThan(0);
      const socket = decodeURIComponent(server.urls[1]!.slice('ldapi://'.length));
      expect(socket.startsWith(repoRoot)).toBe(false);
      expect(server.admin!.tokenFile!.startsWith(repoRoot)).toBe(false);
      expect(server.admin!.token.length).toBeGreaterThan(8);
    } finally {
      await server.close();
    }
    expect([ldapi, token].map((f) => (existsSync(f) ? statSync(f).mtimeMs : undefined))).toEqual(before);
    const plain = await startServer();
    expect(plain.urls).toEqual([plain.url]);
    await plain.close();
  });

  it('snapshot() and restore() return to a saved state', async () => {
    await using server = await startServer({ suffix: 'dc=test,dc=local', seed: false, seedLdif: FIXTURE });
    const saved = await server.snapshot();
    await server.importLdif(
      'dn: uid=tmp,ou=people,dc=test,dc=local\nobjectClass: inetOrgPerson\nuid: tmp\ncn: t\nsn: t\n\ndn: uid=ann,ou=people,dc=test,dc=local\nchangetype: delete\n',
    );
    const changed = await server.exportLdif();
    expect(changed).toContain('uid=tmp');
    expect(changed).not.toContain('uid=ann');
    const t0 = process.hrtime.bigint();
    await server.restore(saved);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const back = await server.exportLdif({ operational: true });
    expect(back).toContain('dn: uid=ann,ou=people,dc=test,dc=local');
    expect(back).not.toContain('uid=tmp');
    // The indexes came back too: an indexed equality search finds the entry.
    const { dn, password } = server.credentials;
    const c = new Client({ url: server.url });
    await c.bind(dn, password);
    const { searchEntries } = await c.search('dc=test,dc=local', { filter: '(uid=ann)' });
    await c.unbind();
    expect(searchEntries).toHaveLength(1);
    expect(ms).toBeLessThan(5_000); // generous: milliseconds in practice, never a machine-speed test
  });

  it('does not grow over 100 start/close cycles (heap after GC stays flat)', async () => {
    const script = path.join(repoRoot, 'test/fixtures/embedding-cycles.mjs');
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['--expose-gc', script, '100'], { cwd: repoRoot, timeout: 300_000 }, (err, stdout, stderr) =>
        err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
      ),
    );
    const r = JSON.parse(out) as { cycles: number; growthPerCycle: number; alive: number };
    expect(r.cycles).toBe(100);
    // Before the fix a cycle kept its whole directory: ~1 MiB per cycle. Allow noise, not that.
    expect(r.growthPerCycle).toBeLessThan(64 * 1024);
    expect(r.alive).toBeLessThanOrEqual(2);
  }, 300_000);
});

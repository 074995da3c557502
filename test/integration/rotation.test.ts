// The Vault-compatible admin API end to end: the real CLI server (spawned, on a temp data dir)
// driven by node-vault, passwords checked with ldapwhoami, Asterisk secrets with ldapsearch.

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnAstldap, type SpawnedAstldap } from '../helpers/astldap.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { vaultClient, type VaultClient } from '../helpers/vault.js';

const execFileP = promisify(execFile);
const B = 'dc=example,dc=domain';
const ADMIN = [`cn=admin,${B}`, 'secret'] as const;
const ALICE = `uid=alice,ou=people,${B}`;
const BOB = `uid=bob,ou=people,${B}`;
const SIP = `cn=1000,ou=sip,${B}`;
const TOKEN = 'test-root-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const dataDir = useTempDir('astldap-rotation-');
let srv: SpawnedAstldap;
let api: string;
let vault: VaultClient;

async function start(): Promise<void> {
  process.env.ASTLDAP_ROOT_TOKEN = TOKEN;
  srv = await spawnAstldap([
    'serve',
    '--config',
    path.join(repoRoot, 'config.yaml'),
    '--data',
    dataDir(),
    '--listen',
    'ldap://127.0.0.1:0',
    '--admin-listen',
    'http://127.0.0.1:0',
  ]);
  const m = /astldap admin api on (http:\/\/\S+)/.exec(srv.output());
  if (!m) throw new Error(`no admin api line:\n${srv.output()}`);
  api = m[1]!;
  vault = vaultClient(api, TOKEN);
}

async function whoami(dn: string, pw: string): Promise<number> {
  return (await runTool('ldapwhoami', ['-H', srv.url, ...bindArgs(dn, pw)])).code;
}

async function cred(name: string): Promise<Record<string, any>> {
  const r = await vault.read(`openldap/static-cred/${name}`);
  return r.data as Record<string, any>;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** The handed-out password binds, the previous one does not (retried if a rotation slips in). */
async function expectCurrent(name: string, dn: string): Promise<void> {
  for (let i = 0; ; i++) {
    const c = await cred(name);
    const codes = [await whoami(dn, c.password), await whoami(dn, c.last_password)];
    const again = await cred(name);
    if (again.last_vault_rotation !== c.last_vault_rotation && i < 5) continue;
    expect(codes).toEqual([0, 49]);
    return;
  }
}

async function vaultError(p: Promise<unknown>): Promise<{ statusCode: number; body: any }> {
  try {
    await p;
  } catch (err) {
    const res = (err as { response?: { statusCode: number; body: any } }).response;
    if (res) return res;
    throw err;
  }
  throw new Error('expected the request to fail');
}

beforeAll(async () => {
  await start();
});

afterAll(async () => {
  await srv?.kill();
  delete process.env.ASTLDAP_ROOT_TOKEN;
});

describe('admin api: tokens and wire shapes', () => {
  it('refuses a missing or wrong token with 403 and Vault error shape', async () => {
    const none = vaultClient(api);
    const e1 = await vaultError(none.read('openldap/config'));
    expect(e1.statusCode).toBe(403);
    expect(e1.body).toEqual({ errors: ['permission denied'] });
    const wrong = vaultClient(api, 'not-the-token-xyz');
    const e2 = await vaultError(wrong.list('openldap/static-role'));
    expect(e2.statusCode).toBe(403);
    expect(e2.body).toEqual({ errors: ['permission denied'] });
    // Authorization: Bearer works as well
    const res = await fetch(`${api}/v1/openldap/config`, { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404); // not configured yet
    expect(await res.json()).toEqual({ errors: [] });
  });

  it('writes and reads config (never returning bindpass); rejects external urls and bad schemas', async () => {
    await vault.write('openldap/config', { binddn: ADMIN[0], bindpass: ADMIN[1] });
    const r = await vault.read('openldap/config');
    expect(Object.keys(r).sort()).toEqual([
      'auth',
      'data',
      'lease_duration',
      'lease_id',
      'renewable',
      'request_id',
      'warnings',
      'wrap_info',
    ]);
    expect(r.data.binddn).toBe(ADMIN[0]);
    expect(r.data.schema).toBe('openldap');
    expect(r.data.length).toBe(64);
    expect(r.data).not.toHaveProperty('bindpass');
    // an external server that does not answer: refused (rotation-external.test.ts manages a slapd)
    const ext = await vaultError(vault.write('openldap/config', { url: 'ldap://127.0.0.1:1', connection_timeout: 2 }));
    expect(ext.statusCode).toBe(400);
    expect(ext.body.errors[0]).toMatch(/error validating binddn\/bindpass/);
    const mixed = await vaultError(vault.write('openldap/config', { url: `${srv.url},ldap://127.0.0.1:1` }));
    expect(mixed.statusCode).toBe(400);
    expect(mixed.body.errors[0]).toMatch(/must not mix/);
    const ad = await vaultError(vault.write('openldap/config', { schema: 'ad' }));
    expect(ad.statusCode).toBe(400);
    expect(ad.body.errors[0]).toMatch(/unicodePwd/);
    const both = await vaultError(vault.write('openldap/config', { length: 20, password_policy: 'x' }));
    expect(both.statusCode).toBe(400);
    const badPw = await vaultError(vault.write('openldap/config', { bindpass: 'wrong' }));
    expect(badPw.statusCode).toBe(400);
    // own listener URL is the embedded directory
    await vault.write('openldap/config', { url: srv.url });
    const e405 = await vaultError(vault.request({ path: '/openldap/config', method: 'PATCH' }));
    expect(e405.statusCode).toBe(405);
    const e404 = await vaultError(vault.read('openldap/nope'));
    expect(e404.statusCode).toBe(404);
  });

  it('stores password policies (HCL) and generates from them', async () => {
    const policy =
      'length = 24\nrule "charset" {\n  charset = "abcdefghijklmnopqrstuvwxyz"\n  min-chars = 1\n}\nrule "charset" {\n  charset = "0123456789"\n  min-chars = 4\n}\n';
    await vault.write('sys/policies/password/example', { policy });
    expect((await vault.read('sys/policies/password/example')).data.policy).toBe(policy);
    for (let i = 0; i < 5; i++) {
      const pw = (await vault.read('sys/policies/password/example/generate')).data.password as string;
      expect(pw).toMatch(/^[a-z0-9]{24}$/);
      expect(pw.replace(/[^0-9]/g, '').length).toBeGreaterThanOrEqual(4);
    }
    expect((await vault.list('sys/policies/password')).data.keys).toEqual(['example']);
    const bad = await vaultError(
      vault.write('sys/policies/password/bad', { policy: 'length = 2\nrule "charset" { charset = "ab" min-chars = 3 }' }),
    );
    expect(bad.statusCode).toBe(400);
  });
});

describe('static roles', () => {
  it('creates a role (rotating at once), reads static-cred, rotates on demand', async () => {
    await vault.write('openldap/static-role/alice', { dn: ALICE, rotation_period: '1h', password_policy: 'example' });
    const role = (await vault.read('openldap/static-role/alice')).data;
    expect(role).toMatchObject({ dn: ALICE, username: 'alice', rotation_period: 3600, skip_import_rotation: false });
    expect(typeof role.last_vault_rotation).toBe('string');
    const c1 = await cred('alice');
    expect(c1).toMatchObject({ dn: ALICE, username: 'alice', rotation_period: 3600, last_password: '' });
    expect(c1.password).toMatch(/^[a-z0-9]{24}$/);
    expect(c1.ttl).toBeGreaterThan(3500);
    expect(c1.ttl).toBeLessThanOrEqual(3600);
    expect(await whoami(ALICE, 'alice-password')).toBe(49);
    expect(await whoami(ALICE, c1.password)).toBe(0);

    await vault.write('openldap/rotate-role/alice', {});
    const c2 = await cred('alice');
    expect(c2.password).not.toBe(c1.password);
    expect(c2.last_password).toBe(c1.password);
    expect(Date.parse(c2.last_vault_rotation)).toBeGreaterThan(Date.parse(c1.last_vault_rotation));
    expect(await whoami(ALICE, c1.password)).toBe(49);
    expect(await whoami(ALICE, c2.password)).toBe(0);

    const dup = await vaultError(vault.write('openldap/static-role/alice2', { dn: ALICE, rotation_period: '1h' }));
    expect(dup.statusCode).toBe(400);
    const short = await vaultError(vault.write('openldap/static-role/x', { dn: BOB, rotation_period: '4s' }));
    expect(short.statusCode).toBe(400);
    expect((await vaultError(vault.write('openldap/rotate-role/nobody', {}))).statusCode).toBe(400);
    expect((await vaultError(vault.read('openldap/static-cred/nobody'))).statusCode).toBe(404);
  });

  it('skip_import_rotation leaves the password alone until the first rotation', async () => {
    await vault.write('openldap/static-role/bob-skip', { dn: BOB, rotation_period: '1h', skip_import_rotation: true });
    const c = await cred('bob-skip');
    expect(c.password).toBe('');
    expect(c.last_vault_rotation).toBeNull();
    expect(await whoami(BOB, 'bob-password')).toBe(0);
    await vault.delete('openldap/static-role/bob-skip');
    expect(await whoami(BOB, 'bob-password')).toBe(0);
  });

  it('schema asterisk writes userPassword and the realmed MD5 secret res_config_ldap reads', async () => {
    await vault.write('openldap/config', { schema: 'asterisk' });
    await vault.write('openldap/static-role/sip1000', { dn: SIP, rotation_period: 3600 });
    const c = await cred('sip1000');
    expect(c.password).toMatch(/^[A-Za-z0-9]{64}$/); // Vault's default: 64 base62 characters
    const s = await runTool('ldapsearch', [
      '-LLL',
      '-H',
      srv.url,
      ...bindArgs(...ADMIN),
      '-b',
      SIP,
      '-s',
      'base',
      '(objectClass=*)',
      'AstAccountRealmedPassword',
      'AstAccountSecret',
      'userPassword',
      'objectClass',
    ]);
    expect(s.code).toBe(0);
    const e = parseLdifEntries(s.stdout)[0]!;
    const md5 = createHash('md5').update(`1000:asterisk:${c.password}`).digest('hex');
    expect(attrValues(e, 'AstAccountRealmedPassword')).toEqual([`{md5}${md5}`]);
    expect(attrValues(e, 'AstAccountSecret')).toEqual([]);
    expect(attrValues(e, 'userPassword')[0]).toMatch(/^\{PBKDF2-SHA512\}/);
    expect(attrValues(e, 'objectClass')).toContain('simpleSecurityObject');
    expect(await whoami(SIP, c.password)).toBe(0);
    const list = await vault.list('openldap/static-role');
    expect(list.data.keys).toEqual(['alice', 'sip1000']);
    const viaQuery = await vault.request({ path: '/openldap/static-role?list=true', method: 'GET' });
    expect(viaQuery.data.keys).toEqual(['alice', 'sip1000']);
  });

  it('rotates a role with rotation_period 5s on schedule', async () => {
    await vault.write('openldap/static-role/fast', { dn: BOB, rotation_period: '5s' });
    const first = await cred('fast');
    const second = await until(
      'a scheduled rotation',
      async () => {
        const c = await cred('fast');
        return c.last_vault_rotation !== first.last_vault_rotation ? c : undefined;
      },
      9000,
    );
    expect(Date.parse(second.last_vault_rotation) - Date.parse(first.last_vault_rotation)).toBeLessThan(8000);
    expect(second.last_password).toBe(first.password);
    // whichever rotation is current now, the credential Vault hands out works and the one
    // before it does not
    await expectCurrent('fast', BOB);
  }, 20_000);

  it('a manual rotation racing scheduled ones ends with one consistent credential', async () => {
    const c0 = await cred('fast');
    const wait = Math.max(0, c0.ttl * 1000 - 150);
    await sleep(wait);
    await Promise.all([
      vault.write('openldap/rotate-role/fast', {}),
      vault.write('openldap/rotate-role/fast', {}),
      sleep(300).then(() => vault.write('openldap/rotate-role/fast', {})),
    ]);
    await expectCurrent('fast', BOB);
    const role = (await vault.read('openldap/static-role/fast')).data;
    expect(role.failures).toBe(0);
  }, 20_000);

  it('a role whose entry was deleted fails cleanly, with the error in its status', async () => {
    const add = await runTool('ldapadd', ['-H', srv.url, ...bindArgs(...ADMIN)], {
      stdin: `dn: uid=temp,ou=people,${B}\nobjectClass: inetOrgPerson\nuid: temp\ncn: Temp\nsn: Temp\nuserPassword: temp-password\n`,
    });
    expect(add.code).toBe(0);
    await vault.write('openldap/static-role/temp', { dn: `uid=temp,ou=people,${B}`, rotation_period: '1h' });
    const del = await runTool('ldapdelete', ['-H', srv.url, ...bindArgs(...ADMIN), `uid=temp,ou=people,${B}`]);
    expect(del.code).toBe(0);
    const e = await vaultError(vault.write('openldap/rotate-role/temp', {}));
    expect(e.statusCode).toBe(500);
    expect(e.body.errors[0]).toMatch(/unable to finish rotating credentials.*does not exist/);
    const role = (await vault.read('openldap/static-role/temp')).data;
    expect(role.failures).toBe(1);
    expect(role.last_error).toMatch(/does not exist/);
    expect(Date.parse(role.next_retry)).toBeGreaterThan(Date.now());
    await vault.delete('openldap/static-role/temp');
    expect((await vaultError(vault.read('openldap/static-role/temp'))).statusCode).toBe(404);
  });

  it("rotate-root rotates the engine's own bind account (not the server administrator)", async () => {
    const e = await vaultError(vault.write('openldap/rotate-root', {}));
    expect(e.statusCode).toBe(400);
    // a directory account with write access to passwords: the admin makes one
    const add = await runTool('ldapadd', ['-H', srv.url, ...bindArgs(...ADMIN)], {
      stdin: `dn: cn=vault,ou=services,${B}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: vault\nuserPassword: vault-initial\n`,
    });
    expect(add.code).toBe(0);
    await vault.write('openldap/config', { binddn: `cn=vault,ou=services,${B}`, bindpass: 'vault-initial', schema: 'openldap' });
    await vault.write('openldap/rotate-root', {});
    expect(await whoami(`cn=vault,ou=services,${B}`, 'vault-initial')).toBe(49);
    const cfg = (await vault.read('openldap/config')).data;
    expect(cfg).not.toHaveProperty('bindpass');
    expect(Date.parse(cfg.last_bind_password_rotation)).toBeGreaterThan(Date.now() - 60_000);
    // the default access rules give cn=vault no write access to people's passwords
    const denied = await vaultError(vault.write('openldap/rotate-role/alice', {}));
    expect(denied.statusCode).toBe(500);
    expect(denied.body.errors[0]).toMatch(/no write access/);
    // back to the administrator for the rest
    await vault.write('openldap/config', { binddn: ADMIN[0], bindpass: ADMIN[1] });
    await vault.write('openldap/rotate-role/alice', {});
  });

  it('the CLI talks to the running API', async () => {
    const env = { ...process.env, ASTLDAP_ROOT_TOKEN: TOKEN };
    const run = (...args: string[]) => execFileP(process.execPath, [CLI, ...args, '--admin-url', api], { env, cwd: dataDir() });
    expect((await run('role', 'list')).stdout.split('\n')).toEqual(expect.arrayContaining(['alice', 'fast', 'sip1000']));
    const before = JSON.parse((await run('cred', 'alice')).stdout) as { password: string };
    await run('rotate', 'alice');
    const after = JSON.parse((await run('cred', 'alice')).stdout) as { password: string; last_password: string };
    expect(after.last_password).toBe(before.password);
    expect(await whoami(ALICE, after.password)).toBe(0);
    await run('role', 'create', 'cli-bob', '--dn', `cn=1001,ou=sip,${B}`, '--rotation-period', '1h', '--skip-import-rotation');
    expect(JSON.parse((await run('role', 'get', 'cli-bob')).stdout)).toMatchObject({ dn: `cn=1001,ou=sip,${B}`, rotation_period: 3600 });
    await run('role', 'delete', 'cli-bob');
    await expect(run('role', 'get', 'cli-bob')).rejects.toThrow();
  });

  it('after a restart an overdue rotation runs at once', async () => {
    await vault.delete('openldap/static-role/alice');
    expect((await vaultError(vault.read('openldap/static-role/alice'))).statusCode).toBe(404);
    const before = await cred('fast');
    await srv.kill('SIGTERM');
    await sleep(6500); // the 5 s period passes while the server is down
    const restarted = Date.now();
    await start();
    const after = await until(
      'the overdue rotation',
      async () => {
        const c = await cred('fast');
        return Date.parse(c.last_vault_rotation) >= restarted - 1000 ? c : undefined;
      },
      3000,
    );
    expect(after.password).not.toBe(before.password);
    expect(await whoami(BOB, after.password)).toBe(0);
    await vault.delete('openldap/static-role/fast');
    await vault.delete('openldap/static-role/sip1000');
    expect((await vaultError(vault.list('openldap/static-role'))).statusCode).toBe(404);
  }, 30_000);
});

// The admin API as one declarative table (src/admin/api/framework.ts): every record type's body is
// checked from its declared fields (an unknown field, a wrong type: 400 with Vault's text), the
// sudo and default-policy flags of a row decide as Vault's do, the server's own rows (metrics,
// sys/astldap/*) are rows like the others (ACL included), and a path no row declares is 404
// while a declared path with an undeclared method is 405. Against the real server over HTTP.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathTable } from '../../src/admin/api/framework.js';
import { CONFIG_FIELDS } from '../../src/admin/engine/config.js';
import { DYNAMIC_ROLE_FIELDS } from '../../src/admin/dynamic/dynamic.js';
import { LIBRARY_SET_FIELDS } from '../../src/admin/library/library.js';
import { ROLE_FIELDS } from '../../src/admin/static/roles.js';
import type { AstldapServer } from '../../src/index.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { startAdminServer, vaultRequest } from '../helpers/vault.js';

const ROOT = 'hvs.admin-paths-test-root';
const B = 'dc=example,dc=domain';

let server: AstldapServer;
let api: string;
let dir: string;

async function tokenWith(policy: string): Promise<string> {
  const name = `p${Math.random().toString(36).slice(2, 8)}`;
  expect((await vaultRequest(api, 'PUT', `sys/policies/acl/${name}`, ROOT, { policy })).status).toBe(204);
  const r = await vaultRequest(api, 'POST', 'auth/token/create', ROOT, { policies: [name] });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return r.json.auth.client_token as string;
}

describe('the admin path table', () => {
  beforeAll(async () => {
    dir = tempDir('astldap-admin-paths-');
    server = await startAdminServer(dir, ROOT);
    api = server.adminUrl!;
    const cfg = await vaultRequest(api, 'POST', 'ldap/config', ROOT, { binddn: `cn=admin,${B}`, bindpass: 'secret', url: 'embedded' });
    expect(cfg.status, JSON.stringify(cfg.json)).toBe(204);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    if (dir) removeDir(dir);
  });

  it.each([
    ['ldap/config', CONFIG_FIELDS],
    ['ldap/static-role/r1', ROLE_FIELDS],
    ['ldap/role/d1', DYNAMIC_ROLE_FIELDS],
    ['ldap/library/s1', LIBRARY_SET_FIELDS],
  ])('%s: an undeclared field is refused with its name', async (p) => {
    const r = await vaultRequest(api, 'POST', p, ROOT, { bogus_field: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.errors).toEqual(['unknown field: bogus_field']);
  });

  it('a declared field of the wrong type is refused before the record is touched', async () => {
    const bool = await vaultRequest(api, 'POST', 'ldap/static-role/r1', ROOT, { dn: `cn=admin,${B}`, skip_import_rotation: 'maybe' });
    expect(bool.status).toBe(400);
    expect(bool.json.errors).toEqual(['invalid skip_import_rotation: expected a boolean']);
    const dur = await vaultRequest(api, 'POST', 'ldap/library/s1', ROOT, { ttl: 'soon', service_account_names: 'x' });
    expect(dur.status).toBe(400);
    expect(dur.json.errors[0]).toMatch(/^invalid ttl: "soon"/);
    const text = await vaultRequest(api, 'POST', 'ldap/role/d1', ROOT, { creation_ldif: { not: 'a string' } });
    expect(text.status).toBe(400);
    expect(text.json.errors).toEqual(['invalid creation_ldif: expected a string']);
    // Nothing was stored by the refused writes.
    expect((await vaultRequest(api, 'GET', 'ldap/static-role/r1', ROOT)).status).toBe(404);
    expect((await vaultRequest(api, 'GET', 'ldap/library/s1', ROOT)).status).toBe(404);
  });

  it('every mount declares the same rows (openldap, ldap and the configured one)', async () => {
    for (const m of ['openldap', 'ldap']) {
      const r = await vaultRequest(api, 'GET', `${m}/config`, ROOT);
      expect(r.status, m).toBe(200);
      expect(r.json.data.binddn).toBe(`cn=admin,${B}`);
    }
  });

  it('an undeclared path is 404, a declared path with an undeclared method 405', async () => {
    const none = await vaultRequest(api, 'GET', 'ldap/no-such-thing', ROOT);
    expect(none.status).toBe(404);
    expect(none.json.errors[0]).toMatch(/unsupported path/);
    const method = await vaultRequest(api, 'DELETE', 'ldap/creds/x', ROOT);
    expect(method.status).toBe(405);
    expect(method.json.errors[0]).toMatch(/unsupported operation/);
  });

  it('a sudo row needs sudo besides update; a default-policy row needs no policy at all', async () => {
    const noSudo = await tokenWith('path "sys/rotate" { capabilities = ["update"] }');
    expect((await vaultRequest(api, 'POST', 'sys/rotate', noSudo)).status).toBe(403);
    const sudo = await tokenWith('path "sys/rotate" { capabilities = ["update", "sudo"] }');
    expect((await vaultRequest(api, 'POST', 'sys/rotate', sudo)).status).toBe(200);
    const nothing = await tokenWith('path "secret/*" { capabilities = ["read"] }');
    expect((await vaultRequest(api, 'GET', 'auth/token/lookup-self', nothing)).status).toBe(200);
    expect((await vaultRequest(api, 'GET', 'ldap/config', nothing)).status).toBe(403);
  });

  it("the server's own rows: /metrics open, sys/astldap/* by the caller's policies", async () => {
    const metrics = await fetch(`${api}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/astldap_/);
    expect((await fetch(`${api}/metrics`, { method: 'POST' })).status).toBe(405);
    expect((await vaultRequest(api, 'GET', 'sys/astldap/status', '')).status).toBe(403);
    const status = await vaultRequest(api, 'GET', 'sys/astldap/status', ROOT);
    expect(status.status).toBe(200);
    expect(status.json.data.suffix).toBe(B);
    const reader = await tokenWith('path "sys/astldap/status" { capabilities = ["read"] }');
    expect((await vaultRequest(api, 'GET', 'sys/astldap/status', reader)).status).toBe(200);
    expect((await vaultRequest(api, 'GET', 'sys/astldap/backup', reader)).status).toBe(403);
    const health = await fetch(`${api}/v1/sys/health`);
    expect(health.status).toBe(200);
  });
});

describe('PathTable matching', () => {
  const op = async () => undefined;
  const table = new PathTable(
    [
      { pattern: 'sys/rotate', operations: { POST: op } },
      { mounted: true, pattern: 'library/manage/*set/check-in', operations: { POST: op } },
      { mounted: true, pattern: 'library/*set/check-in', operations: { POST: op } },
      { mounted: true, pattern: 'library/*name', operations: { GET: op } },
      { mounted: true, pattern: 'creds/:name', operations: { GET: op } },
    ],
    ['ldap', 'openldap'],
  );

  it('the first declared row wins; * takes one or more segments (a trailing / too), : exactly one; a trailing / is the same path', () => {
    expect(table.find('ldap/library/manage/a/b/check-in')).toMatchObject({ params: { set: 'a/b' }, mount: 'ldap' });
    expect(table.find('openldap/library/team/x/check-in')).toMatchObject({ params: { set: 'team/x' }, mount: 'openldap' });
    expect(table.find('ldap/library/team/x')).toMatchObject({ params: { name: 'team/x' } });
    expect(table.find('ldap/creds/a/b')).toBeUndefined();
    expect(table.find('ldap/creds/a/')).toMatchObject({ params: { name: 'a' } });
    expect(table.find('ldap/library/a/')).toMatchObject({ params: { name: 'a/' } });
    expect(table.find('ldap/library/a\nb')).toMatchObject({ params: { name: 'a\nb' } });
    expect(table.find('other/creds/a')).toBeUndefined();
    expect(table.find('sys/rotate')?.path.pattern).toBe('sys/rotate');
  });
});

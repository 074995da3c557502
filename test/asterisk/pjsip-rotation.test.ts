// Rotating the credentials Asterisk reads (issue 13): the admin API (driven with node-vault)
// rotates PJSIP auths in `asterisk` schema mode, then the res_config_ldap model (driver.ts)
// replays sorcery's ps_auths lookup through ldapsearch, as Asterisk's identity, and checks what
// res_pjsip would use: md5_cred = MD5(username:realm:new password), or the userpass password.
// Outbound auths, endpoints and PJSIP auths outside the asterisk schema are refused with 400.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { repoRoot, SUFFIX } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { parseLdifEntries, runTool } from '../helpers/tools.js';
import { vaultClient, vaultRequest, type VaultClient, startAdminServer } from '../helpers/vault.js';
import { Driver, loadDriverConfig, pjsipAccepts, singleRow, value, type Backend } from './driver.js';
import { ASTERISK_DN } from './slapd-asterisk.js';

const B = SUFFIX;
const AUTHS = `ou=auths,ou=pjsip,${B}`;
const TOKEN = 'pjsip-rotation-token-0123';
const read = (p: string) => readFileSync(path.join(repoRoot, p), 'utf8');
const CFG = loadDriverConfig(read('data/asterisk/res_ldap.conf'), read('data/asterisk/extconfig.conf'));
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

const EXTRA = `
dn: cn=2000,${AUTHS}
objectClass: AstldapPjsipAuth
cn: 2000
AstPjsipAuthAuthType: userpass
AstPjsipAuthUsername: 2000
AstAccountSecret: carol-secret

dn: cn=3000,${AUTHS}
objectClass: AstldapPjsipAuth
cn: 3000
AstPjsipAuthAuthType: md5
AstPjsipAuthUsername: dave
AstPjsipAuthMd5Cred: 00000000000000000000000000000000

dn: cn=4000,${AUTHS}
objectClass: AstldapPjsipAuth
cn: 4000
AstPjsipAuthAuthType: google_oauth
AstPjsipAuthUsername: 4000
`;

let server: AstldapServer;
let vault: VaultClient;

const backend = (url: string): Backend => ({
  async search(base, filter) {
    const r = await runTool('ldapsearch', [
      '-x',
      '-H',
      url,
      '-D',
      ASTERISK_DN,
      '-w',
      'asterisk',
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-b',
      base,
      filter,
    ]);
    return { code: r.code, entries: r.code === 0 ? parseLdifEntries(r.stdout) : [] };
  },
  modify: () => Promise.reject(new Error('read-only')),
});
/** What sorcery reads for ps_auths id=<id>, through the driver model. */
const psAuth = async (id: string) => singleRow(await new Driver(CFG, backend(server.url)).realtimeFields('ps_auths', [['id', id]]));
const call = (method: string, p: string, body?: unknown) => vaultRequest(server.adminUrl!, method, p, TOKEN, body);
const errorOf = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as { response: { statusCode: number; body: { errors: string[] } } };
  }
  throw new Error('expected an error');
};

describe('PJSIP credential rotation, read back through the res_config_ldap model', () => {
  const tmp = useTempDir('astldap-pjsip-');

  beforeAll(async () => {
    server = await startAdminServer(tmp(), TOKEN, { seedLdif: read('data/asterisk/sample.ldif') + '\n' + EXTRA });
    vault = vaultClient(server.adminUrl!, TOKEN);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('schema openldap refuses a PJSIP auth (userPassword is not what Asterisk reads): 400', async () => {
    await vault.write('openldap/config', { binddn: `cn=admin,${B}`, bindpass: 'secret', schema: 'openldap' });
    const e = await errorOf(vault.write('openldap/static-role/pj1000', { dn: `cn=1000,${AUTHS}`, rotation_period: '1h' }));
    expect(e.response.statusCode).toBe(400);
    expect(e.response.body.errors[0]).toMatch(/is a PJSIP auth: Asterisk never reads userPassword/);
    const entry = await server.directory.store.get(server.directory.normalize(`cn=1000,${AUTHS}`));
    expect(entry!.attrs['objectclass']).toEqual(['AstldapPjsipAuth']);
  });

  it('md5 auth: md5_cred = MD5(username:realm:new password); static-cred tells username, realm, auth type', async () => {
    await vault.write('openldap/config', { schema: 'asterisk' });
    await vault.write('openldap/static-role/pj1000', { dn: `cn=1000,${AUTHS}`, rotation_period: '1h' });
    const cred = (await vault.read('openldap/static-cred/pj1000')).data;
    expect(cred.asterisk).toEqual({ type: 'pjsip_auth', username: '1000', realm: 'asterisk', auth_type: 'md5' });
    const row = await psAuth('1000');
    expect(value(row, 'md5_cred')).toBe(md5(`1000:asterisk:${cred.password}`));
    expect(value(row, 'md5_cred')).not.toBe('31524b771a89e5e99501325f29e66599');
    expect(pjsipAccepts(row, '1000', cred.password)).toBe(true);
    expect(pjsipAccepts(row, '1000', 'alice-secret')).toBe(false);
    expect(value(row, 'auth_type')).toBe('md5');
    expect(value(row, 'password')).toBeUndefined();
    const entry = await server.directory.store.get(server.directory.normalize(`cn=1000,${AUTHS}`));
    expect(entry!.attrs['userpassword']).toBeUndefined();
    expect(entry!.attrs['objectclass']).toEqual(['AstldapPjsipAuth']);

    await vault.write('openldap/rotate-role/pj1000', {});
    const next = (await vault.read('openldap/static-cred/pj1000')).data;
    expect(next.last_password).toBe(cred.password);
    expect(value(await psAuth('1000'), 'md5_cred')).toBe(md5(`1000:asterisk:${next.password}`));
    expect(pjsipAccepts(await psAuth('1000'), '1000', next.password)).toBe(true);
    expect(pjsipAccepts(await psAuth('1000'), '1000', cred.password)).toBe(false);
  });

  it('md5 auth without a realm uses the configured default realm; with a username unlike its cn', async () => {
    await vault.write('openldap/config', { asterisk_realm: 'pbx.example.domain' });
    await vault.write('openldap/static-role/dave', { dn: `cn=3000,${AUTHS}`, rotation_period: '1h' });
    const cred = (await vault.read('openldap/static-cred/dave')).data;
    expect(cred.asterisk).toMatchObject({ username: 'dave', realm: 'pbx.example.domain' });
    expect(value(await psAuth('3000'), 'md5_cred')).toBe(md5(`dave:pbx.example.domain:${cred.password}`));
    await vault.write('openldap/config', { asterisk_realm: 'asterisk' });
  });

  it('userpass auth: the password res_ldap.conf maps (AstAccountSecret) is the new one', async () => {
    await vault.write('openldap/static-role/pj1001', { dn: `cn=1001,${AUTHS}`, rotation_period: '1h' });
    const cred = (await vault.read('openldap/static-cred/pj1001')).data;
    expect(cred.asterisk).toEqual({ type: 'pjsip_auth', username: '1001', realm: 'asterisk', auth_type: 'userpass' });
    const row = await psAuth('1001');
    expect(value(row, 'password')).toBe(cred.password);
    expect(value(row, 'auth_type')).toBe('userpass');
    expect(pjsipAccepts(row, '1001', cred.password)).toBe(true);
    expect(pjsipAccepts(row, '1001', 'bob-secret')).toBe(false);
  });

  it('userpass converted to md5 when configured: no cleartext stays at rest', async () => {
    await vault.write('openldap/config', { asterisk_userpass_to_md5: true });
    await vault.write('openldap/static-role/pj2000', { dn: `cn=2000,${AUTHS}`, rotation_period: '1h' });
    const cred = (await vault.read('openldap/static-cred/pj2000')).data;
    expect(cred.asterisk.auth_type).toBe('md5');
    const row = await psAuth('2000');
    expect(value(row, 'auth_type')).toBe('md5');
    expect(value(row, 'password')).toBeUndefined();
    expect(value(row, 'md5_cred')).toBe(md5(`2000:asterisk:${cred.password}`));
    expect(pjsipAccepts(row, '2000', cred.password)).toBe(true);
    expect(pjsipAccepts(row, '2000', 'carol-secret')).toBe(false);
    await vault.write('openldap/config', { asterisk_userpass_to_md5: false });
  });

  it('refuses, with 400 and the reason: an outbound auth, an endpoint, an auth type without a password', async () => {
    const trunk = await errorOf(vault.write('openldap/static-role/trunk', { dn: `cn=provider,${AUTHS}`, rotation_period: '1h' }));
    expect(trunk.response.statusCode).toBe(400);
    expect(trunk.response.body.errors[0]).toMatch(/is an outbound auth \(outbound_auth of cn=provider,ou=endpoints.*would break the trunk/);
    const ep = await errorOf(vault.write('openldap/static-role/ep', { dn: `cn=1000,ou=endpoints,ou=pjsip,${B}`, rotation_period: '1h' }));
    expect(ep.response.statusCode).toBe(400);
    expect(ep.response.body.errors[0]).toMatch(/is a PJSIP endpoint.*auth=1000/);
    const oauth = await errorOf(vault.write('openldap/static-role/oauth', { dn: `cn=4000,${AUTHS}`, rotation_period: '1h' }));
    expect(oauth.response.statusCode).toBe(400);
    expect(oauth.response.body.errors[0]).toMatch(/auth_type google_oauth keeps no password/);
    expect(value(await psAuth('provider'), 'password')).toBe('provider-secret');
    for (const n of ['trunk', 'ep', 'oauth']) expect((await call('GET', `openldap/static-role/${n}`)).status).toBe(404);
  });

  it('an auth that becomes a trunk credential later: the rotation fails loudly and the secret stays', async () => {
    const mod = await runTool('ldapmodify', ['-x', '-H', server.url, '-D', `cn=admin,${B}`, '-w', 'secret'], {
      stdin: `dn: cn=provider,ou=registrations,ou=pjsip,${B}\nchangetype: modify\nreplace: AstPjsipRegistrationOutboundAuth\nAstPjsipRegistrationOutboundAuth: provider,1001\n`,
    });
    expect(mod.code, mod.stderr).toBe(0);
    const before = value(await psAuth('1001'), 'password');
    const r = await call('POST', 'openldap/rotate-role/pj1001');
    expect(r.status).toBe(500);
    expect(r.json.errors[0]).toMatch(/outbound auth/);
    expect(value(await psAuth('1001'), 'password')).toBe(before);
    expect((await call('GET', 'openldap/static-cred/pj1001')).json.data.password).toBe(before);
  });

  it('role names with path-like or control characters are refused (400)', async () => {
    for (const name of ['..%2F..%2Fx', '%2E%2E%2Fx', 'a%2F..%2Fb', 'x%2F..', '%2Fx', 'a%2F%2Fb', 'a%0Ab', 'a%00b', 'a%2F']) {
      const r = await call('POST', `openldap/static-role/${name}`, { dn: `cn=1000,${AUTHS}`, rotation_period: '1h' });
      expect(r.status, name).toBe(400);
      expect(r.json.errors[0], name).toMatch(/invalid role name/);
    }
    const p = await call('POST', 'sys/policies/password/..%2Fp', { policy: 'length = 20\nrule "charset" { charset = "abc" }' });
    expect(p.status).toBe(400);
    for (const path of [
      'openldap/static-role/..%2Fx',
      'ldap/role/..%2Fx',
      'ldap/library/..%2Fx',
      'sys/policies/acl/..%2Fx',
      'sys/policies/password/..%2Fx',
    ]) {
      expect((await call('DELETE', path)).status, path).toBe(400);
    }
  });
});

// The rest of Vault's LDAP engine, driven with node-vault against a running server (issue 13):
// the `ldap` mount beside `openldap`; a dynamic role creating a temporary Asterisk PJSIP phone
// (endpoint + aor + auth from an LDIF template, read back as Asterisk's identity), its lease
// looked up, renewed, revoked and expiring on time; library check-out / check-in with borrower
// enforcement; tokens with ACL policies; the audit log (0600, secrets HMAC'd).

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { phoneRole, vaultClient, vaultRequest, type VaultClient, startAdminServer } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const TOKEN = 'vault-engine-token-0123';
const PJSIP = `ou=pjsip,${B}`;
const ASTERISK = [`cn=asterisk,ou=services,${B}`, 'asterisk'] as const;
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');

const { creation: PHONE_CREATION, deletion: PHONE_DELETION } = phoneRole(B);

let server: AstldapServer;
let vault: VaultClient;
let dataDir: string;
const call = (method: string, p: string, body?: unknown, token = TOKEN) => vaultRequest(server.adminUrl!, method, p, token, body);
const ldapsearch = async (base: string, filter = '(objectClass=*)') => {
  const r = await runTool('ldapsearch', ['-H', server.url, ...bindArgs(...ASTERISK), '-LLL', '-o', 'ldif-wrap=no', '-b', base, filter]);
  return r.code === 0 ? parseLdifEntries(r.stdout) : [];
};
const whoami = async (dn: string, pw: string) => (await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(dn, pw)])).code;
/** A new token from node-vault's tokenCreate (on a client of its own: node-vault switches a client to the token it creates). */
const mint = async (body: Record<string, unknown>) => (await vaultClient(server.adminUrl!, TOKEN).tokenCreate(body)).auth;
/** Polls until check() holds (bounded generously: timers, not machine speed, decide). */
async function eventually(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function start(): Promise<void> {
  server = await startAdminServer(dataDir, TOKEN, {
    memory: false,
    dataDir,
    seedLdif: readFileSync(path.join(repoRoot, 'data/asterisk/sample.ldif'), 'utf8'),
  });
  vault = vaultClient(server.adminUrl!, TOKEN);
}

describe('Vault LDAP engine over the embedded directory (node-vault)', () => {
  const tmp = useTempDir('astldap-vault-engine-');

  beforeAll(async () => {
    dataDir = tmp();
    await start();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers on the ldap mount as on openldap', async () => {
    await vault.write('ldap/config', { binddn: `cn=admin,${B}`, bindpass: 'secret', userdn: `ou=people,${B}`, userattr: 'uid' });
    expect((await vault.read('openldap/config')).data.userdn).toBe(`ou=people,${B}`);
    expect((await vault.read('ldap/config')).data.binddn).toBe(`cn=admin,${B}`);
  });

  it('dynamic role: a temporary PJSIP phone, its md5_cred right, revoked with its lease', async () => {
    await vault.write('ldap/role/phone', {
      creation_ldif: PHONE_CREATION,
      deletion_ldif: PHONE_DELETION,
      username_template: 'tmp{{random 8}}',
      default_ttl: '1h',
      max_ttl: '2h',
    });
    expect((await vault.read('ldap/role/phone')).data.default_ttl).toBe(3600);
    const creds = await vault.read('ldap/creds/phone');
    const { username, password, distinguished_names } = creds.data;
    expect(username).toMatch(/^tmp[A-Za-z0-9]{8}$/);
    expect(distinguished_names).toHaveLength(3);
    // As Vault names it: by the mount the request came through (this engine answers on both).
    expect(creds.lease_id).toMatch(/^ldap\/creds\/phone\//);
    expect(creds.lease_duration).toBe(3600);
    const [auth] = await ldapsearch(`cn=${username},ou=auths,${PJSIP}`);
    expect(auth!.attrs.get('astpjsipauthmd5cred')?.values).toEqual([md5(`${username}:asterisk:${password}`)]);
    expect(await ldapsearch(`ou=endpoints,${PJSIP}`, `(cn=${username})`)).toHaveLength(1);

    const lookup = await vault.write('sys/leases/lookup', { lease_id: creds.lease_id });
    expect(lookup.data.id).toBe(creds.lease_id);
    expect(lookup.data.ttl).toBeGreaterThan(3000);
    const renewed = await vault.write('sys/leases/renew', { lease_id: creds.lease_id, increment: '3h' });
    expect(renewed.lease_duration).toBeLessThanOrEqual(7200); // capped by max_ttl
    await vault.write('sys/leases/revoke', { lease_id: creds.lease_id });
    for (const dn of distinguished_names) expect(await ldapsearch(dn)).toEqual([]);
    expect((await call('POST', 'sys/leases/lookup', { lease_id: creds.lease_id })).status).toBe(400);
    const viaOpenldap = await vault.read('openldap/creds/phone');
    expect(viaOpenldap.lease_id).toMatch(/^openldap\/creds\/phone\//);
    await vault.write('sys/leases/revoke', { lease_id: viaOpenldap.lease_id });
  });

  it('a bad template or LDIF is refused when the role is written (400)', async () => {
    const bad = await call('POST', 'ldap/role/bad', {
      creation_ldif: 'dn: cn={{.Nope}},ou=auths\ncn: x\n',
      deletion_ldif: 'dn: cn=x\nchangetype: delete\n',
    });
    expect(bad.status).toBe(400);
    expect(bad.json.errors[0]).toMatch(/unknown field \.Nope/);
    expect((await call('POST', 'ldap/role/..%2Fx', { creation_ldif: PHONE_CREATION, deletion_ldif: PHONE_DELETION })).status).toBe(400);
  });

  it('a creation LDIF that fails halfway leaves nothing: no entry, no lease', async () => {
    const broken = PHONE_CREATION.replace(`ou=endpoints,${PJSIP}`, `ou=nowhere,${PJSIP}`); // the last entry has no parent
    await vault.write('ldap/role/broken', { creation_ldif: broken, deletion_ldif: PHONE_DELETION, username_template: 'brk{{random 6}}' });
    const r = await call('GET', 'ldap/creds/broken');
    expect(r.status).toBe(500);
    expect(r.json.errors[0]).toMatch(/ou=nowhere/);
    expect(await ldapsearch(`ou=auths,${PJSIP}`, '(cn=brk*)')).toEqual([]);
    expect(await ldapsearch(`ou=aors,${PJSIP}`, '(cn=brk*)')).toEqual([]);
    const leases: string[] = [];
    for await (const [k] of server.directory.store.scanMeta('lease/')) if (k.includes('/creds/broken/')) leases.push(k);
    expect(leases).toEqual([]);
  });

  it('expired dynamic credentials are deleted on time, also across a restart', async () => {
    await vault.write('ldap/role/short', {
      creation_ldif: PHONE_CREATION,
      deletion_ldif: PHONE_DELETION,
      default_ttl: '2s',
      max_ttl: '1h',
    });
    const live = (await vault.read('ldap/creds/short')).data;
    const downed = (await vault.read('ldap/creds/short')).data;
    expect(await ldapsearch(downed.distinguished_names[0])).toHaveLength(1);
    await server.close(); // this one expires while the server is down
    await new Promise((r) => setTimeout(r, 2500));
    await start();
    await eventually(async () => (await ldapsearch(downed.distinguished_names[0])).length === 0);
    await eventually(async () => (await ldapsearch(live.distinguished_names[0])).length === 0);
    for (const dn of [...live.distinguished_names, ...downed.distinguished_names]) expect(await ldapsearch(dn)).toEqual([]);
  });

  it('library: check-out lends a working password, enforcement, check-in makes it stop working', async () => {
    await vault.write('ldap/library/people', { service_account_names: ['alice', 'bob'], ttl: '1h', max_ttl: '2h' });
    expect((await vault.read('ldap/library/people')).data.service_account_names).toEqual(['alice', 'bob']);
    const other = (await mint({ policies: ['library-user'], ttl: '1h' })).client_token;
    await vault.write('sys/policies/acl/library-user', {
      policy: 'path "ldap/library/people/*" { capabilities = ["create", "update", "read"] }',
    });

    const a = await vault.write('ldap/library/people/check-out', { ttl: '10m' });
    expect(a.lease_duration).toBeGreaterThan(500);
    const dnOf = (n: string) => `uid=${n},ou=people,${B}`;
    expect(await whoami(dnOf(a.data.service_account_name), a.data.password)).toBe(0);
    const b = await call('POST', 'ldap/library/people/check-out', {}, other);
    expect(b.status).toBe(200);
    expect(b.json.data.service_account_name).not.toBe(a.data.service_account_name);
    const none = await call('POST', 'ldap/library/people/check-out', {});
    expect(none.status).toBe(400);
    expect(none.json.errors[0]).toMatch(/no service accounts available/);
    const status = (await vault.read('ldap/library/people/status')).data;
    expect(status[a.data.service_account_name].available).toBe(false);

    // the other token may not check in what root borrowed
    const stolen = await call('POST', 'ldap/library/people/check-in', { service_account_names: [a.data.service_account_name] }, other);
    expect(stolen.status).toBe(400);
    expect(stolen.json.errors[0]).toMatch(/checked out by another entity/);
    const back = await vault.write('ldap/library/people/check-in', { service_account_names: [a.data.service_account_name] });
    expect(back.data.check_ins).toEqual([a.data.service_account_name]);
    expect(await whoami(dnOf(a.data.service_account_name), a.data.password)).toBe(49);
    const mine = await call('POST', 'ldap/library/people/check-in', {}, other);
    expect(mine.json.data.check_ins).toEqual([b.json.data.service_account_name]);
    expect(await whoami(dnOf(b.json.data.service_account_name), b.json.data.password)).toBe(49);
    expect(Object.values((await vault.read('ldap/library/people/status')).data).every((s: any) => s.available)).toBe(true);
  });

  it('tokens with policies: only what the policy allows; lookup-self; revoke-self', async () => {
    await vault.write('openldap/static-role/asterisk-1000', { dn: `cn=1000,ou=sip,${B}`, rotation_period: '1h' }).catch(() => undefined);
    await vault.write('openldap/static-role/alice', { dn: `uid=alice,ou=people,${B}`, rotation_period: '1h' });
    await vault.addPolicy({
      name: 'asterisk-reader',
      rules: 'path "openldap/static-cred/asterisk-*" { capabilities = ["read"] }\npath "ldap/+/asterisk-*" { capabilities = ["read"] }',
    });
    expect((await vault.getPolicy({ name: 'asterisk-reader' })).data.rules).toMatch(/asterisk-\*/);
    const t = await mint({ policies: ['asterisk-reader'], ttl: '10m', display_name: 'reader' });
    const token = t.client_token;
    expect(t.policies).toEqual(['asterisk-reader']);
    const reader = vaultClient(server.adminUrl!, token);
    const self = await reader.tokenLookupSelf();
    expect(self.data.policies).toEqual(['asterisk-reader']);
    expect(self.data.ttl).toBeGreaterThan(500);
    expect((await call('GET', 'openldap/static-cred/alice', undefined, token)).status).toBe(403);
    expect((await call('GET', 'ldap/static-cred/alice', undefined, token)).status).toBe(403);
    expect((await call('POST', 'openldap/config', { length: 20 }, token)).status).toBe(403);
    expect((await call('POST', 'auth/token/create', { policies: ['root'] }, token)).status).toBe(403); // not in its policy
    // a token that may create tokens still cannot give them more than it has
    await vault.write('sys/policies/acl/minter', { policy: 'path "auth/token/create" { capabilities = ["update"] }' });
    const minter = (await mint({ policies: ['minter', 'asterisk-reader'] })).client_token;
    const up = await call('POST', 'auth/token/create', { policies: ['root'] }, minter);
    expect(up.status).toBe(400);
    expect(up.json.errors[0]).toMatch(/subset of parent/);
    expect((await call('POST', 'auth/token/create', { policies: ['asterisk-reader'] }, minter)).status).toBe(200);
    expect((await call('GET', 'openldap/static-cred/asterisk-none', undefined, token)).status).toBe(404); // allowed, absent
    await vault.write('sys/policies/acl/role-lister', { policy: 'path "ldap/static-role/*" { capabilities = ["list"] }' });
    const lister = (await mint({ policies: ['role-lister'] })).client_token;
    const listed = await call('LIST', 'ldap/static-role', undefined, lister);
    expect(listed.status).toBe(200);
    expect(listed.json.data.keys).toContain('alice');
    expect((await call('GET', 'ldap/static-role/alice', undefined, lister)).status).toBe(403);
    await reader.tokenRevokeSelf();
    expect((await call('GET', 'auth/token/lookup-self', undefined, token)).status).toBe(403);
  });

  it('audit log: one JSON line per request, 0600, secrets only as HMACs', async () => {
    const file = path.join(dataDir, 'audit.log');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const cred = (await vault.read('openldap/static-cred/alice')).data;
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(cred.password);
    expect(text).not.toContain(TOKEN);
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const last = lines.filter((l) => l.request.path === 'openldap/static-cred/alice').pop();
    expect(last.auth.client_token).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    const hash = (await vault.write('sys/audit-hash/file', { input: cred.password })).data.hash;
    expect(last.response.data.password).toBe(hash);
    const configWrite = lines.find((l) => l.request.path === 'ldap/config' && l.request.operation === 'update');
    const bindHash = (await vault.write('sys/audit-hash/file', { input: 'secret' })).data.hash;
    expect(configWrite.request.data.bindpass).toBe(bindHash);
    const denied = lines.find((l) => l.response.status === 403);
    expect(denied.error).toBe('permission denied');
  });
});

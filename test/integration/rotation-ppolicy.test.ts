// The admin engine under the directory's password policy (ppolicy): a static role whose every
// rotation the policy would refuse is not created (the engine's password policy checked against
// pwdMinLength, pwdSafeModify, pwdMustChange); a rotation the policy refuses (pwdMinAge) is a
// clean rotation error recorded on the role, the entry unchanged; an accepted rotation leaves
// the policy's state (pwdChangedTime, pwdHistory) as a Password Modify would.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { startAdminServer, vaultRequest } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const POL = `ou=policies,${B}`;
const P = `ou=people,${B}`;
const VAULT_DN = `cn=vault,ou=services,${B}`;
const user = (uid: string) => `uid=${uid},${P}`;

function policy(cn: string, lines: string[]): string {
  return [
    `dn: cn=${cn},${POL}`,
    'objectClass: device',
    'objectClass: pwdPolicy',
    `cn: ${cn}`,
    'pwdAttribute: userPassword',
    ...lines,
    '',
  ].join('\n');
}

function person(uid: string, pol?: string): string {
  return [
    `dn: ${user(uid)}`,
    'objectClass: inetOrgPerson',
    `uid: ${uid}`,
    `cn: ${uid}`,
    `sn: ${uid}`,
    `userPassword: ${uid}-initial-password`,
    ...(pol ? [`pwdPolicySubentry: cn=${pol},${POL}`] : []),
    '',
  ].join('\n');
}

const FIXTURE = [
  `dn: ${B}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
  `dn: ${POL}\nobjectClass: organizationalUnit\nou: policies\n`,
  `dn: ${P}\nobjectClass: organizationalUnit\nou: people\n`,
  `dn: ou=services,${B}\nobjectClass: organizationalUnit\nou: services\n`,
  `dn: ${VAULT_DN}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: vault\nuserPassword: vault-initial\n`,
  `dn: cn=password-managers,ou=services,${B}\nobjectClass: groupOfNames\ncn: password-managers\nmember: ${VAULT_DN}\n`,
  policy('default', ['pwdCheckQuality: 1', 'pwdMinLength: 12', 'pwdInHistory: 2']),
  policy('safe', ['pwdSafeModify: TRUE']),
  policy('young', ['pwdMinAge: 86400']),
  policy('reset', ['pwdMustChange: TRUE']),
  person('alice'),
  person('sam', 'safe'),
  person('yuri', 'young'),
  person('rita', 'reset'),
].join('\n');

const tmp = useTempDir('astldap-rotation-ppolicy-');
let server: AstldapServer;
let token: string;
const call = (method: string, p: string, body?: unknown) => vaultRequest(server.adminUrl!, method, p, token, body);

async function entry(dn: string): Promise<ReturnType<typeof parseLdifEntries>[number]> {
  const r = await runTool('ldapsearch', [
    '-H',
    server.url,
    '-x',
    ...bindArgs(`cn=admin,${B}`, 'secret'),
    '-LLL',
    '-b',
    dn,
    '-s',
    'base',
    '*',
    '+',
  ]);
  return parseLdifEntries(r.stdout)[0]!;
}

beforeAll(async () => {
  delete process.env.ASTLDAP_ROOT_TOKEN;
  server = await startAdminServer(tmp(), undefined, {
    seed: false,
    seedLdif: FIXTURE,
    config: { passwordPolicy: { default: `cn=default,${POL}`, useLockout: true } },
  });
  token = readFileSync(path.join(tmp(), 'root-token'), 'utf8').trim();
  // The engine binds as a password manager (not the administrator, whom slapd's ppolicy exempts).
  expect((await call('POST', 'openldap/config', { binddn: VAULT_DN, bindpass: 'vault-initial' })).status).toBe(204);
});

afterAll(async () => {
  await server?.close();
});

describe('rotation under the directory password policy', () => {
  it('refuses a role whose generated passwords are shorter than pwdMinLength', async () => {
    const hcl = 'length = 8\nrule "charset" { charset = "abcdefghijklmnopqrstuvwxyz" }\n';
    expect((await call('POST', 'sys/policies/password/short', { policy: hcl })).status).toBe(204);
    const r = await call('POST', 'openldap/static-role/alice', { rotation_period: '24h', dn: user('alice'), password_policy: 'short' });
    expect(r.status).toBe(400);
    expect(r.json.errors[0]).toMatch(/password policy cn=default,ou=policies.*8 characters, pwdMinLength is 12/);
    expect((await call('GET', 'openldap/static-role/alice')).status).toBe(404);
  });

  it("refuses a role for an entry under pwdSafeModify; pwdMustChange does not mark the bind account's rotations", async () => {
    const safe = await call('POST', 'openldap/static-role/sam', { rotation_period: '24h', dn: user('sam') });
    expect(safe.status).toBe(400);
    expect(safe.json.errors[0]).toMatch(/pwdSafeModify/);
    // As slapd: only a password administrator's change sets pwdReset, not one an ACL allows.
    expect((await call('POST', 'openldap/static-role/rita', { rotation_period: '24h', dn: user('rita') })).status).toBe(204);
    const cred = (await call('GET', 'openldap/static-cred/rita')).json.data as { password: string };
    expect(attrValues(await entry(user('rita')), 'pwdReset')).toEqual([]);
    const who = await runTool('ldapwhoami', ['-H', server.url, '-e', 'ppolicy', ...bindArgs(user('rita'), cred.password)]);
    expect(who).toMatchObject({ code: 0, stderr: '' });
  });

  it('a rotation the policy accepts leaves pwdChangedTime and pwdHistory; the new password binds', async () => {
    const made = await call('POST', 'openldap/static-role/alice', { rotation_period: '24h', dn: user('alice') });
    expect(made.status, JSON.stringify(made.json)).toBe(204);
    const cred = (await call('GET', 'openldap/static-cred/alice')).json.data as { password: string };
    expect((await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(user('alice'), cred.password)])).code).toBe(0);
    const e = await entry(user('alice'));
    expect(attrValues(e, 'pwdChangedTime')).toHaveLength(1);
    expect(attrValues(e, 'pwdHistory')).toHaveLength(1);
    expect(attrValues(e, 'pwdReset')).toEqual([]);
    // The state is readable as the access rules allow: the default rules keep the history (old
    // password hashes) from the user, as they keep userPassword.
    const own = await runTool('ldapsearch', [
      '-H',
      server.url,
      '-x',
      ...bindArgs(user('alice'), cred.password),
      '-LLL',
      '-b',
      user('alice'),
      '-s',
      'base',
      '+',
    ]);
    const seen = parseLdifEntries(own.stdout)[0]!;
    expect(attrValues(seen, 'pwdChangedTime')).toHaveLength(1);
    expect(attrValues(seen, 'pwdHistory')).toEqual([]);
    const anon = await runTool('ldapsearch', ['-H', server.url, '-x', '-LLL', '-b', user('alice'), '-s', 'base', '+']);
    expect(anon.stdout).not.toMatch(/pwd/i);
  });

  it('a rotation the policy refuses (pwdMinAge) is a rotation error recorded on the role; the entry is unchanged', async () => {
    // Created and rotated once (the entry had no pwdChangedTime yet): now the password is young.
    expect((await call('POST', 'openldap/static-role/yuri', { rotation_period: '24h', dn: user('yuri') })).status).toBe(204);
    const first = (await call('GET', 'openldap/static-cred/yuri')).json.data as { password: string };
    const before = await entry(user('yuri'));
    const r = await call('POST', 'openldap/rotate-role/yuri');
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(r.json)).toMatch(/Password is too young to change/);
    const role = (await call('GET', 'openldap/static-role/yuri')).json.data as { last_error: string; failures: number };
    expect(role.last_error).toMatch(/Password is too young to change/);
    expect(role.failures).toBe(1);
    const after = await entry(user('yuri'));
    expect(attrValues(after, 'userPassword')).toEqual(attrValues(before, 'userPassword'));
    expect((await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(user('yuri'), first.password)])).code).toBe(0);
  });

  it('a dynamic credential whose generated password the policy refuses is not issued', async () => {
    const creation = `dn: uid={{.Username}},${P}\nobjectClass: inetOrgPerson\nuid: {{.Username}}\ncn: {{.Username}}\nsn: dynamic\nuserPassword: {{.Password}}\n`;
    const deletion = `dn: uid={{.Username}},${P}\nchangetype: delete\n`;
    expect((await call('POST', 'openldap/role/temp', { creation_ldif: creation, deletion_ldif: deletion })).status).toBe(204);
    const ok = await call('GET', 'openldap/creds/temp');
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    // Generated from the 8-character policy: shorter than pwdMinLength 12.
    expect((await call('POST', 'openldap/config', { password_policy: 'short' })).status).toBe(204);
    const refused = await call('GET', 'openldap/creds/temp');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(JSON.stringify(refused.json)).toMatch(/Password fails quality checking policy/);
  });

  it("rotate-root changes the bind account's own password under the policy and leaves its state", async () => {
    // Still generating from the 8-character policy: refused, cleanly, and nothing changed.
    const refused = await call('POST', 'openldap/rotate-root');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.json.errors[0]).toMatch(/Password fails quality checking policy/);
    expect((await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(VAULT_DN, 'vault-initial')])).code).toBe(0);
    expect((await call('POST', 'openldap/config', { password_policy: '' })).status).toBe(204);
    const r = await call('POST', 'openldap/rotate-root');
    expect(r.status, JSON.stringify(r.json)).toBe(204);
    const e = await entry(VAULT_DN);
    expect(attrValues(e, 'pwdChangedTime')).toHaveLength(1);
    expect(attrValues(e, 'pwdHistory')).toHaveLength(1);
    expect((await runTool('ldapwhoami', ['-H', server.url, ...bindArgs(VAULT_DN, 'vault-initial')])).code).toBe(49);
  });
});

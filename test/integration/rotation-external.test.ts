// The secrets engine managing an external server: a private slapd, reached through ldapjs
// (config url), driven through the admin API; passwords checked with ldapwhoami against slapd.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { repoRoot, ROOT_DN, ROOT_PW, slapdAvailable, startSlapd, type Slapd } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { vaultRequest, startAdminServer } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
const ALICE = `uid=alice,ou=people,${B}`;
const SIP = `cn=1000,ou=sip,${B}`;
const VAULT = `cn=vault,ou=services,${B}`;
const TOKEN = 'external-test-token-123';

let slapd: Slapd;
let server: AstldapServer;
let base: string;

const call = (method: string, p: string, body?: unknown) => vaultRequest(base, method, p, TOKEN, body);
const whoami = async (dn: string, pw: string) => (await runTool('ldapwhoami', ['-H', slapd.url, ...bindArgs(dn, pw)])).code;

describe.skipIf(!slapdAvailable())('admin api managing an external slapd', () => {
  const tmp = useTempDir('astldap-ext-');

  beforeAll(async () => {
    const seed = readFileSync(path.join(repoRoot, 'data/seed.ldif'), 'utf8');
    slapd = await startSlapd({
      ldif: `${seed.trimEnd()}\n\ndn: ${VAULT}\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: vault\nuserPassword: vault-initial\n`,
    });
    server = await startAdminServer(tmp(), TOKEN, { seed: false });
    base = server.adminUrl!;
  });

  afterAll(async () => {
    await server?.close();
    await slapd?.stop();
  });

  it('validates the bind on config write', async () => {
    expect((await call('POST', 'openldap/config', { url: slapd.url, binddn: ROOT_DN, bindpass: 'wrong' })).status).toBe(400);
    expect((await call('POST', 'openldap/config', { url: slapd.url, binddn: ROOT_DN, bindpass: ROOT_PW })).status).toBe(204);
    const cfg = (await call('GET', 'openldap/config')).json.data;
    expect(cfg.url).toBe(slapd.url);
    expect(cfg).not.toHaveProperty('bindpass');
  });

  it('rotates a static role on slapd', async () => {
    expect((await call('POST', 'openldap/static-role/alice', { dn: ALICE, rotation_period: '1h' })).status).toBe(204);
    const c1 = (await call('GET', 'openldap/static-cred/alice')).json.data;
    expect(await whoami(ALICE, 'alice-password')).toBe(49);
    expect(await whoami(ALICE, c1.password)).toBe(0);
    expect((await call('POST', 'openldap/rotate-role/alice')).status).toBe(204);
    const c2 = (await call('GET', 'openldap/static-cred/alice')).json.data;
    expect(c2.last_password).toBe(c1.password);
    expect(await whoami(ALICE, c1.password)).toBe(49);
    expect(await whoami(ALICE, c2.password)).toBe(0);
    expect((await call('POST', 'openldap/static-role/ghost', { dn: `uid=ghost,ou=people,${B}`, rotation_period: '1h' })).status).toBe(400);
  });

  it('writes the Asterisk secrets on slapd', async () => {
    expect((await call('POST', 'openldap/config', { schema: 'asterisk' })).status).toBe(204);
    expect((await call('POST', 'openldap/static-role/sip', { dn: SIP, rotation_period: '1h' })).status).toBe(204);
    const c = (await call('GET', 'openldap/static-cred/sip')).json.data;
    const s = await runTool('ldapsearch', [
      '-LLL',
      '-H',
      slapd.url,
      ...bindArgs(ROOT_DN, ROOT_PW),
      '-b',
      SIP,
      '-s',
      'base',
      '(objectClass=*)',
      'AstAccountRealmedPassword',
    ]);
    const e = parseLdifEntries(s.stdout)[0]!;
    expect(attrValues(e, 'AstAccountRealmedPassword')).toEqual([
      `{md5}${createHash('md5').update(`1000:asterisk:${c.password}`).digest('hex')}`,
    ]);
    expect(await whoami(SIP, c.password)).toBe(0);
  });

  it('rotate-root changes the bind account on slapd; an entry deleted there fails cleanly', async () => {
    expect((await call('POST', 'openldap/config', { binddn: VAULT, bindpass: 'vault-initial', schema: 'openldap' })).status).toBe(204);
    expect((await call('POST', 'openldap/rotate-root')).status).toBe(204);
    expect(await whoami(VAULT, 'vault-initial')).toBe(49);
    // the engine still binds with the password it set
    expect((await call('GET', 'openldap/config')).json.data.last_bind_password_rotation).not.toMatch(/^0001/);
    expect((await call('POST', 'openldap/config', { binddn: ROOT_DN, bindpass: ROOT_PW })).status).toBe(204);
    const del = await runTool('ldapdelete', ['-H', slapd.url, ...bindArgs(ROOT_DN, ROOT_PW), ALICE]);
    expect(del.code).toBe(0);
    const r = await call('POST', 'openldap/rotate-role/alice');
    expect(r.status).toBe(500);
    expect(r.json.errors[0]).toMatch(/does not exist/);
    const role = (await call('GET', 'openldap/static-role/alice')).json.data;
    expect(role.failures).toBe(1);
    expect(role.last_error).toMatch(/does not exist/);
  });
});

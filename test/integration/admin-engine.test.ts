// The admin API in-process (startServer with adminApi): root token file creation, password
// policy parsing, cron-scheduled roles, voicemail PINs, hierarchical role names, timers that
// let the process exit.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AstldapServer } from '../../src/index.js';
import { parseDuration } from '../../src/admin/engine/fields.js';
import { defaultPolicy, generate, parsePolicy } from '../../src/admin/engine/password-policy.js';
import { useTempDir } from '../helpers/tmp.js';
import { attrValues, bindArgs, parseLdifEntries, runTool } from '../helpers/tools.js';
import { vaultRequest, startAdminServer } from '../helpers/vault.js';

const B = 'dc=example,dc=domain';
let server: AstldapServer;
const tmp = useTempDir('astldap-admin-');
let token: string;
let base: string;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const call = (method: string, p: string, body?: unknown) => vaultRequest(base, method, p, token, body);

beforeAll(async () => {
  delete process.env.ASTLDAP_ROOT_TOKEN;
  server = await startAdminServer(tmp(), undefined);
  base = server.adminUrl!;
  token = readFileSync(path.join(tmp(), 'root-token'), 'utf8').trim();
});

afterAll(async () => {
  await server?.close();
});

describe('admin api in-process', () => {
  it('generates a root token file with mode 0600 on first start', () => {
    const st = statSync(path.join(tmp(), 'root-token'));
    expect(st.mode & 0o777).toBe(0o600);
    expect(token).toMatch(/^hvs\.[A-Za-z0-9_-]{20,}$/);
  });

  it('parses Vault policies and durations; the default generator is 64 base62 characters', () => {
    const p = parsePolicy('length = 12\nrule "charset" { charset = "0123456789" min-chars = 12 }');
    expect(generate(p)).toMatch(/^\d{12}$/);
    expect(() => parsePolicy('length = 10')).toThrow(/no rules/);
    expect(() => parsePolicy('rule "charset" { charset = "ab" }')).toThrow(/length/);
    expect(() => parsePolicy('length = 10\nrule "nope" { charset = "ab" }')).toThrow(/unrecognized rule/);
    expect(generate(defaultPolicy())).toMatch(/^[A-Za-z0-9]{64}$/);
    const json = parsePolicy('{"length": 8, "rule": [{"charset": {"charset": "xy", "min-chars": 1}}]}');
    expect(generate(json)).toMatch(/^[xy]{8}$/);
    expect(parseDuration('1h30m', 'x')).toBe(5400);
    expect(parseDuration(90, 'x')).toBe(90);
    expect(parseDuration('24h', 'x')).toBe(86400);
    expect(() => parseDuration('soon', 'x')).toThrow();
  });

  it('voicemail boxes get a digits-only AstVoicemailPassword', async () => {
    expect(
      (await call('POST', 'openldap/config', { binddn: `cn=admin,${B}`, bindpass: 'secret', schema: 'asterisk', asterisk_realm: 'pbx' }))
        .status,
    ).toBe(204);
    expect((await call('POST', 'openldap/static-role/vm/1000', { dn: `cn=1000,ou=voicemail,${B}`, rotation_period: '24h' })).status).toBe(
      204,
    );
    const c = (await call('GET', 'openldap/static-cred/vm/1000')).json.data;
    expect(c.password).toMatch(/^\d{6,12}$/);
    const rec = await server.directory.store.get(server.directory.normalize(`cn=1000,ou=voicemail,${B}`));
    expect(rec!.attrs['astvoicemailpassword']).toEqual([c.password]);
    // hierarchical names list per level
    expect((await call('LIST', 'openldap/static-role')).json.data.keys).toEqual(['vm/']);
    expect((await call('LIST', 'openldap/static-role/vm')).json.data.keys).toEqual(['1000']);
  });

  it('uses the configured realm for the SIP digest', async () => {
    await call('POST', 'openldap/static-role/sip1001', { dn: `cn=1001,ou=sip,${B}`, rotation_period: '24h' });
    const c = (await call('GET', 'openldap/static-cred/sip1001')).json.data;
    const s = await runTool('ldapsearch', [
      '-LLL',
      '-H',
      server.url,
      ...bindArgs(`cn=admin,${B}`, 'secret'),
      '-b',
      `cn=1001,ou=sip,${B}`,
      '-s',
      'base',
      '(objectClass=*)',
      'AstAccountRealmedPassword',
    ]);
    const e = parseLdifEntries(s.stdout)[0]!;
    expect(attrValues(e, 'AstAccountRealmedPassword')).toEqual([
      `{md5}${createHash('md5').update(`1001:pbx:${c.password}`).digest('hex')}`,
    ]);
    // updating settings keeps the credential; dn and username are immutable
    expect((await call('POST', 'openldap/static-role/sip1001', { rotation_period: '12h' })).status).toBe(204);
    const after = (await call('GET', 'openldap/static-cred/sip1001')).json.data;
    expect(after).toMatchObject({ password: c.password, rotation_period: 43200, last_vault_rotation: c.last_vault_rotation });
    expect((await call('POST', 'openldap/static-role/sip1001', { dn: `cn=1000,ou=sip,${B}` })).status).toBe(400);
    expect((await call('POST', 'openldap/static-role/sip1001', { username: 'other' })).status).toBe(400);
  });

  it('rotates on a cron schedule (rotation_schedule + rotation_window)', async () => {
    const bad = await call('POST', 'openldap/static-role/cron', { dn: `uid=bob,ou=people,${B}`, rotation_schedule: 'not cron' });
    expect(bad.status).toBe(400);
    const both = await call('POST', 'openldap/static-role/cron', {
      dn: `uid=bob,ou=people,${B}`,
      rotation_schedule: '* * * * *',
      rotation_period: '1h',
    });
    expect(both.status).toBe(400);
    const win = await call('POST', 'openldap/static-role/cron', {
      dn: `uid=bob,ou=people,${B}`,
      rotation_period: '1h',
      rotation_window: '1h',
    });
    expect(win.status).toBe(400);
    const ok = await call('POST', 'openldap/static-role/cron', {
      dn: `uid=bob,ou=people,${B}`,
      rotation_schedule: '*/2 * * * * *',
      rotation_window: '1h',
    });
    expect(ok.status).toBe(204);
    const role = (await call('GET', 'openldap/static-role/cron')).json.data;
    expect(role).toMatchObject({ rotation_schedule: '*/2 * * * * *', rotation_window: 3600, rotation_period: 0 });
    const first = (await call('GET', 'openldap/static-cred/cron')).json.data;
    const end = Date.now() + 8000;
    while ((await call('GET', 'openldap/static-cred/cron')).json.data.last_vault_rotation === first.last_vault_rotation) {
      if (Date.now() > end) throw new Error('no scheduled rotation within 8 s');
      await sleep(200);
    }
    // stop it (waits for a rotation under way), then the last credential handed out works
    expect((await call('DELETE', 'openldap/static-role/cron')).status).toBe(204);
    const rec = await server.directory.store.getMeta('rotation/role/cron');
    expect(rec).toBeUndefined();
    await sleep(2500); // no timer left to fire
    const s = await runTool('ldapsearch', [
      '-LLL',
      '-H',
      server.url,
      ...bindArgs(`cn=admin,${B}`, 'secret'),
      '-b',
      `uid=bob,ou=people,${B}`,
      '-s',
      'base',
      '(objectClass=*)',
      'modifyTimestamp',
    ]);
    const stamp = attrValues(parseLdifEntries(s.stdout)[0]!, 'modifyTimestamp')[0]!;
    await sleep(2200);
    const s2 = await runTool('ldapsearch', [
      '-LLL',
      '-H',
      server.url,
      ...bindArgs(`cn=admin,${B}`, 'secret'),
      '-b',
      `uid=bob,ou=people,${B}`,
      '-s',
      'base',
      '(objectClass=*)',
      'modifyTimestamp',
    ]);
    expect(attrValues(parseLdifEntries(s2.stdout)[0]!, 'modifyTimestamp')[0]).toBe(stamp);
  }, 30_000);

  it('answers unsupported paths with 404 and a body-less 204 for deletes', async () => {
    expect((await call('GET', 'nothing/here')).status).toBe(404);
    expect((await call('DELETE', 'sys/policies/password/none')).status).toBe(204);
    expect((await call('GET', 'sys/policies/password/none/generate')).status).toBe(404);
    const r = await fetch(`${base}/v1/openldap/config`, { method: 'DELETE', headers: { 'X-Vault-Token': token } });
    expect(r.status).toBe(204);
    expect(await r.text()).toBe('');
  });
});

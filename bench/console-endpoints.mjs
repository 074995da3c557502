#!/usr/bin/env node
/* global document */
// The console's endpoint table with many endpoints (issue 21: 10k rendered and paged in under
// a second): a server with N PJSIP endpoints (ENDPOINTS, default 10000), the console in Debian's
// headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium), signed in as the administrator.
// Prints the median of RUNS (5) of: opening the Endpoints page until its first page of rows is
// in the document (list fetched over the session's LDAP connection, JSON, render), the next
// page, a search narrowing the rows, and a sort. A measurement to write down, not a test.
// Needs `npm run build` first (dist/).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.ENDPOINTS ?? 10000);
const RUNS = Number(process.env.RUNS ?? 5);
const B = 'dc=example,dc=domain';
const { startServer } = await import(path.join(root, 'dist', 'index.js'));

const ou = (o) => `dn: ou=${o},${B}\nobjectClass: organizationalUnit\nou: ${o.split(',')[0]}\n`;
const ldif = [ou('pjsip'), ou('endpoints,ou=pjsip'), ou('auths,ou=pjsip'), ou('aors,ou=pjsip'), ou('contacts,ou=pjsip')];
for (let i = 0; i < N; i++) {
  const n = String(100000 + i);
  ldif.push(
    `dn: cn=${n},ou=endpoints,ou=pjsip,${B}\nobjectClass: AstldapPjsipEndpoint\ncn: ${n}\nAstAccountContext: office\nAstPjsipEndpointAuth: ${n}\nAstPjsipEndpointAors: ${n}\n`,
  );
}
const dir = mkdtempSync(path.join(tmpdir(), 'astldap-console-bench-'));
const server = await startServer({
  configFile: path.join(root, 'config.yaml'),
  memory: true,
  dataDir: dir,
  listen: ['ldap://127.0.0.1:0'],
  adminApi: 'http://127.0.0.1:0',
  seedLdif: ldif.join('\n'),
  config: { adminApi: { rootToken: 'console-bench-root-token' } },
  logger: false,
});
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 900 });
  await page.goto(`${server.adminUrl}/ui/`);
  await page.waitForSelector('#ldap-signin');
  await page.type('#ldap-signin input[name=user]', 'admin');
  await page.type('#ldap-signin input[name=password]', 'secret');
  await page.click('#ldap-signin button[type=submit]');
  await page.waitForSelector('#stat-entries');
  const times = { open: [], next: [], search: [], sort: [] };
  const timed = async (key, act, done) => {
    const t = performance.now();
    await act();
    await page.waitForFunction(done, { polling: 'mutation' });
    times[key].push(performance.now() - t);
  };
  for (let r = 0; r < RUNS; r++) {
    await page.click('a[href="#/overview"]');
    await page.waitForSelector('#stat-entries');
    await timed(
      'open',
      () => page.click('a[href="#/endpoints"]'),
      () => document.querySelectorAll('#endpoints tbody tr').length === 50,
    );
    await timed(
      'next',
      () => page.click('xpath/.//button[contains(., "Next page")]'),
      () => /^Page 2 /.test(document.querySelector('#page-label')?.textContent ?? ''),
    );
    await timed(
      'search',
      () => page.type('#endpoint-search', '109999'),
      () => /^1 endpoint/.test(document.querySelector('#endpoints caption')?.textContent ?? ''),
    );
    await timed(
      'sort',
      () => page.click('th button.sort'),
      () => document.querySelector('th[aria-sort="descending"]') !== null,
    );
  }
  const rows = await page.$$eval('#endpoints tbody tr', (t) => t.length);
  console.log(
    `console endpoints table, ${N} endpoints, median of ${RUNS} (ms): ` +
      Object.entries(times)
        .map(([k, v]) => `${k} ${median(v).toFixed(0)}`)
        .join(', ') +
      ` (rows in the document: ${rows})`,
  );
} finally {
  await browser.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

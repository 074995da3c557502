// What the console tests share: a real server (config.yaml, the packaged seed plus the PJSIP
// containers and a static role's target) with its admin listener and console on loopback, a
// headless Chromium (Debian's /usr/bin/chromium through puppeteer-core), sign-in, screenshots
// into artifacts/console/ (git-ignored) and an axe-core check of the page.

import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { AstldapServer, StartOptions } from '../../src/index.js';
import { repoRoot } from '../helpers/slapd.js';
import { removeDir, tempDir } from '../helpers/tmp.js';

export const B = 'dc=example,dc=domain';
export const ADMIN = `cn=admin,${B}`;
export const ROOT_TOKEN = 'console-test-root-token';
export const ARTIFACTS = path.join(repoRoot, 'artifacts', 'console');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const run = promisify(execFile);

/** The containers the endpoint commands write into (the packaged seed has no ou=pjsip). */
export const PJSIP_CONTAINERS = ['pjsip', 'endpoints,ou=pjsip', 'auths,ou=pjsip', 'aors,ou=pjsip', 'contacts,ou=pjsip']
  .map((ou) => `dn: ou=${ou},${B}\nobjectClass: organizationalUnit\nou: ${ou.split(',')[0]}\n`)
  .join('\n');

/** Users read their own entry only (so "another user's entry" is something to refuse). */
export const SELF_ONLY: NonNullable<StartOptions['config']>['access'] = [
  { to: '*', attrs: ['userPassword'], by: [{ who: 'self', level: 'auth' }] },
  { to: `subtree:${B}`, by: [{ who: 'self', level: 'read' }] },
];

/** Builds dist/ui when it is missing or older than a file of ui/ (a test run without `npm run build`). */
export function ensureBundle(): void {
  const manifest = path.join(repoRoot, 'dist', 'ui', 'manifest.json');
  const newest = (dir: string): number =>
    Math.max(
      ...readdirSync(dir, { withFileTypes: true }).map((d) =>
        d.isDirectory() ? newest(path.join(dir, d.name)) : statSync(path.join(dir, d.name)).mtimeMs,
      ),
    );
  if (existsSync(manifest) && statSync(manifest).mtimeMs >= newest(path.join(repoRoot, 'ui'))) return;
  execFileSync(process.execPath, [path.join(repoRoot, 'scripts', 'build-ui.mjs')], { stdio: 'inherit' });
}

export function bundleNames(): { js: string; css: string } {
  return JSON.parse(readFileSync(path.join(repoRoot, 'dist', 'ui', 'manifest.json'), 'utf8')) as { js: string; css: string };
}

export interface ConsoleServer {
  server: AstldapServer;
  /** http://127.0.0.1:PORT (the admin listener). */
  base: string;
  ldapUrl: string;
  stop(): Promise<void>;
}

export async function startConsoleServer(config: StartOptions['config'] = {}, adminListen = 'http://127.0.0.1:0'): Promise<ConsoleServer> {
  ensureBundle();
  const { startServer } = await import('../../src/index.js');
  const dir = tempDir('astldap-console-');
  try {
    const server = await startServer({
      configFile: path.join(repoRoot, 'config.yaml'),
      memory: true,
      dataDir: dir,
      listen: ['ldap://127.0.0.1:0'],
      adminApi: adminListen,
      seedLdif: PJSIP_CONTAINERS,
      config: { ...config, adminApi: { rootToken: ROOT_TOKEN, ...config.adminApi } },
      logger: false,
    });
    return {
      server,
      base: server.adminUrl ?? '',
      ldapUrl: server.url,
      async stop() {
        await server.close();
        removeDir(dir);
      },
    };
  } catch (err) {
    removeDir(dir);
    throw err;
  }
}

export function launchBrowser(): Promise<Browser> {
  return puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

/** A page that fails the test on a CSP violation or a script error (collected in `problems`). */
export async function newPage(browser: Browser, width = 1280): Promise<{ page: Page; problems: string[] }> {
  // A context of its own: its own cookies, as another person's browser.
  const page = await (await browser.createBrowserContext()).newPage();
  await page.setViewport({ width, height: 900 });
  page.setDefaultTimeout(30_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${String(e)}`));
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return { page, problems };
}

export async function signIn(page: Page, base: string, user: string, password: string): Promise<void> {
  await page.goto(`${base}/ui/`, { waitUntil: 'load' });
  await page.waitForSelector('#ldap-signin');
  await page.type('#ldap-signin input[name=user]', user);
  await page.type('#ldap-signin input[name=password]', password);
  await click(page, '#ldap-signin button[type=submit]');
  await page.waitForSelector('nav[aria-label="Console pages"]');
}

export async function signInToken(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/ui/`, { waitUntil: 'load' });
  await page.waitForSelector('#token-signin');
  await page.type('#token-signin input[name=token]', token);
  await click(page, '#token-signin button[type=submit]');
  await page.waitForSelector('nav[aria-label="Console pages"]');
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true, mode: 0o700 });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  return file;
}

const AXE = readFileSync(path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');

/** axe-core's serious and critical violations on the page as it is (run through DevTools, which the page's CSP does not govern). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.evaluate(AXE);
  const result = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] })`)) as {
    violations: Array<{ id: string; impact: string; help: string; nodes: Array<{ target: string[] }> }>;
  };
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join('; ')})`);
}

/** ldapsearch's LDIF for a base and filter, as the administrator. */
export async function ldapsearch(url: string, base: string, filter: string, ...attrs: string[]): Promise<string> {
  const { stdout } = await run('ldapsearch', ['-x', '-LLL', '-H', url, '-D', ADMIN, '-w', 'secret', '-b', base, filter, ...attrs]);
  return stdout;
}

/** ldapwhoami as DN with a password: the identity, or throws when the bind is refused. */
export async function ldapwhoami(url: string, dn: string, password: string): Promise<string> {
  const { stdout } = await run('ldapwhoami', ['-x', '-H', url, '-D', dn, '-w', password]);
  return stdout.trim();
}

/** Polls until cond holds (generous deadline; no timing assertion). */
export async function until(cond: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, everyMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** fetch() inside the page (its cookie, its origin): status and JSON. */
export function inPage(page: Page, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
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

/** Follows a link of the console's navigation and waits for the page's element. */
export async function goTo(page: Page, name: string, ready: string): Promise<void> {
  await click(page, `nav[aria-label="Console pages"] a[href="#/${name}"]`);
  await page.waitForSelector(ready);
}

/**
 * Clicks the element `sel` names once it is there and clickable. A page that re-renders (a table
 * reloaded after a write) may detach the node between the lookup and the click; puppeteer then
 * throws before any event is sent, so looking it up again and retrying is safe.
 */
export async function click(page: Page, sel: string, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      await page.waitForSelector(sel, { visible: true, timeout: Math.max(1, end - Date.now()) });
      await page.click(sel);
      return;
    } catch (err) {
      const retry = /not clickable|not an Element|detached|Execution context was destroyed/i.test(String(err));
      if (!retry || Date.now() > end) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export const text = (page: Page, sel: string): Promise<string> => page.$eval(sel, (e) => e.textContent ?? '');

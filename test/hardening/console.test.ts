// Hardening of the web console's routes on the admin listener (src/console/): no session, a
// session cookie sent from another origin, a write without the CSRF token, oversized bodies,
// path traversal in the asset route (raw request lines: fetch would normalise the dots), a slow
// client that does not hold up the listener, security headers, the cookie's flags, no-store on
// credentials, and failed sign-ins counted by the bind throttle.

import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, B, ROOT_TOKEN, bundleNames, startConsoleServer, until, type ConsoleServer } from '../console/harness.js';

let srv: ConsoleServer;
let host: string;

beforeAll(async () => {
  srv = await startConsoleServer();
  host = new URL(srv.base).host;
});
afterAll(async () => {
  await srv?.stop();
});

/** One raw HTTP/1.1 request (Connection: close), exactly as written; the status and the whole answer. */
function raw(requestLine: string, headers: Record<string, string> = {}, body = ''): Promise<{ status: number; text: string }> {
  const u = new URL(srv.base);
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(u.port), u.hostname);
    const chunks: Buffer[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text });
    });
    const head = { Host: host, Connection: 'close', ...(body ? { 'Content-Length': String(Buffer.byteLength(body)) } : {}), ...headers };
    s.end(
      `${requestLine}\r\n${Object.entries(head)
        .map(([k, v]) => `${k}: ${v}\r\n`)
        .join('')}\r\n${body}`,
    );
  });
}

async function login(body: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(`${srv.base}/ui/api/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  return { res, cookie, json: (await res.json()) as { csrf?: string; error?: string } };
}

describe('console routes without a session', () => {
  it('every API route answers 401; the page itself (the sign-in form) is served', async () => {
    for (const [method, p] of [
      ['GET', 'session'],
      ['GET', 'overview'],
      ['GET', 'endpoints'],
      ['POST', 'endpoints'],
      ['DELETE', 'endpoints/1000'],
      ['GET', 'roles'],
      ['GET', 'roles/x/credential'],
      ['GET', `entry?dn=${B}`],
      ['POST', 'logout'],
    ]) {
      const res = await fetch(`${srv.base}/ui/api/${p}`, {
        method,
        headers: { 'Content-Type': 'application/json' },
        body: method === 'GET' ? undefined : '{}',
      });
      expect([p, res.status]).toEqual([p, 401]);
    }
    const page = await fetch(`${srv.base}/ui/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module" src="\/ui\/assets\/app-[A-Z0-9]+\.js"><\/script>/);
    expect((await fetch(`${srv.base}/ui`, { redirect: 'manual' })).headers.get('location')).toBe('/ui/');
  });

  it('a forged or expired cookie is no session', async () => {
    const res = await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: 'astldap_console=forged-session-id' } });
    expect(res.status).toBe(401);
  });
});

describe('headers and cookie', () => {
  it('a strict CSP with no inline script, no framing, no sniffing, no referrer; the page is not cached', async () => {
    const res = await fetch(`${srv.base}/ui/`);
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.text()).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+=/i);
  });

  it('the session cookie is HttpOnly, SameSite=Strict, scoped to /ui/ (Secure only on TLS: this listener is http)', async () => {
    const { res } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    expect(res.status).toBe(200);
    const c = res.headers.get('set-cookie')!;
    expect(c).toMatch(/^astldap_console=[A-Za-z0-9_-]{43};/);
    expect(c).toContain('HttpOnly');
    expect(c).toContain('SameSite=Strict');
    expect(c).toContain('Path=/ui/');
    expect(c).not.toContain('Secure');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('hashed assets are cached for a year; the credential answer is never cached', async () => {
    const { js, css } = bundleNames();
    for (const name of [js, css]) {
      const res = await fetch(`${srv.base}/ui/assets/${name}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    }
    const t = await login({ kind: 'token', token: ROOT_TOKEN });
    const res = await fetch(`${srv.base}/ui/api/roles/none/credential`, { headers: { Cookie: t.cookie } });
    expect(res.headers.get('cache-control')).toBe('no-store');
  });
});

describe('a session cookie from another origin', () => {
  it('is refused on reads and writes (Origin or Sec-Fetch-Site of another site), even with the CSRF token', async () => {
    const { cookie, json } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    const ok = await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: cookie } });
    expect(ok.status).toBe(200);
    const evil = { Cookie: cookie, Origin: 'http://evil.example' };
    expect((await fetch(`${srv.base}/ui/api/session`, { headers: evil })).status).toBe(403);
    expect((await fetch(`${srv.base}/ui/api/endpoints`, { headers: { Cookie: cookie, 'Sec-Fetch-Site': 'cross-site' } })).status).toBe(403);
    const write = await fetch(`${srv.base}/ui/api/endpoints`, {
      method: 'POST',
      headers: { ...evil, 'X-CSRF-Token': json.csrf!, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: '9300', password: 'evil-pass-9300' }),
    });
    expect(write.status).toBe(403);
    // A sign-in posted from another site's page is refused too (no login CSRF).
    expect((await login({ kind: 'ldap', user: 'admin', password: 'secret' }, { Origin: 'http://evil.example' })).res.status).toBe(403);
    // ... and a form's content type cannot sign in at all.
    const form = await fetch(`${srv.base}/ui/api/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'text/plain' },
      body: '{"kind":"token"}',
    });
    expect(form.status).toBe(415);
  });

  it('a write with the cookie but without the CSRF token is 403', async () => {
    const { cookie } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    const res = await fetch(`${srv.base}/ui/api/endpoints/1000`, { method: 'DELETE', headers: { Cookie: cookie } });
    expect(res.status).toBe(403);
    const wrong = await fetch(`${srv.base}/ui/api/logout`, {
      method: 'POST',
      headers: { Cookie: cookie, 'X-CSRF-Token': 'not-the-token' },
    });
    expect(wrong.status).toBe(403);
  });
});

describe('oversized bodies', () => {
  it('a console body over 64 KiB is 413, one over the listener limit (4 MiB) too', async () => {
    const big = JSON.stringify({ kind: 'ldap', user: 'admin', password: 'x'.repeat(70 * 1024) });
    expect((await login(JSON.parse(big) as Record<string, string>)).res.status).toBe(413);
    const huge = await raw('POST /ui/api/login HTTP/1.1', {
      'Content-Type': 'application/json',
      'Content-Length': String(5 * 1024 * 1024),
    });
    expect(huge.status).toBe(413);
  });
});

describe('path traversal in the asset route', () => {
  it('only the bundle`s own files are served: dots, encoded dots and other files are 404', async () => {
    for (const p of [
      '/ui/assets/../../package.json',
      '/ui/assets/..%2f..%2fpackage.json',
      '/ui/assets/%2e%2e/%2e%2e/package.json',
      '/ui/assets/%2e%2e%2f%2e%2e%2fconfig.yaml',
      '/ui/assets/manifest.json',
      '/ui/assets/',
      '/ui/assets/..\\..\\package.json',
      '/ui/../package.json',
      '/ui/assets//etc/passwd',
      `/ui/assets/${bundleNames().js}/../../../package.json`,
    ]) {
      const r = await raw(`GET ${p} HTTP/1.1`);
      expect([p, r.status]).toEqual([p, 404]);
      expect(r.text).not.toContain('"name": "astldap"');
    }
  });
});

describe('a slow client', () => {
  it('one that sends half a request and waits does not hold up other requests or sign-ins', async () => {
    const u = new URL(srv.base);
    const slow = net.connect(Number(u.port), u.hostname);
    await new Promise<void>((r) => slow.once('connect', () => r()));
    slow.write(`POST /ui/api/login HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"kind":`);
    const slowHead = net.connect(Number(u.port), u.hostname);
    slowHead.write('GET /ui/ HTTP/1.1\r\nHost: ');
    try {
      expect((await fetch(`${srv.base}/ui/`)).status).toBe(200);
      expect((await login({ kind: 'ldap', user: 'admin', password: 'secret' })).res.status).toBe(200);
      expect(slow.destroyed).toBe(false);
    } finally {
      slow.destroy();
      slowHead.destroy();
    }
  });
});

describe('sign-in', () => {
  it('a uid under the suffix or a DN signs in; wrong passwords are counted by the bind throttle, a success forgives', async () => {
    const alice = `uid=alice,ou=people,${B}`;
    const ndn = srv.server.directory.normalize(alice);
    const throttle = srv.server.directory.throttle;
    const key = (addr: string) => `dn:${ndn}@${addr}`;
    for (let i = 0; i < 2; i++) expect((await login({ kind: 'ldap', user: 'alice', password: 'wrong' })).res.status).toBe(401);
    const counted = Math.max(throttle.failures(key('127.0.0.1')), throttle.failures(key('::ffff:127.0.0.1')));
    expect(counted).toBeGreaterThanOrEqual(2);
    const ok = await login({ kind: 'ldap', user: 'alice', password: 'alice-password' });
    expect(ok.res.status).toBe(200);
    expect(throttle.failures(key('127.0.0.1')) + throttle.failures(key('::ffff:127.0.0.1'))).toBe(0);
    expect((await login({ kind: 'ldap', user: alice, password: 'alice-password' })).res.status).toBe(200);
    expect((await login({ kind: 'ldap', user: ADMIN, password: 'secret' })).res.status).toBe(200);
  });

  it('an unknown user and a wrong password get the same answer; a bad token is refused', async () => {
    const a = await login({ kind: 'ldap', user: 'nobody-here', password: 'x' });
    const b = await login({ kind: 'ldap', user: 'alice', password: 'x' });
    expect([a.res.status, a.json]).toEqual([b.res.status, b.json]);
    expect((await login({ kind: 'token', token: 'hvs.not-a-token' })).res.status).toBe(401);
  });

  it('an LDAP session cannot reach the credential routes, a token session not the directory', async () => {
    const l = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    expect((await fetch(`${srv.base}/ui/api/roles`, { headers: { Cookie: l.cookie } })).status).toBe(404);
    const t = await login({ kind: 'token', token: ROOT_TOKEN });
    expect((await fetch(`${srv.base}/ui/api/endpoints`, { headers: { Cookie: t.cookie } })).status).toBe(404);
  });

  it('one identity keeps at most 20 sessions (each holds an LDAP connection): the oldest ends first', async () => {
    const first = await login({ kind: 'ldap', user: 'bob', password: 'bob-password' });
    for (let i = 0; i < 19; i++) expect((await login({ kind: 'ldap', user: 'bob', password: 'bob-password' })).res.status).toBe(200);
    expect((await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: first.cookie } })).status).toBe(200);
    const last = await login({ kind: 'ldap', user: 'bob', password: 'bob-password' });
    expect((await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: first.cookie } })).status).toBe(401);
    expect((await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: last.cookie } })).status).toBe(200);
  });

  it('signing out ends the session', async () => {
    const { cookie, json } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    const out = await fetch(`${srv.base}/ui/api/logout`, { method: 'POST', headers: { Cookie: cookie, 'X-CSRF-Token': json.csrf! } });
    expect(out.status).toBe(200);
    expect(out.headers.get('set-cookie')).toContain('Max-Age=0');
    expect((await fetch(`${srv.base}/ui/api/session`, { headers: { Cookie: cookie } })).status).toBe(401);
  });
});

describe('switches and transports', () => {
  it('console.enabled: false leaves /ui/ to the admin API (404), the admin API still answers', async () => {
    const off = await startConsoleServer({ console: { enabled: false } });
    try {
      expect((await fetch(`${off.base}/ui/`)).status).toBe(404);
      expect((await fetch(`${off.base}/ui/api/session`)).status).toBe(404);
      expect(off.server.consoleUrl).toBeUndefined();
      expect((await fetch(`${off.base}/v1/sys/health`)).status).toBe(200);
    } finally {
      await off.stop();
    }
  });

  it('on an https admin listener the cookie is Secure and responses carry HSTS', async () => {
    const tls = await startConsoleServer({}, 'https://127.0.0.1:0');
    try {
      expect(tls.server.consoleUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/ui\/$/);
      const u = new URL(tls.base);
      const { request } = await import('node:https');
      const headers = await new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
        const body = JSON.stringify({ kind: 'ldap', user: 'admin', password: 'secret' });
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            path: '/ui/api/login',
            method: 'POST',
            rejectUnauthorized: false,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve({ status: String(res.statusCode), ...res.headers }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(headers.status).toBe('200');
      expect(String(headers['set-cookie'])).toContain('; Secure');
      expect(headers['strict-transport-security']).toMatch(/max-age=\d+/);
    } finally {
      await tls.stop();
    }
  });

  it('`astldap serve` prints the console URL', async () => {
    const { spawnAstldap } = await import('../helpers/astldap.js');
    const { tempDir, removeDir } = await import('../helpers/tmp.js');
    const dir = tempDir('astldap-console-cli-');
    const p = await spawnAstldap([
      'serve',
      '--memory',
      '--data',
      dir,
      '--listen',
      'ldap://127.0.0.1:0',
      '--admin-listen',
      'http://127.0.0.1:0',
    ]);
    try {
      const m = /astldap console on (http:\/\/127\.0\.0\.1:\d+\/ui\/)/.exec(p.output());
      expect(m, p.output()).not.toBeNull();
      expect((await fetch(m![1]!)).status).toBe(200);
    } finally {
      await p.kill('SIGTERM');
      removeDir(dir);
    }
  });
});

describe('a session whose LDAP connection is gone', () => {
  it('ends with it: the next request is 401 (sign in again), not a server error', async () => {
    // The directory closes connections idle for a second (limits.idleTimeout), the session's too.
    const idle = await startConsoleServer({ limits: { idleTimeout: 1 } });
    try {
      const r = await fetch(`${idle.base}/ui/api/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ kind: 'ldap', user: 'admin', password: 'secret' }),
      });
      const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0]!;
      const statuses: number[] = [];
      await until(
        async () => {
          const res = await fetch(`${idle.base}/ui/api/endpoints`, { headers: { Cookie: cookie } });
          statuses.push(res.status);
          return res.status !== 200;
        },
        'the idle LDAP connection to be closed',
        60_000,
        2500,
      );
      expect(statuses.at(-1)).toBe(401);
      expect(statuses.filter((s) => s !== 200 && s !== 401)).toEqual([]);
      expect(idle.server.console!.sessions.size).toBe(0);
    } finally {
      await idle.stop();
    }
  });
});

describe('the routes of the second round (edits in place, dialplan, leases, audit, schema)', () => {
  // Each new route: no session 401, another origin 403, no CSRF token 403, a body over 64 KiB 413.
  const ROUTES: Array<[string, string]> = [
    ['POST', 'mailboxes/1000@default'],
    ['POST', 'queues/support'],
    ['POST', 'queues/support/members/PJSIP%2F1001'],
    ['POST', 'peers/sip/1001'],
    ['GET', 'dialplan'],
    ['POST', 'dialplan'],
    ['POST', 'dialplan/default/1000/1'],
    ['DELETE', 'dialplan/default/1000/1'],
    ['GET', 'leases'],
    ['POST', 'leases/revoke'],
    ['GET', 'audit'],
    ['GET', 'subschema'],
  ];
  const send = (method: string, p: string, headers: Record<string, string>, body?: string) =>
    fetch(`${srv.base}/ui/api/${p}`, { method, headers: { 'Content-Type': 'application/json', ...headers }, body });

  it('no session: 401; another origin: 403; no CSRF token on a write: 403; an oversized body: 413', async () => {
    const { cookie, json } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    const big = JSON.stringify({ app: 'x'.repeat(70 * 1024) });
    for (const [method, p] of ROUTES) {
      const body = method === 'GET' ? undefined : '{}';
      expect([method, p, (await send(method, p, {}, body)).status]).toEqual([method, p, 401]);
      const evil = await send(method, p, { Cookie: cookie, 'X-CSRF-Token': json.csrf!, Origin: 'http://evil.example' }, body);
      expect([method, p, evil.status]).toEqual([method, p, 403]);
      if (method !== 'GET') {
        expect([method, p, (await send(method, p, { Cookie: cookie }, body)).status]).toEqual([method, p, 403]);
        const over = await send(method, p, { Cookie: cookie, 'X-CSRF-Token': json.csrf! }, big);
        expect([method, p, over.status]).toEqual([method, p, 413]);
      }
    }
    // None of it changed the row.
    const row = await fetch(`${srv.base}/ui/api/dialplan`, { headers: { Cookie: cookie } });
    expect(((await row.json()) as { rows: Array<{ exten: string; priority: string; appdata?: string }> }).rows).toContainEqual(
      expect.objectContaining({ exten: '1000', priority: '1', appdata: 'PJSIP/1000,20' }),
    );
  });

  it('malformed edits are 400 with the reason, not a server error', async () => {
    const { cookie, json } = await login({ kind: 'ldap', user: 'admin', password: 'secret' });
    const w = { Cookie: cookie, 'X-CSRF-Token': json.csrf! };
    for (const [method, p, body] of [
      ['POST', 'dialplan', '{"context":"a b","exten":"1","priority":"1","app":"Dial"}'],
      ['POST', 'dialplan', '{"context":"default","exten":"1","priority":"0","app":"Dial"}'],
      ['POST', 'dialplan/default/1000/1', '{"app":""}'],
      ['POST', 'dialplan/default/1000/1', '{}'],
      ['POST', 'peers/sip/1001', '{"host":""}'],
      ['POST', 'peers/pjsip/1001', '{"context":"x"}'],
      ['POST', 'mailboxes/1000@default', '{"password":""}'],
      ['POST', 'mailboxes/1000@default', '[1,2]'],
    ] as const) {
      const res = await send(method, p, w, body);
      expect([p, body, res.status]).toEqual([p, body, 400]);
      expect(((await res.json()) as { error?: string }).error).toBeTruthy();
    }
  });
});

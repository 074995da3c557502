// The server's own rows of the admin API's path table (admin/api/framework.ts): /metrics (open),
// sys/health while the store fails (503), sys/astldap/status and backup (as any path, what the
// caller's policies allow), and the web console under /ui (its own sessions, with a body).

import type { AdminPath, HttpResponse } from '../admin/index.js';
import { ConsoleServer } from '../console/console.js';
import type { StoreHealth } from '../store/types.js';
import type { ServerMetrics } from './observe.js';

export interface ServerPathDeps {
  metrics: ServerMetrics;
  /** The console, once mounted (it needs the running admin API first). */
  console: () => ConsoleServer | undefined;
  storeHealth: () => StoreHealth;
  status: () => Promise<Record<string, unknown>>;
  backup: () => Promise<string>;
}

/**
 * /v1/sys/health while the store fails: 503 (Vault's answer for a node that cannot serve) with
 * the store's state and reason; while it is well, the admin API's own answer (the next row).
 */
function failingHealth(store: StoreHealth): HttpResponse | undefined {
  if (store.state === 'ok') return undefined;
  return {
    status: 503,
    body: { initialized: true, sealed: false, standby: false, server_time_utc: Math.floor(Date.now() / 1000), version: 'astldap', store },
  };
}

export function serverPaths(d: ServerPathDeps): AdminPath[] {
  return [
    {
      pattern: '/ui',
      rawMatch: (p) => d.console() !== undefined && ConsoleServer.serves(p),
      unauthenticated: true,
      withBody: true,
      operations: { '*': async (r) => d.console()?.handle(r.http) },
    },
    { pattern: 'sys/health', unauthenticated: true, operations: { '*': async () => failingHealth(d.storeHealth()) } },
    {
      pattern: '/metrics',
      unauthenticated: true,
      operations: {
        GET: async () => ({ status: 200, raw: await d.metrics.text(), headers: { 'Content-Type': d.metrics.registry.contentType } }),
        '*': async () => ({ status: 405, body: { errors: ['unsupported operation'] } }),
      },
    },
    { pattern: 'sys/astldap/status', operations: { GET: async () => ({ status: 200, body: { data: await d.status() } }) } },
    {
      pattern: 'sys/astldap/backup',
      operations: { GET: async () => ({ status: 200, raw: await d.backup(), headers: { 'Content-Type': 'text/ldif; charset=utf-8' } }) },
    },
  ];
}

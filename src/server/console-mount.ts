// Mounts the web console (src/console/) on the admin listener: hands it the server's own LDAP
// listener for sessions' connections, the uid/cn lookup for sign-in, the bind throttle, the
// in-process admin API and the counters behind /metrics.

import path from 'node:path';
import type { AdminHandle } from '../admin/index.js';
import { LEASE_PREFIX, type LeaseRecord } from '../admin/leases/leases.js';
import { scanRecords } from '../admin/engine/meta.js';
import { packageRoot, type Config } from '../config/config.js';
import type { Logger } from '../config/logger.js';
import { ConsoleServer, type ConsoleOverview } from '../console/console.js';
import type { LeaseRow } from '../console/types.js';
import type { Directory } from '../directory/directory.js';
import type { Frontend } from '../directory/frontend.js';
import { searchRequest, type OperationContext } from '../ldap/messages.js';
import { lastBackup } from './backups.js';
import type { ServerMetrics } from './observe.js';

export interface ConsoleDeps {
  config: Config;
  directory: Directory;
  frontend: Frontend;
  metrics: ServerMetrics;
  admin: AdminHandle;
  adminContext: () => OperationContext;
  ldapUrls: () => string[];
  entries: () => Promise<number>;
  log: Logger;
}

/** The URL a console session connects to: the server's own loopback ldap://, else ldapi://, else any ldap://. */
export function consoleLdapUrl(urls: string[]): string | undefined {
  const plain = urls.filter((u) => u.startsWith('ldap://'));
  const local = plain.find((u) => /^ldap:\/\/(127\.|localhost|\[::1\])/.test(u));
  const any = local ?? urls.find((u) => u.startsWith('ldapi://')) ?? plain[0];
  return any?.replace(/^ldap:\/\/(0\.0\.0\.0|\[::\])/, 'ldap://127.0.0.1');
}

/** Warnings the Overview shows: settings fine for a try-out, wrong for a PBX. */
export function consoleWarnings(config: Config, sealKey?: 'env' | 'file' | 'ephemeral'): string[] {
  const w: string[] = [];
  if (sealKey === 'ephemeral')
    w.push('The admin engine’s seal key lives in this process only (a memory database): sealed secrets do not survive a restart.');
  if (config.admin.password === 'secret')
    w.push('The administrator password is the default one (admin.password or ASTLDAP_ADMIN_PASSWORD).');
  else if (!config.admin.password.startsWith('{'))
    w.push('admin.password is a cleartext secret in the configuration: give a {SCHEME} hash.');
  if (!config.tls.cert && config.listen.some((u) => u.startsWith('ldaps://')))
    w.push('ldaps:// uses the self-signed development certificate (tls.cert, tls.key).');
  if (!config.adminApi.tls.cert && config.adminApi.listen.startsWith('https:'))
    w.push('The admin listener uses the development certificate (adminApi.tls).');
  return w;
}

type Counters = Pick<ConsoleOverview, 'connections' | 'operations' | 'latencySeconds' | 'latencyCount'>;

async function counters(metrics: ServerMetrics): Promise<Counters> {
  const out: Counters = { connections: 0, operations: 0, latencySeconds: 0, latencyCount: 0 };
  for (const m of await metrics.registry.getMetricsAsJSON()) {
    const total = (name?: string) =>
      m.values
        .filter((v) => name === undefined || (v as { metricName?: string }).metricName === name)
        .reduce((n, v) => n + Number(v.value), 0);
    if (m.name === 'astldap_connections_open') out.connections = total();
    if (m.name === 'astldap_operations_total') out.operations = total();
    if (m.name === 'astldap_operation_duration_seconds') {
      out.latencySeconds = total('astldap_operation_duration_seconds_sum');
      out.latencyCount = total('astldap_operation_duration_seconds_count');
    }
  }
  return out;
}

export function mountConsole(d: ConsoleDeps): ConsoleServer {
  const { config, directory, frontend } = d;
  return new ConsoleServer({
    config: config.console,
    suffix: config.suffix,
    tls: d.admin.url.startsWith('https:'),
    assetsDir: path.join(packageRoot, 'dist', 'ui'),
    ldapUrl: () => consoleLdapUrl(d.ldapUrls()),
    findDn: async (name) => {
      const value = Buffer.from(name, 'utf8');
      const found: string[] = [];
      const filter = {
        type: 'or' as const,
        filters: [
          { type: 'equality' as const, attribute: 'uid', value },
          { type: 'equality' as const, attribute: 'cn', value },
        ],
      };
      await frontend
        .search(d.adminContext(), searchRequest(config.suffix, { filter, attributes: ['1.1'], sizeLimit: 2 }), (e) => {
          found.push(e.dn);
        })
        .catch(() => undefined);
      return found.length === 1 ? found[0] : undefined;
    },
    throttle: directory.throttle,
    normalize: (dn) => directory.normalize(dn),
    admin: (req) => d.admin.api.handle(req),
    mount: config.adminApi.mount,
    auditFile: d.admin.auditFile,
    leases: async () => {
      const out: LeaseRow[] = [];
      for await (const [, l] of scanRecords<LeaseRecord>(d.admin.engine.db, LEASE_PREFIX)) {
        out.push({
          id: l.lease_id,
          kind: l.kind,
          owner: l.owner,
          username: l.username ?? l.account,
          issueTime: l.issue_time,
          expireTime: l.expire_time,
          ttl: Math.max(0, Math.round((Date.parse(l.expire_time) - Date.now()) / 1000)),
        });
      }
      return out.sort((a, b) => a.expireTime.localeCompare(b.expireTime));
    },
    adminDn: config.admin.dn,
    overview: async (privileged): Promise<ConsoleOverview> => ({
      suffix: config.suffix,
      entries: await d.entries(),
      ...(await counters(d.metrics)),
      privileged,
      warnings: privileged ? consoleWarnings(config, d.admin.engine.sealKey.source) : [],
      ...(privileged
        ? {
            replication: directory.consumers.list(),
            lastBackup: config.memory ? null : lastBackup(config.dataDir),
            seal: { sealed: false, initialized: true, keyId: d.admin.engine.sealKey.id, keySource: d.admin.engine.sealKey.source },
          }
        : {}),
    }),
    describeAttribute: (name) => {
      const t = name ? directory.schema.attributeType(name) : undefined;
      return t && { name: t.name, syntax: t.syntax.desc, singleValue: t.singleValue, readOnly: t.noUserModification, desc: t.desc };
    },
    log: d.log,
  });
}

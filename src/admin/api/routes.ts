// The engine's paths as rows of the path table (framework.ts): below each mount (openldap, ldap
// and the configured one) config, rotate-root, static-role, static-cred, rotate-role, role
// (dynamic), creds and library; and sys/leases, sys/policies/password, sys/rotate and
// sys/key-status. api.ts authenticates, authorises and audits before a handler runs.

import type { Engine } from '../engine/engine.js';
import { envelope } from './envelope.js';
import type { AdminPath, Fields, RouteHandler, RouteRequest } from './framework.js';
import type { HttpResponse } from '../http/server.js';
import { CONFIG_FIELDS } from '../engine/config.js';
import { DYNAMIC_ROLE_FIELDS } from '../dynamic/dynamic.js';
import type { LeaseRecord } from '../leases/leases.js';
import { LIBRARY_SET_FIELDS } from '../library/library.js';
import { ROLE_FIELDS } from '../static/roles.js';

export const ok = (data: unknown): HttpResponse => ({ status: 200, body: envelope(data) });
export const noContent = (): HttpResponse => ({ status: 204 });
export const err = (status: number, ...errors: string[]): HttpResponse => ({ status, body: { errors } });
export const notFound = (): HttpResponse => err(404);
export const unsupportedPath = (): HttpResponse => err(404, '1 error occurred:\n\t* unsupported path\n\n');
export const unsupportedOp = (): HttpResponse => err(405, '1 error occurred:\n\t* unsupported operation\n\n');

function leased(data: unknown, l: LeaseRecord): HttpResponse {
  const ttl = Math.max(0, Math.round((Date.parse(l.expire_time) - Date.now()) / 1000));
  return { status: 200, body: { ...envelope(data), lease_id: l.lease_id, lease_duration: ttl, renewable: true } };
}

export async function listOf(list: Promise<string[]>): Promise<HttpResponse> {
  const keys = await list;
  return keys.length ? ok({ keys }) : notFound();
}

/** What a record kind offers for GET/POST/DELETE on one record and LIST below it. */
export interface RecordOps {
  read(name: string): Promise<unknown>;
  write(name: string, body: Record<string, unknown>): Promise<void>;
  delete(name: string): Promise<void>;
  list(sub: string): Promise<string[]>;
}

/**
 * The two rows of a record kind, as Vault declares them: `<kind>` (LIST of the collection) and
 * `<kind>/<name>` (read, write, delete; LIST below the name), with the body fields it takes.
 */
export function records(
  kind: string,
  ops: (r: RouteRequest) => RecordOps,
  opts: { mounted?: boolean; fields?: Fields; ldifBody?: boolean } = {},
): AdminPath[] {
  const name = (r: RouteRequest): string => r.params.name ?? '';
  const base = { ...(opts.mounted ? { mounted: true } : {}) };
  return [
    { ...base, pattern: kind, operations: { LIST: (r) => listOf(ops(r).list('')) } },
    {
      ...base,
      pattern: `${kind}/*name`,
      ...(opts.fields ? { fields: opts.fields } : {}),
      ...(opts.ldifBody ? { ldifBody: true } : {}),
      operations: {
        GET: async (r) => {
          const v = await ops(r).read(name(r));
          return v === undefined ? notFound() : ok(v);
        },
        POST: async (r) => {
          await ops(r).write(name(r), r.body());
          return noContent();
        },
        DELETE: async (r) => {
          await ops(r).delete(name(r));
          return noContent();
        },
        LIST: (r) => listOf(ops(r).list(name(r))),
      },
    },
  ];
}

async function rotateRole(e: Engine, name: string): Promise<HttpResponse> {
  if (!(await e.staticRoles.read(name))) return err(400, `role doesn't exist: ${name}`);
  try {
    await e.staticRoles.rotate(name, 'manual');
  } catch (x) {
    const msg = (x as Error).message;
    return err(
      500,
      `unable to finish rotating credentials; retries will continue in the background but it is also safe to retry manually: ${msg}`,
    );
  }
  return noContent();
}

/** sys/leases/<op>[/<id>] and Vault's older sys/<op>[/<id>]: the lease id from the path or the body. */
function leaseRows(e: Engine): AdminPath[] {
  const id = (r: RouteRequest): unknown => r.params.id || r.body().lease_id;
  const ops: Record<string, RouteHandler> = {
    lookup: async (r) => ok(e.leases.view(await e.leases.require(id(r)))),
    renew: async (r) => leased(null, await e.leases.renew(id(r), r.body().increment)),
    revoke: async (r) => {
      await e.leases.revoke(id(r));
      return noContent();
    },
  };
  const rows: AdminPath[] = [];
  for (const [op, handle] of Object.entries(ops)) {
    const prefixes = op === 'lookup' ? ['sys/leases/'] : ['sys/leases/', 'sys/'];
    for (const p of prefixes) {
      // Renewing and looking up one's own lease is in Vault's default policy (sys/leases/...).
      rows.push({
        pattern: p + op,
        operations: { POST: handle },
        ...(p === 'sys/leases/' && op !== 'revoke' ? { defaultPolicy: true } : {}),
      });
      rows.push({ pattern: `${p}${op}/*id`, operations: { POST: handle } });
    }
  }
  return rows;
}

/** The engine's rows: each kind of record the same way (records()), then their verbs. */
export function enginePaths(e: Engine): AdminPath[] {
  return [...configPaths(e), ...staticPaths(e), ...dynamicPaths(e), ...libraryPaths(e), ...leaseRows(e), ...sysPaths(e)];
}

function configPaths(e: Engine): AdminPath[] {
  return [
    {
      mounted: true,
      pattern: 'config',
      fields: CONFIG_FIELDS,
      operations: {
        GET: async () => {
          const cfg = await e.config.read();
          return cfg ? ok(e.config.view(cfg)) : notFound();
        },
        POST: async (r) => {
          await e.config.write(r.body());
          return noContent();
        },
        DELETE: async () => {
          await e.config.delete();
          return noContent();
        },
        LIST: async () => notFound(),
      },
    },
    {
      mounted: true,
      pattern: 'rotate-root',
      operations: {
        POST: async () => {
          await e.config.rotateRoot();
          return noContent();
        },
      },
    },
  ];
}

function staticPaths(e: Engine): AdminPath[] {
  return [
    ...records(
      'static-role',
      () => ({
        read: async (name) => {
          const role = await e.staticRoles.read(name);
          return role && e.staticRoles.view(role);
        },
        write: (name, body) => e.staticRoles.write(name, body),
        delete: (name) => e.staticRoles.delete(name),
        list: (sub) => e.staticRoles.list(sub),
      }),
      { mounted: true, fields: ROLE_FIELDS },
    ),
    {
      mounted: true,
      pattern: 'static-cred/*name',
      operations: {
        GET: async (r) => {
          const role = await e.staticRoles.read(r.params.name!);
          return role ? ok(e.staticRoles.cred(role)) : notFound();
        },
      },
    },
    { mounted: true, pattern: 'rotate-role/*name', operations: { POST: (r) => rotateRole(e, r.params.name!) } },
  ];
}

function dynamicPaths(e: Engine): AdminPath[] {
  return [
    ...records(
      'role',
      () => ({
        read: async (name) => {
          const role = await e.dynamic.read(name);
          return role && { ...role, name: undefined };
        },
        write: (name, body) => e.dynamic.write(name, body),
        delete: (name) => e.dynamic.delete(name),
        list: (sub) => e.dynamic.list(sub),
      }),
      // A dynamic role carries LDIF: its body bound is adminApi.limits.maxLdifBody.
      { mounted: true, fields: DYNAMIC_ROLE_FIELDS, ldifBody: true },
    ),
    {
      mounted: true,
      pattern: 'creds/*name',
      operations: Object.fromEntries(
        (['GET', 'POST'] as const).map((m) => [
          m,
          async (r: RouteRequest) => {
            const issued = await e.dynamic.issue(r.params.name!, r.caller!.display_name, r.mount);
            return leased(issued.data, issued.lease);
          },
        ]),
      ),
    },
  ];
}

function libraryPaths(e: Engine): AdminPath[] {
  const lib = e.library;
  const set = (r: RouteRequest): string => r.params.set!;
  return [
    {
      mounted: true,
      pattern: 'library/manage/*set/check-in',
      operations: {
        POST: async (r) => ok({ check_ins: await lib.checkIn(set(r), r.caller!.accessor, r.body().service_account_names, false) }),
      },
    },
    {
      mounted: true,
      pattern: 'library/*set/check-out',
      operations: {
        POST: async (r) => {
          const out = await lib.checkOut(set(r), r.caller!.accessor, r.body().ttl);
          return leased(out.data, out.lease);
        },
      },
    },
    {
      mounted: true,
      pattern: 'library/*set/check-in',
      operations: {
        POST: async (r) => ok({ check_ins: await lib.checkIn(set(r), r.caller!.accessor, r.body().service_account_names, true) }),
      },
    },
    {
      mounted: true,
      pattern: 'library/*set/status',
      operations: {
        GET: async (r) => {
          const s = await lib.read(set(r));
          return s ? ok(lib.status(s)) : notFound();
        },
      },
    },
    ...records(
      'library',
      () => ({
        read: async (name) => {
          const s = await lib.read(name);
          return s && lib.view(s);
        },
        write: (name, body) => lib.write(name, body),
        delete: (name) => lib.delete(name),
        list: (sub) => lib.list(sub),
      }),
      { mounted: true, fields: LIBRARY_SET_FIELDS },
    ),
  ];
}

function sysPaths(e: Engine): AdminPath[] {
  return [
    {
      pattern: 'sys/policies/password/*name/generate',
      operations: { GET: async (r) => ok({ password: await e.passwordPolicies.generate(r.params.name!) }) },
    },
    ...records('sys/policies/password', () => ({
      read: async (name) => {
        const text = await e.passwordPolicies.text(name);
        return text === undefined ? undefined : { policy: text };
      },
      write: (name, body) => e.passwordPolicies.put(name, body.policy),
      delete: (name) => e.passwordPolicies.delete(name),
      list: (sub) => e.passwordPolicies.list(sub),
    })),
    { pattern: 'sys/rotate', sudo: true, operations: { POST: async () => ok(await e.rotateSealKey()) } },
    { pattern: 'sys/key-status', operations: { GET: async () => ok({ key_id: e.db.sealer.keyId, source: e.db.sealer.source.kind }) } },
  ];
}

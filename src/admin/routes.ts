// The engine's paths, mapped onto the engine (api.ts authenticates, authorises and audits
// before a request gets here): under each mount (openldap and ldap) config, static-role,
// static-cred, rotate-root, rotate-role, role (dynamic), creds, library; and sys/leases,
// sys/policies/password, sys/rotate.

import type { Engine } from './engine.js';
import type { HttpResponse } from './http/server.js';
import type { LeaseRecord } from './leases.js';
import { envelope } from './envelope.js';

export interface RouteCtx {
  engine: Engine;
  method: string;
  /** The path below the mount (or below sys/). */
  rest: string;
  /** The mount the request came through (openldap, ldap or the configured one); absent for sys/. */
  mount?: string;
  body: () => Record<string, unknown>;
  /** The caller's display name and token accessor (dynamic usernames, library borrowers). */
  displayName: string;
  accessor: string;
}

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

async function listOf(list: Promise<string[]>): Promise<HttpResponse> {
  const keys = await list;
  return keys.length ? ok({ keys }) : notFound();
}

/** GET/POST/DELETE on one record; LIST on its collection. */
async function crud(
  c: RouteCtx,
  name: string,
  ops: { read: () => Promise<unknown>; write: () => Promise<void>; del: () => Promise<void>; list: (sub: string) => Promise<string[]> },
): Promise<HttpResponse> {
  switch (c.method) {
    case 'GET': {
      const v = await ops.read();
      return v === undefined ? notFound() : ok(v);
    }
    case 'POST':
      await ops.write();
      return noContent();
    case 'DELETE':
      await ops.del();
      return noContent();
    case 'LIST':
      return listOf(ops.list(name));
    default:
      return unsupportedOp();
  }
}

/** Paths below a mount. */
export async function mountRoute(c: RouteCtx): Promise<HttpResponse> {
  const { engine: e, method, rest } = c;
  const [head = '', ...tail] = rest.split('/');
  const name = tail.join('/');
  switch (head) {
    case 'config':
      if (rest !== 'config') break;
      return crud(c, '', {
        read: async () => {
          const cfg = await e.getConfig();
          return cfg && e.publicConfig(cfg);
        },
        write: () => e.writeConfig(c.body()),
        del: () => e.deleteConfig(),
        list: () => Promise.resolve([]),
      });
    case 'rotate-root':
      if (method !== 'POST') return unsupportedOp();
      await e.rotateRoot();
      return noContent();
    case 'static-role':
      if (!name && method !== 'LIST') return unsupportedOp();
      return crud(c, name, {
        read: async () => {
          const r = await e.getRole(name);
          return r && e.publicRole(r);
        },
        write: () => e.writeRole(name, c.body()),
        del: () => e.deleteRole(name),
        list: (sub) => e.listRoles(sub),
      });
    case 'static-cred': {
      if (method !== 'GET') return unsupportedOp();
      const r = await e.getRole(name);
      return r ? ok(e.publicCred(r)) : notFound();
    }
    case 'rotate-role':
      return rotateRole(c, name);
    case 'role':
      if (!name && method !== 'LIST') return unsupportedOp();
      return crud(c, name, {
        read: async () => {
          const r = await e.dynamic.read(name);
          return r && { ...r, name: undefined };
        },
        write: () => e.dynamic.write(name, c.body()),
        del: () => e.dynamic.delete(name),
        list: (sub) => e.dynamic.list(sub),
      });
    case 'creds': {
      if (method !== 'GET' && method !== 'POST') return unsupportedOp();
      const issued = await e.dynamic.issue(name, c.displayName, c.mount);
      return leased(issued.data, issued.lease);
    }
    case 'library':
      return library(c, tail);
  }
  return unsupportedPath();
}

async function rotateRole(c: RouteCtx, name: string): Promise<HttpResponse> {
  if (c.method !== 'POST') return unsupportedOp();
  if (!(await c.engine.getRole(name))) return err(400, `role doesn't exist: ${name}`);
  try {
    await c.engine.rotateRole(name, 'manual');
  } catch (x) {
    const msg = (x as Error).message;
    return err(
      500,
      `unable to finish rotating credentials; retries will continue in the background but it is also safe to retry manually: ${msg}`,
    );
  }
  return noContent();
}

/** library/<set>, library/<set>/{check-out,check-in,status}, library/manage/<set>/check-in. */
async function library(c: RouteCtx, tail: string[]): Promise<HttpResponse> {
  const lib = c.engine.library;
  const action = tail[tail.length - 1];
  if (tail[0] === 'manage' && action === 'check-in' && tail.length >= 3) {
    if (c.method !== 'POST') return unsupportedOp();
    return ok({ check_ins: await lib.checkIn(tail.slice(1, -1).join('/'), c.accessor, c.body().service_account_names, false) });
  }
  if (action === 'check-out' || action === 'check-in' || action === 'status') {
    const set = tail.slice(0, -1).join('/');
    if (action === 'status') {
      if (c.method !== 'GET') return unsupportedOp();
      const s = await lib.read(set);
      return s ? ok(lib.status(s)) : notFound();
    }
    if (c.method !== 'POST') return unsupportedOp();
    if (action === 'check-in') return ok({ check_ins: await lib.checkIn(set, c.accessor, c.body().service_account_names, true) });
    const out = await lib.checkOut(set, c.accessor, c.body().ttl);
    return leased(out.data, out.lease);
  }
  const set = tail.join('/');
  if (!set && c.method !== 'LIST') return unsupportedOp();
  return crud(c, set, {
    read: async () => {
      const s = await lib.read(set);
      return s && lib.view(s);
    },
    write: () => lib.write(set, c.body()),
    del: () => lib.delete(set),
    list: (sub) => lib.list(sub),
  });
}

/** sys/leases/{lookup,renew,revoke}, sys/policies/password/..., sys/rotate, sys/key-status. */
export async function sysRoute(c: RouteCtx): Promise<HttpResponse | undefined> {
  const { engine: e, method, rest } = c;
  if (rest.startsWith('leases/') || rest === 'renew' || rest === 'revoke') {
    const op = rest.replace(/^leases\//, '').split('/')[0];
    const fromPath = rest
      .split('/')
      .slice(rest.startsWith('leases/') ? 2 : 1)
      .join('/');
    const id = fromPath || c.body().lease_id;
    if (method !== 'POST') return unsupportedOp();
    if (op === 'lookup') return ok(e.leases.view(await e.leases.require(id)));
    if (op === 'renew') {
      const l = await e.leases.renew(id, c.body().increment);
      return leased(null, l);
    }
    if (op === 'revoke') {
      await e.leases.revoke(id);
      return noContent();
    }
    return unsupportedPath();
  }
  if (rest === 'policies/password' || rest === 'policies/password/') {
    if (method !== 'LIST') return unsupportedOp();
    return listOf(e.listPolicies(''));
  }
  if (rest.startsWith('policies/password/')) return passwordPolicy(c, rest.slice('policies/password/'.length));
  if (rest === 'rotate') {
    if (method !== 'POST') return unsupportedOp();
    return ok(await e.rotateSealKey());
  }
  if (rest === 'key-status' && method === 'GET') return ok({ key_id: e.db.sealer.keyId, source: e.db.sealer.source.kind });
  return undefined;
}

async function passwordPolicy(c: RouteCtx, rest: string): Promise<HttpResponse> {
  const e = c.engine;
  if (rest.endsWith('/generate')) {
    if (c.method !== 'GET') return unsupportedOp();
    return ok({ password: await e.generateFromPolicy(rest.slice(0, -'/generate'.length)) });
  }
  return crud(c, rest, {
    read: async () => {
      const text = await e.getPolicyText(rest);
      return text === undefined ? undefined : { policy: text };
    },
    write: () => e.putPolicy(rest, c.body().policy),
    del: () => e.deletePolicy(rest),
    list: (sub) => e.listPolicies(sub),
  });
}

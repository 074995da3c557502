// The console's Credentials page, through the admin API with the session's token: static roles
// (last and next rotation, rotate now) and a role's credential, fetched only when the person
// asks for it and never cacheable; the leases of dynamic credentials and library check-outs with
// revoke; the audit trail. The token's policies decide each call.

import type { HttpResponse } from '../admin/index.js';
import { auditTail } from './audit.js';
import type { AuditAnswer, LeaseRow } from './types.js';
import { failure, json, str } from './web.js';

export type VaultCall = (method: string, path: string, body?: Record<string, unknown>) => Promise<HttpResponse>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const data = (res: HttpResponse): Record<string, unknown> => (res.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
const errorOf = (res: HttpResponse): string =>
  (res.body as { errors?: string[] } | undefined)?.errors?.join('; ') || `status ${res.status}`;

/** The admin API's answer as the console's: its status and its error message. */
const passOn = (res: HttpResponse): HttpResponse => failure(res.status >= 400 ? res.status : 502, errorOf(res));

export interface TokenRequest {
  mount: string;
  method: string;
  api: string;
  body: Record<string, unknown>;
  /** The session's token: its audit lines are found by its HMAC. */
  token: string;
  /** The session may read every audit line (a root or sudo token, as for the Overview). */
  privileged: boolean;
  /** Every stored lease (the engine's records), shown to a token whose policies allow listing them. */
  leases: () => Promise<LeaseRow[]>;
  auditFile?: string;
}

/** Leases shown at most. */
const MAX_LEASES = 500;
const AUDIT_ROWS = 200;

export async function tokenRoute(vault: VaultCall, req: TokenRequest): Promise<HttpResponse | undefined> {
  const { mount, method, api } = req;
  const [head, name, sub] = api.split('/');
  if (head === 'leases') return leases(vault, req);
  if (api === 'audit' && method === 'GET') return audit(vault, req);
  if (head !== 'roles') return undefined;
  if (name !== undefined && !NAME.test(name)) return failure(400, 'bad role name');
  if (name === undefined && method === 'GET') {
    const list = await vault('LIST', `${mount}/static-role`);
    if (list.status === 404) return json(200, { roles: [] });
    if (list.status !== 200) return passOn(list);
    const keys = (data(list).keys as string[] | undefined) ?? [];
    const roles = await Promise.all(
      keys.map(async (k) => {
        const r = await vault('GET', `${mount}/static-role/${k}`);
        return r.status === 200 ? { name: k, ...data(r) } : { name: k, error: errorOf(r) };
      }),
    );
    return json(200, { roles });
  }
  if (name !== undefined && sub === 'rotate' && method === 'POST') {
    const r = await vault('POST', `${mount}/rotate-role/${name}`);
    if (r.status >= 300) return passOn(r);
    const after = await vault('GET', `${mount}/static-role/${name}`);
    return json(200, { role: { name, ...data(after) } });
  }
  if (name !== undefined && sub === 'credential' && method === 'GET') {
    const r = await vault('GET', `${mount}/static-cred/${name}`);
    if (r.status !== 200) return passOn(r);
    const d = data(r);
    return json(200, { username: d.username, dn: d.dn, password: d.password, last_vault_rotation: d.last_vault_rotation });
  }
  return undefined;
}

/**
 * GET leases: every lease, for a token that may list them (Vault: LIST sys/leases/lookup/ with
 * sudo); POST leases/revoke {lease_id}: sys/leases/revoke, the engine's own revoke. The token's
 * policies decide both (asked with sys/capabilities-self); every call is in the audit log.
 */
async function leases(vault: VaultCall, req: TokenRequest): Promise<HttpResponse | undefined> {
  if (req.api === 'leases/revoke' && req.method === 'POST') {
    const id = str(req.body.lease_id);
    if (!id) return failure(400, 'give lease_id');
    const r = await vault('POST', 'sys/leases/revoke', { lease_id: id });
    return r.status >= 300 ? passOn(r) : json(200, { revoked: id });
  }
  if (req.api !== 'leases' || req.method !== 'GET') return undefined;
  const caps = await vault('POST', 'sys/capabilities-self', { paths: ['sys/leases/lookup/', 'sys/leases/revoke'] });
  if (caps.status !== 200) return passOn(caps);
  const on = (p: string) => new Set((data(caps)[p] as string[] | undefined) ?? []);
  const list = on('sys/leases/lookup/');
  if (!list.has('root') && !(list.has('list') && list.has('sudo')))
    return failure(403, 'this token’s policies do not allow listing leases (list and sudo on sys/leases/lookup/)');
  const revoke = on('sys/leases/revoke');
  const rows = (await req.leases()).slice(0, MAX_LEASES);
  return json(200, { leases: rows, canRevoke: revoke.has('root') || revoke.has('update') });
}

/** GET audit: every line for a privileged token; its own requests for one allowed sys/audit-hash; else 403. */
async function audit(vault: VaultCall, req: TokenRequest): Promise<HttpResponse> {
  if (!req.auditFile) return failure(404, 'no audit log is written (adminApi.auditLog)');
  if (req.privileged) return json(200, { scope: 'all', rows: auditTail(req.auditFile, AUDIT_ROWS) } satisfies AuditAnswer);
  const r = await vault('POST', 'sys/audit-hash/file', { input: req.token });
  if (r.status !== 200) return failure(403, 'this token’s policies allow neither the audit trail nor its own requests in it');
  const own = String(data(r).hash ?? '');
  return json(200, { scope: 'own', rows: auditTail(req.auditFile, AUDIT_ROWS, own) } satisfies AuditAnswer);
}

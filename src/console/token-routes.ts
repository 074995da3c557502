// The console's Credentials page, through the admin API with the session's token: static roles
// (last and next rotation, rotate now) and a role's credential, fetched only when the person
// asks for it and never cacheable. The token's policies decide each call.

import type { HttpResponse } from '../admin/index.js';
import { failure, json } from './web.js';

export type VaultCall = (method: string, path: string, body?: Record<string, unknown>) => Promise<HttpResponse>;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const data = (res: HttpResponse): Record<string, unknown> => (res.body as { data?: Record<string, unknown> } | undefined)?.data ?? {};
const errorOf = (res: HttpResponse): string =>
  (res.body as { errors?: string[] } | undefined)?.errors?.join('; ') || `status ${res.status}`;

/** The admin API's answer as the console's: its status and its error message. */
const passOn = (res: HttpResponse): HttpResponse => failure(res.status >= 400 ? res.status : 502, errorOf(res));

export async function tokenRoute(vault: VaultCall, mount: string, method: string, api: string): Promise<HttpResponse | undefined> {
  const [head, name, sub] = api.split('/');
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

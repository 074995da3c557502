// The CLI side of the admin API: `astldap role|cred|rotate|rotate-root|policy ...` talk to a
// running server's Vault-compatible HTTP API with the root token (env or token file).

import { loadConfig } from '../../config/config.js';
import { clientToken } from './root-token.js';

export { clientToken } from './root-token.js';

export const ADMIN_USAGE = `  role list             list static roles (of the running server's admin API)
  role get NAME         show a static role and its rotation status
  role create NAME --dn DN (--rotation-period 24h | --rotation-schedule CRON [--rotation-window 1h])
                        [--username U] [--password-policy P] [--skip-import-rotation]
  role delete NAME      stop managing a role (the entry is not touched)
  cred NAME             print a role's current credential (JSON)
  rotate NAME           rotate a role's password now
  rotate-root           rotate the engine's own bind account password
  policy list|get NAME|generate NAME
                        password policies
  (token: env ASTLDAP_ROOT_TOKEN or VAULT_TOKEN, else adminApi.tokenFile, default data/root-token)
`;

type Values = Record<string, string | boolean | string[] | undefined>;

/** A Vault response body: the envelope's data, or errors. */
interface VaultJson {
  data?: Record<string, unknown> & { keys?: string[]; password?: string; policy?: string };
  errors?: string[];
}

type Call = (method: string, path: string, body?: unknown) => Promise<{ status: number; json: VaultJson }>;

/** The admin API as the CLI reaches it: address and token from the flags, environment or config. */
function adminClient(values: Values, configFile: string | undefined): { call: Call; mount: string } {
  const cfg = loadConfig({ file: configFile, overrides: typeof values.data === 'string' ? { dataDir: values.data } : undefined });
  const endpoint = String(values['admin-url'] ?? cfg.environment.vaultAddr ?? cfg.adminApi.listen).replace(/\/+$/, '');
  const token = clientToken(cfg);
  const call: Call = async (method, path, body) => {
    const res = await fetch(`${endpoint}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token!, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await res.text();
    const json = (text ? JSON.parse(text) : {}) as VaultJson;
    if (res.status >= 400 && res.status !== 404) {
      const errors = json.errors?.join('; ') || `HTTP ${res.status}`;
      throw new Error(errors);
    }
    return { status: res.status, json };
  };
  return { call, mount: cfg.adminApi.mount };
}

/** The static-role fields `role create` takes from its flags. */
function roleBody(values: Values): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (values.dn) body.dn = values.dn;
  if (values.username) body.username = values.username;
  if (values['rotation-period']) body.rotation_period = values['rotation-period'];
  if (values['rotation-schedule']) body.rotation_schedule = values['rotation-schedule'];
  if (values['rotation-window']) body.rotation_window = values['rotation-window'];
  if (values['password-policy']) body.password_policy = values['password-policy'];
  if (values['skip-import-rotation']) body.skip_import_rotation = true;
  return body;
}

export async function adminCommand(command: string, args: string[], values: Values, configFile: string | undefined): Promise<number> {
  const { call, mount } = adminClient(values, configFile);
  const print = (v: unknown) => process.stdout.write(JSON.stringify(v, null, 2) + '\n');
  const need = (what: string) => {
    const v = args[command === 'role' || command === 'policy' ? 1 : 0];
    if (!v) throw new Error(`${command} needs ${what}`);
    return v;
  };
  switch (command) {
    case 'role': {
      const sub = args[0];
      if (sub === 'list') {
        const r = await call('GET', `${mount}/static-role?list=true`);
        for (const k of r.json.data?.keys ?? []) process.stdout.write(k + '\n');
        return 0;
      }
      if (sub === 'get') {
        const name = need('a role name');
        const r = await call('GET', `${mount}/static-role/${encodeURIComponent(name)}`);
        if (r.status === 404) throw new Error(`no role ${name}`);
        print(r.json.data);
        return 0;
      }
      if (sub === 'create') {
        const name = need('a role name');
        await call('POST', `${mount}/static-role/${encodeURIComponent(name)}`, roleBody(values));
        process.stdout.write(`role ${name} written\n`);
        return 0;
      }
      if (sub === 'delete') {
        const name = need('a role name');
        await call('DELETE', `${mount}/static-role/${encodeURIComponent(name)}`);
        process.stdout.write(`role ${name} deleted\n`);
        return 0;
      }
      throw new Error('role needs list, get, create or delete');
    }
    case 'cred': {
      const name = need('a role name');
      const r = await call('GET', `${mount}/static-cred/${encodeURIComponent(name)}`);
      if (r.status === 404) throw new Error(`no role ${name}`);
      print(r.json.data);
      return 0;
    }
    case 'rotate': {
      const name = need('a role name');
      await call('POST', `${mount}/rotate-role/${encodeURIComponent(name)}`);
      process.stdout.write(`role ${name} rotated\n`);
      return 0;
    }
    case 'rotate-root':
      await call('POST', `${mount}/rotate-root`);
      process.stdout.write('root credential rotated\n');
      return 0;
    case 'policy': {
      const sub = args[0];
      if (sub === 'list') {
        const r = await call('GET', 'sys/policies/password?list=true');
        for (const k of r.json.data?.keys ?? []) process.stdout.write(k + '\n');
        return 0;
      }
      const name = need('a policy name');
      const r = await call('GET', `sys/policies/password/${encodeURIComponent(name)}${sub === 'generate' ? '/generate' : ''}`);
      if (r.status === 404) throw new Error(`no policy ${name}`);
      process.stdout.write((sub === 'generate' ? r.json.data?.password : r.json.data?.policy) + '\n');
      return 0;
    }
  }
  return 2;
}

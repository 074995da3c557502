// Talking to astldap's Vault-compatible admin API: through node-vault, or with raw HTTP calls.

import path from 'node:path';
import nodeVault from 'node-vault';
import type { AstldapServer, StartOptions } from '../../src/index.js';
import { repoRoot } from './slapd.js';

export type VaultClient = ReturnType<typeof nodeVault>;

/**
 * A node-vault client for the admin API at `api` (its base URL, without /v1). The token is set
 * as given, '' for none: never taken from VAULT_TOKEN in the environment.
 */
export function vaultClient(api: string, token = ''): VaultClient {
  const client = nodeVault({ endpoint: api, token, apiVersion: 'v1' });
  client.token = token;
  return client;
}

/** `method` on `${api}/v1/${path}` with X-Vault-Token and an optional JSON body; the JSON answer, if any. */
export async function vaultRequest(
  api: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; json: any }> {
  const res = await fetch(`${api}/v1/${path}`, {
    method,
    headers: { 'X-Vault-Token': token },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

/**
 * The dynamic role of docs/asterisk.md: a temporary PJSIP phone (auth with md5_cred, aor,
 * endpoint) created from LDIF templates under ou=pjsip,<suffix>, and deleted with its lease.
 */
export function phoneRole(suffix: string): { creation: string; deletion: string } {
  const pj = `ou=pjsip,${suffix}`;
  const creation = `dn: cn={{.Username}},ou=auths,${pj}
objectClass: AstldapPjsipAuth
cn: {{.Username}}
AstPjsipAuthAuthType: md5
AstPjsipAuthUsername: {{.Username}}
AstPjsipAuthRealm: asterisk
AstPjsipAuthMd5Cred: {{md5 .Username ":asterisk:" .Password}}

dn: cn={{.Username}},ou=aors,${pj}
objectClass: AstldapPjsipAor
cn: {{.Username}}
AstPjsipAorMaxContacts: 1

dn: cn={{.Username}},ou=endpoints,${pj}
objectClass: AstldapPjsipEndpoint
cn: {{.Username}}
AstPjsipEndpointAors: {{.Username}}
AstPjsipEndpointAuth: {{.Username}}
AstAccountContext: default
AstAccountDisallowedCodec: all
AstAccountAllowedCodec: ulaw
`;
  const deletion = ['endpoints', 'aors', 'auths'].map((ou) => `dn: cn={{.Username}},ou=${ou},${pj}\nchangetype: delete\n`).join('\n');
  return { creation, deletion };
}

/**
 * An in-process astldap with the admin API on a free port, as the admin tests start it: the
 * packaged config.yaml, a memory database unless told otherwise, LDAP on a free loopback port,
 * no logging; the root token (when given) and its token file in `tokenDir`. `opts` adds to or
 * overrides that (its config is merged, its adminApi config too).
 */
export async function startAdminServer(tokenDir: string, token: string | undefined, opts: StartOptions = {}): Promise<AstldapServer> {
  const { startServer } = await import('../../src/index.js');
  return startServer({
    configFile: path.join(repoRoot, 'config.yaml'),
    memory: true,
    listen: ['ldap://127.0.0.1:0'],
    adminApi: 'http://127.0.0.1:0',
    logger: false,
    ...opts,
    config: {
      ...opts.config,
      adminApi: { ...(token ? { rootToken: token } : {}), tokenFile: path.join(tokenDir, 'root-token'), ...opts.config?.adminApi },
    },
  });
}

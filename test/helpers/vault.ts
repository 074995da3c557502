// Talking to astldap's Vault-compatible admin API: through node-vault, or with raw HTTP calls.

import nodeVault from 'node-vault';

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

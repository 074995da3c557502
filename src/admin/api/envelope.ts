// Vault's response envelope (request id, lease fields, data, auth), shared by the API's routes.

import { randomUUID } from 'node:crypto';

export function envelope(data: unknown, warnings: string[] | null = null): Record<string, unknown> {
  return {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings,
    auth: null,
  };
}

// The console's calls to its server: same-origin JSON, the session's CSRF token on every write,
// and a 401 (no session, or an expired one) sends the person back to the sign-in form.

import type { SessionInfo } from '../src/console/types.js';

export type { SessionInfo } from '../src/console/types.js';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onExpired: () => void = () => undefined;

export function setSession(s: SessionInfo | undefined): void {
  csrf = s?.csrf ?? '';
}

export function whenExpired(f: () => void): void {
  onExpired = f;
}

export async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['X-CSRF-Token'] = csrf;
  const res = await fetch(`/ui/api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
  });
  const data = (await res.json().catch(() => ({}))) as { error?: string };
  if (res.status === 401 && path !== 'login') {
    setSession(undefined);
    onExpired();
  }
  if (!res.ok) throw new ApiError(res.status, data.error ?? `HTTP ${res.status}`);
  return data as T;
}

export const get = <T>(path: string): Promise<T> => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => call<T>('POST', path, body);
export const del = <T>(path: string): Promise<T> => call<T>('DELETE', path);

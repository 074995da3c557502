// What every console response shares: the security headers (a strict Content-Security-Policy
// with no inline script, no framing, no sniffing, no referrer), JSON answers, the session
// cookie, and the same-origin check that turns away a cookie sent from another site's page.

import type { HttpRequest, HttpResponse } from '../admin/index.js';

export const COOKIE = 'astldap_console';
/** Console request bodies are small forms: anything bigger is refused (413). */
export const MAX_BODY = 64 * 1024;

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export function securityHeaders(tls: boolean): Record<string, string> {
  return {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=()',
    ...(tls ? { 'Strict-Transport-Security': 'max-age=31536000' } : {}),
  };
}

/** A JSON answer that no cache keeps (anything of a session may carry credentials). */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return {
    status,
    raw: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  };
}

export const failure = (status: number, message: string): HttpResponse => json(status, { error: message });

export function cookieOf(req: HttpRequest): string | undefined {
  for (const part of (req.headers['cookie'] ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === COOKIE) return part.slice(i + 1).trim();
  }
  return undefined;
}

export function sessionCookie(id: string, tls: boolean, maxAgeSeconds: number): string {
  return `${COOKIE}=${id}; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${tls ? '; Secure' : ''}`;
}

export const clearCookie = (tls: boolean): string => `${COOKIE}=; Path=/ui/; HttpOnly; SameSite=Strict; Max-Age=0${tls ? '; Secure' : ''}`;

/**
 * The request comes from a page of this listener (or from no page at all: a command-line
 * client sends no Origin). A browser sends Origin on every POST and DELETE and on cross-site
 * fetches; Sec-Fetch-Site, when sent, says the same thing more directly.
 */
export function sameOrigin(req: HttpRequest, tls: boolean): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.headers['origin'];
  if (origin === undefined) return true;
  const host = req.headers['host'];
  return host !== undefined && origin === `${tls ? 'https' : 'http'}://${host}`;
}

/** The JSON object of a request body; undefined when it is not one. */
export function bodyOf(req: HttpRequest): Record<string, unknown> | undefined {
  if (!req.body.length) return {};
  try {
    const v: unknown = JSON.parse(req.body.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

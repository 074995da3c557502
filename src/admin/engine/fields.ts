// The values of an admin request's body: the parsers every record uses (durations, Go's
// booleans, strings) and the check of a body against a record's declared fields, which the
// path table (../api/framework.ts) runs before a handler reads the body.

import { invalid } from './errors.js';

/**
 * A body field's type, checked before the handler sees the body: string (numbers and booleans
 * taken as their text), bool (Go's ParseBool forms), duration (seconds or 1h30m; '' is left for
 * the record to read as "unset"), value (any JSON, checked by the record itself).
 */
export type FieldType = 'string' | 'bool' | 'duration' | 'value';

/** The fields a record type takes; any other field is a 400 ("unknown field: x"). */
export type Fields = Readonly<Record<string, FieldType>>;

/** '90', 90, '90s', '1h30m', '24h', '1d' → seconds. */
export function parseDuration(v: unknown, field: string): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) throw invalid(`invalid ${field}`);
    return Math.floor(v);
  }
  if (typeof v !== 'string' || !v.trim()) throw invalid(`invalid ${field}: ${JSON.stringify(v)}`);
  const s = v.trim();
  if (/^\d+$/.test(s)) return Number(s);
  const seconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(s))) {
    const n = Number(m[1]);
    total += m[2] === 'ms' ? n / 1000 : n * seconds[m[2]!]!;
    pos = re.lastIndex;
  }
  if (pos !== s.length || pos === 0)
    throw invalid(`invalid ${field}: ${JSON.stringify(v)} (use seconds or a duration such as 5s, 1h, 24h)`);
  return Math.floor(total);
}

export function parseBool(v: unknown, field: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === '1' || v === 1) return true;
  if (v === 'false' || v === '0' || v === 0 || v === '') return false;
  throw invalid(`invalid ${field}: expected a boolean`);
}

export function str(v: unknown, field: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw invalid(`invalid ${field}: expected a string`);
}

/**
 * Checks a body against a record's declared fields: an unknown field or a value of the wrong
 * type is a 400 with the text the record's own parser gives. The body is handed on as it came.
 */
export function checkFields(body: Record<string, unknown>, fields: Fields): Record<string, unknown> {
  for (const [k, v] of Object.entries(body)) {
    const type = fields[k];
    if (type === undefined) throw invalid(`unknown field: ${k}`);
    if (v === undefined) continue;
    if (type === 'string') str(v, k);
    else if (type === 'bool') parseBool(v, k);
    else if (type === 'duration' && v !== '') parseDuration(v, k);
  }
  return body;
}

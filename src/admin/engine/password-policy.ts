// Vault password policies (sys/policies/password/:name): the HCL subset Vault documents
// (`length = N` plus `rule "charset" { charset = "..." min-chars = N }`, JSON accepted too) and
// the generator: the candidate alphabet is the de-duplicated union of the rules' charsets,
// characters are drawn with a CSPRNG and a candidate is kept only when every rule holds.

import { randomInt } from 'node:crypto';
import { PolicyError, tokenize, type Token } from './hcl.js';

export { PolicyError } from './hcl.js';

export interface CharsetRule {
  charset: string;
  minChars: number;
}

export interface PasswordPolicy {
  length: number;
  rules: CharsetRule[];
  /** The de-duplicated union of the rules' charsets (code points). */
  alphabet: string[];
}

/** Vault's default for the openldap engine: 64 characters of base62 (the pre-policy generator). */
export const BASE62 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
export const DEFAULT_LENGTH = 64;

export function defaultPolicy(length = DEFAULT_LENGTH): PasswordPolicy {
  return compile(length, [{ charset: BASE62, minChars: 0 }]);
}

/** Parses policy text (HCL or JSON) into a validated policy. */
export function parsePolicy(text: string): PasswordPolicy {
  if (typeof text !== 'string' || !text.trim()) throw new PolicyError('missing policy');
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return parseJsonPolicy(trimmed);
  const toks = tokenize(text);
  let p = 0;
  const next = (): Token => {
    const t = toks[p++];
    if (!t) throw new PolicyError('unexpected end of policy');
    return t;
  };
  const expect = (text: string) => {
    const t = next();
    if (t.text !== text || (t.kind !== 'punct' && t.kind !== 'ident'))
      throw new PolicyError(`expected "${text}" at offset ${t.pos}, found ${JSON.stringify(t.text)}`);
  };
  let length: number | undefined;
  const rules: CharsetRule[] = [];
  while (p < toks.length) {
    const t = next();
    if (t.kind === 'ident' && t.text === 'length') {
      expect('=');
      const n = next();
      if (n.kind !== 'number') throw new PolicyError('length must be a number');
      length = Number(n.text);
    } else if (t.kind === 'ident' && t.text === 'rule') {
      const type = next();
      if (type.kind !== 'string' && type.kind !== 'ident') throw new PolicyError('rule needs a type');
      if (type.text !== 'charset') throw new PolicyError(`unrecognized rule type ${type.text}`);
      expect('{');
      let charset: string | undefined;
      let minChars = 0;
      for (;;) {
        const k = next();
        if (k.kind === 'punct' && k.text === '}') break;
        if (k.kind !== 'ident' && k.kind !== 'string') throw new PolicyError(`unexpected ${JSON.stringify(k.text)} in rule`);
        expect('=');
        const v = next();
        if (k.text === 'charset') {
          if (v.kind !== 'string') throw new PolicyError('charset must be a string');
          charset = v.text;
        } else if (k.text === 'min-chars' || k.text === 'min_chars') {
          if (v.kind !== 'number') throw new PolicyError('min-chars must be a number');
          minChars = Number(v.text);
        } else throw new PolicyError(`unrecognized charset rule field ${k.text}`);
      }
      if (charset === undefined) throw new PolicyError('charset rule needs a charset');
      rules.push({ charset, minChars });
    } else throw new PolicyError(`unexpected ${JSON.stringify(t.text)} at offset ${t.pos}`);
  }
  if (length === undefined) throw new PolicyError('length must be set');
  return compile(length, rules);
}

function parseJsonPolicy(text: string): PasswordPolicy {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new PolicyError(`invalid JSON policy: ${(err as Error).message}`);
  }
  const o = raw as { length?: unknown; rule?: unknown };
  if (typeof o.length !== 'number') throw new PolicyError('length must be set');
  const rules: CharsetRule[] = [];
  const list = Array.isArray(o.rule) ? o.rule : o.rule ? [o.rule] : [];
  for (const r of list as Array<Record<string, unknown>>) {
    const cs = (r.charset ?? r) as Record<string, unknown> | Array<Record<string, unknown>>;
    for (const c of Array.isArray(cs) ? cs : [cs]) {
      if (typeof c.charset !== 'string') throw new PolicyError('charset rule needs a charset');
      rules.push({ charset: c.charset, minChars: Number(c['min-chars'] ?? c.min_chars ?? 0) });
    }
  }
  return compile(o.length, rules);
}

function compile(length: number, rules: CharsetRule[]): PasswordPolicy {
  if (!Number.isInteger(length) || length < 4 || length > 100) throw new PolicyError('length must be >= 4 and <= 100');
  if (!rules.length) throw new PolicyError('no rules specified');
  const seen = new Set<string>();
  const alphabet: string[] = [];
  let sum = 0;
  for (const r of rules) {
    if (!r.charset.length) throw new PolicyError('charset must not be empty');
    if (!Number.isInteger(r.minChars) || r.minChars < 0) throw new PolicyError('min-chars must be >= 0');
    sum += r.minChars;
    for (const ch of r.charset) {
      if (!/^[\x21-\x7e]$|^[^\x00-\x7f]$/u.test(ch)) throw new PolicyError(`charset contains a non-printable character`);
      if (!seen.has(ch)) {
        seen.add(ch);
        alphabet.push(ch);
      }
    }
  }
  if (alphabet.length > 256) throw new PolicyError('charset must have at most 256 unique printable characters');
  if (sum > length) throw new PolicyError(`length (${length}) must be >= the sum of min-chars (${sum})`);
  return { length, rules, alphabet };
}

function satisfies(p: PasswordPolicy, pw: string[]): boolean {
  return p.rules.every((r) => {
    if (!r.minChars) return true;
    const set = new Set(r.charset);
    let n = 0;
    for (const ch of pw) if (set.has(ch)) n++;
    return n >= r.minChars;
  });
}

/** Generates a password; rejection sampling like Vault, giving up after a second. */
export function generate(p: PasswordPolicy): string {
  const deadline = Date.now() + 1000;
  do {
    const pw: string[] = [];
    for (let i = 0; i < p.length; i++) pw.push(p.alphabet[randomInt(p.alphabet.length)]!);
    if (satisfies(p, pw)) return pw.join('');
  } while (Date.now() < deadline);
  throw new PolicyError('unable to generate a password satisfying the policy within 1s');
}

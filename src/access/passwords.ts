// Password storage schemes: hashing cleartext for storage and verifying a presented password
// against a stored value in any scheme that data migrated from slapd carries.

import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const pbkdf2Async = promisify(pbkdf2);

import type { PasswordScheme } from '../config/config.js';

export type HashScheme = PasswordScheme;

const PBKDF2_ITERATIONS = 100_000;

/** '{SCHEME}rest' → ['SCHEME', 'rest'], or undefined when the value carries no scheme. */
export function splitScheme(stored: string): [string, string] | undefined {
  const m = /^\{([A-Za-z0-9.-]+)\}([\s\S]*)$/.exec(stored);
  return m ? [m[1]!.toUpperCase(), m[2]!] : undefined;
}

function digest(alg: string, ...parts: Buffer[]): Buffer {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** OpenLDAP's ab64 (adapted base64: '.' for '+', no padding) used by {PBKDF2-*}. */
function ab64decode(s: string): Buffer {
  return Buffer.from(s.replace(/\./g, '+'), 'base64');
}
function ab64encode(b: Buffer): string {
  return b.toString('base64').replace(/\+/g, '.').replace(/=+$/, '');
}

export async function hashPassword(clear: Buffer, scheme: HashScheme = 'PBKDF2-SHA512'): Promise<string> {
  switch (scheme) {
    case 'SSHA':
    case 'SSHA256':
    case 'SSHA512': {
      const alg = scheme === 'SSHA' ? 'sha1' : scheme === 'SSHA256' ? 'sha256' : 'sha512';
      const salt = randomBytes(8);
      return `{${scheme}}${Buffer.concat([digest(alg, clear, salt), salt]).toString('base64')}`;
    }
    case 'PBKDF2-SHA256':
    case 'PBKDF2-SHA512': {
      const alg = scheme === 'PBKDF2-SHA256' ? 'sha256' : 'sha512';
      const len = alg === 'sha256' ? 32 : 64;
      const salt = randomBytes(16);
      const dk = await pbkdf2Async(clear, salt, PBKDF2_ITERATIONS, len, alg);
      return `{${scheme}}${PBKDF2_ITERATIONS}$${ab64encode(salt)}$${ab64encode(dk)}`;
    }
  }
}

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Verifies `given` against a stored value (latin1 string: one char per stored byte). */
export async function verifyPassword(stored: string, given: Buffer): Promise<boolean> {
  const split = splitScheme(stored);
  if (!split) return safeEqual(Buffer.from(stored, 'latin1'), given);
  const [scheme, rest] = split;
  const salted = (alg: string, size: number) => {
    const raw = Buffer.from(rest, 'base64');
    if (raw.length < size) return false;
    return safeEqual(raw.subarray(0, size), digest(alg, given, raw.subarray(size)));
  };
  switch (scheme) {
    case 'CLEARTEXT':
      return safeEqual(Buffer.from(rest, 'latin1'), given);
    case 'SHA':
      return safeEqual(Buffer.from(rest, 'base64'), digest('sha1', given));
    case 'SHA256':
      return safeEqual(Buffer.from(rest, 'base64'), digest('sha256', given));
    case 'SHA512':
      return safeEqual(Buffer.from(rest, 'base64'), digest('sha512', given));
    case 'MD5':
      return safeEqual(Buffer.from(rest, 'base64'), digest('md5', given));
    case 'SSHA':
      return salted('sha1', 20);
    case 'SSHA256':
      return salted('sha256', 32);
    case 'SSHA512':
      return salted('sha512', 64);
    case 'SMD5':
      return salted('md5', 16);
    case 'PBKDF2':
    case 'PBKDF2-SHA1':
    case 'PBKDF2-SHA256':
    case 'PBKDF2-SHA512': {
      const alg = scheme === 'PBKDF2-SHA256' ? 'sha256' : scheme === 'PBKDF2-SHA512' ? 'sha512' : 'sha1';
      const m = /^(\d+)\$([^$]+)\$([^$]+)$/.exec(rest);
      if (!m) return false;
      const expected = ab64decode(m[3]!);
      const dk = await pbkdf2Async(given, ab64decode(m[2]!), Number(m[1]), expected.length, alg);
      return safeEqual(dk, expected);
    }
    default:
      return false;
  }
}

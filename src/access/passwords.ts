// Password storage schemes: hashing cleartext for storage and verifying a presented password
// against a stored value in any scheme that data migrated from slapd carries.

import { createHash, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
// Argon2 is not in node:crypto on Node 20 (crypto.argon2 arrived in Node 24). hash-wasm is a
// maintained pure-WebAssembly implementation: no native build step, no node-gyp, same results as
// the reference libargon2 that OpenLDAP's argon2 module links.
import { argon2d, argon2i, argon2id } from 'hash-wasm';

const pbkdf2Async = promisify(pbkdf2);

import type { PasswordScheme } from '../config/config.js';

export type HashScheme = PasswordScheme;

const PBKDF2_ITERATIONS = 100_000;
/** Argon2id cost for new hashes: 64 MiB, two passes, one lane (libsodium's "interactive" limits). */
const ARGON2_PARAMS = { memorySize: 65536, iterations: 2, parallelism: 1, hashLength: 32 } as const;

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
    case 'ARGON2': {
      // The PHC string OpenLDAP's pw-argon2 stores: $argon2id$v=19$m=..,t=..,p=..$salt$hash.
      const encoded = await argon2id({ password: clear, salt: randomBytes(16), ...ARGON2_PARAMS, outputType: 'encoded' });
      return `{ARGON2}${encoded}`;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// SHA-crypt ($5$ SHA-256, $6$ SHA-512), after Ulrich Drepper's "Unix crypt using SHA-256 and
// SHA-512" (the algorithm glibc's crypt(3) implements).

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SHA_CRYPT_ROUNDS_DEFAULT = 5000;
const SHA_CRYPT_ROUNDS_MIN = 1000;
const SHA_CRYPT_ROUNDS_MAX = 999_999_999;
const SHA_CRYPT_SALT_MAX = 16;

/** Byte triples of the final digest, in the order the spec encodes them. */
const SHA256_ORDER: ReadonlyArray<readonly [number, number, number]> = [
  [0, 10, 20],
  [21, 1, 11],
  [12, 22, 2],
  [3, 13, 23],
  [24, 4, 14],
  [15, 25, 5],
  [6, 16, 26],
  [27, 7, 17],
  [18, 28, 8],
  [9, 19, 29],
];
const SHA512_ORDER: ReadonlyArray<readonly [number, number, number]> = [
  [0, 21, 42],
  [22, 43, 1],
  [44, 2, 23],
  [3, 24, 45],
  [25, 46, 4],
  [47, 5, 26],
  [6, 27, 48],
  [28, 49, 7],
  [50, 8, 29],
  [9, 30, 51],
  [31, 52, 10],
  [53, 11, 32],
  [12, 33, 54],
  [34, 55, 13],
  [56, 14, 35],
  [15, 36, 57],
  [37, 58, 16],
  [59, 17, 38],
  [18, 39, 60],
  [40, 61, 19],
  [62, 20, 41],
];

function b64From24(b2: number, b1: number, b0: number, n: number): string {
  let w = (b2 << 16) | (b1 << 8) | b0;
  let out = '';
  for (let i = 0; i < n; i++) {
    out += CRYPT_ALPHABET[w & 0x3f];
    w >>>= 6;
  }
  return out;
}

/** `len` bytes of `block` repeated (the spec's "for each block of 32/64 bytes ... then the rest"). */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let off = 0; off < len; off += block.length) block.copy(out, off, 0, Math.min(block.length, len - off));
  return out;
}

/**
 * crypt(3) for a `$5$` or `$6$` setting (`$5$[rounds=N$]salt[$...]`): the full result string,
 * or undefined when the setting is not a SHA-crypt one.
 */
export function shaCrypt(password: Buffer, setting: string): string | undefined {
  const m = /^\$([56])\$(?:rounds=(\d+)\$)?([^$]*)/.exec(setting);
  if (!m) return undefined;
  const id = m[1]!;
  const alg = id === '5' ? 'sha256' : 'sha512';
  const custom = m[2] !== undefined;
  let rounds = custom ? Number(m[2]) : SHA_CRYPT_ROUNDS_DEFAULT;
  if (!Number.isSafeInteger(rounds)) return undefined;
  rounds = Math.min(Math.max(rounds, SHA_CRYPT_ROUNDS_MIN), SHA_CRYPT_ROUNDS_MAX);
  const saltStr = m[3]!.slice(0, SHA_CRYPT_SALT_MAX);
  const salt = Buffer.from(saltStr, 'latin1');
  const P = password;
  const plen = P.length;

  const B = digest(alg, P, salt, P);
  const a = createHash(alg).update(P).update(salt).update(repeatTo(B, plen));
  for (let n = plen; n > 0; n >>>= 1) a.update(n & 1 ? B : P);
  const A = a.digest();

  const dp = createHash(alg);
  for (let i = 0; i < plen; i++) dp.update(P);
  const Pbytes = repeatTo(dp.digest(), plen);

  const ds = createHash(alg);
  for (let i = 0; i < 16 + A[0]!; i++) ds.update(salt);
  const Sbytes = repeatTo(ds.digest(), salt.length);

  let C = A;
  for (let i = 0; i < rounds; i++) {
    const h = createHash(alg);
    h.update(i & 1 ? Pbytes : C);
    if (i % 3) h.update(Sbytes);
    if (i % 7) h.update(Pbytes);
    h.update(i & 1 ? C : Pbytes);
    C = h.digest();
  }

  let enc = '';
  if (id === '5') {
    for (const [x, y, z] of SHA256_ORDER) enc += b64From24(C[x]!, C[y]!, C[z]!, 4);
    enc += b64From24(0, C[31]!, C[30]!, 3);
  } else {
    for (const [x, y, z] of SHA512_ORDER) enc += b64From24(C[x]!, C[y]!, C[z]!, 4);
    enc += b64From24(0, 0, C[63]!, 2);
  }
  return `$${id}$${custom ? `rounds=${rounds}$` : ''}${saltStr}$${enc}`;
}

/** {CRYPT}: SHA-crypt only; DES, MD5-crypt, bcrypt and the rest are refused (false). */
function verifyCrypt(rest: string, given: Buffer): boolean {
  const m = /^(\$[56]\$(?:rounds=\d+\$)?[^$]*)\$([./0-9A-Za-z]+)$/.exec(rest);
  if (!m) return false;
  const computed = shaCrypt(given, m[1]!);
  if (!computed) return false;
  const hash = computed.slice(computed.lastIndexOf('$') + 1);
  return safeEqual(Buffer.from(hash, 'latin1'), Buffer.from(m[2]!, 'latin1'));
}

/** Standard base64 without padding, as PHC strings carry it. */
function phcB64(s: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]*$/.test(s)) return undefined;
  return Buffer.from(s, 'base64');
}

/** {ARGON2}$argon2{i,d,id}$v=19$m=..,t=..,p=..$salt$hash (OpenLDAP's pw-argon2 format). */
async function verifyArgon2(rest: string, given: Buffer): Promise<boolean> {
  const m = /^\$(argon2id|argon2i|argon2d)\$v=(\d+)\$m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$([^$]+)$/.exec(rest);
  if (!m) return false;
  if (m[2] !== '19') return false; // hash-wasm implements version 0x13 only
  const salt = phcB64(m[6]!);
  const expected = phcB64(m[7]!);
  const memorySize = Number(m[3]);
  const iterations = Number(m[4]);
  const parallelism = Number(m[5]);
  if (!salt || !expected || salt.length < 8 || expected.length < 4) return false;
  if (parallelism < 1 || parallelism > 255 || iterations < 1 || iterations > 1000) return false;
  if (memorySize < 8 * parallelism || memorySize > 4 * 1024 * 1024) return false; // up to 4 GiB
  const fn = m[1] === 'argon2id' ? argon2id : m[1] === 'argon2i' ? argon2i : argon2d;
  try {
    const dk = await fn({ password: given, salt, memorySize, iterations, parallelism, hashLength: expected.length, outputType: 'binary' });
    return safeEqual(Buffer.from(dk), expected);
  } catch {
    return false;
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
    case 'CRYPT':
      return verifyCrypt(rest, given);
    case 'ARGON2':
      return verifyArgon2(rest, given);
    default:
      return false;
  }
}

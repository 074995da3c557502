// Distinguished names (RFC 4514): parsing the string form into RDNs, formatting them back, and the
// normalised form the store keys entries by (see NormalizedDn in store/types.ts).

import { LdapError, ResultCode } from '../ldap/result.js';
import type { AttributeType } from './types.js';

export interface Ava {
  /** Attribute type as written (descr or numeric OID). */
  type: string;
  /** Unescaped value. A `#hex` BER value is kept as the octets' latin1 string. */
  value: string;
}

/** RDNs leaf first: parseDn('cn=a,dc=b') → [[cn=a], [dc=b]]. */
export type Rdn = Ava[];

/** What normalizeDn needs from the schema (the registry provides it). */
export interface DnSchema {
  attributeType(name: string): AttributeType | undefined;
}

function invalid(dn: string, why: string): LdapError {
  void dn;
  return new LdapError(ResultCode.invalidDNSyntax, `invalid DN: ${why}`);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const typeRe = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)*)$/;
const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** Parses an RFC 4514 DN. Spaces around separators are tolerated, as slapd does. */
export function parseDn(dn: string): Rdn[] {
  const out: Rdn[] = [];
  const n = dn.length;
  let i = 0;
  const skipSpaces = () => {
    while (i < n && dn[i] === ' ') i++;
  };
  skipSpaces();
  if (i === n) return out;
  let rdn: Ava[] = [];
  for (;;) {
    skipSpaces();
    const ts = i;
    while (i < n && dn[i] !== '=' && dn[i] !== ',' && dn[i] !== '+') i++;
    if (i >= n || dn[i] !== '=') throw invalid(dn, 'missing "="');
    let type = dn.slice(ts, i).trim();
    if (/^oid\./i.test(type)) type = type.slice(4);
    if (!typeRe.test(type)) throw invalid(dn, `bad attribute type "${type}"`);
    i++; // '='
    skipSpaces();
    const read = readValue(dn, i);
    const value = read.value;
    i = read.end;
    rdn.push({ type, value });
    skipSpaces();
    if (i >= n) {
      out.push(rdn);
      return out;
    }
    const sep = dn[i]!;
    i++;
    if (sep === '+') continue;
    if (sep === ',' || sep === ';') {
      out.push(rdn);
      rdn = [];
      skipSpaces();
      if (i >= n) throw invalid(dn, 'empty RDN');
      continue;
    }
    throw invalid(dn, `unexpected "${sep}"`);
  }
}

/** The AVA value starting at i (after '=' and spaces): its unescaped form and where it ends. */
function readValue(dn: string, i: number): { value: string; end: number } {
  if (dn[i] === '#') return hexValue(dn, i + 1);
  if (dn[i] === '"') return quotedValue(dn, i + 1);
  // The common case, a value without escapes: the text itself (trailing spaces are skipped next).
  const plain = plainValue(dn, i);
  if (plain !== undefined) return { value: plain, end: i + plain.length };
  return escapedValue(dn, i);
}

/** A hex-encoded BER value (`#04...`): the content octets of a primitive element. */
function hexValue(dn: string, i: number): { value: string; end: number } {
  const hs = i;
  while (i < dn.length && hex(dn.charCodeAt(i))) i++;
  const h = dn.slice(hs, i);
  if (h.length === 0 || h.length % 2) throw invalid(dn, 'bad hex value');
  const bytes = Buffer.from(h, 'hex');
  return { value: berContent(bytes) ?? bytes.toString('latin1'), end: i };
}

/** An RFC 1779 quoted value (still accepted by OpenLDAP), from after its opening quote. */
function quotedValue(dn: string, i: number): { value: string; end: number } {
  const n = dn.length;
  const bytes: number[] = [];
  while (i < n && dn[i] !== '"') {
    if (dn[i] === '\\') i++;
    if (i >= n) throw invalid(dn, 'unterminated quote');
    pushUtf8(bytes, dn, i);
    i += dn.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  if (i >= n) throw invalid(dn, 'unterminated quote');
  return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
}

/** A value with escapes (`\,`, `\2C`) or characters that need checking, decoded byte by byte. */
function escapedValue(dn: string, i: number): { value: string; end: number } {
  const n = dn.length;
  const bytes: number[] = [];
  let lastNonSpace = 0;
  while (i < n && dn[i] !== ',' && dn[i] !== '+' && dn[i] !== ';') {
    const c = dn[i]!;
    if (c === '\\') {
      i++;
      if (i >= n) throw invalid(dn, 'trailing backslash');
      if (i + 1 < n && hex(dn.charCodeAt(i)) && hex(dn.charCodeAt(i + 1))) {
        bytes.push(parseInt(dn.slice(i, i + 2), 16));
        i += 2;
      } else if (' "#+,;<=>\\'.includes(dn[i]!)) {
        bytes.push(dn.charCodeAt(i));
        i++;
      } else throw invalid(dn, 'bad escape');
      lastNonSpace = bytes.length;
      continue;
    }
    // slapd accepts an unescaped '=' inside a value; the others are invalid.
    if (c === '"' || c === '<' || c === '>' || c === '\0') throw invalid(dn, `unescaped "${c}"`);
    const cp = dn.codePointAt(i)!;
    pushUtf8(bytes, dn, i);
    i += cp > 0xffff ? 2 : 1;
    if (c !== ' ') lastNonSpace = bytes.length;
  }
  bytes.length = lastNonSpace; // unescaped trailing spaces are not part of the value
  try {
    return { value: utf8.decode(Buffer.from(bytes)), end: i };
  } catch {
    throw invalid(dn, 'value is not valid UTF-8');
  }
}

/**
 * The value starting at i when it needs no decoding: up to the next separator, no backslash,
 * quote, '<', '>', NUL or surrogate (those take the byte-wise path), trailing spaces not
 * included. Undefined when the value needs the byte-wise path.
 */
function plainValue(dn: string, i: number): string | undefined {
  const n = dn.length;
  let end = i;
  let lastNonSpace = i;
  for (; end < n; end++) {
    const c = dn.charCodeAt(end);
    if (c === 0x2c /* , */ || c === 0x2b /* + */ || c === 0x3b /* ; */) break;
    if (c === 0x5c || c === 0x22 || c === 0x3c || c === 0x3e || c === 0 || (c >= 0xd800 && c <= 0xdfff)) return undefined;
    if (c !== 0x20) lastNonSpace = end + 1;
  }
  return dn.slice(i, lastNonSpace);
}

function pushUtf8(bytes: number[], s: string, i: number): void {
  const cp = s.codePointAt(i)!;
  if (cp < 0x80) bytes.push(cp);
  else for (const b of Buffer.from(String.fromCodePoint(cp), 'utf8')) bytes.push(b);
}

/** Content octets of a single primitive BER element, as a latin1 string (UTF-8 decoded for strings). */
function berContent(b: Buffer): string | undefined {
  if (b.length < 2) return undefined;
  const tag = b[0]!;
  let len = b[1]!;
  let off = 2;
  if (len & 0x80) {
    const k = len & 0x7f;
    if (k === 0 || k > 3 || b.length < 2 + k) return undefined;
    len = 0;
    for (let j = 0; j < k; j++) len = len * 256 + b[2 + j]!;
    off = 2 + k;
  }
  if (off + len !== b.length) return undefined;
  const content = b.subarray(off);
  // UTF8String, PrintableString, IA5String, T61String: text.
  if (tag === 0x0c || tag === 0x13 || tag === 0x16 || tag === 0x14) return content.toString('utf8');
  return content.toString('latin1');
}

/** Escapes a value for the string form of a DN (RFC 4514 §2.4). */
export function escapeDnValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (c === ',' || c === '+' || c === '"' || c === '\\' || c === '<' || c === '>' || c === ';' || c === '=') out += '\\' + c;
    else if (c === '\0') out += '\\00';
    else if ((c === '#' && i === 0) || (c === ' ' && (i === 0 || i === v.length - 1))) out += '\\' + c;
    else out += c;
  }
  return out;
}

/** slapd's "pretty" value escaping: specials as upper-case hex pairs (\2C), as slapd returns DNs. */
export function prettyDnValue(v: string): string {
  let out = '';
  for (let i = 0; i < v.length; i++) {
    const c = v[i]!;
    if (',+"\\<>;=\0'.includes(c) || (c === '#' && i === 0) || (c === ' ' && (i === 0 || i === v.length - 1))) {
      out += '\\' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0');
    } else out += c;
  }
  return out;
}

/** The DN in the form slapd stores and returns: no spaces around separators, hex escapes. */
export function prettyDn(dn: string): string {
  return prettyRdns(parseDn(dn));
}

/** prettyDn of a parsed DN. */
export function prettyRdns(rdns: Rdn[]): string {
  return rdns
    .map((rdn) => rdn.map((a) => `${a.type}=${prettyDnValue(a.value)}`).join('+'))
    .join(',');
}

export function formatRdn(rdn: Rdn): string {
  return rdn.map((a) => `${a.type}=${escapeDnValue(a.value)}`).join('+');
}

export function formatDn(rdns: Rdn[]): string {
  return rdns.map(formatRdn).join(',');
}

/** What a normalised DN escapes; the test alone spares a value without any its replace. */
const specialRe = /[,+"\\<>;=\0]/;
const specialsRe = new RegExp(specialRe.source, 'g');

/** Escaping inside normalised DNs: separators hex-escaped so ',' and '+' split safely. */
function escapeNormalized(v: string): string {
  if (!specialRe.test(v)) return v;
  return v.replace(specialsRe, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

/**
 * The normalised form of a DN: each AVA as `typekey=value` with the value normalised by the
 * type's equality rule, multi-valued RDNs sorted. Unknown types and values the rule rejects are
 * invalidDNSyntax, as slapd answers.
 */
export function normalizeDn(dn: string, schema: DnSchema): string {
  const rdns = parseDn(dn);
  return normalizeRdns(rdns, schema, dn);
}

export function normalizeRdns(rdns: Rdn[], schema: DnSchema, dn = ''): string {
  let out = '';
  for (let r = 0; r < rdns.length; r++) {
    const rdn = rdns[r]!;
    if (r > 0) out += ',';
    if (rdn.length === 1) {
      out += normalizeAva(rdn[0]!, schema, dn);
      continue;
    }
    const avas: string[] = [];
    for (const ava of rdn) avas.push(normalizeAva(ava, schema, dn));
    avas.sort();
    out += avas.join('+');
  }
  return out;
}

function normalizeAva(ava: Ava, schema: DnSchema, dn: string): string {
  const t = schema.attributeType(ava.type);
  if (!t) throw invalid(dn, `undefined attribute type "${ava.type}"`);
  let v: string | undefined = ava.value;
  if (t.equality) v = t.equality.normalize(v);
  if (v === undefined || !t.syntax.validate(ava.value)) throw invalid(dn, `invalid value for ${t.name}`);
  return t.key + '=' + escapeNormalized(v);
}

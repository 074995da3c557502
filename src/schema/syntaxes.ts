// LDAP syntaxes (RFC 4517 §3.3 and the ones OpenLDAP's stock schema files use), each with the
// validator the server applies to stored values. OIDs and descriptions are the standard ones.

import { X509Certificate } from 'node:crypto';
import { parseDn } from './dn.js';
import type { Syntax } from './types.js';

const S = '1.3.6.1.4.1.1466.115.121.1.';

const any = () => true;
const nonEmpty = (v: string) => v.length > 0;
const printableRe = /^[A-Za-z0-9 '()+,\-./:=?]+$/;
const ia5Re = /^[\x00-\x7f]*$/;
const integerRe = /^(?:0|-?[1-9][0-9]*)$/;
const numericRe = /^[0-9 ]+$/;
const oidRe = /^(?:[0-9]+(?:\.[0-9]+)+|[A-Za-z][A-Za-z0-9-]*)$/;
const uuidRe = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const bitStringRe = /^'[01]*'B$/;
const csnRe = /^[0-9]{14}\.[0-9]{6}Z#[0-9a-fA-F]{6}#[0-9a-fA-F]{3}#[0-9a-fA-F]{6}$/;

/** YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|+hh[mm]|-hh[mm]) (RFC 4517 §3.3.13). */
export const generalizedTimeRe =
  /^([0-9]{4})(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])([01][0-9]|2[0-3])(?:([0-5][0-9])(?:([0-5][0-9]|60))?)?(?:[.,]([0-9]+))?(Z|[+-](?:[01][0-9]|2[0-3])(?:[0-5][0-9])?)$/;

function isDn(v: string): boolean {
  try {
    parseDn(v);
    return true;
  } catch {
    return false;
  }
}

/** Name And Optional UID: a DN optionally followed by #'bits'B. */
function isNameUid(v: string): boolean {
  const m = /^(.*)#('[01]*'B)$/.exec(v);
  return m ? isDn(m[1]!) : isDn(v);
}

/** A DER-encoded X.509 certificate (as slapd's certificateValidate: it must parse; PEM is not DER). */
function isCertificate(v: string): boolean {
  if (v.charCodeAt(0) !== 0x30) return false; // a DER SEQUENCE
  try {
    new X509Certificate(Buffer.from(v, 'latin1'));
    return true;
  } catch {
    return false;
  }
}

/** A DER element: its tag byte and the bounds of its contents. */
interface Der {
  tag: number;
  start: number;
  end: number;
}

/** The DER element at p, within end (definite lengths in minimal form only), or undefined. */
function derAt(b: Buffer, p: number, end: number): Der | undefined {
  if (p + 2 > end) return undefined;
  const tag = b[p]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers: none in these structures
  let len = b[p + 1]!;
  let q = p + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is BER's indefinite length, not DER; longer forms than 4 bytes exceed any value here.
    if (n === 0 || n > 4 || q + n > end || b[q] === 0) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[q++]!;
    if (len < 0x80) return undefined;
  }
  return q + len > end ? undefined : { tag, start: q, end: q + len };
}

const SEQUENCE = 0x30;

/**
 * A DER X.509 CRL (RFC 5280 §5.1), checked for its structure as slapd's certificateListValidate
 * does: a SEQUENCE of the TBSCertList, the signature algorithm and the signature (a BIT STRING)
 * (bytes after that SEQUENCE are tolerated, as slapd and OpenSSL tolerate them); the
 * TBSCertList's version, if present, v2 (1); then signature, issuer, thisUpdate, and in order
 * the optional nextUpdate, revokedCertificates and [0] extensions (v2 only), nothing else.
 */
function isCertificateList(v: string): boolean {
  const b = Buffer.from(v, 'latin1');
  const outer = derAt(b, 0, b.length);
  if (!outer || outer.tag !== SEQUENCE) return false;
  const tbs = derAt(b, outer.start, outer.end);
  if (!tbs || tbs.tag !== SEQUENCE) return false;
  const alg = derAt(b, tbs.end, outer.end);
  if (!alg || alg.tag !== SEQUENCE) return false;
  const sig = derAt(b, alg.end, outer.end);
  if (!sig || sig.tag !== 0x03 || sig.end !== outer.end) return false;
  // The TBSCertList, field by field.
  let p = tbs.start;
  let e = derAt(b, p, tbs.end);
  let v2 = false;
  if (e?.tag === 0x02) {
    if (e.end - e.start !== 1 || b[e.start] !== 1) return false;
    v2 = true;
    e = derAt(b, (p = e.end), tbs.end);
  }
  const isTime = (x: Der | undefined) => x?.tag === 0x17 || x?.tag === 0x18; // UTCTime, GeneralizedTime
  const isSequence = (x: Der | undefined) => x?.tag === SEQUENCE;
  for (const ok of [isSequence, isSequence, isTime]) {
    if (!ok(e)) return false;
    e = derAt(b, (p = e!.end), tbs.end);
  }
  if (isTime(e)) e = derAt(b, (p = e!.end), tbs.end); // nextUpdate
  if (isSequence(e)) e = derAt(b, (p = e!.end), tbs.end); // revokedCertificates
  if (e?.tag === 0xa0) {
    const inner = derAt(b, e.start, e.end);
    if (!v2 || !isSequence(inner) || inner!.end !== e.end) return false;
    e = derAt(b, (p = e.end), tbs.end);
  }
  return e === undefined && p === tbs.end;
}

/**
 * An X.509 certificate pair (RFC 4523 §2.3). slapd (2.5) takes any value that starts with a
 * SEQUENCE's tag and a length, whatever follows; so does this, so a directory dumped from slapd
 * loads here.
 */
const isCertificatePair = (v: string) => v.length >= 2 && v.charCodeAt(0) === SEQUENCE;

function isDescription(v: string): boolean {
  return /^\(\s*\S.*\)$/s.test(v.trim());
}

/** [oid, description, binary, validator] */
const table: Array<[string, string, boolean, (v: string) => boolean]> = [
  [S + '3', 'Attribute Type Description', false, isDescription],
  [S + '4', 'Audio', true, any],
  [S + '5', 'Binary', true, any],
  [S + '6', 'Bit String', false, (v) => bitStringRe.test(v)],
  [S + '7', 'Boolean', false, (v) => v === 'TRUE' || v === 'FALSE'],
  [S + '8', 'Certificate', true, isCertificate],
  [S + '9', 'Certificate List', true, isCertificateList],
  [S + '10', 'Certificate Pair', true, isCertificatePair],
  [S + '11', 'Country String', false, (v) => v.length === 2 && printableRe.test(v)],
  [S + '12', 'Distinguished Name', false, isDn],
  [S + '13', 'Data Quality', false, nonEmpty],
  [S + '14', 'Delivery Method', false, nonEmpty],
  [S + '15', 'Directory String', false, nonEmpty],
  [S + '16', 'DIT Content Rule Description', false, isDescription],
  [S + '17', 'DIT Structure Rule Description', false, isDescription],
  [S + '19', 'DSA Quality', false, nonEmpty],
  [S + '21', 'Enhanced Guide', false, nonEmpty],
  [S + '22', 'Facsimile Telephone Number', false, nonEmpty],
  [S + '23', 'Fax', true, any],
  [S + '24', 'Generalized Time', false, (v) => generalizedTimeRe.test(v)],
  [S + '25', 'Guide', false, nonEmpty],
  [S + '26', 'IA5 String', false, (v) => ia5Re.test(v)],
  [S + '27', 'Integer', false, (v) => integerRe.test(v)],
  [S + '28', 'JPEG', true, any],
  [S + '30', 'Matching Rule Description', false, isDescription],
  [S + '31', 'Matching Rule Use Description', false, isDescription],
  [S + '34', 'Name And Optional UID', false, isNameUid],
  [S + '35', 'Name Form Description', false, isDescription],
  [S + '36', 'Numeric String', false, (v) => numericRe.test(v)],
  [S + '37', 'Object Class Description', false, isDescription],
  [S + '38', 'OID', false, (v) => oidRe.test(v)],
  [S + '39', 'Other Mailbox', false, nonEmpty],
  [S + '40', 'Octet String', true, any],
  [S + '41', 'Postal Address', false, nonEmpty],
  [S + '42', 'Protocol Information', false, nonEmpty],
  [S + '43', 'Presentation Address', false, nonEmpty],
  [S + '44', 'Printable String', false, (v) => printableRe.test(v)],
  [S + '45', 'SubtreeSpecification', false, any],
  [S + '49', 'Supported Algorithm', true, any],
  [S + '50', 'Telephone Number', false, (v) => v.trim().length > 0 && printableRe.test(v)],
  [S + '51', 'Teletex Terminal Identifier', false, nonEmpty],
  [S + '52', 'Telex Number', false, nonEmpty],
  [S + '53', 'UTC Time', false, nonEmpty],
  [S + '54', 'LDAP Syntax Description', false, isDescription],
  [S + '58', 'Substring Assertion', false, any],
  ['1.3.6.1.1.1.0.0', 'RFC2307 NIS Netgroup Triple', false, nonEmpty],
  ['1.3.6.1.1.1.0.1', 'RFC2307 Boot Parameter', false, nonEmpty],
  ['1.3.6.1.1.16.1', 'UUID', false, (v) => uuidRe.test(v)],
  ['1.3.6.1.4.1.4203.666.11.2.1', 'CSN', false, (v) => csnRe.test(v)],
  ['1.3.6.1.1.15.1', 'X.509 Certificate Exact Assertion', true, any],
  ['1.3.6.1.1.15.5', 'X.509 Certificate List Exact Assertion', true, any],
  ['1.2.36.79672281.1.5.0', 'RDN', false, (v) => isDn(v) && parseDn(v).length === 1],
];

/** Syntaxes not shown in cn=Subschema (slapd hides the assertion-only ones too). */
const hidden = new Set([S + '58', '1.3.6.1.1.15.1', '1.3.6.1.1.15.5']);

/** Syntaxes whose values are transferred with the ;binary option (RFC 4522), as slapd marks them. */
const binaryTransfer = new Set([S + '8', S + '9', S + '10', S + '49']);

export function builtinSyntaxes(): Map<string, Syntax & { hidden: boolean }> {
  const m = new Map<string, Syntax & { hidden: boolean }>();
  for (const [oid, desc, binary, validate] of table) {
    m.set(oid, { oid, desc, binary, binaryTransfer: binaryTransfer.has(oid), validate, hidden: hidden.has(oid) });
  }
  return m;
}

export function syntaxDefinition(s: Syntax): string {
  const transfer = s.binaryTransfer ? " X-BINARY-TRANSFER-REQUIRED 'TRUE'" : '';
  return `( ${s.oid} DESC '${s.desc}'${transfer}${s.binary ? " X-NOT-HUMAN-READABLE 'TRUE'" : ''} )`;
}

// The differential suite: the same LDIF is loaded into a private OpenLDAP slapd and into
// astldap, then every case below runs through the same client (ldap-utils) against both; result
// codes and canonicalised output must agree. Cases run in table order (writes change both
// directories the same way). Set DIFF_SLAPD_ONLY=1 to validate the table against slapd alone.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAstldap, type InProcessAstldap } from '../helpers/astldap.js';
import { repoRoot, startSlapd, type Slapd } from '../helpers/slapd.js';
import {
  attrValues,
  bindArgs,
  canonicalize,
  displayDn,
  parseLdifEntries,
  runTool,
  type CanonicalOptions,
  type LdapTool,
  type ToolResult,
} from '../helpers/tools.js';

const B = 'dc=example,dc=domain';
const P = `ou=people,${B}`;
const ADMIN: Identity = [`cn=admin,${B}`, 'secret'];
const FIXTURE = readFileSync(path.join(repoRoot, 'test/fixtures/diff.ldif'), 'utf8');
const SLAPD_ONLY = process.env.DIFF_SLAPD_ONLY === '1';

type Identity = 'anon' | [dn: string, password: string];

/** How the two outputs are compared: a projection of each result that must be deep-equal. */
type Projection = (r: ToolResult) => unknown;

interface Case {
  name: string;
  /** Default ldapsearch (run with -LLL -o ldif-wrap=no). */
  tool?: LdapTool;
  args: string[];
  /** Default anonymous for searches and compares, the administrator for writes. */
  as?: Identity;
  stdin?: string;
  /** The result code slapd returns (checked, so the table documents the reference). */
  code: number;
  /** Default: the canonical entries for ldapsearch, nothing for other tools. */
  out?: Projection;
  /** Where slapd departs from the RFC: the code astldap must return instead (cite the RFC). */
  spec?: number;
  /** Compare the `Matched DN:` line too. */
  matched?: boolean;
  /** The projection is an object of checks that must all be true (on slapd too). */
  allTrue?: boolean;
  /** An admin ldapsearch run on both afterwards; its canonical entries must agree. */
  after?: string[];
}

// ---------------------------------------------------------------------------------------------
// Projections

/** Values differ by vendor (hashes, timestamps, UUIDs): compare that they are there. */
const VOLATILE = ['userpassword', 'entryuuid', 'createtimestamp', 'modifytimestamp', 'creatorsname', 'modifiersname', 'entrycsn'];
/** Operational attributes whose values both must agree on. */
const STABLE_OPS = ['structuralobjectclass', 'entrydn', 'subschemasubentry', 'hassubordinates'];
/** Vendor-specific operational attributes left out of `+` comparisons. */
const VENDOR_OPS = ['contextcsn'];

const entries =
  (opts: CanonicalOptions = {}): Projection =>
  (r) =>
    canonicalize(parseLdifEntries(r.stdout), { presenceOnly: VOLATILE, ...opts });
const dns: Projection = (r) => canonicalize(parseLdifEntries(r.stdout)).map((e) => e.dn);
const count: Projection = (r) => parseLdifEntries(r.stdout).length;
/** Names (of a class, of the subschema entry) match case-insensitively: their case is no difference. */
const CASE_FREE_OPS = ['structuralobjectclass', 'subschemasubentry'];
const ops: Projection = (r) =>
  canonicalize(parseLdifEntries(r.stdout), { presenceOnly: VOLATILE, ignore: VENDOR_OPS, foldValues: CASE_FREE_OPS });
const opsOnly: Projection = (r) =>
  canonicalize(parseLdifEntries(r.stdout), { only: [...STABLE_OPS, ...VOLATILE], presenceOnly: VOLATILE, foldValues: CASE_FREE_OPS });
const stdoutText: Projection = (r) => r.stdout.trim();
const nothing: Projection = () => null;
/** DNs in the order the server sent them (sorted searches). */
const orderedDns: Projection = (r) => parseLdifEntries(r.stdout).map((e) => displayDn(e.dn));
/** The entries ldapmodify/ldapdelete print from pre-read and post-read response controls (RFC 4527). */
const readBlocks: Projection = (r) => {
  const out: Record<string, unknown> = {};
  for (const m of r.stdout.matchAll(/# ==> (preread|postread)\n([\s\S]*?)# <== \1/g)) {
    out[m[1]!] = canonicalize(parseLdifEntries(m[2]!), { presenceOnly: VOLATILE });
  }
  return out;
};
/** Names of the attributes (no values): for typesOnly output. */
const names: Projection = (r) => canonicalize(parseLdifEntries(r.stdout)).map((e) => ({ dn: e.dn, names: Object.keys(e.attrs) }));

/** Attribute presence checks for entries whose values are vendor-specific (root DSE, subschema). */
const has =
  (checks: Record<string, (values: string[]) => boolean>): Projection =>
  (r) => {
    const [e] = parseLdifEntries(r.stdout);
    if (!e) return 'no entry';
    return Object.fromEntries(Object.entries(checks).map(([k, f]) => [k, f(attrValues(e, k))]));
  };
const hasName = (values: string[], name: string) =>
  values.some((v) => new RegExp(`NAME\\s+(?:'${name}'|\\([^)]*'${name}'[^)]*\\))`, 'i').test(v));

function matchedDn(r: ToolResult): string | null {
  const m = /matched DN:(.*)/i.exec(r.stderr + r.stdout);
  return m ? displayDn(m[1]!.trim()) : null;
}

// ---------------------------------------------------------------------------------------------
// LDIF for write cases

const ldif = (...lines: string[]) => lines.join('\n') + '\n';
const person = (uid: string, extra: string[] = []) =>
  ldif(`dn: uid=${uid},${P}`, 'objectClass: inetOrgPerson', `uid: ${uid}`, `cn: ${uid} person`, `sn: ${uid}`, ...extra);
const modify = (dn: string, ...changes: string[]) => ldif(`dn: ${dn}`, 'changetype: modify', ...changes, '-');
/** A self-signed X.509 certificate (DER, base64; made for this table with the selfsigned package). */
const CERT =
  'MIICBDCCAW2gAwIBAgIJUJ6WmcjngqSFMA0GCSqGSIb3DQEBBQUAMBcxFTATBgNVBAMTDGRpZmZlcmVudGlhbDAeFw0yNjExMzAxNjA2NTRaFw0yNzExMzAxNjA2NTRaMBcxFTATBgNVBAMTDGRpZmZlcmVudGlhbDCBnzANBgkqhkiG9w0BAQEFAAOBjQAwgYkCgYEAzTT9lCgoNJQDEYv1EqTIkRfRBccI95oW6Rx/6nDOJkeK4wcQzUJuw4GQMfmSg92FpvsBpuTxdlRwjTGB7Xa/Zhp3uhrLKX+GDg80/Tj3HcPijpKXdj6JvVpxyOFTrMXvqNPQip+47ZmiEsIUXFQFsJry9B8LTiH3Wp5VE7+FqP0CAwEAAaNYMFYwDAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCBaAwHQYDVR0lBBYwFAYIKwYBBQUHAwEGCCsGAQUFBwMCMBcGA1UdEQQQMA6CDGRpZmZlcmVudGlhbDANBgkqhkiG9w0BAQUFAAOBgQB9s8C7a/FuWW5pBmvQ8LFy4fN7djo+Xtm451y9NpEgIe4vnc3sXFlAu1/LsutvcsrVeoyoMH4wpHH/QE5t10JG0joWBzlnQf5rA3r1gVUFE/fLLn3v4CsrrGFRIc4gFJBQH+cIxcV1rnDE+zdbetSxh/VUF3c4NAElHYbjumT6wQ==';
/** A CRL of an empty CA (DER, base64; made for this table with openssl ca -gencrl). */
const CRL =
  'MIHxMFwCAQEwDQYJKoZIhvcNAQELBQAwGjEYMBYGA1UEAwwPZGlmZmVyZW50aWFsLWNhFw0yNjExMzAxNzQzMDhaFw0zNjExMjcxNzQzMDhaoA4wDDAKBgNVHRQEAwIBATANBgkqhkiG9w0BAQsFAAOBgQDLrsZrjxUemG1DfuPCcrrj2WA//EU3DALTOzzgJBy4jDax9fKEFuYpHEWfQAt51YWEdiUpRfEN5O8NwfGarsciH/CO1tJNySBwoxSJHappM5FfvWfCGyp3y2Ft/hEMMBwXqyqPRMxFsezf/yf14U5upe/8nd+kASaA+SmzVnmJDA==';
/** A DER element (short or two-byte lengths: enough for these values). */
const der = (tag: number, body: Buffer): Buffer => {
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
};
/** A cross-certificate pair (RFC 4523): CERT as its forward and its reverse certificate. */
const PAIR = der(0x30, Buffer.concat([der(0xa0, Buffer.from(CERT, 'base64')), der(0xa1, Buffer.from(CERT, 'base64'))])).toString('base64');
const ca = (uid: string, crl: string, pair = PAIR) =>
  person(uid, [
    'objectClass: certificationAuthority',
    `cACertificate;binary:: ${CERT}`,
    `certificateRevocationList;binary:: ${crl}`,
    `authorityRevocationList;binary:: ${crl}`,
    `crossCertificatePair;binary:: ${pair}`,
  ]);
const bad = (text: string) => Buffer.from(text).toString('base64');

// ---------------------------------------------------------------------------------------------
// The cases, in order. Searches first (the fixture as loaded), then writes.

const cases: Case[] = [
  // scopes
  { name: 'scope base', args: ['-b', `uid=alice,${P}`, '-s', 'base'], code: 0 },
  { name: 'scope one under the suffix', args: ['-b', B, '-s', 'one', '1.1'], code: 0, out: dns },
  { name: 'scope one in the deep subtree', args: ['-b', `ou=org,${B}`, '-s', 'one'], code: 0 },
  { name: 'scope sub in the deep subtree', args: ['-b', `ou=org,${B}`, '-s', 'sub'], code: 0 },
  { name: 'scope sub over the whole tree', args: ['-b', B, '-s', 'sub', '(objectClass=*)', '1.1'], code: 0, out: dns },
  { name: 'scope base, filter does not match', args: ['-b', `uid=alice,${P}`, '-s', 'base', '(uid=bob)'], code: 0 },
  // filter types
  { name: 'equality', args: ['-b', B, '(uid=alice)'], code: 0 },
  { name: 'and', args: ['-b', B, '(&(objectClass=inetOrgPerson)(sn=Example))', 'cn'], code: 0 },
  { name: 'or', args: ['-b', B, '(|(uid=alice)(uid=bob)(cn=Heidi Klum))', 'cn'], code: 0 },
  { name: 'not', args: ['-b', P, '(&(objectClass=inetOrgPerson)(!(sn=Example)))', '1.1'], code: 0, out: dns },
  { name: 'substrings initial', args: ['-b', B, '(cn=ali*)', 'cn'], code: 0 },
  { name: 'substrings final', args: ['-b', B, '(cn=*example)', 'cn'], code: 0 },
  { name: 'substrings any', args: ['-b', B, '(cn=*ob*)', 'cn'], code: 0 },
  { name: 'substrings initial+any+final', args: ['-b', B, '(cn=a*ex*le)', 'cn'], code: 0 },
  { name: 'substrings on mail', args: ['-b', B, '(mail=*@example.domain)', 'mail'], code: 0 },
  { name: 'substrings with unicode', args: ['-b', B, '(|(cn=jos*)(sn=m*ller))', 'cn', 'sn'], code: 0 },
  { name: 'greaterOrEqual on an integer', args: ['-b', B, '(uidNumber>=1001)', 'uidNumber'], code: 0 },
  { name: 'lessOrEqual on an integer', args: ['-b', B, '(uidNumber<=1000)', 'uidNumber'], code: 0 },
  {
    name: 'greaterOrEqual on createTimestamp',
    args: ['-b', P, '-s', 'one', '(createTimestamp>=20000101000000Z)', '1.1'],
    code: 0,
    out: dns,
  },
  { name: 'present', args: ['-b', B, '(telephoneNumber=*)', 'telephoneNumber'], code: 0 },
  { name: 'approx (exact value)', args: ['-b', B, '(cn~=Alice Example)', 'cn'], code: 0 },
  { name: 'extensible caseExactMatch hit', args: ['-b', B, '(cn:caseExactMatch:=Alice Example)', 'cn'], code: 0 },
  { name: 'extensible caseExactMatch miss', args: ['-b', B, '(cn:caseExactMatch:=alice example)', 'cn'], code: 0 },
  { name: 'extensible dnAttributes', args: ['-b', B, '(ou:dn:=people)', '1.1'], code: 0, out: dns },
  { name: 'extensible rule without attribute', args: ['-b', B, '(:caseIgnoreMatch:=heidi klum)', '1.1'], code: 0, out: dns },
  // matching rules
  { name: 'case-insensitive equality', args: ['-b', B, '(CN=ALICE EXAMPLE)', 'cn'], code: 0 },
  { name: 'insignificant spaces', args: ['-b', B, '(cn=  alice   EXAMPLE )', 'cn'], code: 0 },
  { name: 'spaces inside a stored value', args: ['-b', B, '(description=works with extra spaces)', 'description'], code: 0 },
  {
    name: 'telephoneNumberMatch ignores spaces and hyphens',
    args: ['-b', B, '(|(telephoneNumber=+15550100)(telephoneNumber=+1 555 01-02))', 'telephoneNumber'],
    code: 0,
  },
  { name: 'supertype name matches cn', args: ['-b', B, '(name=alice example)', '1.1'], code: 0, out: dns },
  { name: 'objectClass=person matches inetOrgPerson', args: ['-b', B, '(objectClass=person)', '1.1'], code: 0, out: dns },
  {
    name: 'objectClass=AsteriskExtension matches its subclasses',
    args: ['-b', B, '(objectClass=AsteriskExtension)', '1.1'],
    code: 0,
    out: dns,
  },
  {
    name: 'Asterisk dialplan lookup',
    args: ['-b', `ou=extensions,${B}`, '(&(objectClass=AsteriskExtension)(AstContext=default)(AstExtension=1000)(AstPriority=1))'],
    code: 0,
  },
  {
    name: 'DN-valued equality is DN-normalised',
    args: ['-b', B, '(member=UID=Alice, OU=People,dc=example,DC=domain)', '1.1'],
    code: 0,
    out: dns,
  },
  { name: 'unknown attribute in filter', args: ['-b', B, '(unknownAttr=x)'], code: 0 },
  { name: 'not of an unknown attribute', args: ['-b', P, '-s', 'one', '(!(unknownAttr=x))', '1.1'], code: 0, out: dns },
  // DNs
  { name: 'multi-valued RDN, AVAs in another order', args: ['-b', `uid=pat+cn=Pat Doe,${P}`, '-s', 'base'], code: 0 },
  { name: 'escaped comma in RDN (hex escape)', args: ['-b', `cn=Smith\\2C John,${P}`, '-s', 'base'], code: 0 },
  { name: 'escaped comma value in filter', args: ['-b', P, '(cn=Smith, John)', '1.1'], code: 0, out: dns },
  // controls: paged results (RFC 2696, back-mdb), sorting (RFC 2891, slapd's sssvlv overlay), assertion (RFC 4528)
  { name: 'paged results over the whole tree (pr=5)', args: ['-E', 'pr=5/noprompt', '-b', B, '(objectClass=*)', '1.1'], code: 0, out: dns },
  { name: 'paged results with entries', args: ['-E', 'pr=3/noprompt', '-b', P, '(objectClass=inetOrgPerson)', 'cn', 'mail'], code: 0 },
  {
    name: 'server-side sort by uidNumber (integer ordering)',
    args: ['-E', 'sss=uidNumber', '-b', B, '(uidNumber=*)', 'uidNumber'],
    code: 0,
    out: orderedDns,
  },
  {
    name: 'server-side reverse sort by uidNumber',
    args: ['-E', '!sss=-uidNumber', '-b', B, '(uidNumber=*)', 'uidNumber'],
    code: 0,
    out: orderedDns,
  },
  {
    name: 'sort and paging together',
    args: ['-E', 'sss=uidNumber', '-E', 'pr=2/noprompt', '-b', B, '(uidNumber=*)', '1.1'],
    code: 0,
    out: orderedDns,
  },
  // slapd fails the search with the sortResult code even for a non-critical control; RFC 2891
  // §1.2: a critical sort control the server cannot honour gives unavailableCriticalExtension.
  {
    name: 'critical sort on an unknown attribute',
    args: ['-E', '!sss=fooBar', '-b', P, '(uid=alice)', '1.1'],
    code: 16,
    spec: 12,
    out: nothing,
  },
  { name: 'search with a holding assertion', args: ['-e', 'assert=(uid=alice)', '-b', `uid=alice,${P}`, '-s', 'base', 'cn'], code: 0 },
  {
    name: 'search with a failing assertion',
    args: ['-e', 'assert=(uid=bob)', '-b', `uid=alice,${P}`, '-s', 'base', 'cn'],
    code: 122,
    out: nothing,
  },
  {
    name: 'compare with a failing assertion',
    tool: 'ldapcompare',
    as: 'anon',
    args: ['-e', 'assert=(sn=nobody)', `uid=alice,${P}`, 'cn:Alice Example'],
    code: 122,
  },
  {
    name: 'compare with a holding assertion',
    tool: 'ldapcompare',
    as: 'anon',
    args: ['-e', 'assert=(uid=alice)', `uid=alice,${P}`, 'cn:Alice Example'],
    code: 6,
    out: stdoutText,
  },
  // attribute selection
  { name: 'attributes cn mail', args: ['-b', P, '(objectClass=*)', 'cn', 'mail'], code: 0 },
  { name: 'attributes *', args: ['-b', B, '(objectClass=*)', '*'], code: 0 },
  { name: 'attributes + (operational)', args: ['-b', P, '(objectClass=*)', '+'], code: 0, out: ops },
  { name: 'attributes * + on one entry', args: ['-b', `uid=alice,${P}`, '-s', 'base', '*', '+'], code: 0, out: ops },
  { name: 'operational attributes of the suffix and a leaf', args: ['-b', B, '(|(dc=example)(uid=zed))', '+'], code: 0, out: opsOnly },
  { name: 'attributes 1.1', args: ['-b', `ou=org,${B}`, '(objectClass=*)', '1.1'], code: 0 },
  { name: 'attribute supertype name', args: ['-b', P, '(objectClass=*)', 'name'], code: 0 },
  { name: 'attribute names are case-insensitive', args: ['-b', `uid=alice,${P}`, '-s', 'base', 'CN', 'MAIL', 'ObjectClass'], code: 0 },
  { name: 'typesOnly', args: ['-A', '-b', `uid=alice,${P}`, '-s', 'base'], code: 0, out: names },
  { name: 'userPassword hidden from anonymous', args: ['-b', `uid=alice,${P}`, '-s', 'base', 'userPassword', 'uid'], code: 0 },
  // limits and errors
  { name: 'sizeLimit 3 (sizeLimitExceeded)', args: ['-z', '3', '-b', P, '(objectClass=inetOrgPerson)', '1.1'], code: 4, out: count },
  { name: 'timeLimit accepted', args: ['-l', '10', '-b', `ou=org,${B}`, '(objectClass=*)', '1.1'], code: 0, out: dns },
  { name: 'noSuchObject with matchedDN', args: ['-b', `cn=nobody,${P}`], code: 32, matched: true },
  { name: 'noSuchObject two levels down', args: ['-b', `uid=x,ou=nothere,${P}`], code: 32, matched: true },
  { name: 'noSuchObject outside the naming context', args: ['-b', 'dc=other,dc=com'], code: 32, matched: true },
  { name: 'invalidDNSyntax', args: ['-b', 'this is not a DN'], code: 34 },
  {
    name: 'root DSE',
    args: ['-b', '', '-s', 'base', '+'],
    code: 0,
    allTrue: true,
    out: has({
      namingContexts: (v) => v.includes(B),
      supportedLDAPVersion: (v) => v.includes('3'),
      subschemaSubentry: (v) => v.length === 1,
    }),
  },
  {
    name: 'subschema has the Asterisk classes',
    args: ['-b', 'cn=subschema', '-s', 'base', '(objectClass=subschema)', 'objectClasses', 'attributeTypes'],
    code: 0,
    allTrue: true,
    out: has({
      objectClasses: (v) =>
        ['AsteriskSIPUser', 'AsteriskAccount', 'AsteriskExtension', 'AsteriskVoiceMail', 'inetOrgPerson'].every((n) => hasName(v, n)),
      attributeTypes: (v) => ['AstAccountName', 'AstExtension', 'AstContext', 'cn', 'uidNumber'].every((n) => hasName(v, n)),
    }),
  },

  // ------------------------------------------------------------------------------------------
  // writes (as the administrator unless said otherwise)
  {
    name: 'add',
    tool: 'ldapadd',
    args: [],
    stdin: person('newbie', ['mail: newbie@example.domain', 'description: fresh']),
    code: 0,
    after: ['-b', `uid=newbie,${P}`, '-s', 'base'],
  },
  { name: 'add existing (entryAlreadyExists)', tool: 'ldapadd', args: [], stdin: person('newbie'), code: 68 },
  {
    name: 'add under a missing parent',
    tool: 'ldapadd',
    args: [],
    stdin: ldif(`dn: uid=x,ou=missing,${B}`, 'objectClass: inetOrgPerson', 'uid: x', 'cn: x', 'sn: x'),
    code: 32,
    matched: true,
  },
  {
    name: 'add outside the naming context',
    tool: 'ldapadd',
    args: [],
    stdin: ldif('dn: dc=other,dc=com', 'objectClass: dcObject', 'objectClass: organization', 'dc: other', 'o: other'),
    code: 53,
  },
  { name: 'add with an unknown attribute', tool: 'ldapadd', args: [], stdin: person('u1', ['fooBar: baz']), code: 17 },
  {
    name: 'add with a certificate that is not DER (invalidAttributeSyntax)',
    tool: 'ldapadd',
    args: [],
    stdin: person('badcert', [`userCertificate;binary:: ${Buffer.from('not a certificate').toString('base64')}`]),
    code: 21,
  },
  {
    name: 'add with a DER certificate: read back with the ;binary option',
    tool: 'ldapadd',
    args: [],
    stdin: person('certy', [`userCertificate;binary:: ${CERT}`]),
    code: 0,
    after: ['-b', `uid=certy,${P}`, '-s', 'base'],
  },
  {
    name: 'add a CA with a DER CRL and a cross-certificate pair: read back with the ;binary option',
    tool: 'ldapadd',
    args: [],
    stdin: ca('ca1', CRL),
    code: 0,
    after: ['-b', `uid=ca1,${P}`, '-s', 'base'],
  },
  {
    name: 'add with a CRL that is not DER (invalidAttributeSyntax)',
    tool: 'ldapadd',
    args: [],
    stdin: ca('ca2', bad('not a CRL')),
    code: 21,
  },
  {
    name: 'add with a CRL cut short (invalidAttributeSyntax)',
    tool: 'ldapadd',
    args: [],
    stdin: ca('ca3', Buffer.from(CRL, 'base64').subarray(0, 200).toString('base64')),
    code: 21,
  },
  { name: 'add with a certificate as its CRL (invalidAttributeSyntax)', tool: 'ldapadd', args: [], stdin: ca('ca4', CERT), code: 21 },
  {
    name: 'add with a CRL followed by other bytes (slapd tolerates them, as OpenSSL does)',
    tool: 'ldapadd',
    args: [],
    stdin: ca('ca5', Buffer.concat([Buffer.from(CRL, 'base64'), Buffer.from('abc')]).toString('base64')),
    code: 0,
  },
  {
    name: 'add with a cross-certificate pair that is not a SEQUENCE (invalidAttributeSyntax)',
    tool: 'ldapadd',
    args: [],
    stdin: ca('ca6', CRL, bad('xx')),
    code: 21,
  },
  {
    name: 'add without a structural class',
    tool: 'ldapadd',
    args: [],
    stdin: ldif(`dn: cn=aux,${P}`, 'objectClass: AsteriskExtension', 'cn: aux'),
    code: 65,
  },
  { name: 'add with a disallowed attribute', tool: 'ldapadd', args: [], stdin: person('u2', ['AstContext: default']), code: 65 },
  {
    name: 'add with a MUST missing',
    tool: 'ldapadd',
    args: [],
    stdin: ldif(`dn: uid=u3,${P}`, 'objectClass: inetOrgPerson', 'uid: u3', 'cn: u3'),
    code: 65,
  },
  {
    name: 'add with bad syntax',
    tool: 'ldapadd',
    args: [],
    stdin: person('u4', ['objectClass: posixAccount', 'uidNumber: abc', 'gidNumber: 1', 'homeDirectory: /h']),
    code: 21,
  },
  // RFC 4511 4.7: clients MAY leave the RDN values out of the attributes; the server adds them.
  {
    name: 'add with the RDN value missing from the entry',
    tool: 'ldapadd',
    args: [],
    stdin: ldif(`dn: uid=ghost,${P}`, 'objectClass: inetOrgPerson', 'uid: other', 'cn: ghost', 'sn: ghost'),
    code: 0,
    after: ['-b', `uid=ghost,${P}`, '-s', 'base'],
  },
  {
    name: 'add named by an attribute without equality (namingViolation)',
    tool: 'ldapadd',
    args: [],
    stdin: ldif(
      `dn: AstAccountFromUser=x,ou=sip,${B}`,
      'objectClass: AsteriskAccount',
      'objectClass: AsteriskSIPUser',
      'cn: x',
      'AstAccountName: x',
      'AstAccountFromUser: x',
    ),
    code: 64,
  },
  {
    name: 'add with two values for a single-valued attribute',
    tool: 'ldapadd',
    args: [],
    stdin: person('u5', ['displayName: one', 'displayName: two']),
    code: 19,
  },
  { name: 'anonymous add (insufficientAccessRights)', tool: 'ldapadd', as: 'anon', args: [], stdin: person('anonadd'), code: 50 },
  {
    name: 'modify add a value',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=bob,${P}`, 'add: description', 'description: added value'),
    code: 0,
    after: ['-b', `uid=bob,${P}`, '-s', 'base'],
  },
  {
    name: 'modify delete a value',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=ivan,${P}`, 'delete: description', 'description: beta'),
    code: 0,
    after: ['-b', `uid=ivan,${P}`, '-s', 'base'],
  },
  {
    name: 'modify replace',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=bob,${P}`, 'replace: mail', 'mail: robert@example.domain', 'mail: bob2@example.domain'),
    code: 0,
    after: ['-b', `uid=bob,${P}`, '-s', 'base'],
  },
  {
    name: 'modify several changes at once',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(
      `uid=heidi,${P}`,
      'add: title',
      'title: Model',
      '-',
      'replace: employeeNumber',
      'employeeNumber: 43',
      '-',
      'delete: cn',
      'cn: Heidi Klum',
      '-',
      'add: cn',
      'cn: H. Klum',
    ),
    code: 0,
    after: ['-b', `uid=heidi,${P}`, '-s', 'base'],
  },
  {
    name: 'modify add an existing value (attributeOrValueExists)',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=ivan,${P}`, 'add: description', 'description: ALPHA'),
    code: 20,
  },
  {
    name: 'modify delete a missing value (noSuchAttribute)',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=ivan,${P}`, 'delete: description', 'description: Omega'),
    code: 16,
  },
  {
    name: 'modify delete a missing attribute (noSuchAttribute)',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=bob,${P}`, 'delete: title'),
    code: 16,
  },
  {
    name: 'modify replace a single-valued attribute with two values',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=frank,${P}`, 'replace: displayName', 'displayName: a', 'displayName: b'),
    code: 19,
  },
  {
    name: 'modify increment',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=frank,${P}`, 'increment: uidNumber', 'uidNumber: 5'),
    code: 0,
    after: ['-b', `uid=frank,${P}`, '-s', 'base', 'uidNumber'],
  },
  {
    name: 'modify with a bad syntax value',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=frank,${P}`, 'replace: uidNumber', 'uidNumber: twelve'),
    code: 21,
  },
  {
    name: 'modify an unknown attribute',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=frank,${P}`, 'add: fooBar', 'fooBar: x'),
    code: 17,
  },
  { name: 'modify removes a MUST attribute', tool: 'ldapmodify', args: [], stdin: modify(`uid=frank,${P}`, 'delete: sn'), code: 65 },
  // slapd answers namingViolation; RFC 4511 4.6 names the code: "An attempt to do so will
  // result in the server returning the notAllowedOnRDN result code."
  {
    name: 'modify deletes the RDN value (notAllowedOnRDN)',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=alice,${P}`, 'delete: uid', 'uid: alice'),
    code: 64,
    spec: 67,
  },
  {
    name: 'modify replaces the RDN value away',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=alice,${P}`, 'replace: uid', 'uid: alicia'),
    code: 64,
    spec: 67,
  },
  {
    name: 'modify changes the structural class',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=judy,${P}`, 'replace: objectClass', 'objectClass: organizationalPerson'),
    code: 69,
  },
  {
    name: 'modify a NO-USER-MODIFICATION attribute',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=judy,${P}`, 'replace: entryUUID', 'entryUUID: 00000000-0000-0000-0000-000000000000'),
    code: 19,
  },
  {
    name: 'modify a missing entry',
    tool: 'ldapmodify',
    args: [],
    stdin: modify(`uid=nobody,${P}`, 'add: description', 'description: x'),
    code: 32,
    matched: true,
  },
  { name: 'delete a non-leaf (notAllowedOnNonLeaf)', tool: 'ldapdelete', args: [`ou=org,${B}`], code: 66 },
  { name: 'delete a missing entry', tool: 'ldapdelete', args: [`uid=nobody,${P}`], code: 32, matched: true },
  { name: 'delete a leaf', tool: 'ldapdelete', args: [`uid=mallory,${P}`], code: 0, after: ['-b', P, '-s', 'one', '(uid=mallory)'] },
  {
    name: 'modrdn keeping the old RDN value',
    tool: 'ldapmodrdn',
    args: [`uid=carol,${P}`, 'uid=caroline'],
    code: 0,
    after: ['-b', P, '(|(uid=carol)(uid=caroline))'],
  },
  {
    name: 'modrdn deleting the old RDN value',
    tool: 'ldapmodrdn',
    args: ['-r', `uid=eve,${P}`, 'uid=eva'],
    code: 0,
    after: ['-b', P, '(|(uid=eve)(uid=eva))'],
  },
  {
    name: 'modrdn with newSuperior moves a subtree',
    tool: 'ldapmodrdn',
    args: ['-s', P, `ou=backend,ou=eng,ou=org,${B}`, 'ou=backend'],
    code: 0,
    after: ['-b', `ou=backend,${P}`, '-s', 'sub'],
  },
  { name: 'moved subtree is gone from its old place', args: ['-b', `ou=org,${B}`, '-s', 'sub', '1.1'], code: 0, out: dns },
  { name: 'moved entries are found by filter', args: ['-b', B, '(|(uid=zed)(uid=yan))', '1.1'], code: 0, out: dns },
  { name: 'modrdn onto an existing entry', tool: 'ldapmodrdn', args: [`uid=bob,${P}`, 'uid=alice'], code: 68 },
  { name: 'modrdn of a missing entry', tool: 'ldapmodrdn', args: [`uid=nobody,${P}`, 'uid=somebody'], code: 32, matched: true },
  {
    name: 'modrdn under a missing new superior',
    tool: 'ldapmodrdn',
    args: ['-s', `ou=nothere,${B}`, `uid=judy,${P}`, 'uid=judy'],
    code: 32,
  },
  // controls on writes: assertion (RFC 4528), pre-read and post-read (RFC 4527)
  {
    name: 'modify with a failing assertion',
    tool: 'ldapmodify',
    args: ['-e', 'assert=(sn=nobody)'],
    stdin: modify(`uid=ghost,${P}`, 'replace: sn', 'sn: asserted'),
    code: 122,
    after: ['-b', `uid=ghost,${P}`, '-s', 'base', 'sn'],
  },
  {
    name: 'modify with an assertion, pre-read and post-read',
    tool: 'ldapmodify',
    args: ['-e', 'assert=(sn=ghost)', '-e', 'preread=sn,cn', '-e', 'postread=sn,modifiersName'],
    stdin: modify(`uid=ghost,${P}`, 'replace: sn', 'sn: Spectre'),
    code: 0,
    out: readBlocks,
    after: ['-b', `uid=ghost,${P}`, '-s', 'base', 'sn'],
  },
  {
    name: 'add with post-read',
    tool: 'ldapadd',
    args: ['-e', 'postread=uid,cn,sn,objectClass'],
    stdin: person('readback'),
    code: 0,
    out: readBlocks,
  },
  {
    name: 'add with a failing assertion on the new entry',
    tool: 'ldapadd',
    args: ['-e', 'assert=(uid=other)'],
    stdin: person('asserted'),
    code: 122,
    after: ['-b', P, '-s', 'one', '(uid=asserted)', '1.1'],
  },
  {
    name: 'modrdn with pre-read and post-read',
    tool: 'ldapmodrdn',
    args: ['-r', '-e', 'preread=uid,cn', '-e', 'postread=uid,cn', `uid=readback,${P}`, 'uid=readback2'],
    code: 0,
    out: readBlocks,
  },
  { name: 'delete with a failing assertion', tool: 'ldapdelete', args: ['-e', 'assert=(cn=nobody)', `uid=readback2,${P}`], code: 122 },
  {
    name: 'delete with pre-read',
    tool: 'ldapdelete',
    args: ['-e', 'preread=uid,sn,hasSubordinates', `uid=readback2,${P}`],
    code: 0,
    out: readBlocks,
    after: ['-b', P, '-s', 'one', '(uid=readback*)', '1.1'],
  },
  // compare
  { name: 'compare true', tool: 'ldapcompare', as: 'anon', args: [`uid=alice,${P}`, 'cn:Alice Example'], code: 6, out: stdoutText },
  {
    name: 'compare true, case-insensitive',
    tool: 'ldapcompare',
    as: 'anon',
    args: [`uid=alice,${P}`, 'cn:ALICE   example'],
    code: 6,
    out: stdoutText,
  },
  { name: 'compare false', tool: 'ldapcompare', as: 'anon', args: [`uid=alice,${P}`, 'cn:Bob'], code: 5, out: stdoutText },
  { name: 'compare an attribute the entry lacks', tool: 'ldapcompare', as: 'anon', args: [`uid=alice,${P}`, 'title:boss'], code: 16 },
  { name: 'compare an undefined attribute type', tool: 'ldapcompare', as: 'anon', args: [`uid=alice,${P}`, 'fooBar:x'], code: 17 },
  { name: 'compare on a missing entry', tool: 'ldapcompare', as: 'anon', args: [`uid=nobody,${P}`, 'cn:x'], code: 32, matched: true },
  {
    name: 'compare userPassword anonymously',
    tool: 'ldapcompare',
    as: 'anon',
    args: [`uid=alice,${P}`, 'userPassword:alice-password'],
    code: 50,
  },
  // assertion syntax (RFC 4511 §4.5.1.7.1, issue 11): a value outside the rule's assertion syntax
  // makes the filter item Undefined (so its negation matches nothing either) and a compare
  // invalidAttributeSyntax, whether or not the entry exists.
  { name: 'INTEGER 010 in a filter is Undefined', args: ['-b', B, '(uidNumber=010)', '1.1'], code: 0, out: dns },
  { name: 'not of INTEGER 010 is Undefined too', args: ['-b', P, '(!(uidNumber=010))', '1.1'], code: 0, out: dns },
  { name: 'INTEGER 01000 in an ordering item', args: ['-b', P, '(!(uidNumber>=01000))', '1.1'], code: 0, out: dns },
  { name: 'INTEGER 010 in an extensible match', args: ['-b', P, '(!(uidNumber:integerMatch:=010))', '1.1'], code: 0, out: dns },
  { name: 'a bad generalizedTime in a filter', args: ['-b', P, '(!(createTimestamp>=2000))', '1.1'], code: 0, out: dns },
  { name: 'a bad DN for a DN-syntax attribute', args: ['-b', B, '(!(member=not a dn))', '1.1'], code: 0, out: dns },
  { name: 'a non-printable telephone number', args: ['-b', P, '(!(telephoneNumber=ü))', '1.1'], code: 0, out: dns },
  { name: 'an empty Directory String', args: ['-b', P, '(!(cn=))', '1.1'], code: 0, out: dns },
  { name: 'compare with INTEGER 010', tool: 'ldapcompare', args: [`uid=alice,${P}`, 'uidNumber:010'], code: 21, out: stdoutText },
  { name: 'compare with INTEGER 010 on a missing entry', tool: 'ldapcompare', args: [`uid=nobody,${P}`, 'uidNumber:010'], code: 21 },
  { name: 'compare with a bad generalizedTime', tool: 'ldapcompare', args: [`uid=alice,${P}`, 'createTimestamp:yesterday'], code: 21 },
  { name: 'compare with a bad DN', tool: 'ldapcompare', args: [`cn=staff,ou=groups,${B}`, 'member:not a dn'], code: 21 },
  // authentication and access
  { name: 'whoami as a user', tool: 'ldapwhoami', as: [`uid=bob,${P}`, 'bob-password'], args: [], code: 0, out: stdoutText },
  { name: 'whoami anonymously', tool: 'ldapwhoami', as: 'anon', args: [], code: 0, out: stdoutText },
  { name: 'whoami with a wrong password', tool: 'ldapwhoami', as: [`uid=bob,${P}`, 'nope'], args: [], code: 49 },
  { name: 'whoami as an unknown DN', tool: 'ldapwhoami', as: [`uid=nobody,${P}`, 'x'], args: [], code: 49 },
  {
    name: 'ldappasswd: the administrator resets a password',
    tool: 'ldappasswd',
    args: ['-s', 'bob-new-pw', `uid=bob,${P}`],
    code: 0,
    out: stdoutText,
  },
  {
    name: 'ldappasswd: the new password binds',
    tool: 'ldapwhoami',
    as: [`uid=bob,${P}`, 'bob-new-pw'],
    args: [],
    code: 0,
    out: stdoutText,
  },
  { name: 'ldappasswd: the old password no longer binds', tool: 'ldapwhoami', as: [`uid=bob,${P}`, 'bob-password'], args: [], code: 49 },
  {
    name: 'ldappasswd: a wrong old password (unwillingToPerform, "unwilling to verify old password")',
    tool: 'ldappasswd',
    as: [`uid=bob,${P}`, 'bob-new-pw'],
    args: ['-a', 'not-bobs-password', '-s', 'bob-pw-x'],
    code: 1, // ldappasswd's exit status; the result (53) and its text are in the output compared
    out: stdoutText,
  },
  {
    name: 'ldappasswd: a user changes their own with the old password',
    tool: 'ldappasswd',
    as: [`uid=bob,${P}`, 'bob-new-pw'],
    args: ['-a', 'bob-new-pw', '-s', 'bob-pw-3'],
    code: 0,
    out: stdoutText,
  },
  { name: 'ldappasswd: anonymous is refused', tool: 'ldappasswd', as: 'anon', args: ['-s', 'x', `uid=bob,${P}`], code: 1, out: stdoutText },
  {
    name: 'anonymous modify (insufficientAccessRights)',
    tool: 'ldapmodify',
    as: 'anon',
    args: [],
    stdin: modify(`uid=alice,${P}`, 'add: description', 'description: anon'),
    code: 50,
  },
  { name: 'anonymous delete', tool: 'ldapdelete', as: 'anon', args: [`uid=judy,${P}`], code: 50 },
  {
    name: 'write with a wrong password',
    tool: 'ldapmodify',
    as: [ADMIN[0], 'wrong'],
    args: [],
    stdin: modify(`uid=alice,${P}`, 'add: description', 'description: x'),
    code: 49,
  },
  { name: 'bind with an unknown DN', tool: 'ldapwhoami', as: [`uid=nobody,${P}`, 'x'], args: [], code: 49 },
  { name: 'bind as a user with the wrong password', tool: 'ldapwhoami', as: [`uid=alice,${P}`, 'wrong'], args: [], code: 49 },
  { name: 'bind as a user', tool: 'ldapwhoami', as: [`uid=alice,${P}`, 'alice-password'], args: [], code: 0, out: stdoutText },
  { name: 'whoami as the administrator', tool: 'ldapwhoami', as: ADMIN, args: [], code: 0, out: stdoutText },
  { name: 'whoami anonymous', tool: 'ldapwhoami', as: 'anon', args: [], code: 0, out: stdoutText },
  { name: 'LDAPv2 bind (protocolError)', as: ADMIN, args: ['-P', '2', '-b', '', '-s', 'base', '1.1'], code: 2, out: nothing },
  {
    name: 'a user cannot write (ACL)',
    tool: 'ldapmodify',
    as: [`uid=alice,${P}`, 'alice-password'],
    args: [],
    stdin: modify(`uid=bob,${P}`, 'add: description', 'description: by alice'),
    code: 50,
  },
  // the end state of everything the writes touched
  { name: 'final state of ou=people', args: ['-b', P, '-s', 'sub', '(objectClass=*)', '*'], as: ADMIN, code: 0 },
];

// ---------------------------------------------------------------------------------------------

interface Target {
  name: string;
  url: string;
}

async function run(c: Case, t: Target): Promise<ToolResult> {
  const tool = c.tool ?? 'ldapsearch';
  const who = c.as ?? (tool === 'ldapsearch' || tool === 'ldapcompare' ? 'anon' : ADMIN);
  const auth = who === 'anon' ? bindArgs() : bindArgs(who[0], who[1]);
  const fmt = tool === 'ldapsearch' ? ['-LLL', '-o', 'ldif-wrap=no'] : [];
  return runTool(tool, [...fmt, '-H', t.url, ...auth, ...c.args], { stdin: c.stdin });
}

async function afterSearch(args: string[], t: Target): Promise<unknown> {
  const r = await runTool('ldapsearch', ['-LLL', '-o', 'ldif-wrap=no', '-H', t.url, ...bindArgs(...ADMIN), ...args]);
  return { code: r.code, entries: entries()(r) };
}

function project(c: Case, r: ToolResult): unknown {
  const out = c.out ?? ((c.tool ?? 'ldapsearch') === 'ldapsearch' ? entries() : nothing);
  return { code: r.code, out: out(r), ...(c.matched ? { matchedDn: matchedDn(r) } : {}) };
}

describe('differential: astldap vs OpenLDAP slapd', () => {
  let slapd: Slapd | undefined;
  let ast: InProcessAstldap | undefined;
  let astError: unknown;
  const S = (): Target => ({ name: 'slapd', url: slapd!.url });
  const A = (): Target => {
    if (!ast) throw new Error(`astldap did not start: ${String(astError)}`);
    return { name: 'astldap', url: ast.url };
  };

  beforeAll(async () => {
    slapd = await startSlapd({ ldif: FIXTURE });
    if (!SLAPD_ONLY) {
      try {
        // The same access as the private slapd's (everyone reads), except userPassword, which
        // astldap never shows to non-administrators.
        ast = await startAstldap({
          seedLdif: FIXTURE,
          config: {
            access: [
              { to: '*', attrs: ['userPassword'], by: [{ who: 'self', level: 'auth' }] },
              { to: '*', by: [{ who: 'anyone', level: 'read' }] },
            ],
          },
        });
      } catch (err) {
        astError = err;
      }
    }
  });
  afterAll(async () => {
    await ast?.stop();
    await slapd?.stop();
  });

  it('has at least 40 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.name)).size).toBe(cases.length);
  });

  for (const c of cases) {
    it(c.name, async () => {
      // slapd's sssvlv overlay sometimes answers busy (51) to a sorted paged search that follows
      // the previous case's at once (one run in three here; it keeps sort state per connection
      // until it has cleaned up after the last client): a transient of slapd's, not an answer to
      // compare. Asked again once.
      let s = await run(c, S());
      if (s.code === 51 && c.code !== 51) s = await new Promise((r) => setTimeout(r, 300)).then(() => run(c, S()));
      const sp = project(c, s);
      expect(s.code, `slapd: ${s.stderr}`).toBe(c.code);
      const sAfter = c.after ? await afterSearch(c.after, S()) : undefined;
      if (c.allTrue) expect(Object.values((sp as { out: object }).out)).not.toContain(false);
      if (process.env.DIFF_DUMP === '1') console.log(c.name, JSON.stringify({ sp, sAfter }));
      if (SLAPD_ONLY) return;
      const a = await run(c, A());
      const ap = project(c, a);
      if (c.spec !== undefined) {
        expect(a.code, `astldap stderr: ${a.stderr}`).toBe(c.spec);
        (ap as { code: number }).code = (sp as { code: number }).code;
      }
      expect(ap, `astldap stderr: ${a.stderr}\nslapd stderr: ${s.stderr}`).toEqual(sp);
      if (c.after) expect(await afterSearch(c.after, A()), 'state after the operation').toEqual(sAfter);
    });
  }
});

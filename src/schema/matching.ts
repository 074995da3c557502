// Matching rules (RFC 4517 §4.2 and the ones OpenLDAP's stock schema files name). Each rule turns a
// value into a canonical string: equal canonical strings match. String preparation follows
// RFC 4518 closely enough for directory data: Unicode NFKC, case folding for the caseIgnore
// family, and insignificant-space handling (trim, collapse runs).

import { generalizedTimeRe } from './syntaxes.js';
import type { MatchingRule } from './types.js';

const S = '1.3.6.1.4.1.1466.115.121.1.';

type Kind = MatchingRule['kind'];

/** Collapses runs of white space to one space; equality forms also trim the ends. */
function spaces(v: string, trim: boolean): string {
  const c = v.replace(/[\s\u00a0]+/g, ' ');
  return trim ? c.trim() : c;
}

function prep(v: string): string {
  return v.normalize('NFKC');
}

const caseIgnore = (v: string) => spaces(prep(v), true).toLowerCase();
const caseIgnoreSub = (v: string) => spaces(prep(v), false).toLowerCase();
const caseExact = (v: string) => spaces(prep(v), true);
const caseExactSub = (v: string) => spaces(prep(v), false);
const ia5 = /^[\x00-\x7f]*$/;

function integerNorm(v: string): string | undefined {
  const t = v.trim();
  if (!/^-?[0-9]+$/.test(t)) return undefined;
  try {
    return BigInt(t).toString();
  } catch {
    return undefined;
  }
}

function integerCompare(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Generalized Time → 'YYYYMMDDHHMMSS.fffZ' in UTC, so string order is time order. */
export function generalizedTimeNorm(v: string): string | undefined {
  const m = generalizedTimeRe.exec(v.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  let ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, mi ? +mi : 0, s ? Math.min(+s, 59) : 0);
  if (frac) {
    const f = Number('0.' + frac);
    ms += Math.floor(f * (s ? 1000 : mi ? 60_000 : 3_600_000));
  }
  if (tz !== 'Z') {
    const sign = tz![0] === '-' ? -1 : 1;
    const offset = (+tz!.slice(1, 3) * 60 + (tz!.length > 3 ? +tz!.slice(3, 5) : 0)) * 60_000;
    ms -= sign * offset;
  }
  const dt = new Date(ms);
  if (Number.isNaN(dt.getTime())) return undefined;
  const iso = dt.toISOString(); // 2024-01-02T03:04:05.678Z
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 23) + 'Z';
}

const stringCompare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function telephone(v: string): string {
  return prep(v).replace(/[\s\u00a0-]+/g, '').toLowerCase();
}

function oidFirstComponent(v: string): string | undefined {
  const m = /^\(\s*([^\s)]+)/.exec(v.trim());
  return m ? m[1]!.toLowerCase() : undefined;
}

interface RuleSpec {
  oid: string;
  name: string;
  kind: Kind;
  syntax: string;
  normalize: (v: string) => string | undefined;
  compare?: (a: string, b: string) => number;
}

/**
 * The built-in rules. `dn` normalises a DN string (the registry supplies it, since DN matching
 * needs the schema); `oid` resolves a descriptor to its OID (objectIdentifierMatch).
 */
export function builtinMatchingRules(dn: (v: string) => string | undefined, oid: (v: string) => string): MatchingRule[] {
  const specs: RuleSpec[] = [
    { oid: '2.5.13.0', name: 'objectIdentifierMatch', kind: 'equality', syntax: S + '38', normalize: (v) => oid(v.trim()) },
    { oid: '2.5.13.1', name: 'distinguishedNameMatch', kind: 'equality', syntax: S + '12', normalize: dn },
    { oid: '2.5.13.2', name: 'caseIgnoreMatch', kind: 'equality', syntax: S + '15', normalize: caseIgnore },
    { oid: '2.5.13.3', name: 'caseIgnoreOrderingMatch', kind: 'ordering', syntax: S + '15', normalize: caseIgnore, compare: stringCompare },
    { oid: '2.5.13.4', name: 'caseIgnoreSubstringsMatch', kind: 'substrings', syntax: S + '58', normalize: caseIgnoreSub },
    { oid: '2.5.13.5', name: 'caseExactMatch', kind: 'equality', syntax: S + '15', normalize: caseExact },
    { oid: '2.5.13.6', name: 'caseExactOrderingMatch', kind: 'ordering', syntax: S + '15', normalize: caseExact, compare: stringCompare },
    { oid: '2.5.13.7', name: 'caseExactSubstringsMatch', kind: 'substrings', syntax: S + '58', normalize: caseExactSub },
    { oid: '2.5.13.8', name: 'numericStringMatch', kind: 'equality', syntax: S + '36', normalize: (v) => v.replace(/ /g, '') },
    {
      oid: '2.5.13.9',
      name: 'numericStringOrderingMatch',
      kind: 'ordering',
      syntax: S + '36',
      normalize: (v) => v.replace(/ /g, ''),
      compare: stringCompare,
    },
    { oid: '2.5.13.10', name: 'numericStringSubstringsMatch', kind: 'substrings', syntax: S + '58', normalize: (v) => v.replace(/ /g, '') },
    { oid: '2.5.13.11', name: 'caseIgnoreListMatch', kind: 'equality', syntax: S + '41', normalize: caseIgnore },
    { oid: '2.5.13.12', name: 'caseIgnoreListSubstringsMatch', kind: 'substrings', syntax: S + '58', normalize: caseIgnoreSub },
    {
      oid: '2.5.13.13',
      name: 'booleanMatch',
      kind: 'equality',
      syntax: S + '7',
      normalize: (v) => (v === 'TRUE' || v === 'FALSE' ? v : undefined),
    },
    { oid: '2.5.13.14', name: 'integerMatch', kind: 'equality', syntax: S + '27', normalize: integerNorm },
    { oid: '2.5.13.15', name: 'integerOrderingMatch', kind: 'ordering', syntax: S + '27', normalize: integerNorm, compare: integerCompare },
    { oid: '2.5.13.16', name: 'bitStringMatch', kind: 'equality', syntax: S + '6', normalize: (v) => v.trim() },
    { oid: '2.5.13.17', name: 'octetStringMatch', kind: 'equality', syntax: S + '40', normalize: (v) => v },
    { oid: '2.5.13.18', name: 'octetStringOrderingMatch', kind: 'ordering', syntax: S + '40', normalize: (v) => v, compare: stringCompare },
    { oid: '2.5.13.19', name: 'octetStringSubstringsMatch', kind: 'substrings', syntax: S + '40', normalize: (v) => v },
    { oid: '2.5.13.20', name: 'telephoneNumberMatch', kind: 'equality', syntax: S + '50', normalize: telephone },
    { oid: '2.5.13.21', name: 'telephoneNumberSubstringsMatch', kind: 'substrings', syntax: S + '58', normalize: telephone },
    { oid: '2.5.13.22', name: 'presentationAddressMatch', kind: 'equality', syntax: S + '43', normalize: caseIgnore },
    {
      oid: '2.5.13.23',
      name: 'uniqueMemberMatch',
      kind: 'equality',
      syntax: S + '34',
      normalize: (v) => {
        const m = /^(.*)#('[01]*'B)$/.exec(v);
        if (!m) return dn(v);
        const d = dn(m[1]!);
        return d === undefined ? undefined : `${d}#${m[2]}`;
      },
    },
    { oid: '2.5.13.24', name: 'protocolInformationMatch', kind: 'equality', syntax: S + '42', normalize: caseIgnore },
    { oid: '2.5.13.27', name: 'generalizedTimeMatch', kind: 'equality', syntax: S + '24', normalize: generalizedTimeNorm },
    {
      oid: '2.5.13.28',
      name: 'generalizedTimeOrderingMatch',
      kind: 'ordering',
      syntax: S + '24',
      normalize: generalizedTimeNorm,
      compare: stringCompare,
    },
    { oid: '2.5.13.29', name: 'integerFirstComponentMatch', kind: 'equality', syntax: S + '27', normalize: integerNorm },
    { oid: '2.5.13.30', name: 'objectIdentifierFirstComponentMatch', kind: 'equality', syntax: S + '38', normalize: oidFirstComponent },
    { oid: '2.5.13.34', name: 'certificateExactMatch', kind: 'equality', syntax: '1.3.6.1.1.15.1', normalize: (v) => v },
    { oid: '2.5.13.38', name: 'certificateListExactMatch', kind: 'equality', syntax: '1.3.6.1.1.15.5', normalize: (v) => v },
    {
      oid: '1.3.6.1.4.1.1466.109.114.1',
      name: 'caseExactIA5Match',
      kind: 'equality',
      syntax: S + '26',
      normalize: (v) => (ia5.test(v) ? spaces(v, true) : undefined),
    },
    {
      oid: '1.3.6.1.4.1.1466.109.114.2',
      name: 'caseIgnoreIA5Match',
      kind: 'equality',
      syntax: S + '26',
      normalize: (v) => (ia5.test(v) ? spaces(v, true).toLowerCase() : undefined),
    },
    {
      oid: '1.3.6.1.4.1.1466.109.114.3',
      name: 'caseIgnoreIA5SubstringsMatch',
      kind: 'substrings',
      syntax: S + '58',
      normalize: (v) => (ia5.test(v) ? spaces(v, false).toLowerCase() : undefined),
    },
    {
      oid: '1.3.6.1.4.1.4203.1.2.1',
      name: 'caseExactIA5SubstringsMatch',
      kind: 'substrings',
      syntax: S + '58',
      normalize: (v) => (ia5.test(v) ? spaces(v, false) : undefined),
    },
    { oid: '1.2.840.113556.1.4.803', name: 'integerBitAndMatch', kind: 'equality', syntax: S + '27', normalize: integerNorm },
    { oid: '1.2.840.113556.1.4.804', name: 'integerBitOrMatch', kind: 'equality', syntax: S + '27', normalize: integerNorm },
    { oid: '1.3.6.1.1.16.2', name: 'UUIDMatch', kind: 'equality', syntax: '1.3.6.1.1.16.1', normalize: (v) => v.trim().toLowerCase() },
    {
      oid: '1.3.6.1.1.16.3',
      name: 'UUIDOrderingMatch',
      kind: 'ordering',
      syntax: '1.3.6.1.1.16.1',
      normalize: (v) => v.trim().toLowerCase(),
      compare: stringCompare,
    },
    { oid: '1.3.6.1.4.1.4203.666.11.2.2', name: 'CSNMatch', kind: 'equality', syntax: '1.3.6.1.4.1.4203.666.11.2.1', normalize: (v) => v },
    {
      oid: '1.3.6.1.4.1.4203.666.11.2.3',
      name: 'CSNOrderingMatch',
      kind: 'ordering',
      syntax: '1.3.6.1.4.1.4203.666.11.2.1',
      normalize: (v) => v,
      compare: stringCompare,
    },
  ];
  return specs.map((s) => ({
    oid: s.oid,
    names: [s.name],
    name: s.name,
    kind: s.kind,
    syntax: s.syntax,
    normalize: s.normalize,
    ...(s.compare ? { compare: s.compare } : {}),
    definition: `( ${s.oid} NAME '${s.name}' SYNTAX ${s.syntax} )`,
  }));
}

/** Rules that accept an assertion on any attribute for bit-wise integer tests (extensible match). */
export function bitwiseMatch(ruleOid: string, value: string, asserted: string): boolean | undefined {
  let a: bigint;
  let b: bigint;
  try {
    a = BigInt(value);
    b = BigInt(asserted);
  } catch {
    return undefined;
  }
  if (ruleOid === '1.2.840.113556.1.4.803') return (a & b) === b;
  if (ruleOid === '1.2.840.113556.1.4.804') return (a & b) !== 0n;
  return undefined;
}

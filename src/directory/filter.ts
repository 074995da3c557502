// Search filters compiled once per request into closures that evaluate an entry with LDAP's
// three-valued logic (RFC 4511 §4.5.1.7): TRUE, FALSE or Undefined. Matching follows the schema:
// equality/substrings/ordering rules, supertypes (name matches cn), objectClass subclasses.

import type { Filter } from '../ldap/messages.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { AttributeType, MatchingRule } from '../schema/types.js';
import type { EntryRecord } from '../store/types.js';
import { parseDescription, assertionString, baseKey } from './attributes.js';
import { parseDn } from '../schema/dn.js';

export const TRUE = 1;
export const FALSE = 0;
export const UNDEFINED = 2;
export type Truth = typeof TRUE | typeof FALSE | typeof UNDEFINED;

export interface FilterTarget {
  dn: string;
  ndn: string;
  rec: EntryRecord;
}

export type CompiledFilter = (e: FilterTarget) => Truth;

/** A filter item the planner may answer from an index. */
export type IndexHint =
  | { kind: 'and' | 'or'; items: IndexHint[] }
  | { kind: 'eq'; keys: string[]; value: string }
  | { kind: 'pres'; keys: string[] }
  | { kind: 'sub'; keys: string[]; initial?: string; any: string[]; final?: string }
  | { kind: 'range'; keys: string[]; low?: string; high?: string }
  | { kind: 'objectClass'; values: readonly string[] }
  | { kind: 'none' };

export interface Compiled {
  match: CompiledFilter;
  hint: IndexHint;
  /** For AND, OR and NOT: the parts, so a large filter can be evaluated a slice at a time (matchPaced). */
  node?: { op: 'and' | 'or' | 'not'; parts: Compiled[] };
}

/**
 * Normalised forms of the large values seen by one compiled filter, so an OR of thousands of
 * items over a big entry normalises each value once, not once per item. Bounded: cleared when
 * it holds more than MAX_CACHED_CHARS characters.
 */
class NormalizedValues {
  private readonly byRule = new Map<MatchingRule, Map<string, string | undefined>>();
  private chars = 0;
  static readonly MIN_LENGTH = 256;
  static readonly MAX_CACHED_CHARS = 32 * 1024 * 1024;

  private readonly keys = new Map<AttributeType, Set<string>>();

  /** The keys of a type and its subtypes, worked out once per filter rather than once per item. */
  typeKeys(schema: SchemaRegistry, t: AttributeType): Set<string> {
    let k = this.keys.get(t);
    if (!k) this.keys.set(t, (k = typeKeys(schema, t)));
    return k;
  }

  normalizer(rule: MatchingRule): (v: string) => string | undefined {
    return (v) => {
      if (v.length < NormalizedValues.MIN_LENGTH) return rule.normalize(v);
      let m = this.byRule.get(rule);
      if (!m) this.byRule.set(rule, (m = new Map()));
      if (m.has(v)) return m.get(v);
      const n = rule.normalize(v);
      if (this.chars + v.length > NormalizedValues.MAX_CACHED_CHARS) {
        this.byRule.clear();
        this.chars = 0;
        this.byRule.set(rule, (m = new Map()));
      }
      m.set(v, n);
      this.chars += v.length;
      return n;
    };
  }
}

const alwaysUndefined: Compiled = { match: () => UNDEFINED, hint: { kind: 'none' } };
const none: IndexHint = { kind: 'none' };

/** Keys in the entry for a type and its subtypes, including keys with options. */
function valuesOf(rec: EntryRecord, keys: Set<string>, exactKey: string | undefined): string[][] {
  const out: string[][] = [];
  const attrs = rec.attrs;
  if (exactKey) {
    const v = attrs[exactKey];
    if (v) out.push(v);
    return out;
  }
  for (const k in attrs) {
    if (keys.has(k) || (k.includes(';') && keys.has(baseKey(k)))) out.push(attrs[k]!);
  }
  return out;
}

function typeKeys(schema: SchemaRegistry, t: AttributeType): Set<string> {
  return new Set(schema.subtypesOf(t).map((s) => s.key));
}

export function compileFilter(schema: SchemaRegistry, f: Filter, values = new NormalizedValues()): Compiled {
  switch (f.type) {
    case 'and':
    case 'or':
      return combine(
        f.type,
        f.filters.map((x) => compileFilter(schema, x, values)),
      );
    case 'not':
      return combine('not', [compileFilter(schema, f.filter, values)]);
    case 'present':
      return compilePresent(schema, f.attribute);
    case 'equality':
    case 'approx':
      return compileEquality(schema, f.attribute, f.value, values);
    case 'ge':
    case 'le':
      return compileOrdering(schema, f.attribute, f.value, f.type, values);
    case 'substrings':
      return compileSubstrings(schema, f, values);
    case 'extensible':
      return compileExtensible(schema, f);
  }
}

/** AND, OR or NOT over compiled parts (three-valued, short-circuiting). */
function combine(op: 'and' | 'or' | 'not', parts: Compiled[]): Compiled {
  const ms = parts.map((p) => p.match);
  if (op === 'not') {
    const inner = ms[0]!;
    return {
      node: { op, parts },
      hint: none,
      match: (e) => {
        const v = inner(e);
        return v === UNDEFINED ? UNDEFINED : v === TRUE ? FALSE : TRUE;
      },
    };
  }
  if (op === 'and') {
    return {
      node: { op, parts },
      hint: { kind: 'and', items: parts.map((p) => p.hint) },
      match: (e) => {
        let r: Truth = TRUE;
        for (const m of ms) {
          const v = m(e);
          if (v === FALSE) return FALSE;
          if (v === UNDEFINED) r = UNDEFINED;
        }
        return r;
      },
    };
  }
  return {
    node: { op, parts },
    hint: parts.length ? { kind: 'or', items: parts.map((p) => p.hint) } : none,
    match: (e) => {
      let r: Truth = FALSE;
      for (const m of ms) {
        const v = m(e);
        if (v === TRUE) return TRUE;
        if (v === UNDEFINED) r = UNDEFINED;
      }
      return r;
    },
  };
}

/**
 * compileFilter for large filters: the same result, built with a checkpoint after every item,
 * so compiling tens of thousands of items neither holds the event loop nor outlives its client.
 */
export async function compileFilterPaced(
  schema: SchemaRegistry,
  f: Filter,
  checkpoint: Checkpoint,
  values = new NormalizedValues(),
): Promise<Compiled> {
  if (f.type === 'and' || f.type === 'or' || f.type === 'not') {
    const parts: Compiled[] = [];
    for (const x of f.type === 'not' ? [f.filter] : f.filters) parts.push(await compileFilterPaced(schema, x, checkpoint, values));
    return combine(f.type, parts);
  }
  const c = compileFilter(schema, f, values);
  const wait = checkpoint();
  if (wait) await wait;
  return c;
}

function compilePresent(schema: SchemaRegistry, attribute: string): Compiled {
  const d = parseDescription(schema, attribute);
  if (!d.type) return { match: () => FALSE, hint: none };
  if (d.type.key === 'objectclass') return { match: () => TRUE, hint: { kind: 'pres', keys: ['objectclass'] } };
  if (d.type.key === 'entrydn') return { match: () => TRUE, hint: none };
  const keys = typeKeys(schema, d.type);
  const exact = d.options.length ? d.key : undefined;
  return {
    hint: exact ? none : { kind: 'pres', keys: [...keys] },
    match: (e) => (valuesOf(e.rec, keys, exact).some((v) => v.length > 0) ? TRUE : FALSE),
  };
}

function objectClassMatcher(schema: SchemaRegistry, value: Buffer): Compiled {
  const oc = schema.objectClass(value.toString('utf8').trim());
  if (!oc) return alwaysUndefined;
  // Every class that is oc or derives from it: an entry of a subclass matches (RFC 4512 §2.4.1).
  const { keys: accepted, list } = schema.subclassesOf(oc);
  const cache = new Map<string, string | undefined>();
  const keyOf = (v: string) => {
    let k = cache.get(v);
    if (k === undefined && !cache.has(v)) {
      k = schema.objectClass(v)?.key;
      cache.set(v, k);
    }
    return k;
  };
  return {
    hint: { kind: 'objectClass', values: list },
    match: (e) => {
      const vals = e.rec.attrs['objectclass'];
      if (!vals) return FALSE;
      for (const v of vals) {
        const k = keyOf(v);
        if (k !== undefined && accepted.has(k)) return TRUE;
      }
      return FALSE;
    },
  };
}

/**
 * Does the value belong to the rule's assertion syntax? As in slapd, a filter item whose value
 * does not is Undefined (however the value would normalise: INTEGER 010 is not 10), and a
 * compare with it is invalidAttributeSyntax.
 */
function validAssertion(schema: SchemaRegistry, rule: MatchingRule, value: string): boolean {
  return schema.syntax(rule.syntax)?.validate(value) ?? true;
}

/** The compare-side check of an assertion value against the type's equality rule. */
export function assertionValid(schema: SchemaRegistry, type: AttributeType, value: Buffer): boolean {
  const rule = type.equality;
  if (!rule) return type.key === 'objectclass';
  const raw = assertionString(type, value);
  return validAssertion(schema, rule, raw) && rule.normalize(raw) !== undefined;
}

function compileEquality(schema: SchemaRegistry, attribute: string, value: Buffer, values: NormalizedValues): Compiled {
  const d = parseDescription(schema, attribute);
  if (!d.type) return alwaysUndefined;
  if (d.type.key === 'objectclass' && !d.options.length) return objectClassMatcher(schema, value);
  const rule = d.type.equality;
  if (!rule) return alwaysUndefined;
  const raw = assertionString(d.type, value);
  if (!validAssertion(schema, rule, raw)) return alwaysUndefined;
  const asserted = rule.normalize(raw);
  if (asserted === undefined) return alwaysUndefined;
  if (d.type.key === 'entrydn') return { hint: none, match: (e) => (e.ndn === asserted ? TRUE : FALSE) };
  const keys = values.typeKeys(schema, d.type);
  const exact = d.options.length ? d.key : undefined;
  const normalize = values.normalizer(rule);
  return {
    hint: exact ? none : { kind: 'eq', keys: [...keys], value: asserted },
    match: (e) => {
      let r: Truth = FALSE;
      for (const vals of valuesOf(e.rec, keys, exact)) {
        for (const v of vals) {
          const n = normalize(v);
          if (n === asserted) return TRUE;
          if (n === undefined) r = UNDEFINED;
        }
      }
      return r;
    },
  };
}

function compileOrdering(schema: SchemaRegistry, attribute: string, value: Buffer, op: 'ge' | 'le', values: NormalizedValues): Compiled {
  const d = parseDescription(schema, attribute);
  if (!d.type) return alwaysUndefined;
  const rule = d.type.ordering;
  if (!rule || !rule.compare) return alwaysUndefined;
  const raw = assertionString(d.type, value);
  if (!validAssertion(schema, rule, raw)) return alwaysUndefined;
  const asserted = rule.normalize(raw);
  if (asserted === undefined) return alwaysUndefined;
  const cmp = rule.compare.bind(rule);
  const keys = values.typeKeys(schema, d.type);
  const exact = d.options.length ? d.key : undefined;
  // Range lookups on the equality index are only sound when equality and ordering normalise alike.
  const sameForm = d.type.equality !== undefined && sameNormalisation(d.type.equality, rule);
  const normalize = values.normalizer(rule);
  return {
    hint:
      sameForm && !exact && rule.name.toLowerCase().includes('caseignore')
        ? { kind: 'range', keys: [...keys], ...(op === 'ge' ? { low: asserted } : { high: asserted }) }
        : none,
    match: (e) => {
      let r: Truth = FALSE;
      for (const vals of valuesOf(e.rec, keys, exact)) {
        for (const v of vals) {
          const n = normalize(v);
          if (n === undefined) {
            r = UNDEFINED;
            continue;
          }
          const c = cmp(n, asserted);
          if (op === 'ge' ? c >= 0 : c <= 0) return TRUE;
        }
      }
      return r;
    },
  };
}

function sameNormalisation(eq: MatchingRule, ord: MatchingRule): boolean {
  const probe = '  Mixed  Case Ünïcode ';
  return eq.normalize(probe) === ord.normalize(probe);
}

export function substringsMatch(value: string, initial: string | undefined, any: string[], final: string | undefined): boolean {
  let pos = 0;
  let end = value.length;
  if (initial !== undefined) {
    if (!value.startsWith(initial)) return false;
    pos = initial.length;
  }
  if (final !== undefined) {
    if (value.length - final.length < pos || !value.endsWith(final)) return false;
    end = value.length - final.length;
  }
  for (const a of any) {
    const i = value.indexOf(a, pos);
    if (i < 0 || i + a.length > end) return false;
    pos = i + a.length;
  }
  return true;
}

function compileSubstrings(schema: SchemaRegistry, f: Extract<Filter, { type: 'substrings' }>, values: NormalizedValues): Compiled {
  const d = parseDescription(schema, f.attribute);
  if (!d.type) return alwaysUndefined;
  const rule = d.type.substr;
  if (!rule) return alwaysUndefined;
  const norm = (b: Buffer | undefined) => (b === undefined ? undefined : rule.normalize(assertionString(d.type, b)));
  const initial = norm(f.initial);
  const final = norm(f.final);
  const any = f.any.map((a) => norm(a));
  if ((f.initial && initial === undefined) || (f.final && final === undefined) || any.some((a) => a === undefined)) return alwaysUndefined;
  const anyS = any as string[];
  const keys = values.typeKeys(schema, d.type);
  const exact = d.options.length ? d.key : undefined;
  const normalize = values.normalizer(rule);
  return {
    hint: exact ? none : { kind: 'sub', keys: [...keys], initial, any: anyS, final },
    match: (e) => {
      let r: Truth = FALSE;
      for (const vals of valuesOf(e.rec, keys, exact)) {
        for (const v of vals) {
          const n = normalize(v);
          if (n === undefined) {
            r = UNDEFINED;
            continue;
          }
          if (substringsMatch(n, initial, anyS, final)) return TRUE;
        }
      }
      return r;
    },
  };
}

/** Splits a substring assertion "a*b*c" (RFC 4517 §3.3.30) for extensible matches with substring rules. */
function splitSubstringAssertion(s: string): { initial?: string; any: string[]; final?: string } | undefined {
  const parts = s.split('*');
  if (parts.length < 2) return undefined;
  const initial = parts[0] || undefined;
  const final = parts[parts.length - 1] || undefined;
  return { initial, final, any: parts.slice(1, -1).filter((p) => p !== '') };
}

function compileExtensible(schema: SchemaRegistry, f: Extract<Filter, { type: 'extensible' }>): Compiled {
  const d = f.attribute ? parseDescription(schema, f.attribute) : undefined;
  if (d && !d.type) return alwaysUndefined;
  let rule: MatchingRule | undefined;
  if (f.rule) {
    rule = schema.matchingRule(f.rule);
    if (!rule) return alwaysUndefined;
  } else if (d?.type) {
    rule = d.type.equality;
  }
  if (!rule) return alwaysUndefined;
  const r = rule;
  const raw = assertionString(d?.type, f.value);
  let test: (v: string) => Truth;
  if (r.kind === 'substrings') {
    const parts = splitSubstringAssertion(raw);
    if (!parts) return alwaysUndefined;
    const n = (s: string | undefined) => (s === undefined ? undefined : r.normalize(s));
    const initial = n(parts.initial);
    const final = n(parts.final);
    const any = parts.any.map((a) => r.normalize(a));
    if (any.some((a) => a === undefined)) return alwaysUndefined;
    test = (v) => {
      const nv = r.normalize(v);
      return nv === undefined ? UNDEFINED : substringsMatch(nv, initial, any as string[], final) ? TRUE : FALSE;
    };
  } else {
    if (!validAssertion(schema, r, raw)) return alwaysUndefined;
    const asserted = r.normalize(raw);
    if (asserted === undefined) return alwaysUndefined;
    if (r.kind === 'ordering' && r.compare) {
      const cmp = r.compare.bind(r);
      test = (v) => {
        const nv = r.normalize(v);
        return nv === undefined ? UNDEFINED : cmp(nv, asserted) < 0 ? TRUE : FALSE;
      };
    } else {
      test = (v) => {
        const nv = r.normalize(v);
        return nv === undefined ? UNDEFINED : nv === asserted ? TRUE : FALSE;
      };
    }
  }
  const keys = d?.type ? typeKeys(schema, d.type) : undefined;
  // Without an attribute, the rule applies to every attribute whose syntax it can compare.
  const applies = (key: string): boolean => {
    if (keys) return keys.has(baseKey(key));
    const t = schema.attributeType(baseKey(key));
    return !!t && (t.equality?.oid === r.oid || t.substr?.oid === r.oid || t.ordering?.oid === r.oid || t.syntax.oid === r.syntax);
  };
  return {
    hint: none,
    match: (e) => {
      let res: Truth = FALSE;
      for (const k in e.rec.attrs) {
        if (!applies(k)) continue;
        for (const v of e.rec.attrs[k]!) {
          const t = test(v);
          if (t === TRUE) return TRUE;
          if (t === UNDEFINED) res = UNDEFINED;
        }
      }
      if (f.dnAttributes) {
        for (const rdn of safeParseDn(e.dn)) {
          for (const ava of rdn) {
            const t = schema.attributeType(ava.type);
            if (!t || !applies(t.key)) continue;
            const v = test(ava.value);
            if (v === TRUE) return TRUE;
            if (v === UNDEFINED) res = UNDEFINED;
          }
        }
      }
      return res;
    },
  };
}

function safeParseDn(dn: string): ReturnType<typeof parseDn> {
  try {
    return parseDn(dn);
  } catch {
    return [];
  }
}

/** A filter's size, as the per-identity ceilings count it (limits.filter / limits.adminFilter). */
export interface FilterSize {
  /** Every item: AND, OR, NOT and each assertion. */
  terms: number;
  /** The deepest nesting (a lone assertion is depth 1). */
  depth: number;
  /** Bytes of attribute descriptions and assertion values. */
  bytes: number;
}

/**
 * Measures a decoded filter, stopping as soon as `ceiling` is passed (the cost of measuring a
 * hostile filter is bounded by the ceiling, not by the filter). Returns the first exceeded
 * dimension, or undefined when the filter fits.
 */
export function exceedsCeiling(f: Filter, ceiling: FilterSize): keyof FilterSize | undefined {
  let terms = 0;
  let deepest = 0;
  let bytes = 0;
  // Items still to measure and their depths, as two parallel stacks (no object per item).
  const items: Filter[] = [f];
  const depths: number[] = [1];
  while (items.length) {
    const item = items.pop()!;
    const depth = depths.pop()!;
    terms++;
    if (depth > deepest) deepest = depth;
    switch (item.type) {
      case 'and':
      case 'or':
        for (const x of item.filters) {
          items.push(x);
          depths.push(depth + 1);
        }
        break;
      case 'not':
        items.push(item.filter);
        depths.push(depth + 1);
        break;
      case 'present':
        bytes += item.attribute.length;
        break;
      case 'substrings':
        bytes += item.attribute.length + (item.initial?.length ?? 0) + (item.final?.length ?? 0);
        for (const a of item.any) bytes += a.length;
        break;
      case 'extensible':
        bytes += (item.attribute?.length ?? 0) + (item.rule?.length ?? 0) + item.value.length;
        break;
      default:
        bytes += item.attribute.length + item.value.length;
    }
    if (terms > ceiling.terms) return 'terms';
    if (deepest > ceiling.depth) return 'depth';
    if (bytes > ceiling.bytes) return 'bytes';
  }
  return undefined;
}

/**
 * A checkpoint between filter items: undefined to go straight on, or a Promise to wait for (it
 * yields the event loop to other connections, and rejects when the search must stop).
 */
export type Checkpoint = () => Promise<void> | undefined;

/**
 * Evaluates like match(), but passes a checkpoint after every assertion, so one large filter on
 * one large entry cannot hold the event loop, and an abandon or disconnect stops it mid-entry.
 */
export async function matchPaced(c: Compiled, e: FilterTarget, checkpoint: Checkpoint): Promise<Truth> {
  const node = c.node;
  if (!node) {
    const v = c.match(e);
    const wait = checkpoint();
    if (wait) await wait;
    return v;
  }
  if (node.op === 'not') {
    const v = await matchPaced(node.parts[0]!, e, checkpoint);
    return v === UNDEFINED ? UNDEFINED : v === TRUE ? FALSE : TRUE;
  }
  const decisive = node.op === 'and' ? FALSE : TRUE;
  let r: Truth = node.op === 'and' ? TRUE : FALSE;
  for (const part of node.parts) {
    const v = await matchPaced(part, e, checkpoint);
    if (v === decisive) return decisive;
    if (v === UNDEFINED) r = UNDEFINED;
  }
  return r;
}

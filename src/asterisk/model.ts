// What a conversion produces: directory entries (DN, object classes, attributes in the order
// Asterisk should see their values), each with the file and line it came from, and the lines
// that were left out, each with its reason. Converters fill one Conversion per input file.

import { createHash } from 'node:crypto';
import { escapeDnValue, prettyDn } from '../schema/dn.js';
import type { ConfigCategory, Origin } from './config-parser.js';
import type { ExtConfig, ResLdapMapping } from './mapping.js';

export interface DraftEntry {
  dn: string;
  /** extconfig family (ps_endpoints, voicemail, ...) or 'container'. */
  family: string;
  objectClasses: string[];
  /** Attribute -> values, in insertion order; the values keep the file's order. */
  attributes: Map<string, string[]>;
  origin: Origin;
  /** What it is, for the report: "endpoint 1000". */
  label: string;
}

export interface SkippedLine {
  origin: Origin;
  text: string;
  reason: string;
}

/** A section of what stays in the static file (--static-out), its lines as Asterisk reads them. */
export interface StaticSection {
  name: string;
  lines: string[];
}

export interface Conversion {
  file: string;
  entries: DraftEntry[];
  skipped: SkippedLine[];
  /** What stays in the static file, in file order. */
  remainder: StaticSection[];
  /** A syntax error: nothing of the file was converted. */
  error?: string;
  /** Families this file defines completely (what --prune may clean up). */
  families: string[];
  /** Lines converted (or kept static) as they are that will not work after the move: to check. */
  notes?: SkippedLine[];
}

export const md5hex = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** Keeps a line in the static remainder of the file, under [category]. */
export function keepStatic(out: Conversion, category: string, v: { name: string; value: string; object: boolean }): void {
  let last = out.remainder[out.remainder.length - 1];
  if (!last || last.name !== category) out.remainder.push((last = { name: category, lines: [] }));
  last.lines.push(`${v.name} ${v.object ? '=>' : '='} ${v.value.replace(/;/g, '\\;')}`);
}

/** A section that configures the module itself ([general], ...): every line stays static and is reported. */
export function keepSection(out: Conversion, cat: ConfigCategory, reason: string): void {
  for (const v of cat.variables) {
    out.skipped.push({ origin: v.origin, text: `${v.name}=${v.value}`, reason });
    keepStatic(out, cat.name, v);
  }
}

/** The key two spellings of one DN share (case and escaping aside). */
export const dnKey = (dn: string): string => prettyDn(dn).toLowerCase();

export const rdn = (attr: string, value: string, base: string): string => `${attr}=${escapeDnValue(value)},${base}`;

/**
 * Builds one entry of a realtime table: columns go through the res_ldap.conf mapping; a column
 * the mapping does not know is reported, not dropped silently.
 */
export class EntryBuilder {
  readonly entry: DraftEntry;

  constructor(
    private readonly mapping: ResLdapMapping,
    private readonly table: string,
    private readonly skipped: SkippedLine[],
    init: Omit<DraftEntry, 'attributes' | 'objectClasses'> & { objectClasses: string[] },
  ) {
    const classes = [...init.objectClasses];
    for (const c of mapping.table(table).filterClasses) if (!classes.some((k) => k.toLowerCase() === c.toLowerCase())) classes.push(c);
    this.entry = { ...init, objectClasses: classes, attributes: new Map() };
  }

  /** Sets column to values (replacing earlier ones); false (and a report line) when unmapped. */
  set(column: string, values: string[], origin: Origin, text = `${column}=${values.join(',')}`): boolean {
    const attr = this.mapping.attribute(this.table, column);
    if (!attr) {
      this.skipped.push({ origin, text, reason: `no attribute for "${column}" in [${this.table}] of ${this.mapping.file}` });
      return false;
    }
    values = values.filter((v) => v !== '');
    if (!values.length) {
      this.skipped.push({ origin, text, reason: 'an empty value: the directory cannot store one (the option stays at its default)' });
      return false;
    }
    const split = values.find((v) => v.includes(';'));
    if (split !== undefined) {
      this.skipped.push({ origin, text, reason: `the value contains ";", which res_config_ldap splits into several values` });
      return false;
    }
    this.entry.attributes.set(attr, values);
    return true;
  }

  /** Sets an attribute by its LDAP name (cn, description): not a mapped column. */
  setAttribute(attr: string, values: string[]): void {
    this.entry.attributes.set(attr, values);
  }

  has(column: string): boolean {
    const attr = this.mapping.attribute(this.table, column);
    return attr !== undefined && this.entry.attributes.has(attr);
  }

  delete(column: string): void {
    const attr = this.mapping.attribute(this.table, column);
    if (attr) this.entry.attributes.delete(attr);
  }
}

/** What every converter gets: the mapping, the bindings and a builder for its entries. */
export interface ConvertContext {
  mapping: ResLdapMapping;
  ext: ExtConfig;
  keepCleartext: boolean;
  /** --chan-sip: sip.conf peers also as chan_sip realtime peers. */
  chanSip: boolean;
  /** The files of the directory that are converted (sip.conf leaves transports to a pjsip.conf). */
  files: ReadonlySet<string>;
  /** A builder for the entry cn=id below the family's base, in the family's table. */
  builder(family: string, id: string, origin: Origin, label: string, classes: string[], out: Conversion): EntryBuilder;
}

/** Options that add to a list each time they appear (all their values are kept, in order). */
const LIST_OPTIONS = new Set([
  'allow',
  'disallow',
  'match',
  'match_header',
  'contact',
  'set_var',
  'permit',
  'deny',
  'acl',
  'contact_permit',
  'contact_deny',
  'contact_acl',
]);

/** The columns of a section: list options keep every value, others the last one. */
export function columnsOf(
  cat: ConfigCategory,
  skip: ReadonlySet<string>,
  lists: ReadonlySet<string> = LIST_OPTIONS,
): Array<{ name: string; values: string[]; line: number; file: string }> {
  const out = new Map<string, { name: string; values: string[]; line: number; file: string }>();
  for (const v of cat.variables) {
    if (skip.has(v.name)) continue;
    const cur = out.get(v.name);
    if (cur && lists.has(v.name)) cur.values.push(v.value);
    else if (cur) Object.assign(cur, { values: [v.value], line: v.origin.line, file: v.origin.file });
    else out.set(v.name, { name: v.name, values: [v.value], line: v.origin.line, file: v.origin.file });
  }
  return [...out.values()].map((c) => ({ ...c, values: c.values.filter((x) => x !== '') }));
}

// What a conversion produces: directory entries (DN, object classes, attributes in the order
// Asterisk should see their values), each with the file and line it came from, and the lines
// that were left out, each with its reason. Converters fill one Conversion per input file.

import { escapeDnValue, prettyDn } from '../schema/dn.js';
import type { Origin } from './config-parser.js';
import type { ResLdapMapping } from './mapping.js';

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

export interface Conversion {
  file: string;
  entries: DraftEntry[];
  skipped: SkippedLine[];
  /** A syntax error: nothing of the file was converted. */
  error?: string;
  /** Families this file defines completely (what --prune may clean up). */
  families: string[];
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

// What the converter needs to know about a site's Asterisk-to-LDAP setup, read from the files
// Asterisk itself reads: res_ldap.conf (table sections: Asterisk column -> LDAP attribute, and
// the object class named in additionalFilter) and extconfig.conf (family -> search base DN and
// table). The column lookup is res_config_ldap's: case-insensitive, the table's section first,
// then [_general]; within a section the last line for a column wins.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfigText, type ParsedConfig } from './config-parser.js';

/** data/asterisk of the package (src/asterisk or dist/asterisk are two levels below the root). */
export const SHIPPED_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../data/asterisk');

/** Keys of [_general] that are connection settings, never mappings (res_config_ldap.c). */
const CONNECTION_KEYS = new Set(['url', 'host', 'port', 'user', 'pass', 'version', 'protocol', 'basedn', 'additionalfilter']);

/** The site's res_ldap.conf or extconfig.conf lacks what a conversion needs. */
export class MappingError extends Error {
  override name = 'MappingError';
}

export interface LdapTable {
  name: string;
  /** Lowercased Asterisk column -> LDAP attribute. */
  columns: Map<string, string>;
  /** The object classes additionalFilter requires with (objectClass=X) items. */
  filterClasses: string[];
}

export class ResLdapMapping {
  private constructor(
    readonly file: string,
    private readonly tables: Map<string, LdapTable>,
    private readonly general: Map<string, string>,
  ) {}

  static parse(text: string, file: string): ResLdapMapping {
    const cfg = parseConfigText(text, file);
    const tables = new Map<string, LdapTable>();
    let general = new Map<string, string>();
    for (const cat of cfg.categories) {
      const columns = new Map<string, string>();
      let filter = '';
      for (const v of cat.variables) {
        if (!v.name || !v.value) continue;
        const key = v.name.toLowerCase();
        if (key === 'additionalfilter') filter = v.value;
        else columns.set(key, v.value.trim());
      }
      if (cat.name.toLowerCase() === '_general') {
        for (const k of CONNECTION_KEYS) columns.delete(k);
        general = columns;
        continue;
      }
      const filterClasses = [...filter.matchAll(/\(\s*objectClass\s*=\s*([^()*\s]+)\s*\)/gi)].map((m) => m[1]!);
      tables.set(cat.name, { name: cat.name, columns, filterClasses });
    }
    return new ResLdapMapping(file, tables, general);
  }

  static read(file = path.join(SHIPPED_DIR, 'res_ldap.conf')): ResLdapMapping {
    return ResLdapMapping.parse(readFileSync(file, 'utf8'), file);
  }

  table(name: string): LdapTable {
    const t = this.tables.get(name);
    if (!t) throw new MappingError(`${this.file} has no [${name}] section`);
    return t;
  }

  /** The LDAP attribute of an Asterisk column, or undefined when neither the table nor [_general] maps it. */
  attribute(table: string, column: string): string | undefined {
    const key = column.toLowerCase();
    return this.table(table).columns.get(key) ?? this.general.get(key);
  }

  /** Every attribute a table maps to (for pruning attributes a file no longer sets). */
  attributes(table: string): string[] {
    return [...new Set([...this.table(table).columns.values(), ...this.general.values()])];
  }
}

/** One `family => ldap,"base",table` line of extconfig.conf. */
export interface FamilyBinding {
  family: string;
  base: string;
  table: string;
}

export class ExtConfig {
  private constructor(
    readonly file: string,
    private readonly families: Map<string, FamilyBinding>,
  ) {}

  static parse(text: string, file: string): ExtConfig {
    const cfg: ParsedConfig = parseConfigText(text, file);
    const families = new Map<string, FamilyBinding>();
    for (const cat of cfg.categories) {
      if (cat.name !== 'settings') continue;
      for (const v of cat.variables) {
        const m = /^\s*ldap\s*,\s*(?:"([^"]*)"|([^,]*))\s*(?:,\s*([^,\s]+))?/i.exec(v.value);
        if (!m) continue;
        const base = (m[1] ?? m[2] ?? '').replace(/\|/g, ',').trim();
        families.set(v.name, { family: v.name, base, table: m[3] ?? v.name });
      }
    }
    return new ExtConfig(file, families);
  }

  static read(file = path.join(SHIPPED_DIR, 'extconfig.conf')): ExtConfig {
    return ExtConfig.parse(readFileSync(file, 'utf8'), file);
  }

  /** The binding of a family (or a static file such as pjsip.conf); throws when it is not mapped to ldap. */
  binding(family: string): FamilyBinding {
    const b = this.families.get(family);
    if (!b) throw new MappingError(`${this.file} maps no ${family} => ldap,...`);
    return b;
  }

  /** Every base DN a family is served from. */
  bases(): string[] {
    return [...this.families.values()].map((b) => b.base);
  }

  has(family: string): boolean {
    return this.families.has(family);
  }
}

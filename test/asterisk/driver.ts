// A small model of Asterisk's res_config_ldap driver (and the parts of the realtime core that
// shape its requests), written from /work/shared/reference/asterisk-res-ldap-contract.md:
//   §2   res_ldap.conf / extconfig.conf parsing, table lookup, name mapping both ways
//   §4.2 filter building (LIKE path; value escaping after the 2026 fix, or raw before it);
//        variadic field order (first pair kept, the rest reversed)
//   §5   reading results: reverse mapping, `;` splitting (not md5secret), one `{md5}` prefix
//        stripped from md5secret, §5.7 single-row post-processing
//   §6   realtime, realtime_multi (category names), update/update2 (modification list,
//        `;`-joining, deletes dropped for attributes the entry did not return), static config
//        load (required columns, variable_value row splitting, cat_metric/category/var_metric
//        ordering, category breaks).
// It does no I/O itself: a Backend runs the searches and modifications (the replay suite runs
// them with libldap's ldapsearch/ldapmodify).

import { createHash } from 'node:crypto';
import type { LdifEntry } from '../helpers/tools.js';

/** One Asterisk variable: [column name, value]. */
export type Var = [name: string, value: string];

export interface Table {
  name: string;
  /** The last additionalFilter line of the section (the last one wins). */
  additionalFilter?: string;
  /** Mapping lines in file order: [asteriskName, ldapAttribute]. */
  map: Var[];
}

export interface Family {
  base: string;
  table: string;
}

export interface DriverConfig {
  general: Table;
  tables: Map<string, Table>;
  /** extconfig.conf: family or file name → base DN and table name. */
  families: Map<string, Family>;
}

// ---------------------------------------------------------------------------------------------
// Configuration files

interface ConfSection {
  name: string;
  entries: Var[];
}

/** Asterisk .conf syntax: [section], key = value or key => value, `;` comments (`\;` escapes). */
export function parseConf(text: string): ConfSection[] {
  const sections: ConfSection[] = [];
  let current: ConfSection | undefined;
  for (const raw of text.split(/\r?\n/)) {
    let line = '';
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] === '\\' && raw[i + 1] === ';') {
        line += ';';
        i++;
      } else if (raw[i] === ';') break;
      else line += raw[i];
    }
    line = line.trim();
    if (line === '') continue;
    const sec = /^\[([^\]]*)\]/.exec(line);
    if (sec) {
      current = { name: sec[1]!, entries: [] };
      sections.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0 || !current) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1);
    if (value.startsWith('>')) value = value.slice(1);
    current.entries.push([key, value.trim()]);
  }
  return sections;
}

/** [_general] keys that are connection settings, never mappings (§2.1). */
const CONNECTION_KEYS = new Set(['url', 'host', 'port', 'user', 'pass', 'version', 'protocol', 'basedn']);

/** Builds the driver's tables from res_ldap.conf and extconfig.conf texts (§2.2, §2.4). */
export function loadDriverConfig(resLdapConf: string, extconfigConf: string): DriverConfig {
  const general: Table = { name: '_general', map: [] };
  const tables = new Map<string, Table>();
  for (const sec of parseConf(resLdapConf)) {
    if (sec.entries.length === 0) continue;
    const isGeneral = sec.name.toLowerCase() === '_general';
    const table: Table = isGeneral ? general : (tables.get(sec.name) ?? { name: sec.name, map: [] });
    for (const [k, v] of sec.entries) {
      if (k === '' || v === '') continue;
      if (k.toLowerCase() === 'additionalfilter') table.additionalFilter = v;
      else if (isGeneral && CONNECTION_KEYS.has(k.toLowerCase())) continue;
      else table.map.push([k, v]);
    }
    if (!isGeneral) tables.set(sec.name, table);
  }
  const families = new Map<string, Family>();
  for (const sec of parseConf(extconfigConf)) {
    if (sec.name !== 'settings') continue;
    for (const [family, spec] of sec.entries) {
      const m = /^\s*ldap\s*,\s*(?:"([^"]*)"|([^,]*))\s*(?:,\s*([^,\s]+))?/.exec(spec);
      if (!m) continue;
      const base = (m[1] ?? m[2] ?? '').replace(/\|/g, ',').trim();
      families.set(family, { base, table: m[3] ?? family });
    }
  }
  return { general, tables, families };
}

// ---------------------------------------------------------------------------------------------
// Name mapping

function lookup(map: Var[], name: string, side: 0 | 1): string | undefined {
  const n = name.toLowerCase();
  for (let i = map.length - 1; i >= 0; i--) {
    if (map[i]![side].toLowerCase() === n) return map[i]![side === 0 ? 1 : 0];
  }
  return undefined;
}

/** Asterisk column → LDAP attribute: the table, then [_general], else unchanged (§2.2). */
export function toLdap(cfg: DriverConfig, table: Table, name: string): string {
  return lookup(table.map, name, 0) ?? (table === cfg.general ? undefined : lookup(cfg.general.map, name, 0)) ?? name;
}

/** LDAP attribute as the server sent it → Asterisk column (§2.2). */
export function toAsterisk(cfg: DriverConfig, table: Table, attr: string): string {
  return lookup(table.map, attr, 1) ?? (table === cfg.general ? undefined : lookup(cfg.general.map, attr, 1)) ?? attr;
}

// ---------------------------------------------------------------------------------------------
// Filters (§4.2)

export type Escaping = 'fixed' | 'prefix';

/** The order the core hands variadic name/value pairs to the driver: first kept, rest reversed. */
export function variadic(fields: readonly Var[]): Var[] {
  return fields.length === 0 ? [] : [fields[0]!, ...fields.slice(1).reverse()];
}

/** Pairs from a flat argument list (n1, v1, n2, v2, ...). */
export function pairs(args: readonly string[]): Var[] {
  if (args.length % 2) throw new Error('odd number of realtime arguments');
  const out: Var[] = [];
  for (let i = 0; i < args.length; i += 2) out.push([args[i]!, args[i + 1]!]);
  return out;
}

export function escapeValue(value: string): string {
  return value.replace(/[*()\\]/g, (c) => '\\' + c.charCodeAt(0).toString(16).padStart(2, '0'));
}

export function buildFilter(cfg: DriverConfig, table: Table, fields: readonly Var[], escaping: Escaping = 'fixed'): string {
  let f = '(&';
  if (table.additionalFilter) f += table.additionalFilter;
  if (table !== cfg.general && cfg.general.additionalFilter) f += cfg.general.additionalFilter;
  for (const [name, value] of fields) {
    const like = name.indexOf(' LIKE');
    if (like >= 0) {
      const attr = toLdap(cfg, table, name.slice(0, like));
      f += `(${attr}=${value.replace(/\\_/g, '_').replace(/%/g, '*')})`;
    } else {
      const attr = toLdap(cfg, table, name);
      f += `(${attr}=${escaping === 'fixed' ? escapeValue(value) : value})`;
    }
  }
  return f + ')';
}

// ---------------------------------------------------------------------------------------------
// Reading results (§5)

const isStaticTable = (t: Table) => t.name.toLowerCase() === 'config';

/** One entry's variables, attribute and value order as the server sent them. */
export function entryVars(cfg: DriverConfig, table: Table, entry: LdifEntry): Var[] {
  const out: Var[] = [];
  const staticTable = isStaticTable(table);
  for (const attr of entry.attrs.values()) {
    const name = toAsterisk(cfg, table, attr.name);
    const md5 = name.toLowerCase() === 'md5secret';
    for (let value of attr.values) {
      if (md5) value = value.replace(/^\{md5\}/i, '');
      if (!staticTable && !md5 && value.includes(';')) for (const part of value.split(';')) out.push([name, part]);
      else out.push([name, value]);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The backend and the driver

export interface SearchResult {
  /** LDAP result code; negative for client-side errors such as -7 Bad search filter. */
  code: number;
  entries: LdifEntry[];
}

export interface Modification {
  op: 'replace' | 'delete';
  attr: string;
  /** Exactly one value for replace, none for delete. */
  value?: string;
}

export interface Backend {
  search(base: string, filter: string): Promise<SearchResult>;
  modify(dn: string, changes: readonly Modification[]): Promise<number>;
}

export type Request =
  | { kind: 'search'; base: string; filter: string; code: number; count: number }
  | { kind: 'modify'; dn: string; changes: Modification[]; code: number };

export interface RealtimeResult {
  /** 0 on success; the search's code otherwise (the driver then returns NULL). */
  code: number;
  /** Each entry's variables (before the single-row post-processing). */
  entries: Var[][];
}

export interface Category {
  name: string;
  vars: Var[];
}

export interface MultiResult {
  code: number;
  categories: Category[];
}

export interface UpdateResult {
  /** The search's code (-1 is what the driver returns for it when non-zero). */
  code: number;
  /** The callback's return value: the number of matched entries. */
  matched: number;
  /** The ModifyRequests sent (entries with nothing left to change are absent). */
  modifies: { dn: string; changes: Modification[]; code: number }[];
}

export interface StaticResult {
  code: number;
  /** False when the search found nothing ("Could not find config ... in directory"). */
  found: boolean;
  categories: { name: string; metric: number; vars: Var[] }[];
  /** Entries skipped for a missing required column. */
  skipped: number;
}

/** C atoi: optional whitespace and sign, then digits; anything else is 0. */
export function atoi(s: string): number {
  const m = /^\s*([+-]?\d+)/.exec(s);
  return m ? parseInt(m[1]!, 10) : 0;
}

export class Driver {
  readonly requests: Request[] = [];

  constructor(
    readonly cfg: DriverConfig,
    private readonly backend: Backend,
    readonly escaping: Escaping = 'fixed',
  ) {}

  family(name: string): { family: Family; table: Table } {
    const family = this.cfg.families.get(name);
    if (!family) throw new Error(`no extconfig mapping for ${name}`);
    const table = this.cfg.tables.get(family.table);
    if (!table) throw new Error(`No table named ${family.table}`);
    return { family, table };
  }

  filterFor(familyName: string, fields: readonly Var[]): string {
    return buildFilter(this.cfg, this.family(familyName).table, fields, this.escaping);
  }

  private async search(base: string, filter: string): Promise<SearchResult> {
    const r = await this.backend.search(base, filter);
    this.requests.push({ kind: 'search', base, filter, code: r.code, count: r.entries.length });
    return r;
  }

  /** realtime with the core's variadic order: realtime('sippeers', 'name', 'alice', ...). */
  realtime(family: string, ...args: string[]): Promise<RealtimeResult> {
    return this.realtimeFields(family, variadic(pairs(args)));
  }

  /** realtime with fields in the given order (the *_fields APIs, e.g. sorcery). */
  async realtimeFields(family: string, fields: readonly Var[]): Promise<RealtimeResult> {
    const { family: fam, table } = this.family(family);
    const r = await this.search(fam.base, buildFilter(this.cfg, table, fields, this.escaping));
    if (r.code !== 0) return { code: r.code, entries: [] };
    return { code: 0, entries: r.entries.map((e) => entryVars(this.cfg, table, e)) };
  }

  multi(family: string, ...args: string[]): Promise<MultiResult> {
    return this.multiFields(family, variadic(pairs(args)));
  }

  async multiFields(family: string, fields: readonly Var[]): Promise<MultiResult> {
    const r = await this.realtimeFields(family, fields);
    const first = fields[0]?.[0] ?? '';
    const key = first.includes(' ') ? first.slice(0, first.indexOf(' ')) : first;
    return {
      code: r.code,
      categories: r.entries.map((vars) => ({ name: vars.find(([n]) => n === key)?.[1] ?? '', vars })),
    };
  }

  /** ast_update_realtime(family, keyfield, keyvalue, updates...). */
  update(family: string, keyfield: string, keyvalue: string, ...updates: string[]): Promise<UpdateResult> {
    return this.update2Fields(family, [[keyfield, keyvalue]], variadic(pairs(updates)));
  }

  /** ast_update2_realtime(family, lookups..., SENTINEL, updates..., SENTINEL), variadic order. */
  update2(family: string, lookups: readonly Var[], updates: readonly Var[]): Promise<UpdateResult> {
    return this.update2Fields(family, variadic(lookups), variadic(updates));
  }

  /** §6.4 with both lists already in the order the driver receives them. */
  async update2Fields(family: string, lookups: readonly Var[], updates: readonly Var[]): Promise<UpdateResult> {
    const { family: fam, table } = this.family(family);
    const r = await this.search(fam.base, buildFilter(this.cfg, table, lookups, this.escaping));
    if (r.code !== 0) return { code: r.code, matched: -1, modifies: [] };
    const mods = modificationList(this.cfg, table, updates);
    const modifies: UpdateResult['modifies'] = [];
    for (const entry of r.entries) {
      const changes = mods.filter((m) => m.op !== 'delete' || entry.attrs.has(m.attr.toLowerCase()));
      if (changes.length === 0) continue;
      const code = await this.backend.modify(entry.dn, changes);
      this.requests.push({ kind: 'modify', dn: entry.dn, changes, code });
      modifies.push({ dn: entry.dn, changes, code });
    }
    return { code: 0, matched: r.entries.length, modifies };
  }

  /** ast_config_load(file) through a `config` table (§6.5). */
  async load(file: string): Promise<StaticResult> {
    const { family: fam, table } = this.family(file);
    const fields: Var[] = [
      ['commented', 'FALSE'],
      ['filename', file],
    ];
    const r = await this.search(fam.base, buildFilter(this.cfg, table, fields, this.escaping));
    if (r.code !== 0) return { code: r.code, found: false, categories: [], skipped: 0 };
    if (r.entries.length === 0) return { code: 0, found: false, categories: [], skipped: 0 };
    interface Row {
      category: string;
      catMetric: number;
      varMetric: number;
      name: string;
      value: string;
    }
    const rows: Row[] = [];
    let skipped = 0;
    for (const entry of r.entries) {
      const vars = entryVars(this.cfg, table, entry);
      const get = (n: string) => vars.find(([k]) => k.toLowerCase() === n)?.[1];
      const category = get('category');
      const catMetric = get('cat_metric');
      const varMetric = get('var_metric');
      const name = get('variable_name');
      // Only the column reverse-mapped to exactly `variable_value` is split into rows (§5.3).
      const values = vars.filter(([k]) => k === 'variable_value').map(([, v]) => v);
      const value = get('variable_value');
      if (category === undefined || catMetric === undefined || varMetric === undefined || name === undefined || value === undefined) {
        skipped++;
        continue;
      }
      for (const v of values.length ? values : [value]) {
        for (const part of v.split(';')) {
          rows.push({ category, catMetric: atoi(catMetric), varMetric: atoi(varMetric), name, value: part });
        }
      }
    }
    // cat_metric, then category (byte-wise), then var_metric. qsort is not stable: rows that tie on
    // all three come out in an unspecified order; this model keeps their input order.
    const byteCmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));
    const sorted = rows
      .map((row, i) => ({ row, i }))
      .sort(
        (a, b) =>
          a.row.catMetric - b.row.catMetric || byteCmp(a.row.category, b.row.category) || a.row.varMetric - b.row.varMetric || a.i - b.i,
      )
      .map((x) => x.row);
    const categories: StaticResult['categories'] = [];
    let prev: Row | undefined;
    for (const row of sorted) {
      if (!prev || prev.category !== row.category || prev.catMetric !== row.catMetric) {
        categories.push({ name: row.category, metric: row.catMetric, vars: [] });
      }
      categories[categories.length - 1]!.vars.push([row.name, row.value]);
      prev = row;
    }
    return { code: 0, found: true, categories, skipped };
  }
}

/** §6.4 step 2: replace with one value (`;`-joined for repeats), delete with no value when empty. */
export function modificationList(cfg: DriverConfig, table: Table, updates: readonly Var[]): Modification[] {
  const mods: Modification[] = [];
  for (const [name, value] of updates) {
    const attr = toLdap(cfg, table, name);
    if (value === '') {
      mods.push({ op: 'delete', attr });
      continue;
    }
    const existing = mods.find((m) => m.op === 'replace' && m.attr.toLowerCase() === attr.toLowerCase());
    if (existing) existing.value += ';' + value;
    else mods.push({ op: 'replace', attr, value });
  }
  return mods;
}

/** §5.7: what ast_load_realtime hands its caller: all entries concatenated, empty values dropped,
 *  a value of exactly one space turned into an empty string. */
export function singleRow(r: RealtimeResult): Var[] | null {
  if (r.code !== 0 || r.entries.length === 0) return null;
  const out: Var[] = [];
  for (const vars of r.entries) {
    for (const [n, v] of vars) {
      if (v === '') continue;
      out.push([n, v === ' ' ? '' : v]);
    }
  }
  return out;
}

/** Values of one column in a variable list, in order. */
export function values(vars: readonly Var[] | null | undefined, name: string): string[] {
  return (vars ?? []).filter(([n]) => n === name).map(([, v]) => v);
}

/** The first value of a column (what most consumers use), or undefined. */
export function value(vars: readonly Var[] | null | undefined, name: string): string | undefined {
  return values(vars, name)[0];
}

/** LDIF change record for ldapmodify (RFC 2849), base64 where a value or DN is not SAFE-STRING. */
export function changeRecord(dn: string, changes: readonly Modification[]): string {
  const line = (key: string, v: string) =>
    /^[\x01-\x09\x0b\x0c\x0e-\x1f\x21-\x39\x3b\x3d-\x7f][\x01-\x09\x0b\x0c\x0e-\x7f]*$/.test(v) && !v.endsWith(' ')
      ? `${key}: ${v}`
      : v === ''
        ? `${key}:`
        : `${key}:: ${Buffer.from(v, 'utf8').toString('base64')}`;
  const out = [line('dn', dn), 'changetype: modify'];
  for (const c of changes) {
    out.push(`${c.op}: ${c.attr}`);
    if (c.op === 'replace') out.push(line(c.attr, c.value ?? ''));
    out.push('-');
  }
  return out.join('\n') + '\n';
}

/**
 * res_pjsip's digest check for one ps_auths row as sorcery reads it: whether a phone registering
 * as `user` with `password` is accepted. md5: md5_cred must equal MD5(username:realm:password),
 * realm the row's or the global default_realm; userpass (Asterisk's default auth_type): the
 * password column. The username must be the row's.
 */
export function pjsipAccepts(row: readonly Var[] | null, user: string, password: string, defaultRealm = 'asterisk'): boolean {
  if (!row || value(row, 'username') !== user) return false;
  const type = (value(row, 'auth_type') ?? 'userpass').toLowerCase();
  if (type === 'md5') {
    const realm = value(row, 'realm') || defaultRealm;
    return value(row, 'md5_cred') === createHash('md5').update(`${user}:${realm}:${password}`, 'utf8').digest('hex');
  }
  return type === 'userpass' && value(row, 'password') === password;
}

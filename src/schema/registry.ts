// The schema registry: every syntax, matching rule, attribute type and object class the server
// knows, resolved into objects. Loading is all-or-nothing: a schema text is parsed and resolved
// against a staged copy, and only a fully valid text replaces the live maps, so a bad definition
// never leaves the registry half-changed. It also validates entries (checkEntry) and renders the
// cn=Subschema attributes.

import { LdapError, ResultCode } from '../ldap/result.js';
import { BUILTIN_SCHEMA } from './builtin.js';
import { normalizeDn } from './dn.js';
import { builtinMatchingRules } from './matching.js';
import { parseSchemaFile, SchemaParseError, type RawAttributeType, type RawObjectClass, type SchemaItem } from './parser.js';
import { builtinSyntaxes, syntaxDefinition } from './syntaxes.js';
import type { AttributeType, AttributeUsage, EntryCheck, MatchingRule, ObjectClass, Syntax } from './types.js';

/** A schema text that cannot be loaded; the registry is unchanged. */
export class SchemaError extends Error {
  /** True when the text could not be parsed (invalid syntax), false when it does not resolve. */
  readonly syntax: boolean;
  constructor(message: string, syntax = false) {
    super(message);
    this.name = 'SchemaError';
    this.syntax = syntax;
  }
}

/** What one loaded schema source contributed, in the order given (for cn=schema,cn=config). */
export interface SchemaSource {
  name: string;
  objectIdentifiers: Array<{ name: string; oid: string }>;
  attributeTypes: AttributeType[];
  objectClasses: ObjectClass[];
}

interface State {
  macros: Map<string, string>;
  types: Map<string, AttributeType>;
  typeList: AttributeType[];
  classes: Map<string, ObjectClass>;
  classList: ObjectClass[];
  sources: SchemaSource[];
}

const numericOidRe = /^[0-9]+(?:\.[0-9]+)+$/;

function quote(s: string): string {
  return `'${s.replace(/\\/g, '\\5C').replace(/'/g, '\\27')}'`;
}

function qdescrs(names: string[]): string {
  return names.length === 1 ? ` NAME ${quote(names[0]!)}` : ` NAME ( ${names.map(quote).join(' ')} )`;
}

function oids(list: string[]): string {
  return list.length === 1 ? list[0]! : `( ${list.join(' $ ')} )`;
}

function extensions(ext: Array<[string, string[]]>): string {
  return ext.map(([k, v]) => ` ${k} ${v.length === 1 ? quote(v[0]!) : `( ${v.map(quote).join(' ')} )`}`).join('');
}

/** What an entry's object classes allow (MUST and MAY) and require (MUST, by the class asking). */
interface ClassSet {
  readonly allowed: ReadonlySet<AttributeType>;
  readonly required: ReadonlyMap<AttributeType, ObjectClass>;
  readonly extensible: boolean;
}

/** Class sets kept per schema state (cleared when full: entries use a handful). */
const CLASS_SETS_MAX = 256;

export class SchemaRegistry {
  private readonly syntaxes: Map<string, Syntax & { hidden: boolean }>;
  private readonly rules = new Map<string, MatchingRule>();
  private readonly ruleList: MatchingRule[];
  private state: State;
  private subtypeCache = new Map<AttributeType, AttributeType[]>();
  private subclassCache = new Map<ObjectClass, { keys: ReadonlySet<string>; list: readonly string[] }>();
  private subschemaCache: { state: State; attrs: Record<string, string[]> } | undefined;
  private classSets = new Map<string, ClassSet>();

  private constructor() {
    this.syntaxes = builtinSyntaxes();
    this.ruleList = builtinMatchingRules(
      (v) => {
        try {
          return normalizeDn(v, this);
        } catch {
          return undefined;
        }
      },
      (v) => {
        const l = v.toLowerCase();
        return (this.state.types.get(l) ?? this.state.classes.get(l))?.oid ?? l;
      },
    );
    for (const r of this.ruleList) {
      this.rules.set(r.oid, r);
      for (const n of r.names) this.rules.set(n.toLowerCase(), r);
    }
    this.state = { macros: new Map(), types: new Map(), typeList: [], classes: new Map(), classList: [], sources: [] };
  }

  /** A registry holding the built-in syntaxes, rules and operational schema. */
  static create(): SchemaRegistry {
    const r = new SchemaRegistry();
    r.loadSchemaText(BUILTIN_SCHEMA, 'builtin');
    return r;
  }

  // ---- lookups -------------------------------------------------------------------------------

  attributeType(nameOrOid: string): AttributeType | undefined {
    return this.state.types.get(nameOrOid.toLowerCase());
  }

  attributeTypes(): readonly AttributeType[] {
    return this.state.typeList;
  }

  objectClass(nameOrOid: string): ObjectClass | undefined {
    return this.state.classes.get(nameOrOid.toLowerCase());
  }

  objectClasses(): readonly ObjectClass[] {
    return this.state.classList;
  }

  matchingRule(nameOrOid: string): MatchingRule | undefined {
    return this.rules.get(nameOrOid.toLowerCase());
  }

  syntax(oid: string): Syntax | undefined {
    return this.syntaxes.get(oid);
  }

  /** An opaque token that changes whenever the schema does (for caches of what derives from it). */
  get generation(): object {
    return this.state;
  }

  /** The sources loaded so far (builtin first). */
  sources(): readonly SchemaSource[] {
    return this.state.sources;
  }

  /** The type and every type below it (name → name, cn, ...). */
  subtypesOf(t: AttributeType): AttributeType[] {
    let list = this.subtypeCache.get(t);
    if (!list) {
      list = this.state.typeList.filter((x) => {
        for (let s: AttributeType | undefined = x; s; s = s.sup) if (s === t) return true;
        return false;
      });
      this.subtypeCache.set(t, list);
    }
    return list;
  }

  /**
   * The keys of the class and of every class derived from it (what an objectClass assertion
   * accepts, RFC 4512 §2.4.1), as a set and a list; worked out once per class and schema.
   */
  subclassesOf(oc: ObjectClass): { keys: ReadonlySet<string>; list: readonly string[] } {
    let hit = this.subclassCache.get(oc);
    if (!hit) {
      const list = this.state.classList.filter((c) => this.isSubclassOf(c, oc)).map((c) => c.key);
      hit = { keys: new Set(list), list };
      this.subclassCache.set(oc, hit);
    }
    return hit;
  }

  isSubclassOf(c: ObjectClass, ancestor: ObjectClass): boolean {
    if (c === ancestor) return true;
    return c.sup.some((s) => this.isSubclassOf(s, ancestor));
  }

  // ---- loading -------------------------------------------------------------------------------

  /**
   * Parses and applies an OpenLDAP-format schema text. Everything is validated before anything
   * changes; an error throws SchemaError. Definitions identical to loaded ones are skipped, so
   * loading the same text twice is harmless.
   */
  loadSchemaText(text: string, source: string): SchemaSource {
    let items: SchemaItem[];
    try {
      items = parseSchemaFile(text);
    } catch (err) {
      throw new SchemaError(`${source}: ${(err as Error).message}`, true);
    }
    return this.loadItems(items, source);
  }

  /** Applies parsed items atomically (also used for cn=config schema entries). */
  loadItems(items: SchemaItem[], source: string): SchemaSource {
    const cur = this.state;
    const next: State = {
      macros: new Map(cur.macros),
      types: new Map(cur.types),
      typeList: [...cur.typeList],
      classes: new Map(cur.classes),
      classList: [...cur.classList],
      sources: [...cur.sources],
    };
    const src: SchemaSource = { name: source, objectIdentifiers: [], attributeTypes: [], objectClasses: [] };
    for (const item of items) {
      try {
        if (item.kind === 'objectidentifier') this.addMacro(next, item.name, item.oid, src);
        else if (item.kind === 'attributetype') this.addType(next, item.def, source, src);
        else this.addClass(next, item.def, source, src);
      } catch (err) {
        const msg = err instanceof SchemaParseError || err instanceof SchemaError ? err.message : String(err);
        throw new SchemaError(`${source}: ${msg}`);
      }
    }
    const existing = next.sources.findIndex((s) => s.name === source);
    if (existing >= 0) {
      const old = next.sources[existing]!;
      next.sources[existing] = {
        name: source,
        objectIdentifiers: [...old.objectIdentifiers, ...src.objectIdentifiers],
        attributeTypes: [...old.attributeTypes, ...src.attributeTypes],
        objectClasses: [...old.objectClasses, ...src.objectClasses],
      };
    } else next.sources.push(src);
    this.state = next;
    this.subtypeCache = new Map();
    this.subclassCache = new Map();
    this.classSets = new Map();
    return src;
  }

  /** Resolves an OID, a `macro` or a `macro:suffix` to a numeric OID. */
  private resolveOid(st: State, v: string): string | undefined {
    if (numericOidRe.test(v)) return v;
    const i = v.indexOf(':');
    if (i > 0) {
      const base = st.macros.get(v.slice(0, i).toLowerCase());
      return base ? `${base}.${v.slice(i + 1)}` : undefined;
    }
    return st.macros.get(v.toLowerCase());
  }

  private addMacro(st: State, name: string, oid: string, src: SchemaSource): void {
    const resolved = this.resolveOid(st, oid) ?? (numericOidRe.test(oid) ? oid : undefined);
    if (!resolved) throw new SchemaError(`objectIdentifier ${name}: unknown OID "${oid}"`);
    const had = st.macros.get(name.toLowerCase());
    if (had !== undefined && had !== resolved) throw new SchemaError(`objectIdentifier ${name} already defined as ${had}`);
    st.macros.set(name.toLowerCase(), resolved);
    src.objectIdentifiers.push({ name, oid });
  }

  private checkNames(map: Map<string, { oid: string }>, oid: string, names: string[], what: string): void {
    for (const n of names) {
      const other = map.get(n.toLowerCase());
      if (other && other.oid !== oid) throw new SchemaError(`${what} "${n}": duplicate name (already used by ${other.oid})`);
    }
  }

  private addType(st: State, def: RawAttributeType, source: string, src: SchemaSource): void {
    const oid = this.resolveOid(st, def.oid);
    if (!oid) throw new SchemaError(`attributeType ${def.oid}: unknown OID macro`);
    const label = `attributeType ${def.names[0] ?? oid}`;
    let sup: AttributeType | undefined;
    if (def.sup) {
      sup = st.types.get(def.sup.toLowerCase()) ?? st.types.get(this.resolveOid(st, def.sup) ?? '');
      if (!sup) throw new SchemaError(`${label}: unknown SUP "${def.sup}"`);
    }
    const rule = (name: string | undefined, kind: MatchingRule['kind']): MatchingRule | undefined => {
      if (!name) return undefined;
      const r = this.rules.get(name.toLowerCase()) ?? this.rules.get(this.resolveOid(st, name) ?? '');
      if (!r) throw new SchemaError(`${label}: unknown matching rule "${name}"`);
      if (r.kind !== kind) throw new SchemaError(`${label}: "${name}" is not an ${kind} rule`);
      return r;
    };
    const equality = rule(def.equality, 'equality') ?? sup?.equality;
    const ordering = rule(def.ordering, 'ordering') ?? sup?.ordering;
    const substr = rule(def.substr, 'substrings') ?? sup?.substr;
    let syntax: Syntax | undefined;
    if (def.syntax) {
      const so = this.resolveOid(st, def.syntax) ?? def.syntax;
      syntax = this.syntaxes.get(so);
      if (!syntax) throw new SchemaError(`${label}: unknown syntax "${def.syntax}"`);
    } else syntax = sup!.syntax;
    const usage = def.usage as AttributeUsage;
    if (sup && sup.usage !== usage) throw new SchemaError(`${label}: USAGE differs from its SUP`);
    if (usage === 'userApplications' && def.noUserModification) throw new SchemaError(`${label}: NO-USER-MODIFICATION requires an operational USAGE`);

    const parts = [`( ${oid}`];
    if (def.names.length) parts.push(qdescrs(def.names));
    if (def.desc !== undefined) parts.push(` DESC ${quote(def.desc)}`);
    if (def.obsolete) parts.push(' OBSOLETE');
    if (def.sup) parts.push(` SUP ${def.sup}`);
    if (def.equality) parts.push(` EQUALITY ${def.equality}`);
    if (def.ordering) parts.push(` ORDERING ${def.ordering}`);
    if (def.substr) parts.push(` SUBSTR ${def.substr}`);
    if (def.syntax) parts.push(` SYNTAX ${syntax.oid}${def.syntaxLength !== undefined ? `{${def.syntaxLength}}` : ''}`);
    if (def.singleValue) parts.push(' SINGLE-VALUE');
    if (def.collective) parts.push(' COLLECTIVE');
    if (def.noUserModification) parts.push(' NO-USER-MODIFICATION');
    if (usage !== 'userApplications') parts.push(` USAGE ${usage}`);
    parts.push(extensions(def.extensions), ' )');
    const definition = parts.join('');

    const existing = st.types.get(oid);
    if (existing) {
      if (existing.definition === definition) return; // identical: idempotent
      throw new SchemaError(`${label}: duplicate OID ${oid} with a different definition`);
    }
    this.checkNames(st.types, oid, def.names, 'attributeType');

    const name = def.names[0] ?? oid;
    const t: AttributeType = {
      oid,
      names: def.names,
      name,
      key: name.toLowerCase(),
      ...(def.desc !== undefined ? { desc: def.desc } : {}),
      ...(sup ? { sup } : {}),
      ...(equality ? { equality } : {}),
      ...(ordering ? { ordering } : {}),
      ...(substr ? { substr } : {}),
      syntax,
      ...(def.syntaxLength !== undefined ? { syntaxLength: def.syntaxLength } : {}),
      singleValue: def.singleValue,
      collective: def.collective,
      noUserModification: def.noUserModification,
      obsolete: def.obsolete,
      usage,
      operational: usage !== 'userApplications',
      definition,
      source,
    };
    st.types.set(oid, t);
    for (const n of def.names) st.types.set(n.toLowerCase(), t);
    st.typeList.push(t);
    src.attributeTypes.push(t);
  }

  private addClass(st: State, def: RawObjectClass, source: string, src: SchemaSource): void {
    const oid = this.resolveOid(st, def.oid);
    if (!oid) throw new SchemaError(`objectClass ${def.oid}: unknown OID macro`);
    const label = `objectClass ${def.names[0] ?? oid}`;
    const sup: ObjectClass[] = def.sup.map((s) => {
      const c = st.classes.get(s.toLowerCase()) ?? st.classes.get(this.resolveOid(st, s) ?? '');
      if (!c) throw new SchemaError(`${label}: unknown SUP "${s}"`);
      return c;
    });
    for (const s of sup) {
      const ok =
        s.kind === 'ABSTRACT' ||
        (def.kind === 'STRUCTURAL' && s.kind === 'STRUCTURAL') ||
        (def.kind === 'AUXILIARY' && s.kind === 'AUXILIARY');
      if (!ok) throw new SchemaError(`${label}: ${def.kind} class cannot have ${s.kind} superclass ${s.name}`);
    }
    const attr = (n: string): AttributeType => {
      const t = st.types.get(n.toLowerCase()) ?? st.types.get(this.resolveOid(st, n) ?? '');
      if (!t) throw new SchemaError(`${label}: unknown attribute type "${n}"`);
      return t;
    };
    const must = def.must.map(attr);
    const may = def.may.map(attr);

    const parts = [`( ${oid}`];
    if (def.names.length) parts.push(qdescrs(def.names));
    if (def.desc !== undefined) parts.push(` DESC ${quote(def.desc)}`);
    if (def.obsolete) parts.push(' OBSOLETE');
    if (def.sup.length) parts.push(` SUP ${oids(def.sup)}`);
    parts.push(` ${def.kind}`);
    if (def.must.length) parts.push(` MUST ${oids(def.must)}`);
    if (def.may.length) parts.push(` MAY ${oids(def.may)}`);
    parts.push(extensions(def.extensions), ' )');
    const definition = parts.join('');

    const existing = st.classes.get(oid);
    if (existing) {
      if (existing.definition === definition) return;
      throw new SchemaError(`${label}: duplicate OID ${oid} with a different definition`);
    }
    this.checkNames(st.classes, oid, def.names, 'objectClass');

    const allMust = new Set<AttributeType>(must);
    const allMay = new Set<AttributeType>(may);
    for (const s of sup) {
      for (const t of s.allMust) allMust.add(t);
      for (const t of s.allMay) allMay.add(t);
    }
    const name = def.names[0] ?? oid;
    const c: ObjectClass = {
      oid,
      names: def.names,
      name,
      key: name.toLowerCase(),
      ...(def.desc !== undefined ? { desc: def.desc } : {}),
      sup,
      kind: def.kind,
      obsolete: def.obsolete,
      must,
      may,
      allMust,
      allMay,
      definition,
      source,
    };
    st.classes.set(oid, c);
    for (const n of def.names) st.classes.set(n.toLowerCase(), c);
    st.classList.push(c);
    src.objectClasses.push(c);
  }

  // ---- entries -------------------------------------------------------------------------------

  /** The most specific structural class among the values, if they form one chain. */
  structuralClass(ocValues: string[]): ObjectClass | undefined {
    let most: ObjectClass | undefined;
    for (const v of ocValues) {
      const c = this.objectClass(v.trim());
      if (!c || c.kind !== 'STRUCTURAL') continue;
      if (!most || this.isSubclassOf(c, most)) most = c;
      else if (!this.isSubclassOf(most, c)) return undefined;
    }
    return most;
  }

  /**
   * Validates a whole entry (attribute keys as stored: lowercase canonical names, maybe with
   * options). Errors carry slapd's result codes and wording.
   */
  checkEntry(attrs: Record<string, string[]>): EntryCheck {
    const ocValues = attrs['objectclass'];
    if (!ocValues || ocValues.length === 0) throw new LdapError(ResultCode.objectClassViolation, 'no objectClass attribute');
    const classes: ObjectClass[] = [];
    ocValues.forEach((v, i) => {
      const c = this.objectClass(v.trim());
      if (!c) throw new LdapError(ResultCode.invalidAttributeSyntax, `objectClass: value #${i} invalid per syntax`);
      classes.push(c);
    });
    // Exactly one structural chain: the most specific structural class must descend from every other.
    const structural = classes.filter((c) => c.kind === 'STRUCTURAL');
    if (structural.length === 0) throw new LdapError(ResultCode.objectClassViolation, 'no structural object class provided');
    let most = structural[0]!;
    for (const c of structural.slice(1)) {
      if (this.isSubclassOf(c, most)) most = c;
      else if (!this.isSubclassOf(most, c)) {
        throw new LdapError(ResultCode.objectClassViolation, `invalid structural object class chain (${most.name}/${c.name})`);
      }
    }
    const { allowed, required, extensible } = this.classSet(classes, most);

    const present = new Set<AttributeType>();
    for (const key of Object.keys(attrs)) {
      const vals = attrs[key]!;
      if (vals.length === 0) continue;
      const i = key.indexOf(';');
      const t = this.attributeType(i < 0 ? key : key.slice(0, i));
      if (!t) throw new LdapError(ResultCode.undefinedAttributeType, `${key}: attribute type undefined`);
      present.add(t);
      if (t.singleValue && vals.length > 1) {
        throw new LdapError(ResultCode.constraintViolation, `attribute '${t.name}' cannot have multiple values`);
      }
      if (t.operational || extensible) continue;
      let ok = false;
      for (let s: AttributeType | undefined = t; s && !ok; s = s.sup) ok = allowed.has(s);
      if (!ok) throw new LdapError(ResultCode.objectClassViolation, `attribute '${t.name}' not allowed`);
    }
    for (const [t, c] of required) {
      if (present.has(t)) continue;
      // A subtype satisfies the requirement too.
      if (this.subtypesOf(t).some((s) => present.has(s))) continue;
      throw new LdapError(ResultCode.objectClassViolation, `object class '${c.name}' requires attribute '${t.name}'`);
    }
    return { structural: most };
  }

  /**
   * What a set of object classes allows and requires (the same few sets on every entry: kept, per
   * schema state, up to CLASS_SETS_MAX of them).
   */
  private classSet(classes: ObjectClass[], most: ObjectClass): ClassSet {
    let key = most.key;
    for (const c of classes) key += ' ' + c.key;
    const hit = this.classSets.get(key);
    if (hit) return hit;
    const allowed = new Set<AttributeType>();
    const required = new Map<AttributeType, ObjectClass>();
    let extensible = false;
    const addClass = (c: ObjectClass) => {
      if (c.key === 'extensibleobject') extensible = true;
      for (const t of c.allMust) {
        allowed.add(t);
        if (!required.has(t)) required.set(t, c);
      }
      for (const t of c.allMay) allowed.add(t);
    };
    for (const c of classes) addClass(c);
    addClass(most);
    const set: ClassSet = { allowed, required, extensible };
    if (this.classSets.size >= CLASS_SETS_MAX) this.classSets.clear();
    this.classSets.set(key, set);
    return set;
  }

  // ---- subschema -----------------------------------------------------------------------------

  /** The cn=Subschema attributes in RFC 4512 form, keyed by their canonical names. */
  subschemaAttributes(): Record<string, string[]> {
    // The definitions only change with the state (replaced whole on every load).
    if (this.subschemaCache?.state === this.state) return this.subschemaCache.attrs;
    const ldapSyntaxes = [...this.syntaxes.values()].filter((s) => !s.hidden).map(syntaxDefinition);
    const matchingRules = this.ruleList.map((r) => r.definition);
    const matchingRuleUse: string[] = [];
    for (const r of this.ruleList) {
      const applies = this.state.typeList.filter(
        (t) => t.equality === r || t.ordering === r || t.substr === r || t.syntax.oid === r.syntax,
      );
      if (!applies.length) continue;
      matchingRuleUse.push(`( ${r.oid} NAME '${r.name}' APPLIES ${oids(applies.map((t) => t.name))} )`);
    }
    const attrs = {
      ldapSyntaxes,
      matchingRules,
      matchingRuleUse,
      attributeTypes: this.state.typeList.map((t) => t.definition),
      objectClasses: this.state.classList.map((c) => c.definition),
    };
    this.subschemaCache = { state: this.state, attrs };
    return attrs;
  }
}

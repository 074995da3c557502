// Parsing schema text: OpenLDAP's .schema file format (attributetype, objectclass,
// objectidentifier directives with continuation lines) and the RFC 4512 descriptions inside it.
// The result is raw: OID macros and names are resolved by the registry.

export class SchemaParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaParseError';
  }
}

export interface RawAttributeType {
  oid: string;
  names: string[];
  desc?: string;
  obsolete: boolean;
  sup?: string;
  equality?: string;
  ordering?: string;
  substr?: string;
  syntax?: string;
  syntaxLength?: number;
  singleValue: boolean;
  collective: boolean;
  noUserModification: boolean;
  usage: string;
  extensions: Array<[string, string[]]>;
}

export interface RawObjectClass {
  oid: string;
  names: string[];
  desc?: string;
  obsolete: boolean;
  sup: string[];
  kind: 'STRUCTURAL' | 'AUXILIARY' | 'ABSTRACT';
  must: string[];
  may: string[];
  extensions: Array<[string, string[]]>;
}

export type SchemaItem =
  | { kind: 'objectidentifier'; name: string; oid: string }
  | { kind: 'attributetype'; def: RawAttributeType; text: string }
  | { kind: 'objectclass'; def: RawObjectClass; text: string };

type Token = { t: '(' | ')' | '$' } | { t: 'q'; v: string } | { t: 'w'; v: string };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '$') {
      out.push({ t: c });
      i++;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new SchemaParseError('unterminated quoted string');
      // RFC 4512 qdstring escapes: \27 for a quote, \5C for a backslash.
      const raw = text.slice(i + 1, end).replace(/\\(27|5c)/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
      out.push({ t: 'q', v: raw });
      i = end + 1;
    } else {
      let j = i;
      while (j < n && !/[\s()$']/.test(text[j]!)) j++;
      out.push({ t: 'w', v: text.slice(i, j) });
      i = j;
    }
  }
  return out;
}

class Cursor {
  private i = 0;
  constructor(private readonly toks: Token[]) {}
  peek(): Token | undefined {
    return this.toks[this.i];
  }
  next(): Token {
    const t = this.toks[this.i++];
    if (!t) throw new SchemaParseError('unexpected end of definition');
    return t;
  }
  done(): boolean {
    return this.i >= this.toks.length;
  }
  word(what: string): string {
    const t = this.next();
    if (t.t === 'w' || t.t === 'q') return t.v;
    throw new SchemaParseError(`expected ${what}`);
  }
  quoted(what: string): string {
    const t = this.next();
    if (t.t !== 'q') throw new SchemaParseError(`expected quoted ${what}`);
    return t.v;
  }
  /** qdescrs / oids: one item or a parenthesised list ('$'-separated for oids). */
  list(what: string, quoted: boolean): string[] {
    const t = this.peek();
    if (t?.t === '(') {
      this.next();
      const out: string[] = [];
      for (;;) {
        const x = this.next();
        if (x.t === ')') break;
        if (x.t === '$') continue;
        if (x.t === 'q' || (x.t === 'w' && !quoted)) out.push(x.v);
        else throw new SchemaParseError(`unexpected token in ${what} list`);
      }
      if (!out.length) throw new SchemaParseError(`empty ${what} list`);
      return out;
    }
    return [quoted ? this.quoted(what) : this.word(what)];
  }
}

const descrRe = /^[A-Za-z][A-Za-z0-9-]*$/;
const oidLikeRe = /^(?:[0-9]+(?:\.[0-9]+)*|[A-Za-z][A-Za-z0-9-]*(?::[0-9]+(?:\.[0-9]+)*)?)$/;

function checkOidLike(v: string, what: string): string {
  if (!oidLikeRe.test(v)) throw new SchemaParseError(`invalid ${what} "${v}"`);
  return v;
}

function checkNames(names: string[]): string[] {
  for (const n of names) if (!descrRe.test(n)) throw new SchemaParseError(`invalid NAME "${n}"`);
  return names;
}

function open(text: string): Cursor {
  const c = new Cursor(tokenize(text));
  if (c.next().t !== '(') throw new SchemaParseError('definition must start with "("');
  return c;
}

function extension(c: Cursor, key: string, ext: Array<[string, string[]]>): void {
  if (!/^X-[A-Za-z_-]+$/.test(key)) throw new SchemaParseError(`unknown keyword ${key}`);
  ext.push([key, c.list('extension value', true)]);
}

/** What both description kinds share. */
interface CommonFields {
  names: string[];
  desc?: string;
  obsolete: boolean;
  extensions: Array<[string, string[]]>;
}

/**
 * Reads `KEYWORD [value]` up to the closing ")": NAME, DESC, OBSOLETE and X- extensions here,
 * the rest by `own` (which returns false for a keyword it does not know). A keyword may appear
 * once; `slot` maps keywords that exclude each other (STRUCTURAL/AUXILIARY/ABSTRACT) to one.
 */
function readFields(c: Cursor, def: CommonFields, own: (k: string) => boolean, slot: (k: string) => string = (k) => k): void {
  const seen = new Set<string>();
  for (;;) {
    const t = c.next();
    if (t.t === ')') break;
    if (t.t !== 'w') throw new SchemaParseError('expected a keyword');
    const k = t.v.toUpperCase();
    if (!k.startsWith('X-')) {
      if (seen.has(slot(k))) throw new SchemaParseError(`duplicate ${k}`);
      seen.add(slot(k));
    }
    if (k === 'NAME') def.names = checkNames(c.list('NAME', true));
    else if (k === 'DESC') def.desc = c.quoted('DESC');
    else if (k === 'OBSOLETE') def.obsolete = true;
    else if (!own(k)) extension(c, t.v, def.extensions);
  }
  if (!c.done()) throw new SchemaParseError('text after the closing ")"');
}

/** Parses an RFC 4512 AttributeTypeDescription (OpenLDAP also allows OID macros in it). */
export function parseAttributeType(text: string): RawAttributeType {
  const c = open(text);
  const def: RawAttributeType = {
    oid: checkOidLike(c.word('OID'), 'OID'),
    names: [],
    obsolete: false,
    singleValue: false,
    collective: false,
    noUserModification: false,
    usage: 'userApplications',
    extensions: [],
  };
  readFields(c, def, (k) => {
    switch (k) {
      case 'SUP':
        def.sup = checkOidLike(c.word('SUP'), 'SUP');
        return true;
      case 'EQUALITY':
        def.equality = checkOidLike(c.word('EQUALITY'), 'EQUALITY');
        return true;
      case 'ORDERING':
        def.ordering = checkOidLike(c.word('ORDERING'), 'ORDERING');
        return true;
      case 'SUBSTR':
        def.substr = checkOidLike(c.word('SUBSTR'), 'SUBSTR');
        return true;
      case 'SYNTAX': {
        const v = c.word('SYNTAX');
        const m = /^(.*?)(?:\{([0-9]+)\})?$/.exec(v)!;
        def.syntax = checkOidLike(m[1]!, 'SYNTAX');
        if (m[2]) def.syntaxLength = Number(m[2]);
        return true;
      }
      case 'SINGLE-VALUE':
        def.singleValue = true;
        return true;
      case 'COLLECTIVE':
        def.collective = true;
        return true;
      case 'NO-USER-MODIFICATION':
        def.noUserModification = true;
        return true;
      case 'USAGE': {
        const u = c.word('USAGE');
        const ok = ['userApplications', 'directoryOperation', 'distributedOperation', 'dSAOperation'];
        const found = ok.find((x) => x.toLowerCase() === u.toLowerCase());
        if (!found) throw new SchemaParseError(`invalid USAGE ${u}`);
        def.usage = found;
        return true;
      }
      default:
        return false;
    }
  });
  if (!def.sup && !def.syntax) throw new SchemaParseError('attribute type needs SUP or SYNTAX');
  return def;
}

/** Parses an RFC 4512 ObjectClassDescription. */
export function parseObjectClass(text: string): RawObjectClass {
  const c = open(text);
  const def: RawObjectClass = {
    oid: checkOidLike(c.word('OID'), 'OID'),
    names: [],
    obsolete: false,
    sup: [],
    kind: 'STRUCTURAL',
    must: [],
    may: [],
    extensions: [],
  };
  const kinds = new Set(['STRUCTURAL', 'AUXILIARY', 'ABSTRACT']);
  readFields(
    c,
    def,
    (k) => {
      if (k === 'SUP') def.sup = c.list('SUP', false).map((s) => checkOidLike(s, 'SUP'));
      else if (kinds.has(k)) def.kind = k as RawObjectClass['kind'];
      else if (k === 'MUST') def.must = c.list('MUST', false).map((s) => checkOidLike(s, 'MUST'));
      else if (k === 'MAY') def.may = c.list('MAY', false).map((s) => checkOidLike(s, 'MAY'));
      else return false;
      return true;
    },
    (k) => (kinds.has(k) ? 'KIND' : k),
  );
  return def;
}

/**
 * Splits an OpenLDAP .schema file into directives. Lines starting with white space continue the
 * previous one; '#' starts a comment line. Errors name the line where the directive starts.
 */
export function parseSchemaFile(text: string): SchemaItem[] {
  const items: SchemaItem[] = [];
  const lines = text.split(/\r?\n/);
  let cur: { line: number; text: string } | undefined;
  const flush = () => {
    if (!cur) return;
    const { line, text: d } = cur;
    cur = undefined;
    try {
      items.push(parseDirective(d));
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      throw new SchemaParseError(`line ${line}: ${msg}`);
    }
  };
  lines.forEach((l, idx) => {
    if (/^\s*#/.test(l) || /^\s*$/.test(l)) {
      // A blank or comment line ends nothing in slapd's reader if the next is a continuation,
      // but in practice definitions never span them; comments inside definitions are skipped.
      return;
    }
    if (/^\s/.test(l)) {
      if (!cur) throw new SchemaParseError(`line ${idx + 1}: continuation without a directive`);
      cur.text += ' ' + l.trim();
      return;
    }
    flush();
    cur = { line: idx + 1, text: l.trim() };
  });
  flush();
  return items;
}

/** One directive: `attributetype ( ... )`, `objectclass ( ... )` or `objectidentifier NAME OID`. */
export function parseDirective(d: string): SchemaItem {
  const m = /^(\S+)\s*(.*)$/s.exec(d)!;
  const kw = m[1]!.toLowerCase().replace(/:$/, '');
  const rest = m[2]!.trim();
  switch (kw) {
    case 'attributetype':
    case 'attributetypes':
    case 'olcattributetypes':
      return { kind: 'attributetype', def: parseAttributeType(stripOrdinal(rest)), text: stripOrdinal(rest) };
    case 'objectclass':
    case 'objectclasses':
    case 'olcobjectclasses':
      return { kind: 'objectclass', def: parseObjectClass(stripOrdinal(rest)), text: stripOrdinal(rest) };
    case 'objectidentifier':
    case 'olcobjectidentifier': {
      const parts = stripOrdinal(rest).split(/\s+/);
      if (parts.length !== 2 || !descrRe.test(parts[0]!)) throw new SchemaParseError('objectidentifier needs a name and an OID');
      return { kind: 'objectidentifier', name: parts[0]!, oid: checkOidLike(parts[1]!, 'OID') };
    }
    default:
      throw new SchemaParseError(`unknown directive "${m[1]}"`);
  }
}

/** Removes the X-ORDERED "{N}" prefix of cn=config values. */
export function stripOrdinal(v: string): string {
  return v.replace(/^\{[0-9]+\}\s*/, '');
}

// What a search returns of an entry: the attribute selection of a request ('*', '+', '@class',
// names with subtypes, '1.1') and the entry as sent, with the attributes the session may read
// and the virtual operational attributes computed when asked for.

import { unpooled, type SearchEntry, type Session } from '../ldap/messages.js';
import type { SchemaRegistry } from '../schema/registry.js';
import { baseKey, displayName, encodeValue, isValidDescription, parseDescription } from './attributes.js';
import { SUBSCHEMA_DN, type Directory } from './directory.js';
import type { FilterTarget } from './filter.js';

/** Attributes computed at read time (never stored). */
const VIRTUAL = ['entrydn', 'subschemasubentry', 'hasSubordinates', 'numsubordinates', 'contextCSN'].map((k) => k.toLowerCase());

export interface Selection {
  /** The request's attribute list as one string: equal lists select the same attributes (per schema). */
  key: string;
  allUser: boolean;
  allOp: boolean;
  /** Requested type keys, including all subtypes. */
  keys: Set<string>;
  /** Requested keys with options (exact). */
  optionKeys: Set<string>;
  none: boolean;
}

/**
 * Compiled selections by schema (as it stands) and attribute list: clients repeat a few lists
 * (Asterisk's, '*'), so most searches find theirs here. Bounded: at most SELECTIONS_MAX lists per
 * schema, each of at most SELECTION_KEY_MAX characters (longer lists are compiled every time).
 */
const selections = new WeakMap<SchemaRegistry, { generation: object; known: Map<string, Selection> }>();
const SELECTIONS_MAX = 256;
const SELECTION_KEY_MAX = 1024;

/** The selection of an attribute list (shared: callers must not change it). */
export function compileSelection(schema: SchemaRegistry, attrs: string[]): Selection {
  const key = attrs.join('\0');
  if (key.length > SELECTION_KEY_MAX) return buildSelection(schema, attrs, key);
  let cached = selections.get(schema);
  // A schema change (a class or type added live) starts afresh.
  if (cached?.generation !== schema.generation) selections.set(schema, (cached = { generation: schema.generation, known: new Map() }));
  const known = cached.known;
  let sel = known.get(key);
  if (!sel) {
    if (known.size >= SELECTIONS_MAX) known.clear();
    sel = buildSelection(schema, attrs, key);
    known.set(key, sel);
  }
  return sel;
}

function buildSelection(schema: SchemaRegistry, attrs: string[], key: string): Selection {
  const sel: Selection = {
    key,
    allUser: attrs.length === 0,
    allOp: false,
    keys: new Set(),
    optionKeys: new Set(),
    none: false,
  };
  let onlyNoAttrs = attrs.length > 0;
  for (const a of attrs) {
    if (a === '1.1') continue;
    onlyNoAttrs = false;
    if (a === '*') sel.allUser = true;
    else if (a === '+') sel.allOp = true;
    else if (a.startsWith('@')) {
      const oc = schema.objectClass(a.slice(1));
      if (oc) for (const t of [...oc.allMust, ...oc.allMay]) sel.keys.add(t.key);
    } else if (isValidDescription(a)) {
      const d = parseDescription(schema, a);
      if (!d.type) continue;
      if (d.options.length && d.key) sel.optionKeys.add(d.key);
      else for (const t of schema.subtypesOf(d.type)) sel.keys.add(t.key);
    }
  }
  sel.none = onlyNoAttrs;
  return sel;
}

function selected(schema: SchemaRegistry, sel: Selection, key: string): boolean {
  if (sel.none) return false;
  const base = baseKey(key);
  if (sel.keys.has(base) || sel.optionKeys.has(key)) return true;
  const t = schema.attributeType(base);
  const operational = t ? t.operational : false;
  return operational ? sel.allOp : sel.allUser;
}

/**
 * The entry as last formatted for a selection, by record (records are never changed in place: a
 * write makes a new one, so the memo is exact and goes with the record). Only for the view that
 * depends on nothing but the record, the selection and the schema: no access check, no virtual
 * attributes, not types only. The same object comes back, marked reusable, so the protocol layer
 * keeps its encoding too: a static-config load of 50 rows, or a hot peer, is formatted once.
 */
const memo = new WeakMap<object, { schema: SchemaRegistry; key: string; entry: SearchEntry }>();

const asIs = (v: string | Buffer): string | Buffer => v;
const ownBuffer = (v: string | Buffer): string | Buffer => (typeof v === 'string' ? v : unpooled(v));

function wantsVirtual(sel: Selection): boolean {
  return !sel.none && (sel.allOp || VIRTUAL.some((k) => sel.keys.has(k)));
}

export async function formatEntry(
  dir: Directory,
  session: Session,
  t: FilterTarget,
  sel: Selection,
  typesOnly: boolean,
): Promise<SearchEntry> {
  const schema = dir.schema;
  const attributes: SearchEntry['attributes'] = [];
  // Asked once per entry, not per attribute: access rules apply inside the naming context only.
  const checkAccess = dir.inNamingContext(t.ndn) && !dir.isAdmin(session);
  const memoizable = !checkAccess && !typesOnly && !wantsVirtual(sel);
  // Only a record the store keeps cached and has served from its cache is memoised: under lookups
  // spread over more entries than the cache holds, most records are read and formatted once, and
  // a memo made for them would be work and memory for nothing (as a mark per record would be
  // garbage for the young generation's collections to trace).
  let memoize = false;
  if (memoizable) {
    const m = memo.get(t.rec);
    if (m && m.key === sel.key && m.schema === schema && m.entry.dn === t.dn) return m.entry;
    memoize = dir.store.keeps(t.ndn, t.rec);
  }
  // A kept entry's binary values get buffers of their own.
  const kept = memoize ? ownBuffer : asIs;
  for (const key in t.rec.attrs) {
    if (!selected(schema, sel, key)) continue;
    if (checkAccess && !dir.access.canReadAttribute(session, key, t.ndn)) continue;
    const type = schema.attributeType(baseKey(key));
    const vals = t.rec.attrs[key]!;
    // Text values go out as stored: the record's own array (records and the entries made from
    // them are never changed in place, so sharing it saves a copy per attribute and entry).
    const values = typesOnly ? [] : type?.syntax.binary ? vals.map((v) => kept(encodeValue(type, v))) : vals;
    // Certificates go out as `userCertificate;binary` (RFC 4522), as slapd sends them.
    const name = type?.syntax.binaryTransfer && key === type.key ? displayName(schema, key) + ';binary' : displayName(schema, key);
    attributes.push({ type: name, values });
  }
  // Virtual operational attributes, only when asked for (by name or '+'); not for synthetic entries.
  if (memoize) {
    const entry: SearchEntry = { dn: t.dn, attributes, reusable: true };
    memo.set(t.rec, { schema, key: sel.key, entry });
    return entry;
  }
  if (wantsVirtual(sel) && t.ndn !== '' && !t.rec.attrs['subschemasubentry']) {
    const want = (k: string) => sel.allOp || sel.keys.has(k);
    const put = (k: string, v: string) => attributes.push({ type: displayName(schema, k), values: typesOnly ? [] : [v] });
    if (want('entrydn')) put('entrydn', t.dn);
    if (want('subschemasubentry')) put('subschemasubentry', SUBSCHEMA_DN);
    if (want('hassubordinates')) put('hassubordinates', (await dir.store.hasChildren(t.ndn)) ? 'TRUE' : 'FALSE');
    // Not part of '+' (slapd has no such attribute): only when asked for by name.
    if (sel.keys.has('numsubordinates')) put('numsubordinates', String(await dir.store.countChildren(t.ndn)));
    // The suffix's contextCSN (RFC 4533 provider state), by name only: replicas keep their own.
    if (sel.keys.has('contextcsn') && t.ndn === dir.suffixNdn && dir.sync.contextCsn) put('contextcsn', dir.sync.contextCsn);
  }
  return { dn: t.dn, attributes };
}

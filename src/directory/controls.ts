// Request and response controls the core implements: Simple Paged Results (RFC 2696), server-side
// sorting (RFC 2891), the assertion control (RFC 4528) and the pre-/post-read controls (RFC 4527).
// Control values are parsed and encoded here; the operations call in through small hooks.

import { randomBytes } from 'node:crypto';
import { LdapError, ResultCode } from '../errors.js';
import { BerReader, BerWriter, Tag } from '../protocol/ber.js';
import { decodeFilterValue } from '../protocol/decode.js';
import { writeEntryBody } from '../protocol/encode.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { AttributeType, MatchingRule } from '../schema/types.js';
import type { EntryRecord } from '../store/types.js';
import { baseKey } from './attributes.js';
import type { Directory } from './directory.js';
import { compileFilter, TRUE, type FilterTarget } from './filter.js';
import type { Control, Filter, OperationContext, SearchEntry, Session } from './requests.js';
import { compileSelection, formatEntry } from './search.js';

export const OID_MANAGE_DSA_IT = '2.16.840.1.113730.3.4.2';
export const OID_PAGED_RESULTS = '1.2.840.113556.1.4.319';
export const OID_SORT_REQUEST = '1.2.840.113556.1.4.473';
export const OID_SORT_RESPONSE = '1.2.840.113556.1.4.474';
export const OID_ASSERTION = '1.3.6.1.1.12';
export const OID_PRE_READ = '1.3.6.1.1.13.1';
export const OID_POST_READ = '1.3.6.1.1.13.2';

/** Finds a control by OID; the same control twice in one request is a protocol error. */
export function findControl(ctx: OperationContext, oid: string): Control | undefined {
  let found: Control | undefined;
  for (const c of ctx.controls) {
    if (c.oid !== oid) continue;
    if (found) throw new LdapError(ResultCode.protocolError, `control ${oid} given more than once`);
    found = c;
  }
  return found;
}

function malformed(what: string): LdapError {
  return new LdapError(ResultCode.protocolError, `${what} control value is malformed`);
}

/** Runs a BER parse of a control value, turning any decoding failure into protocolError. */
function parseValue<T>(c: Control, what: string, fn: (r: BerReader) => T): T {
  if (c.value === undefined) throw malformed(what);
  try {
    const r = new BerReader(c.value);
    const v = fn(r);
    if (!r.atEnd()) throw malformed(what);
    return v;
  } catch (err) {
    if (err instanceof LdapError) throw err;
    throw malformed(what);
  }
}

// ---------------------------------------------------------------------------------------------
// Simple Paged Results (RFC 2696)

export interface PagedRequest {
  size: number;
  cookie: Buffer;
}

export function parsePaged(c: Control): PagedRequest {
  return parseValue(c, 'paged results', (r) => {
    const outer = r.enter(Tag.sequence);
    const size = r.readInteger();
    const cookie = Buffer.from(r.readOctets());
    if (!r.atEnd()) throw malformed('paged results');
    r.leave(outer);
    if (size < 0) throw malformed('paged results');
    return { size, cookie };
  });
}

export function pagedResponse(cookie: Buffer, estimate = 0): Control {
  const w = new BerWriter(32);
  w.startSequence();
  w.writeInteger(estimate);
  w.writeOctets(cookie);
  w.endSequence();
  return { oid: OID_PAGED_RESULTS, critical: false, value: w.toBuffer() };
}

/** One item of a paged (or sorted) result set: the entry's DN, or the entry for synthetic ones. */
export interface ResultItem {
  ndn: string;
  /** Entries outside the store (root DSE, subschema, cn=config) are kept whole. */
  synthetic?: FilterTarget;
}

export interface PagedCursor {
  sessionId: number;
  /** What the search asked for (base, scope, filter, sort keys): a cookie fits only its own search. */
  signature: string;
  items: ResultItem[];
  pos: number;
  /** Entries returned so far over all pages (for the size limit). */
  sent: number;
  lastUsed: number;
}

export const MAX_CURSORS_PER_SESSION = 16;
export const CURSOR_IDLE_MS = 10 * 60 * 1000;

/** The paged-results cursors of every connection of one Directory, by session and cookie. */
class PagedCursors {
  private readonly bySession = new Map<number, Map<string, PagedCursor>>();

  private sweep(now: number): void {
    for (const [sid, m] of this.bySession) {
      for (const [k, c] of m) if (now - c.lastUsed > CURSOR_IDLE_MS) m.delete(k);
      if (m.size === 0) this.bySession.delete(sid);
    }
  }

  /** Takes the cursor out of the map (it is put back under a new cookie if more pages remain). */
  take(session: Session, cookie: Buffer): PagedCursor | undefined {
    this.sweep(Date.now());
    const m = this.bySession.get(session.id);
    const key = cookie.toString('hex');
    const c = m?.get(key);
    if (!c || c.sessionId !== session.id) return undefined;
    m!.delete(key);
    return c;
  }

  /** Stores the cursor; returns its new cookie. The least recently used one goes past the cap. */
  put(session: Session, cursor: PagedCursor): Buffer {
    const now = Date.now();
    this.sweep(now);
    cursor.lastUsed = now;
    let m = this.bySession.get(session.id);
    if (!m) this.bySession.set(session.id, (m = new Map()));
    while (m.size >= MAX_CURSORS_PER_SESSION) {
      let oldest: string | undefined;
      let t = Infinity;
      for (const [k, c] of m) if (c.lastUsed < t) ((t = c.lastUsed), (oldest = k));
      if (oldest === undefined) break;
      m.delete(oldest);
    }
    const cookie = randomBytes(12);
    m.set(cookie.toString('hex'), cursor);
    return cookie;
  }

  release(sessionId: number): void {
    this.bySession.delete(sessionId);
  }

  count(sessionId: number): number {
    return this.bySession.get(sessionId)?.size ?? 0;
  }
}

const cursorsByDir = new WeakMap<Directory, PagedCursors>();

export function pagedCursors(dir: Directory): PagedCursors {
  let c = cursorsByDir.get(dir);
  if (!c) cursorsByDir.set(dir, (c = new PagedCursors()));
  return c;
}

/** Frees everything the session held (its paged-results cursors): called on disconnect. */
export function releaseSession(dir: Directory, session: Session): void {
  cursorsByDir.get(dir)?.release(session.id);
}

export function pagedSignature(baseNdn: string, scope: string, filter: Filter, sortSpec: string): string {
  return JSON.stringify([baseNdn, scope, filterString(filter), sortSpec]);
}

function filterString(f: Filter): string {
  switch (f.type) {
    case 'and':
    case 'or':
      return `(${f.type === 'and' ? '&' : '|'}${f.filters.map(filterString).join('')})`;
    case 'not':
      return `(!${filterString(f.filter)})`;
    case 'present':
      return `(${f.attribute}=*)`;
    case 'substrings':
      return `(${f.attribute}=${f.initial?.toString('hex') ?? ''}*${f.any.map((a) => a.toString('hex')).join('*')}*${f.final?.toString('hex') ?? ''})`;
    case 'extensible':
      return `(${f.attribute ?? ''}:${f.dnAttributes ? 'dn:' : ''}${f.rule ?? ''}:=${f.value.toString('hex')})`;
    default:
      return `(${f.attribute}${f.type}${f.value.toString('hex')})`;
  }
}

// ---------------------------------------------------------------------------------------------
// Server-side sorting (RFC 2891)

export interface SortKey {
  attribute: string;
  orderingRule?: string;
  reverse: boolean;
}

export function parseSort(c: Control): SortKey[] {
  return parseValue(c, 'sort', (r) => {
    const outer = r.enter(Tag.sequence);
    const keys: SortKey[] = [];
    while (!r.atEnd()) {
      const o = r.enter(Tag.sequence);
      const attribute = r.readString();
      let orderingRule: string | undefined;
      let reverse = false;
      if (r.peek() === 0x80) orderingRule = r.readString(0x80);
      if (r.peek() === 0x81) reverse = r.readBoolean(0x81);
      if (!r.atEnd()) throw malformed('sort');
      r.leave(o);
      keys.push({ attribute, ...(orderingRule !== undefined ? { orderingRule } : {}), reverse });
    }
    r.leave(outer);
    if (keys.length === 0) throw malformed('sort');
    return keys;
  });
}

export function sortResponse(code: number, attribute?: string): Control {
  const w = new BerWriter(32);
  w.startSequence();
  w.writeEnumerated(code);
  if (attribute !== undefined) w.writeString(attribute, 0x80);
  w.endSequence();
  return { oid: OID_SORT_RESPONSE, critical: false, value: w.toBuffer() };
}

/** A sort key resolved against the schema: which values to read and how to compare them. */
export interface CompiledSortKey {
  keys: Set<string>;
  normalize: (v: string) => string | undefined;
  compare: (a: string, b: string) => number;
  reverse: boolean;
}

export type SortPlan = { ok: true; keys: CompiledSortKey[]; spec: string } | { ok: false; code: number; attribute: string };

const codepoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

function orderingOf(rule: MatchingRule | undefined): ((a: string, b: string) => number) | undefined {
  return rule?.compare ? rule.compare.bind(rule) : undefined;
}

/** Resolves the sort keys; an unknown type is noSuchAttribute, an unusable rule inappropriateMatching. */
export function compileSort(schema: SchemaRegistry, keys: SortKey[]): SortPlan {
  const out: CompiledSortKey[] = [];
  for (const k of keys) {
    const type: AttributeType | undefined = schema.attributeType(k.attribute.split(';')[0]!);
    if (!type) return { ok: false, code: ResultCode.noSuchAttribute, attribute: k.attribute };
    let rule: MatchingRule | undefined;
    if (k.orderingRule !== undefined) {
      rule = schema.matchingRule(k.orderingRule);
      if (!rule || !rule.compare) return { ok: false, code: ResultCode.inappropriateMatching, attribute: k.attribute };
    } else rule = type.ordering?.compare ? type.ordering : undefined;
    const eq = type.equality;
    const normalize = rule ? (v: string) => rule!.normalize(v) : eq ? (v: string) => eq.normalize(v) : (v: string) => v;
    out.push({
      keys: new Set(schema.subtypesOf(type).map((t) => t.key)),
      normalize,
      compare: orderingOf(rule) ?? codepoint,
      reverse: k.reverse,
    });
  }
  const spec = keys.map((k) => `${k.reverse ? '-' : ''}${k.attribute.toLowerCase()}:${k.orderingRule ?? ''}`).join(',');
  return { ok: true, keys: out, spec };
}

/** The least value of each key in the entry (undefined when it has none): what the entry sorts by. */
export function sortValues(plan: CompiledSortKey[], rec: EntryRecord): Array<string | undefined> {
  return plan.map((k) => {
    let least: string | undefined;
    for (const key in rec.attrs) {
      if (!k.keys.has(key) && !(key.includes(';') && k.keys.has(baseKey(key)))) continue;
      for (const v of rec.attrs[key]!) {
        const n = k.normalize(v);
        if (n === undefined) continue;
        if (least === undefined || k.compare(n, least) < 0) least = n;
      }
    }
    return least;
  });
}

/**
 * Orders items by their sort values; an entry without a value sorts after every value
 * (RFC 2891 §2.2), then reverseOrder flips the key's order.
 */
export function sortItems<T extends { values: Array<string | undefined> }>(plan: CompiledSortKey[], items: T[]): T[] {
  return items.sort((a, b) => {
    for (let i = 0; i < plan.length; i++) {
      const k = plan[i]!;
      const x = a.values[i];
      const y = b.values[i];
      let c: number;
      if (x === undefined) c = y === undefined ? 0 : 1;
      else if (y === undefined) c = -1;
      else c = k.compare(x, y);
      if (c !== 0) return k.reverse ? -c : c;
    }
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Assertion (RFC 4528)

export function parseAssertion(c: Control): Filter {
  if (c.value === undefined) throw malformed('assertion');
  try {
    return decodeFilterValue(c.value);
  } catch {
    throw malformed('assertion');
  }
}

/** Fails the operation with assertionFailed unless the request's assertion holds for the entry. */
export function checkAssertion(dir: Directory, ctx: OperationContext, target: FilterTarget): void {
  const c = findControl(ctx, OID_ASSERTION);
  if (!c) return;
  const filter = parseAssertion(c);
  let t = target;
  if (!dir.isAdmin(ctx.session) && dir.inNamingContext(target.ndn)) {
    const view = dir.access.searchable(ctx.session, target.ndn, target.rec);
    if (view !== target.rec) t = { ...target, rec: view };
  }
  if (compileFilter(dir.schema, filter).match(t) !== TRUE) throw new LdapError(ResultCode.assertionFailed, '');
}

/** Parses the assertion control early (a malformed value fails the operation before any work). */
export function validateAssertion(ctx: OperationContext): void {
  const c = findControl(ctx, OID_ASSERTION);
  if (c) parseAssertion(c);
}

// ---------------------------------------------------------------------------------------------
// Pre-read and post-read (RFC 4527)

export function parseAttributeSelection(c: Control): string[] {
  return parseValue(c, 'read entry', (r) => {
    const outer = r.enter(Tag.sequence);
    const attrs: string[] = [];
    while (!r.atEnd()) attrs.push(r.readString());
    r.leave(outer);
    return attrs;
  });
}

/** The wanted read-entry controls of the request, parsed (so a bad value fails before the write). */
export function readRequests(ctx: OperationContext): { pre?: string[]; post?: string[] } {
  const pre = findControl(ctx, OID_PRE_READ);
  const post = findControl(ctx, OID_POST_READ);
  return {
    ...(pre ? { pre: parseAttributeSelection(pre) } : {}),
    ...(post ? { post: parseAttributeSelection(post) } : {}),
  };
}

/** The controlValue of a read-entry response: the BER of a SearchResultEntry. */
export function encodeEntryValue(entry: SearchEntry): Buffer {
  const w = new BerWriter(256);
  w.startSequence(0x64);
  writeEntryBody(w, entry);
  w.endSequence();
  return w.toBuffer();
}

/** A pre-read or post-read response control for the entry, with the attributes the session may read. */
export async function readEntryControl(
  dir: Directory,
  ctx: OperationContext,
  oid: typeof OID_PRE_READ | typeof OID_POST_READ,
  attrs: string[],
  target: FilterTarget,
): Promise<Control> {
  const entry: SearchEntry =
    !dir.isAdmin(ctx.session) && !dir.access.canSee(ctx.session, target.ndn)
      ? { dn: target.dn, attributes: [] }
      : await formatEntry(dir, ctx.session, target, compileSelection(dir.schema, attrs), false);
  return { oid, critical: false, value: encodeEntryValue(entry) };
}

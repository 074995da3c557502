// Search (RFC 4511 §4.5): the root DSE and the subschema subentry as synthetic entries, then the
// naming context through the planner (index candidates or a scope scan), the compiled filter,
// access checks, attribute selection and the size and time limits.

import { LdapError, ResultCode } from '../errors.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { EntryRecord } from '../store/types.js';
import { baseKey, displayName, encodeValue, isValidDescription, parseDescription } from './attributes.js';
import {
  Directory,
  generalizedTime,
  SUBSCHEMA_DN,
  SUPPORTED_CONTROLS,
  SUPPORTED_EXTENSIONS,
  SUPPORTED_FEATURES,
  VENDOR_NAME,
  VENDOR_VERSION,
} from './directory.js';
import { compileFilter, TRUE, type FilterTarget } from './filter.js';
import { planCandidates } from './planner.js';
import type { Control, LdapResult, OperationContext, SearchEntry, SearchRequest, SendEntry, Session } from './requests.js';
import {
  checkAssertion,
  compileSort,
  findControl,
  OID_PAGED_RESULTS,
  OID_SORT_REQUEST,
  pagedCursors,
  pagedResponse,
  pagedSignature,
  parsePaged,
  parseSort,
  sortItems,
  sortResponse,
  sortValues,
  validateAssertion,
  type CompiledSortKey,
  type PagedCursor,
  type ResultItem,
} from './controls.js';
import { CONFIG_DN } from './cn-config.js';

/** Attributes computed at read time (never stored). */
const VIRTUAL = ['entrydn', 'subschemasubentry', 'hasSubordinates', 'numsubordinates'].map((k) => k.toLowerCase());

interface Selection {
  allUser: boolean;
  allOp: boolean;
  /** Requested type keys, including all subtypes. */
  keys: Set<string>;
  /** Requested keys with options (exact). */
  optionKeys: Set<string>;
  none: boolean;
}

export function compileSelection(schema: SchemaRegistry, attrs: string[]): Selection {
  const sel: Selection = { allUser: attrs.length === 0, allOp: false, keys: new Set(), optionKeys: new Set(), none: false };
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

export async function search(
  dir: Directory,
  ctx: OperationContext,
  req: SearchRequest,
  send: SendEntry,
): Promise<LdapResult> {
  const schema = dir.schema;
  const baseNdn = dir.normalize(req.base);
  const compiled = compileFilter(schema, req.filter);
  const sel = compileSelection(schema, req.attributes);
  const limits = dir.access.limits(ctx.session);
  const sizeLimit = minLimit(req.sizeLimit, limits.sizeLimit);
  const timeLimit = minLimit(req.timeLimit, limits.timeLimit);
  const deadline = timeLimit > 0 ? Date.now() + timeLimit * 1000 : Infinity;
  let sent = 0;

  // Controls: paged results (RFC 2696), sorting (RFC 2891), assertion (RFC 4528).
  const pagedCtl = findControl(ctx, OID_PAGED_RESULTS);
  const paged = pagedCtl ? parsePaged(pagedCtl) : undefined;
  const sortCtl = findControl(ctx, OID_SORT_REQUEST);
  const sortPlan = sortCtl ? compileSort(schema, parseSort(sortCtl)) : undefined;
  validateAssertion(ctx);
  const controls: Control[] = [];
  let sorting: CompiledSortKey[] | undefined;
  if (sortPlan && !sortPlan.ok) {
    // RFC 2891 §1.2: a critical sort that cannot be done fails the search; else results come unsorted.
    controls.push(sortResponse(sortPlan.code, sortPlan.attribute));
    if (sortCtl!.critical) {
      return { code: ResultCode.unavailableCriticalExtension, matchedDN: '', message: 'sort control: cannot sort on the given key', controls };
    }
  } else if (sortPlan?.ok) {
    sorting = sortPlan.keys;
    controls.push(sortResponse(ResultCode.success));
  }
  const signature = pagedSignature(baseNdn, req.scope, req.filter, sortPlan?.ok ? sortPlan.spec : '');

  const restricted = !dir.isAdmin(ctx.session);
  /** The view of the entry a filter (and sorting) may see. */
  const viewOf = (target: FilterTarget): FilterTarget => {
    if (!restricted || !dir.inNamingContext(target.ndn)) return target;
    const view = dir.access.searchable(ctx.session, target.ndn, target.rec);
    return view === target.rec ? target : { ...target, rec: view };
  };
  const visible = (target: FilterTarget): boolean => {
    // Entries the session may not see are skipped; attributes it may not search are hidden
    // from the filter, so they cannot be probed.
    if (restricted && dir.inNamingContext(target.ndn) && !dir.access.canSee(ctx.session, target.ndn)) return false;
    return compiled.match(viewOf(target)) === TRUE;
  };
  const collected: Array<ResultItem & { values?: Array<string | undefined> }> | undefined = paged || sorting ? [] : undefined;
  const emit = async (target: FilterTarget): Promise<void> => {
    if (!visible(target)) return;
    if (collected) {
      const item: ResultItem & { values?: Array<string | undefined> } = { ndn: target.ndn };
      if (!dir.inNamingContext(target.ndn)) item.synthetic = target;
      if (sorting) item.values = sortValues(sorting, viewOf(target).rec);
      collected.push(item);
      return;
    }
    if (sizeLimit > 0 && sent >= sizeLimit) throw new LdapError(ResultCode.sizeLimitExceeded, '');
    await send(await formatEntry(dir, ctx.session, target, sel, req.typesOnly));
    sent++;
  };
  const checkTime = () => {
    if (ctx.signal.aborted) throw new LdapError(ResultCode.cancelled, 'operation abandoned');
    if (Date.now() > deadline) throw new LdapError(ResultCode.timeLimitExceeded, '');
  };

  /** Sends the next page (or everything, unpaged) of a collected result set. */
  const servePage = async (cursor: PagedCursor, pageSize: number): Promise<LdapResult> => {
    const items = cursor.items;
    let n = 0;
    while (cursor.pos < items.length && n < pageSize) {
      checkTime();
      const chunk = items.slice(cursor.pos, cursor.pos + Math.min(256, pageSize - n));
      const stored = chunk.filter((i) => !i.synthetic).map((i) => i.ndn);
      const recs = stored.length ? await dir.store.getMany(stored) : [];
      const byNdn = new Map<string, EntryRecord | undefined>();
      stored.forEach((ndn, i) => byNdn.set(ndn, recs[i]));
      for (const item of chunk) {
        cursor.pos++;
        let target = item.synthetic;
        if (!target) {
          // Entries deleted since the first page are skipped; changed ones are filtered again.
          const rec = byNdn.get(item.ndn);
          if (!rec) continue;
          target = { dn: rec.dn, ndn: item.ndn, rec };
          if (!visible(target)) continue;
        }
        if (sizeLimit > 0 && cursor.sent >= sizeLimit) {
          if (paged) controls.push(pagedResponse(Buffer.alloc(0)));
          return { code: ResultCode.sizeLimitExceeded, matchedDN: '', message: '', controls };
        }
        await send(await formatEntry(dir, ctx.session, target, sel, req.typesOnly));
        cursor.sent++;
        if (++n >= pageSize) break;
      }
    }
    if (paged) {
      const more = cursor.pos < items.length;
      controls.push(pagedResponse(more ? pagedCursors(dir).put(ctx.session, cursor) : Buffer.alloc(0)));
    }
    return { ...done(), controls };
  };

  const finish = async (): Promise<LdapResult> => {
    if (!collected) return controls.length ? { ...done(), controls } : done();
    if (sorting) sortItems(sorting, collected as Array<ResultItem & { values: Array<string | undefined> }>);
    const items: ResultItem[] = collected.map((c) => (c.synthetic ? { ndn: c.ndn, synthetic: c.synthetic } : { ndn: c.ndn }));
    const cursor: PagedCursor = { sessionId: ctx.session.id, signature, items, pos: 0, sent: 0, lastUsed: Date.now() };
    return servePage(cursor, paged ? paged.size : Infinity);
  };

  if (paged) {
    const cursors = pagedCursors(dir);
    if (paged.cookie.length > 0) {
      // The next page of a search this session started.
      const cursor = cursors.take(ctx.session, paged.cookie);
      if (!cursor) throw new LdapError(ResultCode.unwillingToPerform, 'paged results cookie is invalid or old');
      if (cursor.signature !== signature) {
        throw new LdapError(ResultCode.unwillingToPerform, 'paged results cookie is invalid: the search request changed');
      }
      // A page size of zero abandons the paged search (RFC 2696 §3); its cursor is freed.
      if (paged.size === 0) return { ...done(), controls: [...controls, pagedResponse(Buffer.alloc(0))] };
      return servePage(cursor, paged.size);
    }
    if (paged.size === 0) return { ...done(), controls: [...controls, pagedResponse(Buffer.alloc(0))] };
  }

  // The root DSE and the subschema subentry live outside the naming context.
  if (baseNdn === '') {
    const dse = { dn: '', ndn: '', rec: rootDse(dir) };
    checkAssertion(dir, ctx, dse);
    if (req.scope === 'base') await emit(dse);
    else if (req.scope === 'one' || req.scope === 'sub' || req.scope === 'children') {
      throw new LdapError(ResultCode.noSuchObject, '');
    }
    return finish();
  }
  if (dir.configTree.isConfig(baseNdn)) {
    dir.configTree.requireAccess(ctx.session, false);
    const entries = dir.configTree.entries();
    const base = entries.find((e) => e.ndn === baseNdn);
    if (!base) {
      const parent = entries.find((e) => baseNdn.endsWith(',' + e.ndn) && e.ndn.split(',').length === baseNdn.split(',').length - 1);
      throw new LdapError(ResultCode.noSuchObject, '', parent?.dn ?? '');
    }
    checkAssertion(dir, ctx, base);
    const inConfigScope = scopeTest(req.scope, baseNdn);
    for (const e of entries) if (inConfigScope(e.ndn)) await emit(e);
    return finish();
  }
  if (baseNdn === dir.subschemaNdn) {
    const subschema = { dn: SUBSCHEMA_DN, ndn: baseNdn, rec: subschemaEntry(dir) };
    checkAssertion(dir, ctx, subschema);
    if (req.scope === 'base' || req.scope === 'sub') await emit(subschema);
    return finish();
  }

  const base = await dir.getEntry(baseNdn);
  if (restricted && !dir.access.canSee(ctx.session, baseNdn)) throw new LdapError(ResultCode.noSuchObject, '');
  checkAssertion(dir, ctx, { dn: base.dn, ndn: baseNdn, rec: base });
  if (req.scope === 'base') {
    await emit({ dn: base.dn, ndn: baseNdn, rec: base });
    return finish();
  }

  const inScope = scopeTest(req.scope, baseNdn);
  const candidates = await planCandidates(dir.store, compiled.hint);
  if (candidates) {
    // Parents before children, as a subtree walk gives them (clients re-import what they read).
    const inside = candidates.filter(inScope);
    if (req.scope !== 'one') sortByDepth(inside);
    for (let i = 0; i < inside.length; i += 256) {
      checkTime();
      const chunk = inside.slice(i, i + 256);
      const recs = await dir.store.getMany(chunk);
      for (let j = 0; j < chunk.length; j++) {
        const rec = recs[j];
        if (rec) await emit({ dn: rec.dn, ndn: chunk[j]!, rec });
      }
    }
    return finish();
  }

  if (req.scope === 'one') {
    const batch: string[] = [];
    const flush = async () => {
      const recs = await dir.store.getMany(batch);
      for (let j = 0; j < batch.length; j++) if (recs[j]) await emit({ dn: recs[j]!.dn, ndn: batch[j]!, rec: recs[j]! });
      batch.length = 0;
    };
    for await (const child of dir.store.children(baseNdn)) {
      batch.push(child);
      if (batch.length >= 256) {
        checkTime();
        await flush();
      }
    }
    await flush();
    return finish();
  }

  let n = 0;
  for await (const [ndn, rec] of dir.store.subtree(baseNdn)) {
    if ((++n & 255) === 0) checkTime();
    if (!inScope(ndn)) continue;
    await emit({ dn: rec.dn, ndn, rec });
  }
  return finish();
}

function depth(ndn: string): number {
  let d = 0;
  for (let i = 0; i < ndn.length; i++) if (ndn.charCodeAt(i) === 44) d++;
  return d;
}

function sortByDepth(ndns: string[]): void {
  const d = new Map<string, number>();
  for (const n of ndns) d.set(n, depth(n));
  ndns.sort((a, b) => d.get(a)! - d.get(b)!);
}

function done(): LdapResult {
  return { code: ResultCode.success, matchedDN: '', message: '' };
}

function minLimit(client: number, server: number): number {
  if (client > 0 && server > 0) return Math.min(client, server);
  return client > 0 ? client : server;
}

function scopeTest(scope: SearchRequest['scope'], baseNdn: string): (ndn: string) => boolean {
  const tail = ',' + baseNdn;
  switch (scope) {
    case 'base':
      return (ndn) => ndn === baseNdn;
    case 'one':
      return (ndn) => ndn.endsWith(tail) && ndn.indexOf(',') === ndn.length - tail.length;
    case 'sub':
      return (ndn) => ndn === baseNdn || ndn.endsWith(tail);
    case 'children':
      return (ndn) => ndn.endsWith(tail);
  }
}

export async function formatEntry(dir: Directory, session: Session, t: FilterTarget, sel: Selection, typesOnly: boolean): Promise<SearchEntry> {
  const schema = dir.schema;
  const attributes: SearchEntry['attributes'] = [];
  for (const key in t.rec.attrs) {
    if (!selected(schema, sel, key)) continue;
    if (dir.inNamingContext(t.ndn) && !dir.access.canReadAttribute(session, key, t.ndn)) continue;
    const type = schema.attributeType(baseKey(key));
    const vals = t.rec.attrs[key]!;
    attributes.push({ type: displayName(schema, key), values: typesOnly ? [] : vals.map((v) => encodeValue(type, v)) });
  }
  // Virtual operational attributes, only when asked for (by name or '+'); not for synthetic entries.
  if (!sel.none && (sel.allOp || VIRTUAL.some((k) => sel.keys.has(k))) && t.ndn !== '' && !t.rec.attrs['subschemasubentry']) {
    const want = (k: string) => sel.allOp || sel.keys.has(k);
    const put = (k: string, v: string) => attributes.push({ type: displayName(schema, k), values: typesOnly ? [] : [v] });
    if (want('entrydn')) put('entrydn', t.dn);
    if (want('subschemasubentry')) put('subschemasubentry', SUBSCHEMA_DN);
    if (want('hassubordinates')) put('hassubordinates', (await dir.store.hasChildren(t.ndn)) ? 'TRUE' : 'FALSE');
    // Not part of '+' (slapd has no such attribute): only when asked for by name.
    if (sel.keys.has('numsubordinates')) put('numsubordinates', String(await dir.store.countChildren(t.ndn)));
  }
  return { dn: t.dn, attributes };
}

let startTime = generalizedTime();

export function rootDse(dir: Directory): EntryRecord {
  return {
    dn: '',
    attrs: {
      objectclass: ['top', 'extensibleObject'],
      namingcontexts: [dir.config.suffix],
      subschemasubentry: [SUBSCHEMA_DN],
      supportedldapversion: ['3'],
      supportedcontrol: [...SUPPORTED_CONTROLS],
      supportedextension: [...SUPPORTED_EXTENSIONS],
      supportedfeatures: [...SUPPORTED_FEATURES],
      supportedsaslmechanisms: ['EXTERNAL'],
      configcontext: [CONFIG_DN],
      vendorname: [VENDOR_NAME],
      vendorversion: [VENDOR_VERSION],
    },
  };
}

export function subschemaEntry(dir: Directory): EntryRecord {
  const attrs: Record<string, string[]> = {
    objectclass: ['top', 'subentry', 'subschema', 'extensibleObject'],
    cn: ['Subschema'],
    structuralobjectclass: ['subentry'],
    createtimestamp: [startTime],
    modifytimestamp: [startTime],
    entrydn: [SUBSCHEMA_DN],
    subschemasubentry: [SUBSCHEMA_DN],
  };
  for (const [name, values] of Object.entries(dir.schema.subschemaAttributes())) attrs[name.toLowerCase()] = values as string[];
  return { dn: SUBSCHEMA_DN, attrs };
}

/** Called when the schema changes, so the subschema entry's modifyTimestamp moves. */
export function touchSubschema(): void {
  startTime = generalizedTime();
}

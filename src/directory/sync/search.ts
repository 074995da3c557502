// The sync search (RFC 4533) and the persistent search (draft-ietf-ldapext-psearch) of the naming
// context: a refresh phase (the entries changed since the consumer's cookie, then the deleted
// ones from the session log, or every entry with unchanged ones as "present" when the log no
// longer covers the cookie), then, when asked to persist, every committed change in scope as it
// happens, until abandon, unbind or disconnect. Changes are matched by entryUUID, so a rename is
// a modify of the same entry under its new DN.

import type {
  CancelSignal,
  LdapResult,
  OperationContext,
  SearchEntry,
  SearchRequest,
  SendEntry,
  SendSyncInfo,
  SyncInfo,
} from '../../ldap/messages.js';
import { depth, isWithin } from '../../ldap/ndn.js';
import { LdapError, ResultCode } from '../../ldap/result.js';
import type { EntryRecord, WriteBatch } from '../../store/types.js';
import type { Directory } from '../directory.js';
import { formatEntry, type Selection } from '../entry-view.js';
import { TRUE } from '../filter.js';
import { scopeTest } from '../search/collect.js';
import { planSearch, type SearchPlan } from '../search/plan.js';
import { formatCookie, parseCookie } from './cookie.js';
import { whereNow, type LoggedChange } from './log.js';

/** RFC 4533 §2.6: e-syncRefreshRequired, the consumer must start over without its cookie. */
export const SYNC_REFRESH_REQUIRED = 4096;
const ID_SET_CHUNK = 1024;
/** Committed batches a persisting search may have waiting before it is ended. */
const MAX_PENDING_BATCHES = 10_000;
const PS = { add: 1, delete: 2, modify: 4, modDN: 8 } as const;
const COMPUTED = new Set(['entrydn', 'subschemasubentry', 'hassubordinates', 'numsubordinates', 'contextcsn']);

interface Located {
  ndn: string;
  rec: EntryRecord;
}

class SyncSession {
  private readonly inScope: (ndn: string) => boolean;
  private sent = 0;
  /** The persisting search's commit queue, once subscribed. */
  queue: BatchQueue | undefined;

  constructor(
    private readonly dir: Directory,
    private readonly ctx: OperationContext,
    private readonly plan: SearchPlan,
    private readonly send: SendEntry,
  ) {
    this.inScope = scopeTest(plan.scope, plan.baseNdn);
  }

  /** In scope, visible to the session, and matching the filter on what the session may search. */
  matches(e: Located | undefined): e is Located {
    if (!e || !this.inScope(e.ndn)) return false;
    const { dir, ctx, plan } = this;
    if (plan.restricted && !dir.access.canSee(ctx.session, e.ndn)) return false;
    const rec = plan.restricted ? dir.access.searchable(ctx.session, e.ndn, e.rec) : e.rec;
    return plan.filter.match({ dn: e.rec.dn, ndn: e.ndn, rec }) === TRUE;
  }

  /**
   * Whether a subtree moved by its top entry alone (from → to) changes what this search holds
   * below that entry: its base is in the subtree, the subtree moves into or out of its scope, or
   * what the session may see depends on where an entry is. Otherwise the top entry's new DN is
   * all a consumer needs (it moves its own copy of the subtree, as slapd's consumer does).
   */
  subtreeMoveCrosses(from: string, to: string): boolean {
    const { scope, baseNdn, restricted } = this.plan;
    if (restricted || isWithin(baseNdn, from) || isWithin(baseNdn, to)) return true;
    if (scope === 'sub' || scope === 'children') return isWithin(from, baseNdn) !== isWithin(to, baseNdn);
    return false;
  }

  /** The entry as the session may read it, with the given controls. */
  async entry(e: Located, extra: Partial<SearchEntry> = {}, refresh = true): Promise<void> {
    const { dir, ctx, plan } = this;
    const out = await formatEntry(dir, ctx.session, { dn: e.rec.dn, ndn: e.ndn, rec: e.rec }, plan.selection, plan.typesOnly);
    await this.emit({ ...out, ...extra }, refresh);
  }

  /**
   * The refresh phase counts against the size limit; the persist phase does not. A send the
   * client does not take (its socket stays full) is given up once the queue overflows.
   */
  async emit(entry: SearchEntry, refresh = true): Promise<void> {
    if (refresh && this.plan.sizeLimit > 0 && this.sent >= this.plan.sizeLimit) throw new LdapError(ResultCode.sizeLimitExceeded, '');
    const sending = this.send(entry);
    if (sending && this.queue) await this.queue.unlessOverflow(sending);
    else await sending;
    this.queue?.check();
    if (refresh) this.sent++;
  }

  checkTime(): void {
    if (this.ctx.signal.aborted) throw new LdapError(ResultCode.cancelled, 'operation abandoned');
    if (Date.now() > this.plan.deadline) throw new LdapError(ResultCode.timeLimitExceeded, '');
  }

  /** The search base exists and the session may see it (noSuchObject otherwise). */
  async checkBase(): Promise<void> {
    await this.dir.getEntry(this.plan.baseNdn);
    if (this.plan.restricted && !this.dir.access.canSee(this.ctx.session, this.plan.baseNdn)) {
      throw new LdapError(ResultCode.noSuchObject, '');
    }
  }

  /** The stored subtree at ndn, as it is now. */
  subtreeOf(ndn: string): AsyncIterable<[string, EntryRecord]> {
    return this.dir.store.subtree(ndn);
  }

  /** Every entry in scope, base first, parents before children. */
  async *entries(): AsyncIterable<Located> {
    await this.checkBase();
    let n = 0;
    for await (const [ndn, rec] of this.dir.store.subtree(this.plan.baseNdn)) {
      if ((++n & 255) === 0) this.checkTime();
      yield { ndn, rec };
    }
  }
}

/** What a batch would send a consumer, roughly: the DN, names and values of each entry it leaves. */
function batchBytes(batch: WriteBatch): number {
  let n = 0;
  for (const w of batch.entries) {
    n += w.ndn.length;
    const attrs = w.new?.attrs;
    if (!attrs) continue;
    for (const k in attrs) {
      n += k.length;
      for (const v of attrs[k]!) n += v.length;
    }
  }
  return n;
}

/**
 * Commits seen while a search persists, delivered in order; waiting ends on a new batch or abort.
 * A consumer that stops reading must not make the server hold every later change: once what
 * waits for it (queued changes and its connection's unsent output) passes the bound, the queue is
 * dropped and the search ended; a sync consumer comes back with its cookie.
 */
class BatchQueue {
  private readonly batches: WriteBatch[] = [];
  private readonly sizes: number[] = [];
  private queuedBytes = 0;
  private overflow = false;
  private wake: (() => void) | undefined;
  /** Batches handed out so far: each was sent in full by the time next() is called again. */
  private handed = 0;
  /** Ends the wait for a send in progress (one slot: nothing accumulates over a long search). */
  private stalled: (() => void) | undefined;
  readonly unsubscribe: () => void;

  constructor(
    private readonly dir: Directory,
    private readonly ctx: OperationContext,
    /** Told how many batches the consumer has been sent, each time it asks for the next. */
    private readonly caughtUp: (handed: number) => void = () => undefined,
  ) {
    const bound = dir.config.limits.maxConsumerBacklog;
    this.unsubscribe = dir.writer.onCommit((b) => {
      const size = bound > 0 ? batchBytes(b) : 0;
      const pending = bound > 0 ? this.queuedBytes + (ctx.unsentBytes?.() ?? 0) : 0;
      const unsent = pending + size;
      if (this.batches.length >= MAX_PENDING_BATCHES) this.drop(`${MAX_PENDING_BATCHES} changes wait for it`);
      // One batch past the bound (an LDAP transaction's commit) is taken by a consumer that has
      // nothing waiting: the batch is in memory anyway, queueing it costs nothing more.
      else if (bound > 0 && unsent > bound && pending > 0) {
        this.drop(`${unsent} bytes wait for it, over limits.maxConsumerBacklog (${bound})`);
      } else {
        this.batches.push(b);
        this.sizes.push(size);
        this.queuedBytes += size;
      }
      this.wake?.();
    });
    ctx.signal.addEventListener('abort', () => this.wake?.(), { once: true });
  }

  /** Gives up on a consumer that fell behind: frees what waits for it, says which and why. */
  private drop(why: string): void {
    const { session } = this.ctx;
    const kind = this.ctx.controls.sync ? 'sync consumer' : 'persistent search';
    const who = `conn=${session.id} op=${this.ctx.messageId} from ${session.remoteAddress || session.transport}`;
    const as = session.bindDn ? `bound as "${session.bindDn}"` : 'anonymous';
    this.dir.log.warn(`dropping ${kind} ${who} ${as}: it does not read its changes, ${why}`);
    this.overflow = true;
    this.batches.length = 0;
    this.sizes.length = 0;
    this.queuedBytes = 0;
    this.unsubscribe();
    this.stalled?.();
  }

  /** Waits for a send, or less when the queue overflows meanwhile (the client stopped reading). */
  unlessOverflow(sending: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.stalled = resolve;
      sending.then(resolve, reject);
    }).finally(() => (this.stalled = undefined));
  }

  /**
   * Ends the search once the queue was dropped: a sync consumer with e-syncRefreshRequired (it
   * refreshes, from its cookie), a persistent search with adminLimitExceeded.
   */
  check(): void {
    if (!this.overflow) return;
    const message = 'the consumer fell too far behind: refresh with the last cookie';
    throw new LdapError(this.ctx.controls.sync ? SYNC_REFRESH_REQUIRED : ResultCode.adminLimitExceeded, message);
  }

  async next(signal: CancelSignal): Promise<WriteBatch> {
    this.caughtUp(this.handed);
    while (this.batches.length === 0) {
      this.check();
      if (signal.aborted) throw new LdapError(ResultCode.cancelled, 'operation abandoned');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    this.queuedBytes -= this.sizes.shift()!;
    this.handed++;
    return this.batches.shift()!;
  }
}

/** A batch's changes per entryUUID, in order: the entry before and after (a rename has both). */
function changesByUuid(batch: WriteBatch): Array<{ uuid: string; old?: Located; new?: Located }> {
  const out = new Map<string, { uuid: string; old?: Located; new?: Located }>();
  const at = (uuid: string) => {
    let c = out.get(uuid);
    if (!c) out.set(uuid, (c = { uuid }));
    return c;
  };
  for (const w of batch.entries) {
    const uuid = (w.new ?? w.old)?.attrs['entryuuid']?.[0];
    if (!uuid) continue;
    const oldUuid = w.old?.attrs['entryuuid']?.[0];
    // A DN deleted and added again in one transaction (RFC 5805): two entries, one gone, one new.
    if (w.old && w.new && oldUuid && oldUuid !== uuid) {
      const gone = at(oldUuid);
      if (!gone.old) gone.old = { ndn: w.ndn, rec: w.old };
      at(uuid).new = { ndn: w.ndn, rec: w.new };
      continue;
    }
    const c = at(uuid);
    if (w.old && !c.old) c.old = { ndn: w.ndn, rec: w.old };
    if (w.new) c.new = { ndn: w.ndn, rec: w.new };
  }
  return [...out.values()];
}

/**
 * The entries below each subtree a batch moved by its top entry alone, before and after (read
 * from the store now: a persistent search names every entry whose DN changed, as it did when each
 * was in the batch). The before is the same record at its old DN.
 */
async function movedBelow(session: SyncSession, batch: WriteBatch): Promise<Array<{ uuid: string; old?: Located; new?: Located }>> {
  const out: Array<{ uuid: string; old?: Located; new?: Located }> = [];
  for (const w of batch.entries) {
    if (!w.subtree || w.from === undefined || !w.new) continue;
    const topOld = batch.entries.find((x) => x.ndn === w.from && x.old && !x.new)?.old;
    if (!topOld) continue;
    for await (const [ndn, rec] of session.subtreeOf(w.ndn)) {
      if (ndn === w.ndn) continue;
      const oldNdn = ndn.slice(0, ndn.length - w.ndn.length) + w.from;
      const oldDn = rec.dn.endsWith(w.new.dn) ? rec.dn.slice(0, rec.dn.length - w.new.dn.length) + topOld.dn : rec.dn;
      out.push({ uuid: rec.attrs['entryuuid']?.[0] ?? '', old: { ndn: oldNdn, rec: { dn: oldDn, attrs: rec.attrs } }, new: { ndn, rec } });
    }
  }
  return out;
}

/**
 * '+' in a sync or persistent search means the stored operational attributes: the computed ones
 * (entryDN, subschemaSubentry, hasSubordinates) are dynamic, slapd's consumer drops them, and
 * hasSubordinates would cost a child lookup for every change sent. Asked for by name, they come.
 */
function storedOperational(dir: Directory, sel: Selection): Selection {
  if (!sel.allOp) return sel;
  const keys = new Set(sel.keys);
  for (const t of dir.schema.attributeTypes()) if (t.operational && !COMPUTED.has(t.key)) keys.add(t.key);
  return { ...sel, allOp: false, keys };
}

/** The CSN the write path gave a batch (its contextCSN meta record). */
function batchCsn(batch: WriteBatch): string | undefined {
  return batch.meta?.find((m) => m.key === 'sync/contextCSN')?.value ?? undefined;
}

/** Search with the Sync Request or the persistent search control, on the naming context. */
export async function syncSearch(
  dir: Directory,
  ctx: OperationContext,
  req: SearchRequest,
  baseNdn: string,
  send: SendEntry,
  sendInfo: SendSyncInfo | undefined,
): Promise<LdapResult> {
  if (ctx.controls.paged || ctx.controls.sort) {
    throw new LdapError(ResultCode.unwillingToPerform, 'sync and persistent searches cannot be paged or sorted');
  }
  if (ctx.controls.sync && ctx.controls.persistentSearch) {
    throw new LdapError(ResultCode.unwillingToPerform, 'the sync request and persistent search controls exclude each other');
  }
  const planned = await planSearch(dir, ctx, req, baseNdn);
  if (!('baseNdn' in planned)) return planned;
  const plan = { ...planned, selection: storedOperational(dir, planned.selection) };
  const session = new SyncSession(dir, ctx, plan, send);
  const persist = ctx.controls.persistentSearch !== undefined || ctx.controls.sync?.mode === 'refreshAndPersist';
  // What it has been sent, counted in commits: everything before its start once the refresh ends.
  const before = dir.consumers.count;
  const consumer = dir.consumers.begin(consumerName(ctx), ctx.controls.sync?.mode ?? 'persistent search');
  // Subscribed before the refresh reads anything: no commit falls between refresh and persist.
  const queue = persist ? new BatchQueue(dir, ctx, (n) => consumer.caughtUp(before + n)) : undefined;
  session.queue = queue;
  try {
    if (ctx.controls.persistentSearch) {
      if (!ctx.controls.persistentSearch.changesOnly)
        for await (const e of session.entries()) if (session.matches(e)) await session.entry(e);
      return await persistPs(session, ctx, queue!);
    }
    if (!sendInfo) throw new LdapError(ResultCode.unwillingToPerform, 'sync searches need intermediate responses');
    const done = await refresh(dir, ctx, plan, session, sendInfo, persist);
    if (!persist) {
      consumer.caughtUp(before);
      return { code: ResultCode.success, matchedDN: '', message: '', controls: { syncDone: done } };
    }
    return await persistSync(session, ctx, queue!);
  } finally {
    queue?.unsubscribe();
    consumer.end();
  }
}

/** A consumer as an operator names it: its identity, its address, and a sync consumer's replica id. */
function consumerName(ctx: OperationContext): string {
  const { session } = ctx;
  const rid = ctx.controls.sync ? parseCookie(ctx.controls.sync.cookie).rid : undefined;
  return `${session.bindDn || 'anonymous'} from ${session.remoteAddress || session.transport}${rid !== undefined ? ` (rid ${rid})` : ''}`;
}

/** The refresh phase; its result is what ends it (the Sync Done content, or the final Sync Info). */
async function refresh(
  dir: Directory,
  ctx: OperationContext,
  plan: SearchPlan,
  session: SyncSession,
  sendInfo: SendSyncInfo,
  persist: boolean,
): Promise<{ cookie: string; refreshDeletes: boolean }> {
  const request = ctx.controls.sync!;
  const cookie = parseCookie(request.cookie);
  const snapshot = dir.sync.contextCsn;
  const newCookie = formatCookie(cookie.rid, snapshot);
  if (cookie.csn !== undefined && cookie.csn > snapshot) {
    // The provider lost changes the consumer holds (a restored or reset database): as syncprov
    // answers, the consumer must be reloaded from scratch.
    throw new LdapError(SYNC_REFRESH_REQUIRED, 'consumer state is newer than provider: reload the consumer without its cookie');
  }
  // A cookie older than the log gets a present phase, whatever its reloadHint: slapd's consumer
  // sets the hint and retries with the same cookie on e-syncRefreshRequired (syncprov does the same).
  // Deltas name deleted entries by UUID only; sessions with partial read access get a present phase.
  const logged = cookie.csn !== undefined && cookie.csn >= dir.sync.horizon;
  let changes: LoggedChange[] | undefined;
  if (logged && (!plan.restricted || dir.access.isReplicator(ctx.session))) {
    changes = [];
    for await (const c of dir.sync.changedSince(dir.store, cookie.csn!)) changes.push(c);
    // A subtree that moved across the scope brought or took entries the log does not name.
    if (changes.some((c) => c.subtreeFrom !== undefined && session.subtreeMoveCrosses(c.subtreeFrom, c.ndn))) changes = undefined;
  }
  const delta = changes !== undefined;
  if (changes) {
    // A delta reads only what the log names: changed entries still in the result are sent, the
    // rest (deleted, renamed away, changed out of the filter) are named in syncIdSets.
    const gone = await sendLoggedChanges(dir, session, changes);
    for (let i = 0; i < gone.length; i += ID_SET_CHUNK) {
      session.checkTime();
      await sendInfo({ kind: 'syncIdSet', refreshDeletes: true, uuids: gone.slice(i, i + ID_SET_CHUNK) });
    }
  } else {
    for await (const e of session.entries()) {
      if (!session.matches(e)) continue;
      const uuid = e.rec.attrs['entryuuid']?.[0];
      if (!uuid) continue;
      const csn = e.rec.attrs['entrycsn']?.[0] ?? '';
      if (cookie.csn === undefined || csn > cookie.csn) await session.entry(e, { sync: { state: 'add', uuid } });
      else await session.emit({ dn: e.rec.dn, attributes: [], sync: { state: 'present', uuid } });
    }
  }
  if (persist) {
    const info: SyncInfo = { kind: delta ? 'refreshDelete' : 'refreshPresent', cookie: newCookie, refreshDone: true };
    await sendInfo(info);
  }
  return { cookie: newCookie, refreshDeletes: delta };
}

/**
 * The entries the log names since csn that are still in the session's result, sent parents first
 * as adds; returns the UUIDs of the others (gone from the result).
 */
async function sendLoggedChanges(dir: Directory, session: SyncSession, changes: LoggedChange[]): Promise<string[]> {
  await session.checkBase();
  const latest = whereNow(changes); // UUID → where the entry is now
  const present: Located[] = [];
  const gone: string[] = [];
  for (const [uuid, ndn] of latest) {
    const rec = ndn === undefined ? undefined : await dir.store.get(ndn);
    const e = rec && rec.attrs['entryuuid']?.[0] === uuid ? { ndn: ndn!, rec } : undefined;
    if (session.matches(e)) present.push(e);
    else gone.push(uuid);
  }
  present.sort((a, b) => depth(a.ndn) - depth(b.ndn));
  for (const e of present) {
    session.checkTime();
    await session.entry(e, { sync: { state: 'add', uuid: e.rec.attrs['entryuuid']![0]! } });
  }
  return gone;
}

/** The persist phase of a sync search: each committed change as add, modify or delete by UUID. */
async function persistSync(session: SyncSession, ctx: OperationContext, queue: BatchQueue): Promise<never> {
  const rid = parseCookie(ctx.controls.sync!.cookie).rid;
  for (;;) {
    const batch = await queue.next(ctx.signal);
    for (const w of batch.entries) {
      if (w.subtree && w.from !== undefined && session.subtreeMoveCrosses(w.from, w.ndn)) {
        throw new LdapError(SYNC_REFRESH_REQUIRED, 'a subtree moved into or out of the scope: refresh with the last cookie');
      }
    }
    const csn = batchCsn(batch);
    const out: Array<{ state: 'add' | 'modify' | 'delete'; uuid: string; at: Located }> = [];
    for (const c of changesByUuid(batch)) {
      const was = session.matches(c.old);
      if (session.matches(c.new)) out.push({ state: was ? 'modify' : 'add', uuid: c.uuid, at: c.new });
      else if (was) out.push({ state: 'delete', uuid: c.uuid, at: c.old! });
    }
    // Only the batch's last message carries its cookie: a consumer ignores a repeated CSN.
    for (let i = 0; i < out.length; i++) {
      const { state, uuid, at } = out[i]!;
      const sync = { state, uuid, ...(i === out.length - 1 && csn ? { cookie: formatCookie(rid, csn) } : {}) };
      if (state === 'delete') await session.emit({ dn: at.rec.dn, attributes: [], sync, deferrable: true }, false);
      else await session.entry(at, { sync, deferrable: true }, false);
    }
  }
}

/** The persist phase of a persistent search: changes of the requested types, with Entry Change Notifications. */
async function persistPs(session: SyncSession, ctx: OperationContext, queue: BatchQueue): Promise<never> {
  const ps = ctx.controls.persistentSearch!;
  for (;;) {
    const batch = await queue.next(ctx.signal);
    for (const c of [...changesByUuid(batch), ...(await movedBelow(session, batch))]) {
      const was = session.matches(c.old);
      const is = session.matches(c.new);
      if (!was && !is) continue;
      const renamed = c.old && c.new && c.old.ndn !== c.new.ndn;
      const type = !c.new ? PS.delete : !c.old ? PS.add : renamed ? PS.modDN : PS.modify;
      if (!(ps.changeTypes & type)) continue;
      const ec = ps.returnECs ? { entryChange: { changeType: type, ...(renamed ? { previousDn: c.old!.rec.dn } : {}) } } : {};
      await session.entry(type === PS.delete ? c.old! : (c.new ?? c.old)!, { ...ec, deferrable: true }, false);
    }
  }
}

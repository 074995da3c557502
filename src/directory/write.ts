// The one write path. Every change to stored entries (add, modify, modrdn, delete, Password
// Modify, LDIF import, credential rotation, schema changes) runs as a WriteTransaction: alone,
// under the server's write lock, in arrival order; it reads what it needs, changes copies,
// checks them against the schema (RDN values, structural class, the whole entry), stamps their
// operational attributes, checks write access when asked to, and commits everything it staged
// (entries and meta records) in one atomic store batch.

import { randomUUID } from 'node:crypto';
import type { AccessPolicy } from '../access/access-rules.js';
import type { Config } from '../config/config.js';
import type { Session } from '../ldap/messages.js';
import { parentNdn } from '../ldap/ndn.js';
import { LdapError, ResultCode } from '../ldap/result.js';
import { parseDn, type Rdn } from '../schema/dn.js';
import type { SchemaRegistry } from '../schema/registry.js';
import type { EntryRecord, EntryWrite, MetaWrite, Store, WriteBatch } from '../store/types.js';
import { generalizedTime, type ChangeClock } from './clock.js';
import { valueKey } from './entry-build.js';

export type Attributes = Record<string, string[]>;

/** What the write path needs of the server it writes for (the Directory supplies it). */
export interface WriterContext {
  readonly config: Pick<Config, 'limits'>;
  readonly store: Store;
  readonly schema: SchemaRegistry;
  readonly access: AccessPolicy;
  readonly clock: ChangeClock;
  readonly suffixNdn: string;
  inNamingContext(ndn: string): boolean;
  matchedDn(ndn: string, session?: Session): Promise<string>;
}

/** A copy of an entry's attributes that may be changed freely. */
export function copyAttributes(attrs: Attributes): Attributes {
  const out: Attributes = {};
  for (const k in attrs) out[k] = [...attrs[k]!];
  return out;
}

/**
 * Runs an operation's part under the write lock: alone (Writer.transaction, the default of every
 * operation), or as one update of an LDAP transaction (directory/txn.ts), where it stages into
 * the transaction's one WriteTransaction and commits with it.
 */
export type TransactionRunner = <T>(fn: (tx: WriteTransaction) => Promise<T>) => Promise<T>;

export class Writer {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly listeners: Array<(batch: WriteBatch) => void> = [];
  private readonly preparers: Array<(batch: WriteBatch) => void> = [];

  constructor(private readonly ctx: WriterContext) {}

  /** Called after every committed batch (group membership, caches, change logs); returns an unsubscribe. */
  onCommit(listener: (batch: WriteBatch) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /**
   * Called with every batch just before it is written, to add meta records to it that must be
   * durable together with the change (the replication session log and contextCSN).
   */
  onPrepare(fn: (batch: WriteBatch) => void): void {
    this.preparers.push(fn);
  }

  /**
   * Runs fn alone, after every transaction that arrived before it, and commits what it staged
   * in one batch when it returns (unless it committed already). A throw stages nothing.
   */
  transaction<T>(fn: (tx: WriteTransaction) => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      const tx = new WriteTransaction(this.ctx, (batch) => this.commit(batch));
      const out = await fn(tx);
      await tx.commit();
      return out;
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async commit(batch: WriteBatch): Promise<void> {
    for (const p of this.preparers) p(batch);
    await this.ctx.store.write(batch);
    for (const l of this.listeners) l(batch);
  }
}

export class WriteTransaction {
  private entries: EntryWrite[] = [];
  private meta: MetaWrite[] = [];
  private after: Array<() => void> = [];
  /** Entries this transaction created or removed, as later reads in it must see them. */
  private readonly staged = new Map<string, EntryRecord | null>();
  /** While held, commit() stages on: the updates of an LDAP transaction (RFC 5805) commit once. */
  private held = false;
  /** Where each DN's write is in `entries`: a DN written again merges into it (one write per DN). */
  private readonly slots = new Map<string, number>();
  /** Some DN was added and removed again: its merged write is empty. */
  private voided = false;
  /** Parent -> its children staged with a new version (built on first need, then kept up). */
  private stagedChildren: Map<string, Set<string>> | undefined;
  /** Bytes of the entries staged (as limits.maxEntrySize counts them): what a held transaction holds. */
  stagedBytes = 0;

  constructor(
    private readonly ctx: WriterContext,
    private readonly flush: (batch: WriteBatch) => Promise<void>,
  ) {}

  /** The entry as this transaction sees it (its own staged changes included). */
  async get(ndn: string): Promise<EntryRecord | undefined> {
    const s = this.staged.get(ndn);
    if (s !== undefined) return s ?? undefined;
    return this.ctx.store.get(ndn);
  }

  /** Whether the entry has children, as this transaction sees them. */
  async hasChildren(ndn: string): Promise<boolean> {
    if (this.staged.size === 0) return this.ctx.store.hasChildren(ndn);
    if (this.childrenIndex().get(ndn)?.size) return true;
    for await (const child of this.ctx.store.children(ndn)) if (this.staged.get(child) !== null) return true;
    return false;
  }

  /**
   * The entry and every entry below it, parents before children, as this transaction sees them
   * (an entry it moved or removed is left out; one it added below is included).
   */
  async *subtree(ndn: string): AsyncIterable<[string, EntryRecord]> {
    for await (const [n, rec] of this.ctx.store.subtree(ndn)) {
      const s = this.staged.get(n);
      if (s === null) continue;
      yield [n, s ?? rec];
    }
    if (this.staged.size === 0) return;
    // Then what this transaction added below that the store does not hold, level by level.
    const index = this.childrenIndex();
    for (let level = [...(index.get(ndn) ?? [])]; level.length;) {
      const next: string[] = [];
      for (const n of level) {
        const rec = this.staged.get(n);
        if (rec && !(await this.ctx.store.get(n))) yield [n, rec];
        next.push(...(index.get(n) ?? []));
      }
      level = next;
    }
  }

  private childrenIndex(): Map<string, Set<string>> {
    if (!this.stagedChildren) {
      this.stagedChildren = new Map();
      for (const [n, rec] of this.staged) if (rec) this.indexChild(n, true);
    }
    return this.stagedChildren;
  }

  private indexChild(ndn: string, present: boolean): void {
    const parent = parentNdn(ndn);
    let set = this.stagedChildren!.get(parent);
    if (present) {
      if (!set) this.stagedChildren!.set(parent, (set = new Set()));
      set.add(ndn);
    } else set?.delete(ndn);
  }

  /**
   * Holds commit(): every operation run in this transaction stages into it, and nothing is
   * written until the returned release is called (then one batch, all or nothing).
   */
  hold(): () => Promise<void> {
    this.held = true;
    return () => {
      this.held = false;
      return this.commit();
    };
  }

  /**
   * The entry, or noSuchObject with the deepest existing ancestor as matchedDN (with `as`, the
   * deepest one that session may know of, so a write discloses no more than a search).
   */
  async require(ndn: string, as?: Session): Promise<EntryRecord> {
    const rec = await this.get(ndn);
    if (rec) return rec;
    throw new LdapError(ResultCode.noSuchObject, '', await this.ctx.matchedDn(ndn, as));
  }

  /**
   * A new entry: the schema check first (as slapd answers), then the DN must be new, inside the
   * naming context and below an existing parent. Stamps the creation attributes (or keeps the
   * given `stamps`, a dump's); `as` is the session whose view decides the matchedDN.
   */
  async add(
    actorDn: string,
    ndn: string,
    dn: string,
    attrs: Attributes,
    opts: { as?: Session; stamps?: Attributes } = {},
  ): Promise<EntryRecord> {
    const as = opts.as;
    const check = this.ctx.schema.checkEntry(attrs);
    if (await this.get(ndn)) throw new LdapError(ResultCode.entryAlreadyExists, 'Already exists');
    if (ndn !== this.ctx.suffixNdn) {
      if (!this.ctx.inNamingContext(ndn)) throw new LdapError(ResultCode.unwillingToPerform, 'no global superior knowledge');
      if (!(await this.get(parentNdn(ndn)))) throw new LdapError(ResultCode.noSuchObject, '', await this.ctx.matchedDn(ndn, as));
    }
    const now = new Date();
    const t = generalizedTime(now);
    attrs['structuralobjectclass'] = [check.structural.name];
    attrs['entryuuid'] = [randomUUID()];
    attrs['creatorsname'] = [actorDn];
    attrs['createtimestamp'] = [t];
    attrs['entrycsn'] = [this.ctx.clock.csn(now)];
    attrs['modifiersname'] = [actorDn];
    attrs['modifytimestamp'] = [t];
    // A dump loaded as slapadd loads it keeps the entry's own identity and history.
    if (opts.stamps) Object.assign(attrs, opts.stamps);
    const rec = { dn, attrs };
    this.stagedBytes += this.checkSize(rec);
    this.stage({ ndn, new: rec });
    return rec;
  }

  /**
   * A changed entry (attrs: a changed copy of old's): the RDN's values must stay, the structural
   * class must not change, the whole entry must pass the schema; then the modification stamps.
   * With `as`, the session needs write access to every attribute that changed. With `rename`,
   * the entry moves to a new DN (its RDN values are checked against the new RDN); with
   * `rename.subtree` its descendants go with it without being staged (a store that movesSubtrees;
   * this transaction then does not see them at their new place).
   */
  update(
    actorDn: string,
    ndn: string,
    old: EntryRecord,
    attrs: Attributes,
    opts: { as?: Session; rename?: { ndn: string; dn: string; subtree?: boolean } } = {},
  ): EntryRecord {
    const schema = this.ctx.schema;
    if (opts.as) {
      const changed = changedKeys(old.attrs, attrs);
      if (changed.length) this.ctx.access.requireWrite(opts.as, old.dn, changed);
    }
    const dn = opts.rename?.dn ?? old.dn;
    const rdn: Rdn = parseDn(dn)[0] ?? [];
    for (const ava of rdn) {
      const type = schema.attributeType(ava.type);
      if (!type) continue;
      const want = valueKey(type, ava.value);
      if (!(attrs[type.key] ?? []).some((v) => valueKey(type, v) === want)) {
        throw new LdapError(ResultCode.notAllowedOnRDN, `value of naming attribute '${type.name}' is not present in entry`);
      }
    }
    // A changed structural class is refused before anything else is checked, as slapd does.
    const prevStructural = old.attrs['structuralobjectclass']?.[0];
    const nextStructural = schema.structuralClass(attrs['objectclass'] ?? []);
    if (prevStructural && nextStructural && schema.objectClass(prevStructural)?.key !== nextStructural.key) {
      throw new LdapError(
        ResultCode.objectClassModsProhibited,
        `structural object class modification from '${prevStructural}' to '${nextStructural.name}' not allowed`,
      );
    }
    schema.checkEntry(attrs);
    const now = new Date();
    attrs['entrycsn'] = [this.ctx.clock.csn(now)];
    attrs['modifiersname'] = [actorDn];
    attrs['modifytimestamp'] = [generalizedTime(now)];
    const rec = { dn, attrs };
    this.stagedBytes += this.checkSize(rec);
    const newNdn = opts.rename?.ndn ?? ndn;
    if (newNdn === ndn) this.stage({ ndn, old, new: rec });
    else this.stage({ ndn, old }, { ndn: newNdn, new: rec, from: ndn, ...(opts.rename?.subtree ? { subtree: true } : {}) });
    return rec;
  }

  /** Moves an entry unchanged (a descendant of a renamed entry keeps its attributes and stamps). */
  move(ndn: string, old: EntryRecord, newNdn: string, newDn: string): void {
    this.stage({ ndn, old }, { ndn: newNdn, new: { dn: newDn, attrs: old.attrs }, from: ndn });
  }

  remove(ndn: string, old: EntryRecord): void {
    this.stage({ ndn, old });
  }

  /** A meta record written in the same batch (null deletes it). */
  setMeta(key: string, value: string | null): void {
    this.meta.push({ key, value });
  }

  /** Runs after this transaction's batch is durable (to apply what it made true, e.g. a schema). */
  afterCommit(fn: () => void): void {
    this.after.push(fn);
  }

  /** Writes what was staged so far in one batch; later stages form a further batch. */
  async commit(): Promise<void> {
    if (this.held) return;
    if (this.entries.length || this.meta.length) {
      // A DN added and removed again in this batch has nothing to write.
      const entries = this.voided ? this.entries.filter((w) => w.old || w.new) : this.entries;
      const batch: WriteBatch = this.meta.length ? { entries, meta: this.meta } : { entries };
      this.entries = [];
      this.slots.clear();
      this.voided = false;
      this.meta = [];
      if (batch.entries.length || batch.meta) await this.flush(batch);
    }
    const after = this.after;
    this.after = [];
    for (const fn of after) fn();
  }

  /**
   * The ceiling on a stored entry's size (limits.maxEntrySize), for every writer alike. Refused
   * with constraintViolation, as slapd's slapo-constraint refuses values past a `size` constraint;
   * the transaction then commits nothing.
   */
  private checkSize(rec: EntryRecord): number {
    const max = this.ctx.config.limits.maxEntrySize;
    let size = Buffer.byteLength(rec.dn);
    for (const k in rec.attrs) {
      size += k.length;
      for (const v of rec.attrs[k]!) size += Buffer.byteLength(v);
      if (max > 0 && size > max) {
        throw new LdapError(ResultCode.constraintViolation, `entry size exceeds limits.maxEntrySize (${max} bytes)`);
      }
    }
    return size;
  }

  /**
   * Stages writes, one per DN: the state before this batch and after it (an entry added then
   * modified is one add; added then removed, nothing). The store's index deltas and the sync
   * log read each write as a change from old to new.
   */
  private stage(...writes: EntryWrite[]): void {
    for (const w of writes) {
      this.staged.set(w.ndn, w.new ?? null);
      if (this.stagedChildren) this.indexChild(w.ndn, w.new !== undefined);
      const at = this.slots.get(w.ndn);
      if (at === undefined) {
        this.slots.set(w.ndn, this.entries.length);
        this.entries.push(w);
        continue;
      }
      const prev = this.entries[at]!;
      const merged: EntryWrite = { ndn: w.ndn };
      if (prev.old) merged.old = prev.old;
      if (w.new) merged.new = w.new;
      // A moved entry changed again keeps where it came from; one written over an old entry does not.
      const from = w.new && !merged.old ? (w.from ?? prev.from) : undefined;
      if (from !== undefined) merged.from = from;
      if (!merged.old && !merged.new) this.voided = true;
      this.entries[at] = merged;
    }
  }
}

/** User attribute keys whose values differ between two versions of an entry. */
function changedKeys(before: Attributes, after: Attributes): string[] {
  const out: string[] = [];
  const same = (a: string[] | undefined, b: string[] | undefined) =>
    a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) if (!same(before[k], after[k])) out.push(k);
  return out;
}

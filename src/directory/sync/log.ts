// The provider's replication state: the contextCSN of the naming context and a bounded session
// log of changes (entryUUID and kind, keyed by CSN), both written as meta records in the same
// store batch as the change they describe, so a consumer's cookie can be answered with a delta.
// Cookies older than the log's horizon get a present phase instead.

import type { EntryWrite, MetaWrite, Store, WriteBatch } from '../../store/types.js';
import type { ChangeClock } from '../clock.js';
import type { Writer } from '../write.js';

const LOG_PREFIX = 'synclog/';
const CONTEXT_CSN = 'sync/contextCSN';
const HORIZON = 'sync/horizon';

export type ChangeKind = 'add' | 'modify' | 'rename' | 'delete';

/** The kind of change an entry write is (a rename is staged as a removal plus an add of the same UUID). */
function kindOf(w: EntryWrite, renamed: Set<string>): ChangeKind {
  const uuid = (w.new ?? w.old)?.attrs['entryuuid']?.[0] ?? '';
  if (renamed.has(uuid)) return 'rename';
  if (!w.old) return 'add';
  return w.new ? 'modify' : 'delete';
}

/** The UUIDs that appear both removed and added in one batch: renamed entries. */
function renamedIn(batch: WriteBatch): Set<string> {
  const gone = new Set<string>();
  const out = new Set<string>();
  for (const w of batch.entries) if (w.old && !w.new) gone.add(w.old.attrs['entryuuid']?.[0] ?? '');
  for (const w of batch.entries) {
    const u = w.new?.attrs['entryuuid']?.[0];
    if (u && !w.old && gone.has(u)) out.add(u);
  }
  return out;
}

export class SyncState {
  private csn = '';
  private oldest = '';
  /** Session log keys, oldest first. */
  private readonly keys = new KeyQueue();

  constructor(
    private readonly clock: ChangeClock,
    private readonly limit: number,
  ) {}

  /** The CSN of the newest committed change (the suffix's contextCSN). */
  get contextCsn(): string {
    return this.csn;
  }

  /** Every change with a CSN above the horizon is in the log. */
  get horizon(): string {
    return this.oldest;
  }

  /** Hooks into the write path; loads the state; gives a new database its first contextCSN. */
  async init(store: Store, writer: Writer): Promise<void> {
    writer.onPrepare((batch) => this.prepare(batch));
    writer.onCommit((batch) => this.applied(batch));
    this.keys.clear();
    for await (const [k] of store.scanMeta(LOG_PREFIX)) this.keys.push(k);
    this.csn = (await store.getMeta(CONTEXT_CSN)) ?? '';
    this.oldest = (await store.getMeta(HORIZON)) ?? '';
    // A database from before the log (or a new one): deletes before now are unknown.
    if (!this.csn) await this.restart(writer);
  }

  /**
   * Starts the state afresh (a new database, or one emptied by a reset): no change before now
   * is known, so any older cookie gets a present phase.
   */
  async restart(writer: Writer): Promise<void> {
    const now = this.clock.csn();
    this.keys.clear();
    await writer.transaction(async (tx) => {
      tx.setMeta(CONTEXT_CSN, now);
      tx.setMeta(HORIZON, now);
    });
  }

  /** Adds the batch's log records, the new contextCSN and any trimming to the batch itself. */
  private prepare(batch: WriteBatch): void {
    if (batch.entries.length === 0) return;
    const csn = this.clock.csn();
    const renamed = renamedIn(batch);
    let records: MetaWrite[] = [];
    const log = (kind: ChangeKind, uuid: string, ndn: string, subtreeFrom?: string): void => {
      const key = `${LOG_PREFIX}${csn}/${String(records.length).padStart(6, '0')}`;
      // Where the entry is now, so a delta refresh reads the changed entries, not the whole scope;
      // a subtree that moved with it (not logged entry by entry): where from, after a NUL.
      const tail = subtreeFrom === undefined ? '' : `\0${subtreeFrom}`;
      records.push({ key, value: `${kind} ${uuid} ${ndn}${tail}` });
    };
    for (const w of batch.entries) {
      const uuid = (w.new ?? w.old)?.attrs['entryuuid']?.[0];
      if (!uuid) continue;
      // A rename's removal half is not logged separately: its add half names the same entry.
      if (renamed.has(uuid) && !w.new) continue;
      // A DN deleted and added again in one transaction (RFC 5805) is another entry: both are logged.
      const oldUuid = w.old?.attrs['entryuuid']?.[0];
      if (w.old && w.new && oldUuid && oldUuid !== uuid) {
        log('delete', oldUuid, w.ndn);
        log('add', uuid, w.ndn);
        continue;
      }
      log(kindOf(w, renamed), uuid, w.ndn, w.subtree ? w.from : undefined);
    }
    const meta: MetaWrite[] = [{ key: CONTEXT_CSN, value: csn }];
    const excess = this.keys.length + records.length - this.limit;
    if (excess > 0) {
      const dropped = this.keys.oldest(Math.min(excess, this.keys.length));
      for (const k of dropped) meta.push({ key: k, value: null });
      let horizon = dropped.length ? csnOf(dropped[dropped.length - 1]!) : this.oldest;
      if (excess > dropped.length) {
        // This batch alone overflows the log: it is not kept, and the horizon moves past it.
        records = records.slice(excess - dropped.length);
        horizon = csn;
      }
      meta.push({ key: HORIZON, value: horizon });
    }
    batch.meta = [...(batch.meta ?? []), ...meta, ...records];
  }

  /** The batch is durable: the in-memory state follows its meta records. */
  private applied(batch: WriteBatch): void {
    let dropped: Set<string> | undefined;
    for (const m of batch.meta ?? []) {
      if (m.key === CONTEXT_CSN && m.value) this.csn = m.value;
      else if (m.key === HORIZON && m.value) this.oldest = m.value;
      else if (m.key.startsWith(LOG_PREFIX)) {
        if (m.value === null) (dropped ??= new Set()).add(m.key);
        else this.keys.push(m.key);
      }
    }
    // Trimming drops the oldest records, at the front: all of a batch's at once (a bulk load
    // drops thousands per batch).
    if (dropped) this.keys.drop(dropped);
  }

  /**
   * The entries changed after csn, from the log (caller checks csn >= horizon): UUID, kind, and
   * the normalised DN the change left the entry at (the DN it had, for a delete).
   */
  async *changedSince(store: Store, csn: string): AsyncIterable<LoggedChange> {
    const from = `${LOG_PREFIX}${csn}/~`;
    for await (const [k, v] of store.scanMeta(LOG_PREFIX)) {
      if (k < from) continue;
      yield parseRecord(v);
    }
  }
}

/** A change the session log names: which entry, what kind, where it left the entry. */
export interface LoggedChange {
  kind: ChangeKind;
  uuid: string;
  ndn: string;
  /**
   * A rename that moved the entry's subtree with it, by its top entry alone (layout 3): the ndn
   * it left. The entries below are not logged; they are now below ndn.
   */
  subtreeFrom?: string;
}

/** One record of the session log as stored: the CSN of its change, what changed and where. */
export interface SyncLogRecord extends LoggedChange {
  csn: string;
}

/**
 * Where the entries the log names are now, following it in order (undefined: deleted). A subtree
 * moved by its top entry carries along the entries logged below its old place.
 */
export function whereNow(changes: Iterable<LoggedChange>): Map<string, string | undefined> {
  const at = new Map<string, string | undefined>();
  for (const c of changes) {
    at.set(c.uuid, c.kind === 'delete' ? undefined : c.ndn);
    if (c.subtreeFrom === undefined) continue;
    const tail = ',' + c.subtreeFrom;
    for (const [uuid, ndn] of at) {
      if (ndn !== undefined && ndn.endsWith(tail)) at.set(uuid, ndn.slice(0, ndn.length - c.subtreeFrom.length) + c.ndn);
    }
  }
  return at;
}

/**
 * The replication state as stored (for `astldap verify`): the contextCSN, the horizon and the
 * session log's records in key order (oldest first).
 */
export async function readSyncLog(store: Store): Promise<{ contextCsn?: string; horizon?: string; records: SyncLogRecord[] }> {
  const records: SyncLogRecord[] = [];
  for await (const [k, v] of store.scanMeta(LOG_PREFIX)) {
    records.push({ csn: csnOf(k), ...parseRecord(v) });
  }
  return { contextCsn: await store.getMeta(CONTEXT_CSN), horizon: await store.getMeta(HORIZON), records };
}

/** A session log record's value: `kind uuid ndn`, and `\0from` for a subtree moved with it. */
function parseRecord(v: string): LoggedChange {
  const a = v.indexOf(' ');
  const b = v.indexOf(' ', a + 1);
  const z = v.indexOf('\0', b + 1);
  const c: LoggedChange = { kind: v.slice(0, a) as ChangeKind, uuid: v.slice(a + 1, b), ndn: v.slice(b + 1, z < 0 ? undefined : z) };
  if (z >= 0) c.subtreeFrom = v.slice(z + 1);
  return c;
}

/** The CSN part of a session log key. */
function csnOf(key: string): string {
  return key.slice(LOG_PREFIX.length, key.lastIndexOf('/'));
}

/**
 * The session log's keys, oldest first: appended at the end, trimmed at the front. An array
 * shifted on every write moved the whole log (10,000 keys) for each change: 18 µs a write.
 */
class KeyQueue {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(k: string): void {
    this.items.push(k);
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }

  /** The n oldest keys. */
  oldest(n: number): string[] {
    return this.items.slice(this.head, this.head + n);
  }

  /** Removes these keys: at the front (trimming) in one step, anywhere else by a rebuild. */
  drop(keys: Set<string>): void {
    let front = this.head;
    while (front < this.items.length && keys.has(this.items[front]!)) front++;
    const removed = front - this.head;
    this.head = front;
    if (removed < keys.size) {
      this.items = this.items.slice(this.head).filter((k) => !keys.has(k));
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

// The storage contract: entries by normalised DN, the children index, attribute indexes and a
// small key/value space for metadata, all written in atomic batches. LevelDB on disk and an
// in-memory level implement it; one contract test suite pins the behaviour of both.

/**
 * An entry as stored. Attribute keys are lowercase canonical attribute names (AttributeType.key);
 * `names` keeps the spelling to return (the schema's canonical name, or the type as added when
 * unknown to the schema, e.g. in relaxed mode). Values keep their stored order.
 */
export interface EntryRecord {
  /** The DN as the client spelled it (user form). */
  dn: string;
  attrs: Record<string, string[]>;
}

/**
 * A normalised DN: RDNs joined by ',', multi-valued RDNs' AVAs sorted and joined by '+',
 * each AVA `key=value` with the attribute key and the value normalised by its equality rule.
 * Inside values, ',', '+', '"', '\\', '<', '>', ';', '=' and NUL are hex-escaped (\2c ...),
 * so splitting on ',' and '+' is always safe. The root DSE is ''.
 */
export type NormalizedDn = string;

/** Which indexes an attribute has. */
export interface IndexSpec {
  attr: string; // AttributeType.key
  eq: boolean;
  pres: boolean;
  sub: boolean;
}

/**
 * Supplied by the directory core: the normalised values of one indexed attribute of an entry
 * (equality normalisation; substring indexes are built from the same normalised values), by
 * its attribute key. Values that cannot be normalised are left out.
 */
export type Indexer = (entry: EntryRecord, attr: string) => string[];

export interface EntryWrite {
  ndn: NormalizedDn;
  /** The entry as it was before this batch (undefined for an add). Used for index deltas. */
  old?: EntryRecord;
  /** The entry after this batch (undefined for a delete). */
  new?: EntryRecord;
  /**
   * A renamed entry (old undefined): the ndn it was stored at, removed by an earlier write of the
   * same batch. A store that keeps entries by ID keeps its ID and moves one key (layout 3); one
   * by DN reads it as an add.
   */
  from?: NormalizedDn;
  /**
   * With `from`: the entry's descendants move with it, and none of them is in the batch. Only for
   * a store that says it `movesSubtrees` (layout 3: they keep their IDs and dn2id keys, nothing of
   * them is written). Whoever follows the batches learns of the move from this write alone.
   */
  subtree?: boolean;
}

export interface MetaWrite {
  key: string;
  /** null deletes. */
  value: string | null;
}

export interface WriteBatch {
  entries: EntryWrite[];
  meta?: MetaWrite[];
}

export interface SubstringQuery {
  initial?: string;
  any: string[];
  final?: string;
}

/**
 * Whether the store takes writes. `failing`: a write failed for a reason of the disk (full,
 * I/O error); later writes are refused with the same reason until the store has recovered
 * (reopened once there is room again), reads keep being served meanwhile.
 */
export interface StoreHealth {
  state: 'ok' | 'failing';
  /** LevelDB's own error, while failing. */
  reason?: string;
  /** The disk holding the database is full. */
  diskFull?: boolean;
  /** When it started failing (ISO time). */
  since?: string;
}

export interface Store {
  /** Whether a write may move a whole subtree by its top entry alone (EntryWrite.subtree). */
  readonly movesSubtrees?: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  get(ndn: NormalizedDn): Promise<EntryRecord | undefined>;
  getMany(ndns: NormalizedDn[]): Promise<Array<EntryRecord | undefined>>;
  /** Normalised DNs of the immediate children. */
  children(ndn: NormalizedDn): AsyncIterable<NormalizedDn>;
  countChildren(ndn: NormalizedDn): Promise<number>;
  hasChildren(ndn: NormalizedDn): Promise<boolean>;
  /** The base entry (if it exists) and every entry below it, parents before children. */
  subtree(ndn: NormalizedDn): AsyncIterable<[NormalizedDn, EntryRecord]>;
  /** Number of entries (all of them). */
  count(): Promise<number>;
  /**
   * Whether rec is what the store keeps cached for ndn and has been read from the cache since (an
   * entry read again and again): what is derived from such a record is worth keeping with it.
   */
  keeps(ndn: NormalizedDn, rec: EntryRecord): boolean;
  /** The configured indexes (as given to the constructor). */
  readonly indexes: ReadonlyMap<string, IndexSpec>;
  /** Entries whose attribute has this normalised value. Only for attributes with an eq index. */
  lookupEquality(attr: string, value: string): Promise<NormalizedDn[]>;
  /**
   * How many entries have this normalised value, read synchronously: exact up to a small bound,
   * Infinity beyond it (values shared by many entries). Lets a planner read the narrowest list first.
   */
  equalitySize(attr: string, value: string): number;
  /** Entries whose normalised value is within [low, high] (either bound optional), eq index. */
  lookupRange(attr: string, low?: string, high?: string): Promise<NormalizedDn[]>;
  /** Entries that have the attribute. Only for attributes with a pres index. */
  lookupPresent(attr: string): Promise<NormalizedDn[]>;
  /**
   * A superset of the entries matching the (normalised) substring assertion, or undefined when
   * the index cannot narrow it (then the caller scans). Only for attributes with a sub index.
   */
  lookupSubstrings(attr: string, query: SubstringQuery): Promise<NormalizedDn[] | undefined>;
  /** Applies everything in one atomic LevelDB batch (synced to disk when the store is durable). */
  write(batch: WriteBatch): Promise<void>;
  getMeta(key: string): Promise<string | undefined>;
  /** Meta entries whose key starts with prefix, in key order. */
  scanMeta(prefix: string): AsyncIterable<[string, string]>;
  /** Rebuilds every index from the entries (after the index configuration changed). */
  reindex(): Promise<void>;
  /** Deletes everything (entries, indexes, meta). */
  clear(): Promise<void>;
  /**
   * Touches the database across its key space until `deadline` (Date.now() ms), so the first
   * lookups after a start do not each open table files: returns the entries it came across.
   */
  warm?(deadline: number): Promise<NormalizedDn[]>;
  /** Whether writes are taken (an in-memory store is always ok). */
  health(): StoreHealth;
}

// Equality posting lists (q keys of the store's layout, see level-store.ts) and the operations
// of one store batch: a value's list of ndns while it has few entries, LARGE (its entries as
// i keys) beyond POSTING_MAX, kept up to date by every batch.

import type { NormalizedDn } from './types.js';

/** Separates the components of a key (NUL never occurs in a normalised DN). */
export const SEP = '\x00';
/** Entries a posting list holds before its value is marked LARGE and read by range scan. */
export const POSTING_MAX = 64;
export const LARGE = '\x01';
/**
 * The value of keys that only say something by existing (c, i, p and s keys). Never the empty
 * string: classic-level 3.0.0 copies every string it writes into a new[] buffer and frees it only
 * when the slice is non-empty, so each empty value leaked its allocation (about 32 bytes of
 * native memory per index key: 1.2 GiB resident at the end of a 1M-entry import).
 */
export const MARK = '1';

/** What the posting lists read of the database: the current value of a key, synchronously. */
export interface SyncReader {
  getSync(key: string): string | undefined;
}

/** The operations of one store batch, as they are added (an array, or a native batch). */
export interface Ops {
  put(key: string, value: string): void;
  del(key: string): void;
  readonly length: number;
}

/**
 * The operations of one array batch. Not classic-level's chained batch: that frees its native
 * buffer only when the batch object is garbage-collected, which let a 1M-entry import grow by
 * about 5 MiB per 2,000-entry chunk without bound; an array batch's buffer is freed once written.
 */
export class ArrayOps implements Ops {
  readonly list: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [];
  put(key: string, value: string): void {
    this.list.push({ type: 'put', key, value });
  }
  del(key: string): void {
    this.list.push({ type: 'del', key });
  }
  get length(): number {
    return this.list.length;
  }
}

/** The i key of one entry of a LARGE value, from the value's q key. */
export const largeKey = (qk: string, ndn: NormalizedDn): string => 'i' + qk.slice(1) + SEP + ndn;

/**
 * The posting lists one batch changes: read once (synchronously: the writer runs alone, so the
 * database holds the latest state), changed for every equality key added or removed, written
 * with the batch. A list that outgrows POSTING_MAX becomes LARGE (its entries move to i keys)
 * and stays so until a reindex; the i keys of a LARGE value are written directly.
 */
export class Postings {
  /** By q key: the list, or null for LARGE; `grew` when it became LARGE in this batch. */
  private readonly lists = new Map<string, { list: string[] | null; grew: boolean }>();
  constructor(
    private readonly db: SyncReader,
    private readonly put: (k: string, v: string) => void,
    private readonly del: (k: string) => void,
  ) {}

  private state(qk: string): { list: string[] | null; grew: boolean } {
    let st = this.lists.get(qk);
    if (!st) {
      const v = this.db.getSync(qk);
      st = { list: v === undefined ? [] : v === LARGE ? null : v.split(SEP), grew: false };
      this.lists.set(qk, st);
    }
    return st;
  }

  /** Adds ndn to the entries of a value, by its q key (q SEP attr SEP value). */
  add(qk: string, ndn: NormalizedDn): void {
    const st = this.state(qk);
    if (!st.list) return this.put(largeKey(qk, ndn), MARK);
    if (st.list.includes(ndn)) return;
    st.list.push(ndn);
    if (st.list.length <= POSTING_MAX) return;
    for (const member of st.list) this.put(largeKey(qk, member), MARK);
    st.list = null;
    st.grew = true;
  }

  remove(qk: string, ndn: NormalizedDn): void {
    const st = this.state(qk);
    if (!st.list) return this.del(largeKey(qk, ndn));
    const i = st.list.indexOf(ndn);
    if (i >= 0) st.list.splice(i, 1);
  }

  /** The q keys this batch read or changed. */
  keys(): IterableIterator<string> {
    return this.lists.keys();
  }

  flush(): void {
    for (const [qk, st] of this.lists) {
      if (!st.list) {
        if (st.grew) this.put(qk, LARGE);
      } else if (st.list.length) this.put(qk, st.list.join(SEP));
      else this.del(qk);
    }
  }
}

/**
 * The posting lists from the equality keys a reindex wrote (every entry of a value as an i key,
 * in key order), one value at a time (bounded memory): a value of few entries gets its list and
 * loses its i keys, a LARGE one keeps them. `commit` writes a chunk of operations.
 */
export async function buildPostings(iKeys: AsyncIterable<string>, commit: (b: ArrayOps) => Promise<void>, chunk: number): Promise<void> {
  let b = new ArrayOps();
  let cur = '';
  let keys: string[] = [];
  const emit = () => {
    if (!cur) return;
    if (keys.length > POSTING_MAX) return void b.put(cur, LARGE);
    b.put(cur, keys.map((k) => k.slice(k.lastIndexOf(SEP) + 1)).join(SEP));
    for (const k of keys) b.del(k);
  };
  for await (const key of iKeys) {
    const qk = 'q' + key.slice(1, key.lastIndexOf(SEP));
    if (qk !== cur) {
      emit();
      cur = qk;
      keys = [];
      if (b.length >= chunk) {
        await commit(b);
        b = new ArrayOps();
      }
    }
    if (keys.length <= POSTING_MAX) keys.push(key);
  }
  emit();
  await commit(b);
}

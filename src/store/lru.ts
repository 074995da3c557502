// An exact least-recently-used map with O(1) get, set and delete.
//
// A Map alone (delete and re-insert on every hit, evict `keys().next()`) is not O(1) in V8: the
// deleted slots stay at the front of the table until it is rehashed, and every eviction walks
// over them. With a 20,000-entry cache under random lookups that walk cost more than the lookup
// itself (a third of a uid search's CPU in a profile). Here the order lives in a doubly linked
// list of nodes; the Map only finds nodes and never needs iterating for an eviction. What is
// offered (read from elsewhere) gets into a full cache only past a Doorkeeper. A cache can hold
// at most `capacity` keys and, with a budget, at most `maxBytes` of what its weigh function
// says each key and value hold.

import { fnv1a } from './keys.js';

interface Node<K, V> {
  key: K;
  value: V;
  /** What the budget's weigh said of key and value (0 without a budget). */
  weight: number;
  /** Read (get or lookup) since its value was set. */
  read: boolean;
  prev: Node<K, V> | undefined; // towards the least recently used
  next: Node<K, V> | undefined; // towards the most recently used
}

/** A limit on the bytes a cache holds, as weigh counts them for each key and its value. */
export interface LruBudget<K, V> {
  maxBytes: number;
  weigh: (key: K, value: V) => number;
}

export class Lru<K, V> {
  private readonly map = new Map<K, Node<K, V>>();
  /** The sum of the weights of what the cache holds. */
  private held = 0;
  /** What offer() lets in once the cache is full (made at the first such offer). */
  private door: Doorkeeper | undefined;
  private oldest: Node<K, V> | undefined;
  private newest: Node<K, V> | undefined;

  /** capacity 0 (or a budget of 0 bytes) keeps nothing; Infinity: as many keys as the budget allows. */
  constructor(
    readonly capacity: number,
    private readonly budget?: LruBudget<K, V>,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The bytes held, as the budget weighs them (0 without a budget). */
  get bytes(): number {
    return this.held;
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  /** The value (now the most recently used), or undefined. */
  get(key: K): V | undefined {
    const node = this.map.get(key);
    if (!node) return undefined;
    node.read = true;
    this.touch(node);
    return node.value;
  }

  /** Whether the key's value has been read (get or lookup) since it was set. */
  wasRead(key: K): boolean {
    return this.map.get(key)?.read ?? false;
  }

  /** The value without making it the most recently used (a read that is not a use). */
  peek(key: K): V | undefined {
    return this.map.get(key)?.value;
  }

  /** Like get, for maps whose values may themselves be undefined: the node's value or `miss`. */
  lookup<M>(key: K, miss: M): V | M {
    const node = this.map.get(key);
    if (!node) return miss;
    node.read = true;
    this.touch(node);
    return node.value;
  }

  /**
   * A value read from elsewhere (not written through the cache): taken while the cache has room,
   * once full only on the key's second offer within a recent window (see Doorkeeper).
   */
  offer(this: Lru<string, V>, key: string, value: V): void {
    // Room while a value of the average weight still fits (what this one weighs is only worked
    // out when it gets in: most offers to a full cache are turned away; and a cache just under its
    // budget after an eviction is full, not a cache taking every offer). The admission window is
    // what the cache holds once full: its capacity, or what fitted the budget.
    const size = this.map.size;
    const room = size < this.capacity && (!this.budget || this.held + (size ? this.held / size : 0) <= this.budget.maxBytes);
    if (room || (this.door ??= new Doorkeeper(Math.min(this.capacity, Math.max(1, this.map.size)))).admit(key)) {
      this.put(key, value, this.weigh(key, value));
    }
  }

  set(key: K, value: V): void {
    this.put(key, value, this.weigh(key, value));
  }

  private weigh(key: K, value: V): number {
    return this.budget ? this.budget.weigh(key, value) : 0;
  }

  private put(key: K, value: V, weight: number): void {
    if (this.capacity <= 0) return;
    // What alone exceeds the budget is not kept (nor an older value of the key).
    if (this.budget && weight > this.budget.maxBytes) {
      this.delete(key);
      return;
    }
    const node = this.map.get(key);
    if (node) {
      node.value = value;
      node.read = false;
      this.held += weight - node.weight;
      node.weight = weight;
      this.touch(node);
    } else {
      const fresh: Node<K, V> = { key, value, weight, read: false, prev: this.newest, next: undefined };
      if (this.newest) this.newest.next = fresh;
      else this.oldest = fresh;
      this.newest = fresh;
      this.map.set(key, fresh);
      this.held += weight;
    }
    // The newest (this key) fits by itself, so this stops before reaching it.
    while (this.map.size > this.capacity || (this.budget && this.held > this.budget.maxBytes)) this.delete(this.oldest!.key);
  }

  delete(key: K): boolean {
    const node = this.map.get(key);
    if (!node) return false;
    this.map.delete(key);
    this.held -= node.weight;
    this.unlink(node);
    return true;
  }

  clear(): void {
    this.map.clear();
    this.held = 0;
    this.oldest = this.newest = undefined;
  }

  /** Least recently used first. */
  *entries(): IterableIterator<[K, V]> {
    for (let n = this.oldest; n; n = n.next) yield [n.key, n.value];
  }

  private unlink(node: Node<K, V>): void {
    if (node.prev) node.prev.next = node.next;
    else this.oldest = node.next;
    if (node.next) node.next.prev = node.prev;
    else this.newest = node.prev;
    node.prev = node.next = undefined;
  }

  private touch(node: Node<K, V>): void {
    if (node === this.newest) return;
    this.unlink(node);
    node.prev = this.newest;
    if (this.newest) this.newest.next = node;
    else this.oldest = node;
    this.newest = node;
  }
}

/**
 * Admission to a cache: a key gets in on its second sighting within a recent window, so keys
 * read once (lookups spread evenly over far more entries than the cache holds, a walk over a
 * large subtree) neither evict the entries that are read again nor turn into garbage that
 * survived long enough to fill the old generation of the heap (100k entries, 16 x 4 uid lookups:
 * the heap peaked at 108-139 MiB with a cache that took every miss, at 68-76 MiB with this). Two
 * generations of a bit set indexed by a hash of the key; a generation takes `window` first
 * sightings, then the older one is dropped. A collision only lets a key in early.
 */
export class Doorkeeper {
  private current: Uint32Array;
  private previous: Uint32Array;
  private readonly mask: number;
  private sightings = 0;

  constructor(private readonly window: number) {
    // About 32 bits per key of a generation (few collisions), at most 16 MiB per generation (a
    // cache of millions of entries then lets a few more keys in early).
    let bits = 1024;
    while (bits < window * 32 && bits < 1 << 27) bits *= 2;
    this.mask = bits - 1;
    this.current = new Uint32Array(bits >>> 5);
    this.previous = new Uint32Array(bits >>> 5);
  }

  /** Whether key was seen within the window; this sighting is recorded. */
  admit(key: string): boolean {
    if (this.window <= 0) return false;
    const h = fnv1a(key) & this.mask;
    const word = h >>> 5;
    const bit = 1 << (h & 31);
    if (this.current[word]! & bit) return true;
    this.current[word] = this.current[word]! | bit;
    if (this.previous[word]! & bit) return true;
    if (++this.sightings >= this.window) {
      const older = this.previous;
      this.previous = this.current;
      this.current = older.fill(0);
      this.sightings = 0;
    }
    return false;
  }
}

// Bounded tables keyed by hashes: every table Transport keeps is one of these, so none can grow past its
// limit whatever the network sends. Keys are the hash bytes as a latin1 string (one char per byte: a flat
// one-byte string, half the size of hex and cheaper to build and hash).
import type { Bytes } from "../../core/bytes.js";

export function keyOf(hash: Bytes): string {
  return String.fromCharCode.apply(null, hash as unknown as number[]);
}

/** The bytes a key was made from. */
export function bytesOfKey(key: string): Bytes {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * A Map with a maximum size. Insertion order is age order: `set` of a new key when full evicts the oldest
 * entry (returned so the caller can count it); `touch` moves an entry to the young end.
 */
export class BoundedMap<V> {
  readonly #map = new Map<string, V>();
  readonly max: number;
  /** Finds the oldest entry while the map is full (see oldestOf). */
  #oldest: IterableIterator<string> | null = null;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`bad table size ${max}`);
    this.max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: string): V | undefined {
    return this.#map.get(key);
  }

  has(key: string): boolean {
    return this.#map.has(key);
  }

  /** Inserts or replaces; a replaced entry keeps its place in age order. Returns the evicted entry, if any. */
  set(key: string, value: V): [string, V] | null {
    if (this.#map.has(key)) {
      this.#map.set(key, value);
      return null;
    }
    let evicted: [string, V] | null = null;
    if (this.#map.size >= this.max) {
      this.#oldest ??= this.#map.keys();
      const oldestKey = oldestOf(this.#oldest, () => (this.#oldest = this.#map.keys()));
      evicted = [oldestKey, this.#map.get(oldestKey)!];
      this.#map.delete(oldestKey);
    } else {
      this.#oldest = null;
    }
    this.#map.set(key, value);
    return evicted;
  }

  /** Moves an existing entry to the young end of the age order. */
  touch(key: string): void {
    const v = this.#map.get(key);
    if (v === undefined) return;
    this.#map.delete(key);
    this.#map.set(key, v);
  }

  delete(key: string): boolean {
    return this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }

  entries(): IterableIterator<[string, V]> {
    return this.#map.entries();
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }

  keys(): IterableIterator<string> {
    return this.#map.keys();
  }

  /** Deletes every entry for which `stale` is true; returns how many went. */
  deleteWhere(stale: (value: V, key: string) => boolean): number {
    let n = 0;
    for (const [k, v] of this.#map) {
      if (stale(v, k)) {
        this.#map.delete(k);
        n++;
      }
    }
    return n;
  }
}

/**
 * The oldest key of a full Map or Set, from a long-lived iterator over its keys. A fresh iterator would
 * start at the front of the insertion-order storage and step over every slot evicted since V8 last
 * compacted it, which made each eviction O(max) (an 8,192-entry table: 2.8 µs per insert at steady state;
 * 100,000 entries: 50 µs). The persistent iterator steps over each hole once. Its position only ever passes
 * entries that were evicted or deleted, so the next key it yields is the oldest live one. The tables drop it
 * whenever they are not full, so it holds on to storage V8 replaced only until the next eviction. `restart`
 * makes a new one should it ever end.
 */
function oldestOf(it: IterableIterator<string>, restart: () => IterableIterator<string>): string {
  let r = it.next();
  if (r.done === true) r = restart().next();
  return r.value as string;
}

/** A bounded set of keys, first in first out (path request tags). */
export class BoundedSet {
  readonly #set = new Set<string>();
  readonly max: number;
  #oldest: IterableIterator<string> | null = null;

  constructor(max: number) {
    this.max = max;
  }

  get size(): number {
    return this.#set.size;
  }

  has(key: string): boolean {
    return this.#set.has(key);
  }

  add(key: string): void {
    if (this.#set.has(key)) return;
    if (this.#set.size >= this.max) {
      this.#oldest ??= this.#set.values();
      this.#set.delete(oldestOf(this.#oldest, () => (this.#oldest = this.#set.values())));
    } else {
      this.#oldest = null;
    }
    this.#set.add(key);
  }
}

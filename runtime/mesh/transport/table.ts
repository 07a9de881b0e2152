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
      const oldestKey = this.#map.keys().next().value as string;
      evicted = [oldestKey, this.#map.get(oldestKey)!];
      this.#map.delete(oldestKey);
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

/** A bounded set of keys, first in first out (path request tags). */
export class BoundedSet {
  readonly #set = new Set<string>();
  readonly max: number;

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
      const oldest = this.#set.values().next().value as string;
      this.#set.delete(oldest);
    }
    this.#set.add(key);
  }
}

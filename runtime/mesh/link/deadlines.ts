// A bounded table keyed by bytes whose entries each carry a deadline: a link's pending requests and receipts.
// Full tables give up their oldest entry (insertion order), as the reference culls its oldest receipts.
import { toHex, type Bytes } from "../../core/bytes.js";
import { assert } from "../../core/assert.js";

export interface Entry<T> {
  key: Bytes;
  /** Milliseconds; Infinity while the entry waits on something without a clock (a resource in progress). */
  deadlineMs: number;
  value: T;
}

export class DeadlineTable<T> {
  readonly #entries = new Map<string, Entry<T>>();

  constructor(readonly capacity: number) {
    assert(Number.isInteger(capacity) && capacity > 0, "table capacity");
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Adds or replaces an entry; returns the entry evicted to make room, if any. */
  add(key: Bytes, deadlineMs: number, value: T): Entry<T> | null {
    const k = toHex(key);
    let evicted: Entry<T> | null = null;
    if (!this.#entries.delete(k) && this.#entries.size >= this.capacity) {
      const [oldest, entry] = this.#entries.entries().next().value as [string, Entry<T>];
      this.#entries.delete(oldest);
      evicted = entry;
    }
    this.#entries.set(k, { key: key.slice(), deadlineMs, value });
    return evicted;
  }

  get(key: Bytes): Entry<T> | undefined {
    return this.#entries.get(toHex(key));
  }

  /** Removes and returns the entry. */
  take(key: Bytes): Entry<T> | undefined {
    const k = toHex(key);
    const e = this.#entries.get(k);
    if (e !== undefined) this.#entries.delete(k);
    return e;
  }

  nextDeadlineMs(): number {
    let next = Infinity;
    for (const e of this.#entries.values()) if (e.deadlineMs < next) next = e.deadlineMs;
    return next;
  }

  /** Removes and returns every entry whose deadline has come. */
  expire(nowMs: number): Entry<T>[] {
    const out: Entry<T>[] = [];
    for (const [k, e] of this.#entries) {
      if (e.deadlineMs <= nowMs) {
        this.#entries.delete(k);
        out.push(e);
      }
    }
    return out;
  }

  /** Removes and returns every entry. */
  clear(): Entry<T>[] {
    const out = [...this.#entries.values()];
    this.#entries.clear();
    return out;
  }
}

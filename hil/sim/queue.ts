// The simulator's event queue: a binary min-heap ordered by (time, sequence number). The sequence number
// makes the order of events at the same virtual time the order they were scheduled in, so a run never
// depends on how the heap happens to break ties: that is half of what makes a run repeatable from a seed.
import { assert } from "../../runtime/core/assert.js";

export interface Scheduled<T> {
  atMs: number;
  seq: number;
  item: T;
}

export class EventQueue<T> {
  readonly #heap: Scheduled<T>[] = [];
  #seq = 0;

  constructor(readonly maxSize: number) {
    assert(Number.isInteger(maxSize) && maxSize > 0, "queue bound is a positive integer");
  }

  get size(): number {
    return this.#heap.length;
  }

  /** Schedules `item` at `atMs`; a full queue is a bug in the simulation (a runaway), never silent. */
  push(atMs: number, item: T): void {
    if (!Number.isFinite(atMs)) throw new RangeError(`event time ${atMs} is not finite`);
    if (this.#heap.length >= this.maxSize) throw new RangeError(`simulator event queue is full (${this.maxSize} events): a runaway loop?`);
    const h = this.#heap;
    const e: Scheduled<T> = { atMs, seq: this.#seq++, item };
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = e;
  }

  peekMs(): number | null {
    return this.#heap.length > 0 ? this.#heap[0]!.atMs : null;
  }

  pop(): Scheduled<T> | null {
    const h = this.#heap;
    if (h.length === 0) return null;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= h.length) break;
        const r = l + 1;
        const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
        if (!before(h[c]!, last)) break;
        h[i] = h[c]!;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before<T>(a: Scheduled<T>, b: Scheduled<T>): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
}

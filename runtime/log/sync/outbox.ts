// The sending side of a session: what the peer asked for (WANT ranges, merged per author) and a bounded
// window of those entries loaded from the view, in the order they go out: urgent kinds first; within a
// class, repairs first (seqs asked for again after we sent them: the peer lost them, and holds what came
// after until they arrive), then author by author in seq order (long runs of one author pack best). Priority
// applies within the window (SYNC_LIMITS.maxWindowEntries), which is refilled from the ranges as it drains;
// repairs are loaded at once, past the window's bound if need be (up to twice it).
import type { Bytes } from "../../core/bytes.js";
import type { LogEntry } from "../entry.js";
import type { EntriesBuilder } from "./entries-codec.js";
import { SYNC_LIMITS } from "./limits.js";
import type { Want } from "./messages.js";
import type { LogView } from "./view.js";

/** Higher goes first. Genesis entries always go first: they carry the key every later entry needs. */
export type PriorityFn = (kind: string) => number;

/** Kinds starting with "alarm." first, then "quorum.", then the rest. */
export const defaultPriority: PriorityFn = (kind) => (kind.startsWith("alarm.") ? 2 : kind.startsWith("quorum.") ? 1 : 0);

interface Queued {
  entry: LogEntry;
  hex: string;
  key: string;
  priority: number;
  repair: boolean;
  authorOrder: number;
}

interface AuthorRanges {
  author: Bytes;
  order: number;
  /** Sorted, disjoint, inclusive [from, to] ranges not yet loaded. */
  ranges: Array<[number, number]>;
}

/** Lookahead when the next entry does not fit: later entries (first of their author) that might. */
const FILL_LOOKAHEAD = 32;

export class Outbox {
  readonly #view: LogView;
  readonly #priority: PriorityFn;
  readonly #authors = new Map<string, AuthorRanges>();
  /** Repairs: ranges at or below what was loaded already, per author. */
  readonly #repairs = new Map<string, AuthorRanges>();
  /** Per author, the highest seq loaded into the window so far, and its order of first want. */
  readonly #loaded = new Map<string, number>();
  readonly #orders = new Map<string, number>();
  #rangeCount = 0;
  #nextOrder = 0;
  #window: Queued[] = [];
  readonly #inWindow = new Set<string>();
  #windowBytes = 0;
  /** Wanted ranges refused because the range table was full (the peer asks again). */
  refusedRanges = 0;

  constructor(view: LogView, priority: PriorityFn) {
    this.#view = view;
    this.#priority = priority;
  }

  get empty(): boolean {
    return this.#window.length === 0 && this.#rangeCount === 0;
  }

  #order(hex: string): number {
    let o = this.#orders.get(hex);
    if (o === undefined) {
      o = this.#nextOrder++;
      this.#orders.set(hex, o);
    }
    return o;
  }

  /** Adds a peer's WANT, clipped to what we hold and merged with what is already asked. */
  want(w: Want): void {
    const head = this.#view.head(w.author);
    if (head === null) return;
    const from = w.fromSeq;
    const to = Math.min(head.seq, from + Math.min(w.count, SYNC_LIMITS.maxWantCount) - 1);
    if (to < from) return;
    const loaded = this.#loaded.get(w.hex) ?? 0;
    if (from <= loaded) this.#add(this.#repairs, w, from, Math.min(to, loaded));
    if (to > loaded) this.#add(this.#authors, w, Math.max(from, loaded + 1), to);
  }

  #add(table: Map<string, AuthorRanges>, w: Want, from: number, to: number): void {
    let a = table.get(w.hex);
    if (a === undefined) {
      a = { author: w.author.slice(), order: this.#order(w.hex), ranges: [] };
      table.set(w.hex, a);
    }
    const merged: Array<[number, number]> = [];
    let [lo, hi] = [from, to];
    for (const [f, t] of a.ranges) {
      if (t + 1 < lo || f > hi + 1) merged.push([f, t]);
      else [lo, hi] = [Math.min(lo, f), Math.max(hi, t)];
    }
    if (this.#rangeCount - a.ranges.length + merged.length + 1 > SYNC_LIMITS.maxWantedRanges) {
      this.refusedRanges++;
      return;
    }
    merged.push([lo, hi]);
    merged.sort((x, y) => x[0] - y[0]);
    this.#rangeCount += merged.length - a.ranges.length;
    a.ranges = merged;
  }

  /**
   * Fills `builder` with entries in window order. `pred(e)` gives, for an entry that starts a run, the entry
   * before it when the peer holds that one (so the peer rebuilds prev, time and kind), else null. Returns the entries added; when the first entry does not fit even an empty
   * message it is returned as `oversize` instead (and taken out of the window) for the caller to fragment.
   */
  fill(builder: EntriesBuilder, pred: (e: LogEntry) => LogEntry | null): { added: LogEntry[]; oversize: LogEntry | null } {
    this.#refill();
    const added: LogEntry[] = [];
    while (this.#window.length > 0) {
      const q = this.#window[0]!;
      if (!builder.add(q.entry, builder.continues(q.entry) ? null : pred(q.entry))) break;
      added.push(this.#remove(0));
    }
    if (this.#window.length === 0) return { added, oversize: null };
    if (builder.count === 0) return { added, oversize: this.#remove(0) };
    this.#fillGaps(builder, pred, added);
    return { added, oversize: null };
  }

  /**
   * After the next entry did not fit: later entries of the same priority that are the first of their author
   * may. Never a less urgent one, so entries leave strictly in priority order.
   */
  #fillGaps(builder: EntriesBuilder, pred: (e: LogEntry) => LogEntry | null, added: LogEntry[]): void {
    const blocked = new Set<string>();
    const priority = this.#window[0]!.priority;
    for (let j = 0, tried = 0; j < this.#window.length && tried < FILL_LOOKAHEAD; j++, tried++) {
      const q = this.#window[j]!;
      if (q.priority !== priority) break;
      if (blocked.has(q.hex)) continue;
      if (builder.add(q.entry, builder.continues(q.entry) ? null : pred(q.entry))) {
        added.push(this.#remove(j));
        j--;
      } else {
        blocked.add(q.hex);
      }
    }
  }

  #remove(i: number): LogEntry {
    const [q] = this.#window.splice(i, 1);
    this.#inWindow.delete(q!.key);
    this.#windowBytes -= q!.entry.encoded.length;
    return q!.entry;
  }

  /** Loads repairs, then wanted entries author by author while the window has room. */
  #refill(): void {
    this.#load(this.#repairs, 2, true);
    this.#load(this.#authors, 1, false);
  }

  #load(table: Map<string, AuthorRanges>, bound: number, repair: boolean): void {
    for (const [hex, a] of table) {
      while (a.ranges.length > 0) {
        if (this.#window.length >= bound * SYNC_LIMITS.maxWindowEntries || this.#windowBytes >= bound * SYNC_LIMITS.maxWindowBytes) return;
        const r = a.ranges[0]!;
        const seq = r[0];
        if (r[0] === r[1]) {
          a.ranges.shift();
          this.#rangeCount--;
        } else {
          r[0]++;
        }
        const key = `${hex}:${seq}`;
        if (this.#inWindow.has(key)) continue;
        const entry = this.#view.get(a.author, seq);
        if (entry === null) continue;
        if (seq > (this.#loaded.get(hex) ?? 0)) this.#loaded.set(hex, seq);
        this.#insert({ entry, hex, key, priority: seq === 1 ? Infinity : this.#priority(entry.kind), repair, authorOrder: a.order });
      }
      table.delete(hex);
    }
  }

  #insert(q: Queued): void {
    const w = this.#window;
    let lo = 0;
    let hi = w.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(w[mid]!, q)) lo = mid + 1;
      else hi = mid;
    }
    w.splice(lo, 0, q);
    this.#inWindow.add(q.key);
    this.#windowBytes += q.entry.encoded.length;
  }
}

/** Window order: higher priority, then repairs, then earlier-wanted author, then lower seq. */
function before(a: Queued, b: Queued): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.repair !== b.repair) return a.repair;
  if (a.authorOrder !== b.authorOrder) return a.authorOrder < b.authorOrder;
  return a.entry.seq < b.entry.seq;
}

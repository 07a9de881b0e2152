// An in-memory LogView for tests, the simulator and benchmarks: per-author chains and fork evidence, no
// signature checks of its own (the sync session verifies before it calls accept; local appends are signed by
// createEntry). Not bounded: it holds what it is given.
import { equal, toHex, type Bytes } from "../../core/bytes.js";
import type { Identity } from "../../crypto/identity.js";
import { createEntry, type LogEntry } from "../entry.js";
import type { AcceptResult, Head, LogView } from "./view.js";

interface Chain {
  author: Bytes;
  entries: LogEntry[];
  forks: LogEntry[];
}

export class MemoryView implements LogView {
  readonly #chains = new Map<string, Chain>();

  /** A view holding `entries` (each author's chain in seq order; forks after their main entry). */
  static of(entries: Iterable<LogEntry>): MemoryView {
    const v = new MemoryView();
    for (const e of entries) {
      const r = v.accept(e);
      if (!r.ok) throw new RangeError(`entry ${toHex(e.author)}#${e.seq} does not fit: ${r.reason}`);
    }
    return v;
  }

  heads(): ReadonlyMap<string, Head> {
    const out = new Map<string, Head>();
    for (const [hex, c] of this.#chains) {
      const last = c.entries[c.entries.length - 1];
      if (last !== undefined) out.set(hex, { author: c.author, seq: last.seq, hash: last.hash });
    }
    return out;
  }

  head(author: Bytes): Head | null {
    const c = this.#chains.get(toHex(author));
    const last = c?.entries[c.entries.length - 1];
    return last === undefined ? null : { author: c!.author, seq: last.seq, hash: last.hash };
  }

  get(author: Bytes, seq: number): LogEntry | null {
    return this.#chains.get(toHex(author))?.entries[seq - 1] ?? null;
  }

  accept(e: LogEntry): AcceptResult {
    const hex = toHex(e.author);
    let c = this.#chains.get(hex);
    if (c === undefined) {
      if (e.seq !== 1) return { ok: false, reason: "gap" };
      c = { author: e.author.slice(), entries: [], forks: [] };
      this.#chains.set(hex, c);
    }
    const head = c.entries.length;
    if (e.seq <= head) {
      if (equal(c.entries[e.seq - 1]!.hash, e.hash)) return { ok: true, value: "duplicate" };
      return this.#fork(c, e);
    }
    if (e.seq > head + 1) return { ok: false, reason: "gap" };
    if (head > 0 && !equal(e.prev, c.entries[head - 1]!.hash)) return this.#fork(c, e);
    c.entries.push(e);
    return { ok: true, value: "new" };
  }

  hasEntry(author: Bytes, seq: number, hashPrefix: Bytes): boolean {
    const c = this.#chains.get(toHex(author));
    if (c === undefined) return false;
    const starts = (e: LogEntry): boolean => e.seq === seq && equal(e.hash.subarray(0, hashPrefix.length), hashPrefix);
    const main = c.entries[seq - 1];
    return (main !== undefined && starts(main)) || c.forks.some(starts);
  }

  #fork(c: Chain, e: LogEntry): AcceptResult {
    if (c.forks.some((f) => equal(f.hash, e.hash))) return { ok: true, value: "duplicate" };
    c.forks.push(e);
    return { ok: true, value: "fork" };
  }

  /** Appends a new entry by `author` (local use: tests, the simulator). */
  append(author: Identity, timeMs: number, kind: string, body: Bytes): LogEntry {
    const prev = this.#chains.get(toHex(author.hash))?.entries.at(-1) ?? null;
    const e = createEntry(author, prev, timeMs, kind, body);
    const r = this.accept(e);
    if (!r.ok || r.value !== "new") throw new Error("local append did not extend the chain");
    return e;
  }

  /** Every main-chain entry of `author` in seq order (all authors when omitted, by author hex). */
  entries(author?: Bytes): LogEntry[] {
    if (author !== undefined) return [...(this.#chains.get(toHex(author))?.entries ?? [])];
    return [...this.#chains.keys()].sort().flatMap((k) => this.#chains.get(k)!.entries);
  }

  forks(): LogEntry[] {
    return [...this.#chains.values()].flatMap((c) => c.forks);
  }

  /** Main-chain entries held. */
  get size(): number {
    let n = 0;
    for (const c of this.#chains.values()) n += c.entries.length;
    return n;
  }
}

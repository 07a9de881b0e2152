// What the sync machine needs of a log: its heads, entries by (author, seq), and a place to put verified
// entries. The durable store (runtime/log/store.ts) is adapted to this; memory-view.ts is the in-memory one.
import type { Bytes } from "../../core/bytes.js";
import type { LogEntry } from "../entry.js";

export interface Head {
  author: Bytes;
  seq: number;
  hash: Bytes;
}

/** What accept() made of an entry. A refusal carries a short reason the session counts. */
export type AcceptResult = { ok: true; value: "new" | "duplicate" | "fork" } | { ok: false; reason: string };

export interface LogView {
  /** The head (highest seq of the main chain) of every author held, keyed by lowercase author hex. */
  heads(): ReadonlyMap<string, Head>;
  /** The head of one author, or null when none of its entries is held. */
  head(author: Bytes): Head | null;
  /** The main chain's entry at `seq`, or null. */
  get(author: Bytes, seq: number): LogEntry | null;
  /**
   * Takes an entry whose signature the session has verified. The view checks its place in the chain: the
   * next seq with a matching prev is "new"; an entry held already is "duplicate"; a different entry at a held
   * seq, or at head+1 with another prev, is "fork" (kept as evidence); anything else (a gap) is refused.
   */
  accept(entry: LogEntry): AcceptResult;
  /**
   * Optional: whether an entry of `author` at `seq` whose hash starts with `hashPrefix` is held, on the main
   * chain or as fork evidence. Lets a session skip asking again for a fork it already keeps.
   */
  hasEntry?(author: Bytes, seq: number, hashPrefix: Bytes): boolean;
}

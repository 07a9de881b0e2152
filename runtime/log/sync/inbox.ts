// The receiving side of a session: entries rebuilt from ENTRIES runs are verified and placed in the view,
// or held until they can be.
//
// How it works. Each entry is rebuilt (its prev from the run, from the view, or from a held predecessor),
// decoded canonically and its signature checked with the author's key (the genesis entry's, a locally known
// key, or its own when it is the genesis). An entry at head+1 (or below: a duplicate or a fork) goes to the
// view. An entry further ahead is held (bounded): it arrived out of order because urgent kinds go first or a
// packet was lost; when verified it is reported at once ("ahead": an alarm is known before its chain is
// complete). Whenever the view accepts an entry, held successors are placed in turn. An entry whose prev
// cannot be rebuilt yet (elided, predecessor not here) is held unverified until the predecessor arrives.
import { equal, toHex, type Bytes } from "../../core/bytes.js";
import { PUBLIC_KEY_LENGTH } from "../../core/limits.js";
import { packMsgpack } from "../../wire/msgpack.js";
import { decodeEntry, LOG_FORMAT_VERSION, verifyEntry, type LogEntry } from "../entry.js";
import type { Predecessor, WireItem, WireRun } from "./entries-codec.js";
import { SYNC_LIMITS } from "./limits.js";
import type { LogView } from "./view.js";

export type RejectReason = "malformed" | "bad-signature" | "bad-key" | "prev-mismatch" | `view:${string}`;

export interface InboxHooks {
  accepted(e: LogEntry): void;
  duplicate(e: LogEntry): void;
  fork(e: LogEntry): void;
  /** Verified, held until its predecessors arrive. */
  ahead(e: LogEntry): void;
  rejected(reason: RejectReason, author: Bytes, seq: number): void;
  /** An entry was not held: "held-full" (it will be asked for again) or "held-duplicate" (held already). */
  dropped(reason: "held-full" | "held-duplicate"): void;
}

interface Held {
  author: Bytes;
  seq: number;
  /** Set once the entry could be rebuilt. */
  entry: LogEntry | null;
  /** Not yet rebuilt: the fields, and whether its prev was elided by the sender (else it chains in a run). */
  item: WireItem | null;
  authorKey: Bytes;
  elided: boolean;
  verified: boolean;
  bytes: number;
}

const EMPTY = new Uint8Array(0);

export class Inbox {
  readonly #view: LogView;
  readonly #hooks: InboxHooks;
  readonly #localKeys: ReadonlyMap<string, Bytes>;
  readonly #keys = new Map<string, Bytes>();
  readonly #held = new Map<string, Map<number, Held>>();
  #heldCount = 0;
  #heldBytes = 0;

  constructor(view: LogView, localKeys: ReadonlyMap<string, Bytes>, hooks: InboxHooks) {
    this.#view = view;
    this.#localKeys = localKeys;
    this.#hooks = hooks;
  }

  get heldCount(): number {
    return this.#heldCount;
  }

  /**
   * The highest held seq of `hex` that arrived in the sender's seq order: not sent ahead for urgency (its
   * prev was elided, or its kind is not urgent). A seq missing below it was lost, not still to come.
   */
  inOrderMark(hex: string, urgent: (kind: string) => boolean): number {
    let mark = 0;
    for (const [seq, h] of this.#held.get(hex) ?? []) {
      if (seq > mark && (h.entry === null || h.elided || !urgent(h.entry.kind))) mark = seq;
    }
    return mark;
  }

  /** Authors with entries held. */
  heldAuthors(): string[] {
    return [...this.#held.keys()];
  }

  /** Seqs of `hex` held, ascending. */
  heldSeqs(hex: string): number[] {
    const m = this.#held.get(hex);
    return m === undefined ? [] : [...m.keys()].sort((a, b) => a - b);
  }

  /** Places whatever held entries the view can take now (it may have grown through another session). */
  settle(): void {
    for (const hex of [...this.#held.keys()]) {
      const m = this.#held.get(hex);
      const any = m?.values().next().value;
      if (any !== undefined) this.#drain(hex, any.author);
    }
  }

  offerRun(run: WireRun): void {
    const hex = toHex(run.author);
    // What the next entry is rebuilt against; null when that entry is not here yet.
    let pred: Predecessor | null = run.prev !== null ? { hash: run.prev, timeMs: 0, kind: null } : this.#predecessorHere(run.author, hex, run.firstSeq);
    let elided = run.prev === null;
    for (let i = 0; i < run.items.length; i++) {
      const seq = run.firstSeq + i;
      const item = run.items[i]!;
      const authorKey = seq === 1 ? run.authorKey ?? EMPTY : EMPTY;
      if (pred === null) {
        this.#hold(hex, { author: run.author, seq, entry: null, item, authorKey, elided, verified: false, bytes: item.body.length + 200 });
      } else {
        const e = rebuild(run.author, seq, pred, item, authorKey);
        if (e === null) {
          // Everything after it in the run is rebuilt against it: none of it can be.
          for (let j = i; j < run.items.length; j++) this.#hooks.rejected("malformed", run.author, run.firstSeq + j);
          return;
        }
        this.#place(hex, e, elided);
        pred = e;
      }
      elided = false;
    }
  }

  /** The entry before `seq`, from the view or held and rebuilt; null when not here. */
  #predecessorHere(author: Bytes, hex: string, seq: number): Predecessor | null {
    if (seq === 1) return { hash: EMPTY, timeMs: 0, kind: null };
    return this.#view.get(author, seq - 1) ?? this.#held.get(hex)?.get(seq - 1)?.entry ?? null;
  }

  #key(hex: string, author: Bytes): Bytes | null {
    let k = this.#keys.get(hex) ?? null;
    if (k !== null) return k;
    k = this.#view.get(author, 1)?.authorKey ?? this.#localKeys.get(hex) ?? null;
    if (k !== null && k.length === PUBLIC_KEY_LENGTH) {
      if (this.#keys.size >= SYNC_LIMITS.maxCachedKeys) this.#keys.clear();
      this.#keys.set(hex, k);
      return k;
    }
    return null;
  }

  /** Verifies `e`: true, false (counted) when it fails, null when the author's key is not known yet. */
  #verify(hex: string, e: LogEntry, elided: boolean): boolean | null {
    const local = this.#localKeys.get(hex);
    if (e.seq === 1 && local !== undefined && !equal(local, e.authorKey)) {
      this.#hooks.rejected("bad-key", e.author, e.seq);
      return false;
    }
    const key = e.seq === 1 ? e.authorKey : this.#key(hex, e.author);
    if (key === null) return null;
    const v = verifyEntry(e, key);
    if (v.ok) return true;
    this.#hooks.rejected(v.reason === "bad-key" ? "bad-key" : elided ? "prev-mismatch" : "bad-signature", e.author, e.seq);
    return false;
  }

  #place(hex: string, e: LogEntry, elided: boolean): void {
    const verified = this.#verify(hex, e, elided);
    if (verified === false) return;
    const headSeq = this.#view.head(e.author)?.seq ?? 0;
    if (verified === null || e.seq > headSeq + 1) {
      if (this.#hold(hex, { author: e.author, seq: e.seq, entry: e, item: null, authorKey: e.authorKey, elided, verified: verified === true, bytes: e.encoded.length + 64 }) && verified === true) this.#hooks.ahead(e);
      return;
    }
    if (this.#toView(e)) this.#drain(hex, e.author);
  }

  /** Gives a verified entry to the view; true when it extended the chain. */
  #toView(e: LogEntry): boolean {
    const r = this.#view.accept(e);
    if (!r.ok) {
      this.#hooks.rejected(`view:${r.reason}`, e.author, e.seq);
      return false;
    }
    if (r.value === "new") this.#hooks.accepted(e);
    else if (r.value === "fork") this.#hooks.fork(e);
    else this.#hooks.duplicate(e);
    return r.value === "new";
  }

  /** Places held entries of one author that the view can now take, in seq order. */
  #drain(hex: string, author: Bytes): void {
    const m = this.#held.get(hex);
    if (m === undefined) return;
    for (let guard = 0; guard <= SYNC_LIMITS.maxPendingEntries && m.size > 0; guard++) {
      const head = this.#view.head(author);
      const headSeq = head?.seq ?? 0;
      // Entries at or below the head: duplicates or fork evidence now.
      for (const [seq, h] of m) {
        if (seq > headSeq) continue;
        this.#take(hex, m, seq);
        const pred = h.entry === null ? this.#predecessorHere(author, hex, seq) : null;
        const e = h.entry ?? (pred === null ? null : rebuild(author, seq, pred, h.item!, h.authorKey));
        if (e === null) continue;
        if ((h.verified || this.#verify(hex, e, h.elided) === true)) this.#toView(e);
      }
      const h = m.get(headSeq + 1);
      if (h === undefined) break;
      this.#take(hex, m, headSeq + 1);
      const e = h.entry ?? rebuild(author, h.seq, this.#predecessorHere(author, hex, h.seq) ?? { hash: head?.hash ?? EMPTY, timeMs: 0, kind: null }, h.item!, h.authorKey);
      if (e === null) {
        this.#hooks.rejected("malformed", author, h.seq);
        break;
      }
      if (!h.verified && this.#verify(hex, e, h.elided) !== true) break;
      if (!this.#toView(e)) break;
      if (e.seq === 1) this.#verifyHeld(hex, m);
    }
    if (m.size === 0) this.#held.delete(hex);
  }

  /** The author's key just became known: held entries are verified now, reported or dropped. */
  #verifyHeld(hex: string, m: Map<number, Held>): void {
    for (const [seq, h] of m) {
      if (h.entry === null || h.verified) continue;
      const v = this.#verify(hex, h.entry, h.elided);
      if (v === false) this.#take(hex, m, seq);
      else if (v === true) {
        h.verified = true;
        this.#hooks.ahead(h.entry);
      }
    }
  }

  #hold(hex: string, h: Held): boolean {
    let m = this.#held.get(hex);
    if (m?.has(h.seq)) {
      this.#hooks.dropped("held-duplicate");
      return false;
    }
    if (this.#heldCount >= SYNC_LIMITS.maxPendingEntries || this.#heldBytes + h.bytes > SYNC_LIMITS.maxPendingBytes) {
      this.#hooks.dropped("held-full");
      return false;
    }
    if (m === undefined) {
      m = new Map();
      this.#held.set(hex, m);
    }
    m.set(h.seq, h);
    this.#heldCount++;
    this.#heldBytes += h.bytes;
    return true;
  }

  #take(hex: string, m: Map<number, Held>, seq: number): void {
    const h = m.get(seq);
    if (h === undefined) return;
    m.delete(seq);
    this.#heldCount--;
    this.#heldBytes -= h.bytes;
    if (m.size === 0) this.#held.delete(hex);
  }
}

/** The canonical entry for wire fields rebuilt against `pred`, or null when they do not make one. */
function rebuild(author: Bytes, seq: number, pred: Predecessor, it: WireItem, authorKey: Bytes): LogEntry | null {
  const timeMs = pred.timeMs + it.dt;
  const kind = it.kind ?? pred.kind;
  if (kind === null || !Number.isSafeInteger(timeMs) || timeMs < 0) return null;
  let encoded: Bytes;
  try {
    encoded = packMsgpack([LOG_FORMAT_VERSION, author, seq, pred.hash, timeMs, kind, it.body, authorKey, it.signature]);
  } catch {
    return null;
  }
  const d = decodeEntry(encoded);
  return d.ok ? d.value : null;
}

// What a session still wants from its peer, per author: every seq above our head up to the peer's advertised
// head, and single seqs where the peer's head differs from our entry at that seq (a fork to keep as evidence).
// A hole is a wanted seq neither in the view nor held by the inbox; retries ask for the holes only, so what
// arrived is never asked for again.
import { equal, type Bytes } from "../../core/bytes.js";
import { MAX_SEQ, SYNC_LIMITS } from "./limits.js";
import type { Want } from "./messages.js";
import type { SummaryRecord } from "./summary.js";
import type { LogView } from "./view.js";

interface AuthorWant {
  author: Bytes;
  /** Highest seq wanted (the peer's head); 0 when only forks are wanted. */
  to: number;
  /** Highest seq asked for so far. */
  asked: number;
  /** Seqs at or below our head where the peer holds another entry; true once asked. */
  forks: Map<number, boolean>;
  /** Seqs asked for again (NACKed) and when, so each is asked at most once per round trip. */
  nacked: Map<number, number>;
}

export interface NoteResult {
  /** Entries the peer holds above our head. */
  weLack: number;
  /** The peer's head is on our chain (it holds our entries up to its seq). */
  agreed: boolean;
  fork: boolean;
}

export class Wants {
  readonly #view: LogView;
  readonly #m = new Map<string, AuthorWant>();

  constructor(view: LogView) {
    this.#view = view;
  }

  get outstanding(): boolean {
    return this.#m.size > 0;
  }

  /** Takes one record of the peer's summary. */
  note(r: SummaryRecord): NoteResult {
    const head = this.#view.head(r.author);
    const ours = head?.seq ?? 0;
    if (r.seq > ours) {
      const w = this.#want(r.hex, r.author);
      w.to = Math.max(w.to, r.seq);
      return { weLack: r.seq - ours, agreed: false, fork: false };
    }
    const mine = r.seq === ours ? head!.hash : this.#view.get(r.author, r.seq)?.hash ?? null;
    if (mine === null || equal(mine.subarray(0, r.prefix.length), r.prefix)) return { weLack: 0, agreed: mine !== null, fork: false };
    if (this.#view.hasEntry?.(r.author, r.seq, r.prefix) !== true) {
      const w = this.#want(r.hex, r.author);
      if (!w.forks.has(r.seq)) w.forks.set(r.seq, false);
    }
    return { weLack: 0, agreed: false, fork: true };
  }

  /** An entry of `hex` at `seq` arrived (whatever became of it). */
  seen(hex: string, seq: number): void {
    this.#m.get(hex)?.forks.delete(seq);
  }

  /**
   * The peer's chain of `hex` conflicts with ours: nothing more of it can join our chain. `below`: the seq under
   * the conflicting entry when its prev is not our entry there, so the peer's entry at that seq is wanted too
   * (walking down to where the chains part, so both entries of the fork are kept).
   */
  diverged(hex: string, author: Bytes, below: number | null): void {
    const w = this.#want(hex, author);
    w.to = 0;
    if (below !== null && below >= 1 && !w.forks.has(below)) w.forks.set(below, false);
  }

  /** Wants not asked for yet. */
  fresh(held: (hex: string) => number[]): Want[] {
    return this.#collect(held, false);
  }

  /** Every hole (a retry), at most SYNC_LIMITS.maxWantRangesPerRound ranges. */
  holes(held: (hex: string) => number[]): Want[] {
    return this.#collect(held, true);
  }

  /**
   * Holes of `hex` below `mark` (a seq that arrived in order, so what is missing below it was lost): a NACK,
   * sent at once rather than after a quiet spell, and again for a seq still missing `renackMs` after it was
   * last asked for (the NACK or the repair was lost too).
   */
  lost(hex: string, mark: number, held: number[], nowMs: number, renackMs: number): Want[] {
    const w = this.#m.get(hex);
    if (w === undefined) return [];
    const headSeq = this.#view.head(w.author)?.seq ?? 0;
    for (const seq of w.nacked.keys()) if (seq <= headSeq) w.nacked.delete(seq);
    const out: Want[] = [];
    const heldSet = new Set(held);
    let run: Want | null = null;
    const end = Math.min(mark - 1, headSeq + SYNC_LIMITS.maxPendingEntries * 4);
    for (let seq = headSeq + 1; seq <= end; seq++) {
      const due = !heldSet.has(seq) && nowMs - (w.nacked.get(seq) ?? -Infinity) >= renackMs;
      if (!due) {
        run = null;
        continue;
      }
      w.nacked.set(seq, nowMs);
      if (run !== null && run.fromSeq + run.count === seq) run.count++;
      else if (out.length < SYNC_LIMITS.maxWantRangesPerRound) out.push((run = { author: w.author, hex, fromSeq: seq, count: 1 }));
    }
    return out;
  }

  /** Drops what is satisfied; the number of seqs still wanted. */
  prune(): number {
    let missing = 0;
    for (const [hex, w] of this.#m) {
      const headSeq = this.#view.head(w.author)?.seq ?? 0;
      const above = Math.max(0, w.to - headSeq);
      if (above === 0 && w.forks.size === 0) this.#m.delete(hex);
      missing += above + w.forks.size;
    }
    return missing;
  }

  clear(): void {
    this.#m.clear();
  }

  #want(hex: string, author: Bytes): AuthorWant {
    let w = this.#m.get(hex);
    if (w === undefined) {
      w = { author: author.slice(), to: 0, asked: 0, forks: new Map(), nacked: new Map() };
      this.#m.set(hex, w);
    }
    return w;
  }

  #collect(held: (hex: string) => number[], all: boolean): Want[] {
    const out: Want[] = [];
    // Retries are capped per round; fresh wants are not (they are asked once, as summaries arrive).
    const cap = all ? SYNC_LIMITS.maxWantRangesPerRound : Infinity;
    for (const [hex, w] of this.#m) {
      for (const [seq, asked] of w.forks) {
        if (out.length >= cap) return out;
        if (all || !asked) {
          out.push({ author: w.author, hex, fromSeq: seq, count: 1 });
          w.forks.set(seq, true);
        }
      }
      const headSeq = this.#view.head(w.author)?.seq ?? 0;
      let from = Math.max(headSeq, all ? 0 : w.asked) + 1;
      const to = Math.min(w.to, MAX_SEQ);
      if (from > to) continue;
      for (const s of held(hex)) {
        if (s < from) continue;
        if (s > to) break;
        if (s > from) {
          if (out.length >= cap) return out;
          out.push({ author: w.author, hex, fromSeq: from, count: s - from });
        }
        from = s + 1;
      }
      if (from <= to) {
        if (out.length >= cap) return out;
        out.push({ author: w.author, hex, fromSeq: from, count: to - from + 1 });
      }
      w.asked = Math.max(w.asked, to);
    }
    return out;
  }
}

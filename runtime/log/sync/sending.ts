// What a session sends of entries: the peer's wants (outbox.ts), packed into ENTRIES messages that fill the
// link MDU, or into PARTs when one entry is larger than a packet. It tracks what the peer holds (agreed from
// its summary, or sent in this session) so that each run's first prev, time and kind can be left out.
//
// Why PARTs and not a Link resource: a resource has its own windowing and pacing outside the duty-cycle
// budget, costs an advertisement, a hashmap and a proof, and hands the bytes to the engine; PARTs keep one
// machine, one pacing and one resume rule (a lost part: the entry is asked for again, whole).
import { equal, toHex } from "../../core/bytes.js";
import type { LogEntry } from "../entry.js";
import { EntriesBuilder } from "./entries-codec.js";
import { SYNC_LIMITS } from "./limits.js";
import { PART_OVERHEAD_MAX, encodePart, type Want } from "./messages.js";
import { Outbox, type PriorityFn } from "./outbox.js";
import type { LogView } from "./view.js";

export class EntrySender {
  readonly #view: LogView;
  readonly #mdu: number;
  readonly #outbox: Outbox;
  /** Per author, the seq up to which the peer holds our chain (from its summary, or entries it sent us). */
  readonly #agreed = new Map<string, number>();
  readonly #sent = new Set<string>();
  #fragments: Uint8Array[] = [];
  #nextFragId = 0;

  constructor(view: LogView, mdu: number, priority: PriorityFn) {
    this.#view = view;
    this.#mdu = mdu;
    this.#outbox = new Outbox(view, priority);
  }

  want(w: Want): void {
    this.#outbox.want(w);
  }

  /** The peer holds our chain of `hex` up to `seq`. */
  agree(hex: string, seq: number): void {
    this.#agreed.set(hex, Math.max(this.#agreed.get(hex) ?? 0, seq));
  }

  /** Size of the next message (entries count as a full MDU), or null when nothing is to be sent. */
  nextSize(): number | null {
    if (this.#fragments.length > 0) return this.#fragments[0]!.length;
    return this.#outbox.empty ? null : this.#mdu;
  }

  /** The next ENTRIES or PART message and the entries it starts to carry; null when nothing was loadable. */
  next(): { message: Uint8Array; entries: number } | null {
    if (this.#fragments.length > 0) return { message: this.#fragments.shift()!, entries: 0 };
    const builder = new EntriesBuilder(this.#mdu);
    const pred = (e: LogEntry): LogEntry | null => this.#predecessor(builder, e);
    const { added, oversize } = this.#outbox.fill(builder, pred);
    if (oversize !== null) {
      const single = new EntriesBuilder(SYNC_LIMITS.maxReassemblyBytes);
      if (!single.add(oversize, pred(oversize))) throw new RangeError(`entry of ${oversize.encoded.length} bytes exceeds what sync carries`);
      const bytes = single.build();
      const room = this.#mdu - PART_OVERHEAD_MAX;
      const count = Math.ceil(bytes.length / room);
      const fragId = this.#nextFragId;
      this.#nextFragId = (this.#nextFragId + 1) & 0xffff;
      for (let i = 0; i < count; i++) this.#fragments.push(encodePart(fragId, i, count, bytes.subarray(i * room, (i + 1) * room)));
      this.#markSent([oversize]);
      return { message: this.#fragments.shift()!, entries: 1 };
    }
    if (added.length === 0) return null;
    this.#markSent(added);
    return { message: builder.build(), entries: added.length };
  }

  /** The entry before `e` when the peer will hold it: in this message, agreed, or sent before. */
  #predecessor(builder: EntriesBuilder, e: LogEntry): LogEntry | null {
    if (e.seq === 1) return null;
    const inMessage = builder.holding(e.author, e.seq - 1);
    if (inMessage !== null) return inMessage;
    const hex = toHex(e.author);
    if ((this.#agreed.get(hex) ?? 0) < e.seq - 1 && !this.#sent.has(`${hex}:${e.seq - 1}`)) return null;
    const p = this.#view.get(e.author, e.seq - 1);
    return p !== null && equal(p.hash, e.prev) ? p : null;
  }

  #markSent(entries: LogEntry[]): void {
    if (this.#sent.size + entries.length > SYNC_LIMITS.maxSentRemembered) this.#sent.clear();
    for (const e of entries) this.#sent.add(`${toHex(e.author)}:${e.seq}`);
  }
}

// What a session sends of entries: the peer's wants (outbox.ts), packed into ENTRIES messages that fill the
// link MDU. When an entry does not fit a packet, entries go as a STREAM (stream.ts) instead: ENTRIES messages
// cut into full packets, the large entry in one message of its own, the entries after it packed into the
// room each packet has left, until nothing more waits. It tracks what the peer holds (agreed from its summary,
// or sent in this session) so that each run's first prev, time and kind can be left out.
//
// Why not a Link resource: a resource has its own windowing and pacing outside the duty-cycle budget, costs
// an advertisement, a hashmap and a proof, and hands the bytes to the engine; the stream keeps one machine,
// one pacing and one resume rule (a lost packet: its entries are asked for again, whole).
import { equal, toHex } from "../../core/bytes.js";
import type { LogEntry } from "../entry.js";
import { EntriesBuilder } from "./entries-codec.js";
import { SYNC_LIMITS } from "./limits.js";
import type { Want } from "./messages.js";
import { Outbox, type PriorityFn } from "./outbox.js";
import { StreamSender } from "./stream.js";
import type { LogView } from "./view.js";

export class EntrySender {
  readonly #view: LogView;
  readonly #mdu: number;
  readonly #outbox: Outbox;
  /** Per author, the seq up to which the peer holds our chain (from its summary, or entries it sent us). */
  readonly #agreed = new Map<string, number>();
  readonly #sent = new Set<string>();
  readonly #stream: StreamSender;
  /** Entries sent again that this session had sent before (repairs), since the last `takeResent`. */
  #resent = 0;

  constructor(view: LogView, mdu: number, priority: PriorityFn) {
    this.#view = view;
    this.#mdu = mdu;
    this.#outbox = new Outbox(view, priority);
    this.#stream = new StreamSender(mdu);
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
    return this.#stream.active || !this.#outbox.empty ? this.#mdu : null;
  }

  /** The next ENTRIES message or STREAM packet and the entries it starts to carry; null when nothing was loadable. */
  next(): { message: Uint8Array; entries: number } | null {
    if (this.#stream.active) return this.#streamPacket(null);
    const builder = new EntriesBuilder(this.#mdu);
    const { added, oversize } = this.#outbox.fill(builder, (e) => this.#predecessor(builder, e));
    if (oversize !== null) return this.#streamPacket(oversize);
    if (added.length === 0) return null;
    this.#markSent(added);
    return { message: builder.build(), entries: added.length };
  }

  /** A STREAM packet: `first` opens the stream; the room left goes to the entries waiting after it. */
  #streamPacket(first: LogEntry | null): { message: Uint8Array; entries: number } {
    let entries = 0;
    const frame = (room: number): Uint8Array | null => {
      const builder = new EntriesBuilder(room);
      const { added, oversize } = this.#outbox.fill(builder, (e) => this.#predecessor(builder, e));
      if (oversize !== null) return this.#alone(oversize, () => entries++);
      if (added.length === 0) return null;
      this.#markSent(added);
      entries += added.length;
      return builder.build();
    };
    const message = this.#stream.packet(first === null ? null : this.#alone(first, () => entries++), frame);
    return { message, entries };
  }

  /** An ENTRIES message holding `e` alone, however large (it goes on over the next packets of the stream). */
  #alone(e: LogEntry, counted: () => void): Uint8Array {
    const single = new EntriesBuilder(SYNC_LIMITS.maxReassemblyBytes);
    if (!single.add(e, this.#predecessor(single, e))) throw new RangeError(`entry of ${e.encoded.length} bytes exceeds what sync carries`);
    this.#markSent([e]);
    counted();
    return single.build();
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

  /** Sends of entries sent before in this session, since the last call (a count past maxSentRemembered is low). */
  takeResent(): number {
    const n = this.#resent;
    this.#resent = 0;
    return n;
  }

  #markSent(entries: LogEntry[]): void {
    if (this.#sent.size + entries.length > SYNC_LIMITS.maxSentRemembered) this.#sent.clear();
    for (const e of entries) {
      const key = `${toHex(e.author)}:${e.seq}`;
      if (this.#sent.has(key)) this.#resent++;
      else this.#sent.add(key);
    }
  }
}

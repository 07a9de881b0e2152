// Reassembly of PART messages: the chunks of one ENTRIES message too large for a packet (one big entry).
// Bounded: at most SYNC_LIMITS.maxReassemblies at once (a new one evicts the oldest, which was cut short) and
// SYNC_LIMITS.maxReassemblyBytes each. A lost chunk leaves the entry incomplete; the receiver's retry asks for
// the entry again and it comes whole, under a new fragment id.
import { concat, type Bytes } from "../../core/bytes.js";
import { SYNC_LIMITS } from "./limits.js";

interface Pending {
  count: number;
  chunks: Array<Bytes | undefined>;
  got: number;
  bytes: number;
}

export class Reassembly {
  readonly #pending = new Map<number, Pending>();

  /** Adds a chunk: the whole message once its last chunk is here, and what was dropped on the way. */
  add(fragId: number, index: number, count: number, chunk: Bytes): { message: Bytes | null; dropped: string | null } {
    let p = this.#pending.get(fragId);
    let dropped: string | null = null;
    if (p === undefined) {
      if (this.#pending.size >= SYNC_LIMITS.maxReassemblies) {
        this.#pending.delete(this.#pending.keys().next().value as number);
        dropped = "part-incomplete";
      }
      p = { count, chunks: new Array<Bytes | undefined>(count), got: 0, bytes: 0 };
      this.#pending.set(fragId, p);
    }
    if (p.count !== count) return { message: null, dropped: "part-mismatch" };
    if (p.chunks[index] !== undefined) return { message: null, dropped: "part-duplicate" };
    if (p.bytes + chunk.length > SYNC_LIMITS.maxReassemblyBytes) {
      this.#pending.delete(fragId);
      return { message: null, dropped: "too-long" };
    }
    p.chunks[index] = chunk;
    p.got++;
    p.bytes += chunk.length;
    if (p.got < p.count) return { message: null, dropped };
    this.#pending.delete(fragId);
    return { message: concat(...(p.chunks as Bytes[])), dropped };
  }
}

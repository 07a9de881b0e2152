// STREAM packets (sync version 2): ENTRIES messages as one byte stream cut into full link packets, for when an
// entry does not fit a packet. Each packet after the first of a stream carries the rest of the message in
// progress and, in the room left, the start of the next, so no packet leaves part-empty while entries wait
// and a large entry costs one header byte per packet instead of a whole packet's tail.
//
//   packet   flags(u8) [start(u16 BE) iff S] payload
//   flags    0 S Q Q Q Q Q Q     top bit 0: a MessagePack positive fixint, never the first byte of another sync
//                                message (those are arrays); S: a frame starts in this packet; Q: the packet's
//                                number mod 64 among this session's STREAM packets
//   start    where the first frame starting in this packet begins in the payload (bytes before it end the
//            frame in progress)
//   payload  frames back to back:  length(u16 BE, 1..maxReassemblyBytes) | ENTRIES message
//
// A lost or reordered packet shows as a gap in Q: the frame in progress is dropped (counted) and reading
// resumes at the next packet that says where a frame starts. The entries lost with it are holes the receiver
// asks for again, as for any lost packet (at most the frame in progress and the one starting in the lost
// packet). Nothing of a stream outlives its session.
import { concat, type Bytes } from "../../core/bytes.js";
import { SYNC_LIMITS } from "./limits.js";

const FLAG_START = 0x40;
const SEQ_MASK = 0x3f;
const FRAME_HEADER = 2;
/** A frame is started in a packet only with at least this much room left for it (else the packet ends). */
const MIN_FRAME_START = 24;

/** Whether a sync packet is a STREAM packet (every other message is a MessagePack array). */
export function isStreamPacket(bytes: Bytes): boolean {
  return bytes.length > 0 && bytes[0]! < 0x80;
}

/** Sending side: cuts frames into packets of exactly `mdu` bytes while frames keep coming. */
export class StreamSender {
  readonly #mdu: number;
  #frame: Bytes | null = null;
  #at = 0;
  #seq = 0;

  constructor(mdu: number) {
    this.#mdu = mdu;
  }

  /** A frame is in progress: the next packet must continue it. */
  get active(): boolean {
    return this.#frame !== null;
  }

  /**
   * The next packet. `first` (when no frame is in progress) is the message that opens the stream; `next(room)`
   * yields the next message for the room left in the packet (it may be larger: it goes on in the next packet),
   * or null when nothing more waits.
   */
  packet(first: Bytes | null, next: (room: number) => Bytes | null): Bytes {
    const out = new Uint8Array(this.#mdu);
    let start = -1;
    let pos = 3; // flags and a start offset; the offset is squeezed out below when no frame starts here
    if (this.#frame === null && first !== null) this.#begin(first);
    const rest = this.#frame === null ? 0 : this.#frame.length - this.#at;
    if (this.#at > 0 && 3 + rest + FRAME_HEADER + MIN_FRAME_START > this.#mdu) {
      // No frame can start in this packet: one flags byte, then as much of the frame in progress as fits.
      out[0] = this.#seq++ & SEQ_MASK;
      return out.subarray(0, this.#copy(out, 1));
    }
    if (this.#frame !== null && this.#at > 0) pos = this.#copy(out, pos);
    else if (this.#frame !== null) {
      start = pos;
      pos = this.#copy(out, pos);
    }
    for (let guard = 0; this.#frame === null && guard < 64; guard++) {
      const room = this.#mdu - pos - FRAME_HEADER;
      if (room < MIN_FRAME_START) break;
      const m = next(room);
      if (m === null) break;
      this.#begin(m);
      if (start < 0) start = pos;
      pos = this.#copy(out, pos);
    }
    const flags = (start >= 0 ? FLAG_START : 0) | (this.#seq++ & SEQ_MASK);
    if (start >= 0) {
      out[0] = flags;
      out[1] = (start - 3) >> 8;
      out[2] = (start - 3) & 0xff;
      return out.subarray(0, pos);
    }
    out[2] = flags;
    return out.subarray(2, pos);
  }

  #begin(m: Bytes): void {
    if (m.length < 1 || m.length > SYNC_LIMITS.maxReassemblyBytes) throw new RangeError(`a stream frame is 1..${SYNC_LIMITS.maxReassemblyBytes} bytes, got ${m.length}`);
    const f = new Uint8Array(FRAME_HEADER + m.length);
    f[0] = m.length >> 8;
    f[1] = m.length & 0xff;
    f.set(m, FRAME_HEADER);
    this.#frame = f;
    this.#at = 0;
  }

  /** Copies as much of the frame in progress as fits from `pos`; returns the new position. */
  #copy(out: Uint8Array, pos: number): number {
    const f = this.#frame!;
    const n = Math.min(f.length - this.#at, out.length - pos);
    out.set(f.subarray(this.#at, this.#at + n), pos);
    this.#at += n;
    if (this.#at === f.length) {
      this.#frame = null;
      this.#at = 0;
    }
    return pos + n;
  }
}

/** Receiving side: frames back out of STREAM packets, bounded to one frame in progress. */
export class StreamReceiver {
  #chunks: Bytes[] = [];
  #need = 0;
  #got = 0;
  #expect: number | null = null;

  /** The complete messages a packet finishes, and what it dropped (reasons, one per drop). */
  receive(p: Bytes): { messages: Bytes[]; dropped: string[] } {
    const messages: Bytes[] = [];
    const dropped: string[] = [];
    const flags = p[0]!;
    const starts = (flags & FLAG_START) !== 0;
    const seq = flags & SEQ_MASK;
    const inOrder = this.#expect === seq;
    this.#expect = (seq + 1) & SEQ_MASK;
    if (starts && p.length < 3) return this.#reset(messages, dropped, "bad-encoding");
    const payload = p.subarray(starts ? 3 : 1);
    const start = starts ? (p[1]! << 8) | p[2]! : payload.length;
    if (start > payload.length) return this.#reset(messages, dropped, "bad-encoding");
    if (this.#need > 0) {
      if (!inOrder) {
        this.#reset(messages, dropped, "stream-gap");
      } else {
        const tail = payload.subarray(0, start);
        if (this.#got + tail.length > this.#need || (starts && this.#got + tail.length < this.#need)) return this.#reset(messages, dropped, "bad-encoding");
        this.#add(tail, messages);
      }
    } else if (start > 0) {
      // Bytes of a frame we do not have (its start was lost): skipped.
      dropped.push("stream-gap");
    }
    let at = start;
    while (at < payload.length) {
      if (payload.length - at < FRAME_HEADER) return this.#reset(messages, dropped, "bad-encoding");
      const len = (payload[at]! << 8) | payload[at + 1]!;
      at += FRAME_HEADER;
      if (len === 0 || len > SYNC_LIMITS.maxReassemblyBytes) return this.#reset(messages, dropped, len === 0 ? "bad-encoding" : "too-long");
      const n = Math.min(len, payload.length - at);
      this.#need = len;
      this.#got = 0;
      this.#chunks = [];
      this.#add(payload.subarray(at, at + n), messages);
      at += n;
    }
    return { messages, dropped };
  }

  #add(bytes: Bytes, messages: Bytes[]): void {
    if (bytes.length > 0) this.#chunks.push(bytes.slice());
    this.#got += bytes.length;
    if (this.#got < this.#need) return;
    messages.push(this.#chunks.length === 1 ? this.#chunks[0]! : concat(...this.#chunks));
    this.#chunks = [];
    this.#need = 0;
    this.#got = 0;
  }

  #reset(messages: Bytes[], dropped: string[], reason: string): { messages: Bytes[]; dropped: string[] } {
    this.#chunks = [];
    this.#need = 0;
    this.#got = 0;
    dropped.push(reason);
    return { messages, dropped };
  }
}

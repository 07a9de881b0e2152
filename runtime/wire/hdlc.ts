// HDLC-like byte stuffing that Reticulum uses on TCP, Backbone and serial-style stream interfaces
// (RNS 1.4.2, RNS/Interfaces/TCPInterface.py: class HDLC, process_outgoing, check_frame_len, read_loop).
import { HEADER_1_LENGTH, MAX_FRAME_LENGTH } from "../core/limits.js";

export const HDLC_FLAG = 0x7e;
export const HDLC_ESC = 0x7d;
export const HDLC_ESC_MASK = 0x20;

const ESCAPED_FLAG = HDLC_FLAG ^ HDLC_ESC_MASK; // 0x5E
const ESCAPED_ESC = HDLC_ESC ^ HDLC_ESC_MASK; // 0x5D

/**
 * The reference's HEADER_MINSIZE (Reticulum.py: 2+1+16 = 19, the HEADER_1 length). TCPInterface.check_frame_len
 * drops frames of that length or less, so the shortest frame passed up is 20 bytes.
 */
export const HDLC_MIN_FRAME_LENGTH = HEADER_1_LENGTH + 1;

/**
 * FLAG + payload with ESC then FLAG escaped + FLAG. Escaping ESC before FLAG, as the reference does, gives the
 * same bytes as escaping both in one pass, which is what this does.
 */
export function hdlcEncode(payload: Uint8Array): Uint8Array {
  if (!(payload instanceof Uint8Array)) throw new TypeError("hdlcEncode: payload must be a Uint8Array");
  let specials = 0;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b === HDLC_FLAG || b === HDLC_ESC) specials++;
  }
  const out = new Uint8Array(payload.length + specials + 2);
  out[0] = HDLC_FLAG;
  let o = 1;
  for (let i = 0; i < payload.length; i++) {
    const b = payload[i]!;
    if (b === HDLC_FLAG || b === HDLC_ESC) {
      out[o++] = HDLC_ESC;
      out[o++] = b ^ HDLC_ESC_MASK;
    } else {
      out[o++] = b;
    }
  }
  out[o] = HDLC_FLAG;
  return out;
}

/**
 * What to do with an ESC not followed by 0x5E or 0x5D. "keep" (default) is the reference: its read loop
 * unescapes with two bytes.replace passes and leaves any other ESC in the frame as a literal 0x7D
 * (equivalently: emit 0x7D, then read the following byte as if unescaped). "drop" discards the frame.
 */
export type BadEscapePolicy = "keep" | "drop";

export interface HdlcDecoderOptions {
  /** Longest unescaped frame passed up; longer ones are dropped and the decoder resyncs at the next FLAG. */
  maxFrameLength?: number;
  /** Shortest frame passed up; shorter non-empty frames count as dropped.tooShort. Default 20 (reference). */
  minFrameLength?: number;
  badEscape?: BadEscapePolicy;
}

/** Counters. Empty frames (back-to-back FLAGs) are neither frames nor drops, as in the reference. */
export interface HdlcStats {
  /** Frames returned by push. */
  frames: number;
  /** Every byte given to push. */
  bytesIn: number;
  /** Bytes outside any frame: before the first FLAG, and the rest of a frame already being dropped. */
  skippedBytes: number;
  /** Invalid escape sequences seen, whatever the policy. */
  badEscapes: number;
  dropped: {
    /** Frames whose unescaped length exceeded maxFrameLength (counted when the limit is crossed). */
    oversize: number;
    /** Frames dropped for an invalid escape (only with badEscape: "drop"). */
    badEscape: number;
    /** Non-empty frames shorter than minFrameLength. */
    tooShort: number;
  };
}

const OUTSIDE = 0; // no FLAG seen yet
const IN_FRAME = 1;
const DISCARD = 2; // dropping the current frame until the next FLAG

const INITIAL_CAPACITY_BYTES = 1024;

/**
 * Incremental decoder: feed stream chunks of any size, get whole unescaped frames back. Never throws on input.
 * A FLAG closes the frame in progress and opens the next (the reference keeps the closing FLAG at the head of
 * its buffer), bytes before the first FLAG are ignored, and empty frames are skipped silently.
 */
export class HdlcDecoder {
  readonly stats: HdlcStats = {
    frames: 0,
    bytesIn: 0,
    skippedBytes: 0,
    badEscapes: 0,
    dropped: { oversize: 0, badEscape: 0, tooShort: 0 },
  };
  readonly maxFrameLength: number;
  readonly minFrameLength: number;
  readonly badEscape: BadEscapePolicy;
  private buf: Uint8Array;
  private len = 0;
  private state = OUTSIDE;
  private escaped = false;

  constructor(options: HdlcDecoderOptions = {}) {
    this.maxFrameLength = options.maxFrameLength ?? MAX_FRAME_LENGTH;
    this.minFrameLength = options.minFrameLength ?? HDLC_MIN_FRAME_LENGTH;
    this.badEscape = options.badEscape ?? "keep";
    checkLengths(this.minFrameLength, this.maxFrameLength);
    if (this.badEscape !== "keep" && this.badEscape !== "drop") throw new RangeError("badEscape: keep or drop");
    this.buf = new Uint8Array(Math.min(INITIAL_CAPACITY_BYTES, this.maxFrameLength));
  }

  /** Bytes of the frame in progress. */
  get bufferedBytes(): number {
    return this.len;
  }

  /** Size of the internal buffer; never more than maxFrameLength. */
  get bufferCapacityBytes(): number {
    return this.buf.length;
  }

  /** Forgets any partial frame (e.g. after a reconnect); the next frame starts at the next FLAG. */
  reset(): void {
    this.len = 0;
    this.escaped = false;
    this.state = OUTSIDE;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    if (!(chunk instanceof Uint8Array)) throw new TypeError("HdlcDecoder.push: chunk must be a Uint8Array");
    const frames: Uint8Array[] = [];
    this.stats.bytesIn += chunk.length;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === HDLC_FLAG) {
        this.closeFrame(frames);
        continue;
      }
      if (this.state !== IN_FRAME) {
        this.stats.skippedBytes++;
        continue;
      }
      if (this.escaped) {
        this.escaped = false;
        if (b === ESCAPED_FLAG || b === ESCAPED_ESC) {
          this.append(b ^ HDLC_ESC_MASK);
          continue;
        }
        if (!this.onBadEscape()) {
          this.stats.skippedBytes++;
          continue;
        }
        this.append(HDLC_ESC); // kept as a literal; b is then read as an ordinary byte
      }
      if (b === HDLC_ESC) this.escaped = true;
      else this.append(b);
    }
    return frames;
  }

  /** A FLAG ends the frame in progress (if any) and opens the next one. */
  private closeFrame(frames: Uint8Array[]): void {
    if (this.state === IN_FRAME && this.escaped) {
      this.escaped = false;
      if (this.onBadEscape()) this.append(HDLC_ESC);
    }
    if (this.state === IN_FRAME && this.len > 0) {
      if (this.len < this.minFrameLength) this.stats.dropped.tooShort++;
      else {
        frames.push(this.buf.slice(0, this.len));
        this.stats.frames++;
      }
    }
    this.len = 0;
    this.escaped = false;
    this.state = IN_FRAME;
  }

  /** Counts a bad escape; returns true when the frame goes on (keep), false when it is now being dropped. */
  private onBadEscape(): boolean {
    this.stats.badEscapes++;
    if (this.badEscape === "keep") return true;
    this.stats.dropped.badEscape++;
    this.state = DISCARD;
    this.len = 0;
    return false;
  }

  private append(b: number): void {
    if (this.state !== IN_FRAME) return;
    if (this.len === this.buf.length) {
      if (this.len >= this.maxFrameLength) {
        this.stats.dropped.oversize++;
        this.state = DISCARD;
        this.len = 0;
        return;
      }
      this.grow();
    }
    this.buf[this.len++] = b;
  }

  private grow(): void {
    const next = new Uint8Array(Math.min(this.buf.length * 2, this.maxFrameLength));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

function checkLengths(minFrameLength: number, maxFrameLength: number): void {
  if (!Number.isInteger(maxFrameLength) || maxFrameLength < 1) {
    throw new RangeError(`maxFrameLength must be a positive integer, got ${maxFrameLength}`);
  }
  if (!Number.isInteger(minFrameLength) || minFrameLength < 0 || minFrameLength > maxFrameLength) {
    throw new RangeError(`minFrameLength must be an integer in 0..maxFrameLength, got ${minFrameLength}`);
  }
}

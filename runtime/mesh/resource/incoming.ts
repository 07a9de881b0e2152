// One segment of an incoming resource: the receiving side of RNS 1.4.2 Resource (accept, receive_part,
// request_next, hashmap_update, assemble, prove and the watchdog's receiver branch), as a sans-IO machine.
// receiver.ts chains segments and splits off metadata.
//
// How it works: the receiver holds the map hashes the advertisement and later hashmap updates (HMU) carried.
// It requests up to `window` missing parts after its consecutive-completion point; if it meets a part whose map
// hash it lacks, it sets the exhausted flag and waits for the next HMU. A part is stored where its map hash
// matches a requested part. When a round completes the window grows and the next request goes out; when the
// part timeout passes (from the measured rate, see nextDeadlineMs()) the window shrinks and the request is repeated,
// MAX_RETRIES times before the transfer fails. With every part in, assembly.ts turns the stream into data (or
// refuses it: the receiver is then corrupt and rejects the resource), and the proof SHA-256(data || hash) goes
// back as RESOURCE_PRF.
import { concat, equal, type Bytes } from "../../core/bytes.js";
import { HEADER_1_LENGTH } from "../../core/limits.js";
import { Context, PacketType, encodePacket, packetHash, type Packet, type ReceivedPacket } from "../../wire/packet.js";
import type { ResourceLink } from "../types.js";
import type { Advertisement } from "./advertisement.js";
import { assembleSegment } from "./assembly.js";
import { decodeHashmapUpdate, encodeRequest, mapKey, namesResource, partKey } from "./hashmap.js";
import {
  HASHMAP_MAX_LENGTH,
  HMU_WAIT_FACTOR,
  MAPHASH_LENGTH,
  MAX_RETRIES,
  PART_TIMEOUT_FACTOR,
  PART_TIMEOUT_FACTOR_AFTER_RTT,
  PER_RETRY_DELAY_MS,
  RETRY_GRACE_MS,
  sduForMtu,
} from "./limits.js";
import type { Outbox } from "./outbox.js";
import { TransferWindow } from "./window.js";

export type ReceiverStatus = "transferring" | "complete" | "failed" | "corrupt" | "cancelled";

export interface SegmentReceiverOptions {
  link: ResourceLink;
  adv: Advertisement;
  outbox: Outbox;
  nowMs: number;
  /** Most bytes this segment's data may have once inflated. */
  budgetBytes: number;
  /** The window and rate estimate a previous resource (or segment) on the link ended with. */
  window?: number;
  previousEifrBps?: number | null;
  establishmentCostBytes: number;
  /** A buffer to receive the stream into when it is large enough (a previous segment's, see takeStreamBuffer). */
  streamBuffer?: Uint8Array;
  /** Last check of the assembled data before it is proven; returns why it is unacceptable, or null. */
  inspect?: (data: Bytes) => string | null;
}

export class SegmentReceiver {
  status: ReceiverStatus = "transferring";
  failure: string | null = null;
  data: Bytes | null = null;
  receivedCount = 0;
  readonly adv: Advertisement;
  readonly partCount: number;
  readonly window: TransferWindow;

  private readonly link: ResourceLink;
  private readonly outbox: Outbox;
  private readonly sdu: number;
  private readonly budgetBytes: number;
  private readonly establishmentCostBytes: number;
  private readonly previousEifrBps: number | null;
  private readonly inspect: ((data: Bytes) => string | null) | undefined;
  private stream: Bytes;
  /** What `stream` views (it may be longer); kept after completion for takeStreamBuffer(). */
  private buffer: Uint8Array | null;
  private readonly received: Uint8Array;
  private readonly known: Uint8Array;
  private readonly keys: Uint32Array;
  private readonly hashmap: Uint8Array;
  private hashmapHeight = 0;
  private consecutiveHeight = -1;
  private requested: number[] = [];
  /** Where in `requested` the next part is expected: parts mostly arrive in the order asked for. */
  private requestedCursor = 0;
  /** Two requested parts share a map hash (no honest sender makes such a hashmap). */
  private requestedKeysRepeat = false;
  private outstanding = 0;
  private waitingForHmu = false;
  private lastActivityMs: number;
  private retriesLeft = MAX_RETRIES;
  private rttMs: number | null = null;
  private requestSentMs = 0;
  private requestSentBytes = 0;
  private responseSeen = true;
  private receivedBytes = 0;
  private receivedBytesAtRequest = 0;
  private requestResponseRate = 0;
  private requestDataRate = 0;
  private partTimeoutFactor = PART_TIMEOUT_FACTOR;
  private proofPacket: Packet | null = null;
  private proofPacketHash: Bytes | null = null;

  constructor(o: SegmentReceiverOptions) {
    this.link = o.link;
    this.adv = o.adv;
    this.outbox = o.outbox;
    this.sdu = sduForMtu(o.link.mtu);
    this.partCount = o.adv.parts;
    this.budgetBytes = o.budgetBytes;
    this.establishmentCostBytes = o.establishmentCostBytes;
    this.previousEifrBps = o.previousEifrBps ?? null;
    this.inspect = o.inspect;
    this.window = new TransferWindow(o.window);
    const spare = o.streamBuffer;
    this.buffer = spare !== undefined && spare.length >= o.adv.transferSize ? spare : new Uint8Array(o.adv.transferSize);
    this.stream = this.buffer.subarray(0, o.adv.transferSize);
    this.received = new Uint8Array(this.partCount);
    this.known = new Uint8Array(this.partCount);
    this.keys = new Uint32Array(this.partCount);
    this.hashmap = new Uint8Array(this.partCount * MAPHASH_LENGTH);
    this.lastActivityMs = o.nowMs;
    this.applyHashmap(0, o.adv.hashmap, o.nowMs);
  }

  get hash(): Bytes {
    return this.adv.hash;
  }

  /** The expected in-flight rate (bits/s) as the receiver now estimates it; carried to the next resource. */
  get eifrBps(): number {
    if (this.requestDataRate !== 0) return this.requestDataRate * 8;
    if (this.previousEifrBps !== null) return this.previousEifrBps;
    const rttS = Math.max(this.rttMs ?? this.link.rttMs, 1) / 1000;
    return (this.establishmentCostBytes * 8) / rttS;
  }

  handle(packet: ReceivedPacket, plaintext: Bytes | null, nowMs: number): void {
    switch (packet.context) {
      case Context.RESOURCE:
        return this.onPart(packet, nowMs);
      case Context.RESOURCE_HMU:
        return this.onHashmapUpdate(plaintext, nowMs);
      case Context.RESOURCE_ICL:
        if (plaintext === null) return this.outbox.drop("undecryptable");
        if (!namesResource(plaintext, this.hash)) return this.outbox.drop("other-resource");
        if (this.status !== "transferring") return this.outbox.drop("not-transferring");
        this.status = "cancelled";
        this.failure = "cancelled by the sender";
        this.release();
        return;
      case Context.CACHE_REQUEST:
        // The sender did not see our proof and asks for the packet by its hash: send it again.
        if (this.proofPacket !== null && this.proofPacketHash !== null && equal(packet.data, this.proofPacketHash)) {
          this.outbox.push(this.proofPacket);
        } else {
          this.outbox.drop("other-resource");
        }
        return;
      default:
        return this.outbox.drop("unknown-context");
    }
  }

  cancel(nowMs: number, status: "cancelled" | "failed" | "corrupt" = "cancelled", reason: string | null = null): void {
    void nowMs;
    if (this.status !== "transferring") return;
    this.status = status;
    this.failure = reason;
    this.outbox.push(this.link.packet(Context.RESOURCE_RCL, this.hash));
    this.release();
  }

  /**
   * When the current round is overdue: from the expected in-flight rate, the time the outstanding parts need
   * (times the part timeout factor), a wait for a hashmap update if one is due, the retry grace and a delay that
   * grows with every retry used. Before the first answer it allows three parts' worth of time.
   */
  nextDeadlineMs(): number {
    if (this.status !== "transferring") return Infinity;
    const eifr = this.eifrBps;
    const extraMs = (MAX_RETRIES - this.retriesLeft) * PER_RETRY_DELAY_MS;
    if (this.requestResponseRate !== 0) {
      const hmuWaitMs = this.waitingForHmu || this.outstanding === 0 ? ((this.sdu * 8 * HMU_WAIT_FACTOR) / eifr) * 1000 : 0;
      const flightMs = ((this.outstanding * this.sdu * 8) / eifr) * 1000;
      return this.lastActivityMs + this.partTimeoutFactor * flightMs + hmuWaitMs + RETRY_GRACE_MS + extraMs;
    }
    // The reference divides bytes by a bit rate here; kept, since it sets how long a first answer may take.
    return this.lastActivityMs + this.partTimeoutFactor * ((3 * this.sdu) / eifr) * 1000 + RETRY_GRACE_MS + extraMs;
  }

  tick(nowMs: number): void {
    if (nowMs < this.nextDeadlineMs()) return;
    if (this.retriesLeft <= 0) return this.cancel(nowMs, "failed", "timed out waiting for parts");
    this.window.shrink();
    this.retriesLeft--;
    this.waitingForHmu = false;
    this.requestNext(nowMs);
  }

  private onPart(packet: ReceivedPacket, nowMs: number): void {
    if (this.status !== "transferring") return this.outbox.drop("not-transferring");
    this.lastActivityMs = nowMs;
    this.retriesLeft = MAX_RETRIES;
    if (!this.responseSeen) this.firstResponse(packet, nowMs);

    const part = packet.data;
    const key = partKey(part, this.adv.randomHash);
    let matched = false;
    if (!this.requestedKeysRepeat) {
      const i = this.findRequested(key);
      if (i >= 0) matched = this.store(i, part);
    } else {
      // Only a hashmap with equal map hashes in one window gets here (no honest sender makes one): the part
      // goes wherever its hash matches, as the reference stores it.
      for (const i of this.requested) {
        if (this.received[i] === 0 && this.keys[i] === key && this.store(i, part)) matched = true;
      }
    }
    if (!matched) return this.outbox.drop("unexpected-part");

    if (this.receivedCount === this.partCount) return this.assemble(nowMs);
    if (this.outstanding === 0) {
      this.window.grow();
      const roundMs = nowMs - this.requestSentMs;
      if (roundMs !== 0) {
        this.requestDataRate = (this.receivedBytes - this.receivedBytesAtRequest) / (roundMs / 1000);
        this.receivedBytesAtRequest = this.receivedBytes;
        this.window.noteFastRate(this.requestDataRate);
        this.window.noteVerySlowRate(this.requestDataRate);
      }
      this.requestNext(nowMs);
    }
  }

  /**
   * The requested part still missing whose map hash is `key`, or -1: first where the previous one was found
   * (in-order arrival costs one comparison), then anywhere in the request.
   */
  private findRequested(key: number): number {
    const req = this.requested;
    const c = this.requestedCursor;
    if (c < req.length && this.keys[req[c]!] === key && this.received[req[c]!] === 0) {
      this.requestedCursor = c + 1;
      return req[c]!;
    }
    for (let k = 0; k < req.length; k++) {
      const i = req[k]!;
      if (this.keys[i] === key && this.received[i] === 0) {
        this.requestedCursor = k + 1;
        return i;
      }
    }
    return -1;
  }

  /** Stores part `i` when its length is right; false (and counted) when it is not. */
  private store(i: number, part: Bytes): boolean {
    const expected = i === this.partCount - 1 ? this.adv.transferSize - i * this.sdu : this.sdu;
    if (part.length !== expected) {
      this.outbox.drop("bad-part-length");
      return false;
    }
    this.stream.set(part, i * this.sdu);
    this.received[i] = 1;
    this.receivedCount++;
    this.outstanding--;
    this.receivedBytes += part.length;
    while (this.consecutiveHeight + 1 < this.partCount && this.received[this.consecutiveHeight + 1] !== 0) this.consecutiveHeight++;
    return true;
  }

  /** The first part after a request measures the round trip and the request/response rate. */
  private firstResponse(packet: ReceivedPacket, nowMs: number): void {
    this.responseSeen = true;
    const rttMs = nowMs - this.requestSentMs;
    this.partTimeoutFactor = PART_TIMEOUT_FACTOR_AFTER_RTT;
    if (this.rttMs === null) this.rttMs = this.link.rttMs;
    else if (rttMs < this.rttMs) this.rttMs = Math.max(this.rttMs * 0.95, rttMs);
    else if (rttMs > this.rttMs) this.rttMs = Math.min(this.rttMs * 1.05, rttMs);
    if (rttMs > 0) {
      this.requestResponseRate = (packet.raw.length + this.requestSentBytes) / (rttMs / 1000);
      this.window.noteFastRate(this.requestResponseRate);
    }
  }

  private onHashmapUpdate(plaintext: Bytes | null, nowMs: number): void {
    if (plaintext === null) return this.outbox.drop("undecryptable");
    if (!namesResource(plaintext, this.hash)) return this.outbox.drop("other-resource");
    if (this.status !== "transferring" || !this.waitingForHmu) return this.outbox.drop("unexpected-hashmap-update");
    const update = decodeHashmapUpdate(plaintext);
    if (!update.ok) return this.outbox.drop("bad-hashmap-update");
    this.lastActivityMs = nowMs;
    this.retriesLeft = MAX_RETRIES;
    this.applyHashmap(update.value.segment, update.value.hashes, nowMs);
  }

  private applyHashmap(segment: number, hashes: Bytes, nowMs: number): void {
    const count = hashes.length / MAPHASH_LENGTH;
    if (count < 1) return this.cancel(nowMs, "failed", "empty hashmap update");
    const base = segment * HASHMAP_MAX_LENGTH;
    if (count > HASHMAP_MAX_LENGTH || base + count > this.partCount) return this.outbox.drop("bad-hashmap-update");
    for (let k = 0; k < count; k++) {
      const i = base + k;
      if (this.known[i] !== 0) continue; // a map hash once learnt is never replaced
      this.known[i] = 1;
      this.hashmapHeight++;
      this.keys[i] = mapKey(hashes, k * MAPHASH_LENGTH);
      // Four bytes: copied directly (a subarray per map hash cost more than the copy).
      for (let b = 0; b < MAPHASH_LENGTH; b++) this.hashmap[i * MAPHASH_LENGTH + b] = hashes[k * MAPHASH_LENGTH + b]!;
    }
    this.waitingForHmu = false;
    this.requestNext(nowMs);
  }

  private requestNext(nowMs: number): void {
    if (this.waitingForHmu || this.status !== "transferring") return;
    const requested: number[] = [];
    let exhausted = false;
    const start = this.consecutiveHeight + 1;
    const end = Math.min(start + this.window.window, this.partCount);
    for (let i = start; i < end; i++) {
      if (this.received[i] !== 0) continue;
      if (this.known[i] === 0) {
        exhausted = true;
        break;
      }
      requested.push(i);
    }
    const hashes = new Uint8Array(requested.length * MAPHASH_LENGTH);
    for (let k = 0; k < requested.length; k++) {
      const i = requested[k]!;
      for (let b = 0; b < MAPHASH_LENGTH; b++) hashes[k * MAPHASH_LENGTH + b] = this.hashmap[i * MAPHASH_LENGTH + b]!;
    }
    this.requestedKeysRepeat = keysRepeat(this.keys, requested);
    this.requestedCursor = 0;
    const last = this.hashmapHeight - 1;
    const plaintext = encodeRequest({
      exhausted,
      lastMapHash: exhausted ? this.hashmap.slice(last * MAPHASH_LENGTH, (last + 1) * MAPHASH_LENGTH) : null,
      hash: this.hash,
      requested: hashes,
    });
    if (exhausted) this.waitingForHmu = true;
    const packet = this.link.packet(Context.RESOURCE_REQ, plaintext);
    this.outbox.push(packet);
    this.requested = requested;
    this.outstanding = requested.length;
    this.lastActivityMs = nowMs;
    this.requestSentMs = nowMs;
    this.requestSentBytes = HEADER_1_LENGTH + packet.data.length;
    this.receivedBytesAtRequest = this.receivedBytes;
    this.responseSeen = false;
  }

  private assemble(nowMs: number): void {
    const assembled = assembleSegment(this.stream, this.adv, this.link, this.budgetBytes);
    if (!assembled.ok) return this.cancel(nowMs, "corrupt", assembled.why);
    const refused = this.inspect?.(assembled.data) ?? null;
    if (refused !== null) return this.cancel(nowMs, "corrupt", refused);
    this.data = assembled.data;
    this.status = "complete";
    this.release();
    this.proofPacket = this.link.packet(Context.RESOURCE_PRF, concat(this.hash, assembled.proof), PacketType.PROOF);
    this.proofPacketHash = packetHash(encodePacket(this.proofPacket, Number.MAX_SAFE_INTEGER));
    this.outbox.push(this.proofPacket);
  }

  /**
   * The stream buffer of a complete segment, once: every part of it is rewritten by the next segment before
   * that one assembles. `data` views into it (decrypted in place), so the caller copies the data out first.
   */
  takeStreamBuffer(): Uint8Array | null {
    const b = this.status === "complete" ? this.buffer : null;
    this.buffer = null;
    return b;
  }

  private release(): void {
    if (this.status !== "complete") this.buffer = null;
    this.stream = new Uint8Array(0);
    this.requested = [];
  }
}

/** Marks by the low 16 bits of a map hash, for keysRepeat (cleared again after each use). */
const keyMarks = new Uint8Array(0x10000);

/** Do any two of the parts `indices` share a map hash? Only keys whose 16-bit mark is taken are compared. */
function keysRepeat(keys: Uint32Array, indices: readonly number[]): boolean {
  let repeat = false;
  for (let k = 0; k < indices.length && !repeat; k++) {
    const key = keys[indices[k]!]!;
    if (keyMarks[key & 0xffff] !== 0) {
      for (let j = 0; j < k; j++) if (keys[indices[j]!] === key) repeat = true;
    }
    keyMarks[key & 0xffff] = 1;
  }
  for (const i of indices) keyMarks[keys[i]! & 0xffff] = 0;
  return repeat;
}

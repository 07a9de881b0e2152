// An incoming resource (RNS 1.4.2 Resource.accept and the receiving side), all its segments included: the
// engine accepts the first advertisement, then offers it every resource packet of the link.
//
// How the engine drives it:
//   - RESOURCE_ADV: first ask each receiver of the link `expectsAdvertisement(plaintext)`; the one that says yes
//     gets the packet through handle() (the next segment of a multi-segment resource, or a re-sent advertisement
//     of the current one). Otherwise `ResourceReceiver.accept(plaintext, ...)` starts a new one (segment 1 only).
//   - RESOURCE, RESOURCE_HMU, RESOURCE_ICL and CACHE_REQUEST go to handle(); a receiver ignores (and counts)
//     what is not its own, so handing every packet to every receiver on the link is correct.
//   - After every call: send takePackets(), read status/progress, and call tick() at nextDeadlineMs().
// Between segments the receiver waits for the next advertisement (same original hash, next index) and fails if
// none comes within the sender's advertisement retries. `data` and `metadata` are set once the last segment is in.
import { equal, type Bytes } from "../../core/bytes.js";
import { err, ok, type Result } from "../../core/result.js";
import type { RandomSource } from "../../core/ports.js";
import type { Packet, ReceivedPacket } from "../../wire/packet.js";
import { Context } from "../../wire/packet.js";
import type { ResourceLink } from "../types.js";
import { decodeAdvertisement, hasFlag, type Advertisement } from "./advertisement.js";
import { SegmentReceiver, type ReceiverStatus } from "./incoming.js";
import {
  DEFAULT_ESTABLISHMENT_COST_BYTES,
  Flag,
  MAX_ADV_RETRIES,
  MAX_EFFICIENT_SIZE,
  PROCESSING_GRACE_MS,
  RANDOM_HASH_LENGTH,
  TRAFFIC_TIMEOUT_FACTOR,
  limits,
  sduForMtu,
} from "./limits.js";
import { unpackb } from "./msgpack.js";
import { Outbox } from "./outbox.js";
import { resourceProgress } from "./segments.js";

export type { ReceiverStatus } from "./incoming.js";

/** Token bytes around the stream: IV, HMAC and at most one block of padding. */
const STREAM_OVERHEAD = 16 + 32 + 16;

export interface ReceiverOptions {
  link: ResourceLink;
  random: RandomSource;
  nowMs: number;
  /** Refuse resources whose data (metadata included) exceeds this, before and while inflating. */
  maxSizeBytes: number;
  /** The window and rate estimate the link's previous incoming resource ended with (`window`, `eifrBps`). */
  previousWindow?: number;
  previousEifrBps?: number;
  /** Bytes the link's establishment took; the first rate estimate is this per RTT. */
  establishmentCostBytes?: number;
}

export class ResourceReceiver {
  readonly originalHash: Bytes;
  readonly totalSegments: number;
  /** d: data and metadata bytes of the whole resource, as advertised. */
  readonly dataSize: number;
  readonly requestId: Bytes | null;
  readonly isRequest: boolean;
  readonly isResponse: boolean;
  readonly hasMetadata: boolean;
  private segment: SegmentReceiver;
  private readonly outbox = new Outbox();
  /** Multi-segment resources: the data so far, copied in as each segment completes. */
  private joined: Uint8Array | null = null;
  private joinedLength = 0;
  /** A finished segment's stream buffer, for the next segment to receive into (no fresh 1 MiB each time). */
  private spare: Uint8Array | null = null;
  private collectedBytes = 0;
  private readonly budgetBytes: number;
  private gapDeadlineMs = Infinity;
  private finalStatus: ReceiverStatus | null = null;
  private failureText: string | null = null;
  private assembled: Bytes | null = null;
  private meta: Record<string, unknown> | null = null;

  private constructor(
    private readonly link: ResourceLink,
    adv: Advertisement,
    private readonly o: ReceiverOptions,
  ) {
    this.originalHash = adv.originalHash;
    this.totalSegments = adv.totalSegments;
    this.dataSize = adv.dataSize;
    this.requestId = adv.requestId;
    this.isRequest = adv.requestId !== null && hasFlag(adv, Flag.IS_REQUEST);
    this.isResponse = adv.requestId !== null && hasFlag(adv, Flag.IS_RESPONSE);
    this.hasMetadata = hasFlag(adv, Flag.HAS_METADATA);
    this.budgetBytes = Math.min(adv.dataSize, o.maxSizeBytes);
    this.segment = this.startSegment(adv, o.nowMs, o.previousWindow, o.previousEifrBps ?? null);
  }

  /** Accepts the first segment's advertisement (decrypted RESOURCE_ADV plaintext); queues the first request. */
  static accept(adv: Uint8Array, o: ReceiverOptions): Result<ResourceReceiver> {
    if (!Number.isSafeInteger(o.maxSizeBytes) || o.maxSizeBytes < 0) throw new RangeError("maxSizeBytes must be a byte count");
    for (const [name, v] of [["previousEifrBps", o.previousEifrBps], ["establishmentCostBytes", o.establishmentCostBytes]] as const) {
      if (v !== undefined && !(Number.isFinite(v) && v > 0)) throw new RangeError(`${name} must be positive`);
    }
    const decoded = decodeAdvertisement(adv);
    if (!decoded.ok) return decoded;
    const a = decoded.value;
    if (a.segmentIndex !== 1) return err("bad-advertisement", `segment ${a.segmentIndex} without the segments before it`);
    if (!equal(a.hash, a.originalHash)) return err("bad-advertisement", "first segment whose hash is not the original hash");
    const maxSegments = a.dataSize <= MAX_EFFICIENT_SIZE ? 1 : Math.floor((a.dataSize - 1) / MAX_EFFICIENT_SIZE) + 1;
    if (a.totalSegments > maxSegments) return err("bad-advertisement", `${a.totalSegments} segments for ${a.dataSize} bytes`);
    if (a.dataSize > o.maxSizeBytes) return err("too-large", `resource of ${a.dataSize} bytes exceeds ${o.maxSizeBytes}`);
    const problem = segmentProblem(a, o.link, Math.min(a.dataSize, o.maxSizeBytes));
    if (problem !== null) return err("bad-advertisement", problem);
    return ok(new ResourceReceiver(o.link, a, o));
  }

  get status(): ReceiverStatus {
    if (this.finalStatus !== null) return this.finalStatus;
    return this.segment.status === "complete" ? "transferring" : this.segment.status;
  }

  get failure(): string | null {
    return this.failureText ?? this.segment.failure;
  }

  /** The current segment's hash (what RESOURCE_REQ/HMU/ICL/RCL and proofs name). */
  get hash(): Bytes {
    return this.segment.hash;
  }

  get segmentIndex(): number {
    return this.segment.adv.segmentIndex;
  }

  get compressed(): boolean {
    return hasFlag(this.segment.adv, Flag.COMPRESSED);
  }

  /** t of the current segment: bytes on the wire. */
  get transferSize(): number {
    return this.segment.adv.transferSize;
  }

  get progress(): number {
    if (this.finalStatus === "complete") return 1;
    return resourceProgress({
      segmentIndex: this.segmentIndex,
      totalSegments: this.totalSegments,
      doneParts: this.segment.receivedCount,
      segmentParts: this.segment.partCount,
      sdu: sduForMtu(this.link.mtu),
    });
  }

  /** The data (without metadata) once complete, else null. */
  get data(): Uint8Array | null {
    return this.assembled;
  }

  get metadata(): Record<string, unknown> | null {
    return this.meta;
  }

  /** The window to carry to the link's next incoming resource. */
  get window(): number {
    return this.segment.window.window;
  }

  /** The expected in-flight rate to carry to the link's next incoming resource. */
  get eifrBps(): number {
    return this.segment.eifrBps;
  }

  get drops(): Readonly<Record<string, number>> {
    return this.outbox.drops;
  }

  takePackets(): Packet[] {
    return this.outbox.take();
  }

  /** Is this advertisement the next segment of this resource, or a repeat of the current one? */
  expectsAdvertisement(plaintext: Uint8Array): boolean {
    const decoded = decodeAdvertisement(plaintext);
    if (!decoded.ok || !equal(decoded.value.originalHash, this.originalHash)) return false;
    return equal(decoded.value.hash, this.segment.hash) || (this.awaitingSegment && decoded.value.segmentIndex === this.segmentIndex + 1);
  }

  handle(packet: ReceivedPacket, plaintext: Uint8Array | null, nowMs: number): void {
    if (packet.context === Context.RESOURCE_ADV) return this.onAdvertisement(plaintext, nowMs);
    const wasTransferring = this.segment.status === "transferring";
    this.segment.handle(packet, plaintext, nowMs);
    if (wasTransferring && this.segment.status === "complete") this.segmentDone(nowMs);
  }

  cancel(nowMs: number): void {
    if (this.awaitingSegment) {
      this.finish("cancelled", "cancelled locally");
      return;
    }
    this.segment.cancel(nowMs, "cancelled", "cancelled locally");
  }

  nextDeadlineMs(): number {
    if (this.finalStatus !== null) return Infinity;
    return this.awaitingSegment ? this.gapDeadlineMs : this.segment.nextDeadlineMs();
  }

  tick(nowMs: number): void {
    if (this.finalStatus !== null) return;
    if (this.awaitingSegment) {
      if (nowMs >= this.gapDeadlineMs) this.finish("failed", `segment ${this.segmentIndex + 1} was never advertised`);
      return;
    }
    this.segment.tick(nowMs);
  }

  private get awaitingSegment(): boolean {
    return this.finalStatus === null && this.segment.status === "complete";
  }

  private onAdvertisement(plaintext: Uint8Array | null, nowMs: number): void {
    if (plaintext === null) return this.outbox.drop("undecryptable");
    const decoded = decodeAdvertisement(plaintext);
    if (!decoded.ok) return this.outbox.drop("bad-advertisement");
    const a = decoded.value;
    if (equal(a.hash, this.segment.hash)) return this.outbox.drop("duplicate-advertisement"); // the sender re-sent it
    if (!this.awaitingSegment || !equal(a.originalHash, this.originalHash) || a.segmentIndex !== this.segmentIndex + 1) {
      return this.outbox.drop("other-resource");
    }
    const consistent =
      a.totalSegments === this.totalSegments &&
      a.dataSize === this.dataSize &&
      hasFlag(a, Flag.HAS_METADATA) === this.hasMetadata &&
      (a.requestId === null ? this.requestId === null : this.requestId !== null && equal(a.requestId, this.requestId));
    const problem = consistent ? segmentProblem(a, this.link, this.budgetBytes - this.collectedBytes) : "inconsistent with segment 1";
    if (problem !== null) {
      this.outbox.drop("bad-advertisement");
      return this.finish("failed", `next segment refused: ${problem}`);
    }
    const previous = this.segment;
    this.segment = this.startSegment(a, nowMs, previous.window.window, previous.eifrBps);
    this.gapDeadlineMs = Infinity;
  }

  private startSegment(a: Advertisement, nowMs: number, window: number | undefined, eifr: number | null): SegmentReceiver {
    const first = a.segmentIndex === 1;
    return new SegmentReceiver({
      link: this.link,
      adv: a,
      outbox: this.outbox,
      nowMs,
      budgetBytes: this.budgetBytes - this.collectedBytes,
      ...(window !== undefined ? { window } : {}),
      previousEifrBps: eifr,
      establishmentCostBytes: this.o.establishmentCostBytes ?? DEFAULT_ESTABLISHMENT_COST_BYTES,
      ...(this.spare !== null ? { streamBuffer: this.takeSpare()! } : {}),
      ...(first && this.hasMetadata ? { inspect: (data: Bytes) => this.takeMetadata(data) } : {}),
    });
  }

  /** Splits the metadata prefix (3-byte length, msgpack map) off segment 1's data; returns a refusal or null. */
  private takeMetadata(data: Bytes): string | null {
    if (data.length < 3) return "metadata prefix missing";
    const size = (data[0]! << 16) | (data[1]! << 8) | data[2]!;
    if (3 + size > data.length) return "metadata longer than the data";
    const value = unpackb(data.subarray(3, 3 + size));
    if (!value.ok) return "metadata does not unpack";
    const v = value.value;
    if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map) return "metadata is not a map";
    this.meta = v as Record<string, unknown>;
    return null;
  }

  private takeSpare(): Uint8Array | null {
    const b = this.spare;
    this.spare = null;
    return b;
  }

  private segmentDone(nowMs: number): void {
    const whole = this.segment.data!;
    let data = whole;
    if (this.segmentIndex === 1 && this.hasMetadata) data = data.subarray(3 + ((data[0]! << 16) | (data[1]! << 8) | data[2]!));
    this.collectedBytes += whole.length;
    this.segment.data = null;
    if (this.totalSegments === 1) {
      this.assembled = data;
      return this.finish("complete", null);
    }
    // The data is a view into the segment's stream buffer: copy it out, then that buffer can take the next
    // segment. Not segment 1's when it carried metadata: unpacked metadata may still view into it.
    this.append(data, this.dataSize - (whole.length - data.length));
    if (!(this.segmentIndex === 1 && this.hasMetadata)) this.spare = this.segment.takeStreamBuffer();
    if (this.segmentIndex < this.totalSegments) {
      const advWindowMs = this.link.rttMs * TRAFFIC_TIMEOUT_FACTOR + PROCESSING_GRACE_MS;
      this.gapDeadlineMs = nowMs + limits.segmentGapGraceMs + (MAX_ADV_RETRIES + 1) * advWindowMs;
      return;
    }
    this.assembled = this.joined!.subarray(0, this.joinedLength);
    this.joined = null;
    this.spare = null;
    this.finish("complete", null);
  }

  /** Appends a segment's data; the buffer is sized for the advertised total and grows only past it. */
  private append(data: Bytes, expectedTotal: number): void {
    const need = this.joinedLength + data.length;
    if (this.joined === null || this.joined.length < need) {
      const grown = new Uint8Array(Math.max(need, this.joined === null ? expectedTotal : 0));
      if (this.joined !== null) grown.set(this.joined.subarray(0, this.joinedLength));
      this.joined = grown;
    }
    this.joined.set(data, this.joinedLength);
    this.joinedLength = need;
  }

  private finish(status: ReceiverStatus, reason: string | null): void {
    this.finalStatus = status;
    this.failureText = reason;
    if (status !== "complete") {
      this.joined = null;
      this.spare = null;
    }
  }
}

/** Why a segment's advertisement cannot be received on `link` within `budgetBytes`, or null. */
function segmentProblem(a: Advertisement, link: ResourceLink, budgetBytes: number): string | null {
  const sdu = sduForMtu(link.mtu);
  if (a.parts !== Math.ceil(a.transferSize / sdu)) return `${a.parts} parts for ${a.transferSize} bytes at ${sdu} per part`;
  if (hasFlag(a, Flag.SPLIT) !== a.totalSegments > 1) return "split flag disagrees with the segment count";
  if (hasFlag(a, Flag.ENCRYPTED) && (a.transferSize < 64 || (a.transferSize - 48) % 16 !== 0)) return "transfer size is no token length";
  if (!hasFlag(a, Flag.COMPRESSED) && a.transferSize > budgetBytes + RANDOM_HASH_LENGTH + STREAM_OVERHEAD) {
    return `transfer of ${a.transferSize} bytes exceeds the size limit`;
  }
  return null;
}

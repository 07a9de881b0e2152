// An outgoing resource (RNS 1.4.2 Resource, initiator side), all its segments included: data and optional
// metadata go out as one resource, or as segments of MAX_EFFICIENT_SIZE advertised one after another.
//
// How the engine drives it: construct, start(nowMs), then hand it the link's RESOURCE_REQ, RESOURCE_PRF and
// RESOURCE_RCL packets (those naming another resource are ignored and counted), send takePackets() after every
// call, and tick() at nextDeadlineMs(). When a segment's proof arrives the next segment is prepared and
// advertised at once; the resource is complete with the last segment's proof. `hash`, `status` and
// `transferSize` are the current segment's.
// Data goes out uncompressed: our advertisements never set the compressed flag.
import { concat, uintBE, type Bytes } from "../../core/bytes.js";
import type { RandomSource } from "../../core/ports.js";
import type { Packet, ReceivedPacket } from "../../wire/packet.js";
import type { ResourceLink } from "../types.js";
import { MAX_EFFICIENT_SIZE, METADATA_MAX_SIZE, sduForMtu } from "./limits.js";
import { packb } from "./msgpack.js";
import { Outbox } from "./outbox.js";
import { SegmentSender, isTerminal, type SenderStatus } from "./outgoing.js";
import { resourceProgress, segmentCount, segmentSlice } from "./segments.js";

export type { SenderStatus } from "./outgoing.js";

/** Request ids are truncated packet hashes; a longer one would not fit the advertisement in one packet. */
const MAX_REQUEST_ID_LENGTH = 16;

export interface SenderOptions {
  link: ResourceLink;
  data: Uint8Array;
  /** Packed with msgpack and sent ahead of the data, e.g. rncp's {"name": <file name bytes>}. */
  metadata?: Record<string, unknown>;
  /** Draws each segment's 4-byte stream prefix and 4-byte random hash (the link draws its own IVs). */
  random: RandomSource;
  nowMs: number;
  /** With requestId: this resource answers that request (else it carries one). */
  isResponse?: boolean;
  requestId?: Uint8Array;
  /** How long an advertisement waits for the first request; default the link RTT * TRAFFIC_TIMEOUT_FACTOR. */
  timeoutMs?: number;
}

export class ResourceSender {
  readonly totalSegments: number;
  /** d: data and metadata bytes. */
  readonly dataSize: number;
  readonly originalHash: Bytes;
  private readonly outbox = new Outbox();
  private readonly metadataPrefix: Bytes;
  private segment: SegmentSender;
  private index = 1;

  constructor(private readonly o: SenderOptions) {
    if (!(o.data instanceof Uint8Array)) throw new TypeError("resource data must be a Uint8Array");
    if (o.requestId !== undefined && (o.requestId.length === 0 || o.requestId.length > MAX_REQUEST_ID_LENGTH)) {
      throw new RangeError(`request id must be 1..${MAX_REQUEST_ID_LENGTH} bytes`);
    }
    this.metadataPrefix = new Uint8Array(0);
    if (o.metadata !== undefined) {
      const packed = packb(o.metadata);
      if (packed.length > METADATA_MAX_SIZE) throw new RangeError(`metadata of ${packed.length} bytes exceeds ${METADATA_MAX_SIZE}`);
      this.metadataPrefix = concat(uintBE(packed.length, 3), packed);
      if (this.metadataPrefix.length > MAX_EFFICIENT_SIZE) throw new RangeError("metadata must fit the first segment");
    }
    this.totalSegments = segmentCount(o.data.length, this.metadataPrefix.length);
    this.dataSize = o.data.length + this.metadataPrefix.length;
    this.segment = this.prepare(1, null, o.nowMs);
    this.originalHash = this.segment.hash;
  }

  /** Queues the first advertisement. */
  start(nowMs: number): void {
    this.segment.start(nowMs);
  }

  get status(): SenderStatus {
    return this.segment.status;
  }

  /** Why the transfer failed, when it did. */
  get failure(): string | null {
    return this.segment.failure;
  }

  /** The current segment's hash. */
  get hash(): Bytes {
    return this.segment.hash;
  }

  get segmentIndex(): number {
    return this.index;
  }

  /** t of the current segment. */
  get transferSize(): number {
    return this.segment.transferSize;
  }

  /** The current segment's RESOURCE_ADV plaintext. */
  get advertisement(): Bytes {
    return this.segment.advertisementPlaintext;
  }

  get progress(): number {
    if (this.segment.status === "complete") return 1;
    return resourceProgress({
      segmentIndex: this.index,
      totalSegments: this.totalSegments,
      doneParts: this.segment.sentParts,
      segmentParts: this.segment.partCount,
      sdu: sduForMtu(this.o.link.mtu),
    });
  }

  get drops(): Readonly<Record<string, number>> {
    return this.outbox.drops;
  }

  takePackets(): Packet[] {
    return this.outbox.take();
  }

  handle(packet: ReceivedPacket, plaintext: Uint8Array | null, nowMs: number): void {
    const before = this.segment.status;
    this.segment.handle(packet, plaintext, nowMs);
    if (before !== "complete" && this.segment.status === "complete" && this.index < this.totalSegments) {
      this.segment = this.prepare(this.index + 1, this.originalHash, nowMs);
      this.segment.start(nowMs);
    }
  }

  cancel(nowMs: number): void {
    if (this.segment.status === "queued") {
      this.segment.status = "cancelled";
      return;
    }
    if (!isTerminal(this.segment.status)) this.segment.cancel(nowMs, "cancelled", "cancelled locally");
  }

  nextDeadlineMs(): number {
    return this.segment.nextDeadlineMs();
  }

  tick(nowMs: number): void {
    this.segment.tick(nowMs);
  }

  private prepare(index: number, originalHash: Bytes | null, nowMs: number): SegmentSender {
    this.index = index;
    const slice = segmentSlice(index, this.totalSegments, this.o.data.length, this.metadataPrefix.length);
    const body = this.o.data.subarray(slice.dataOffset, slice.dataOffset + slice.dataLength);
    return new SegmentSender(
      this.o.link,
      {
        data: index === 1 && this.metadataPrefix.length > 0 ? concat(this.metadataPrefix, body) : body,
        segmentIndex: index,
        totalSegments: this.totalSegments,
        totalSize: this.dataSize,
        originalHash,
        hasMetadata: this.metadataPrefix.length > 0,
        requestId: this.o.requestId ?? null,
        isResponse: this.o.isResponse ?? false,
      },
      this.o.random,
      this.outbox,
      nowMs,
      this.o.timeoutMs,
    );
  }
}

// One segment of an outgoing resource: the initiator side of RNS 1.4.2 Resource (advertise, request,
// validate_proof and the watchdog's sender branches), as a sans-IO machine. sender.ts chains segments.
//
// How it works:
//   queued --start--> advertised --first RESOURCE_REQ--> transferring --every part sent--> awaiting-proof
//     --RESOURCE_PRF with the expected proof--> complete
//   advertised: no request within timeout + PROCESSING_GRACE re-sends the advertisement, MAX_ADV_RETRIES times.
//   transferring: each request is answered with the requested parts found within COLLISION_GUARD_SIZE parts of
//     the receiver's progress, and with the next hashmap segment (RESOURCE_HMU) when the receiver ran out of map
//     hashes. Silence for rtt * factor * MAX_RETRIES + SENDER_GRACE + the receiver's retry delays fails it.
//   awaiting-proof: no proof within rtt * PROOF_TIMEOUT_FACTOR + SENDER_GRACE asks the network for the proof
//     packet (CACHE_REQUEST with its packet hash), MAX_PROOF_RETRIES times, then fails.
//   RESOURCE_RCL from the receiver: rejected. cancel() or a failure sends RESOURCE_ICL.
import { concat, equal, toHex, type Bytes } from "../../core/bytes.js";
import { assert } from "../../core/assert.js";
import type { RandomSource } from "../../core/ports.js";
import { sha256WithTails } from "../../crypto/hashes.js";
import { Context, PacketType, encodePacket, packetHash, type ReceivedPacket } from "../../wire/packet.js";
import type { ResourceLink } from "../types.js";
import { advertisementFlags, encodeAdvertisement } from "./advertisement.js";
import { buildHashmap, decodeRequest, encodeHashmapUpdate, hashmapSegment, mapKey, namesResource } from "./hashmap.js";
import {
  COLLISION_GUARD_SIZE,
  HASHMAP_MAX_LENGTH,
  MAPHASH_LENGTH,
  MAX_ADV_RETRIES,
  MAX_PROOF_RETRIES,
  MAX_RETRIES,
  PER_RETRY_DELAY_MS,
  PROCESSING_GRACE_MS,
  PROOF_TIMEOUT_FACTOR,
  RANDOM_HASH_LENGTH,
  RESOURCE_HASH_LENGTH,
  SENDER_GRACE_MS,
  TRAFFIC_TIMEOUT_FACTOR,
  WINDOW_MAX_FAST,
  limits,
  sduForMtu,
} from "./limits.js";
import type { Outbox } from "./outbox.js";

export type SenderStatus = "queued" | "advertised" | "transferring" | "awaiting-proof" | "complete" | "failed" | "cancelled" | "rejected";

const TERMINAL: ReadonlySet<SenderStatus> = new Set(["complete", "failed", "cancelled", "rejected"]);
export const isTerminal = (s: SenderStatus): boolean => TERMINAL.has(s);

/** The longest a receiver waits between retries in total (sum of (r + 1) * PER_RETRY_DELAY over its retries). */
const RECEIVER_RETRY_DELAYS_MS = (PER_RETRY_DELAY_MS * MAX_RETRIES * (MAX_RETRIES + 1)) / 2;

export interface SegmentSpec {
  /** This segment's data; segment 1 starts with the metadata prefix. */
  data: Bytes;
  segmentIndex: number;
  totalSegments: number;
  /** d: data and metadata bytes of the whole resource. */
  totalSize: number;
  /** The first segment's hash; null for the first segment itself. */
  originalHash: Bytes | null;
  hasMetadata: boolean;
  requestId: Bytes | null;
  isResponse: boolean;
}

export class SegmentSender {
  readonly hash: Bytes;
  readonly randomHash: Bytes;
  readonly originalHash: Bytes;
  readonly expectedProof: Bytes;
  readonly partCount: number;
  readonly transferSize: number;
  status: SenderStatus = "queued";
  sentParts = 0;
  failure: string | null = null;

  private readonly sdu: number;
  private readonly stream: Bytes;
  private readonly hashmap: Bytes;
  private readonly keys: Uint32Array;
  private readonly sent: Uint8Array;
  private readonly advertisement: Bytes;
  private readonly advTimeoutMs: number;
  private advSentMs = 0;
  private lastActivityMs: number;
  private lastPartSentMs = 0;
  private rttMs: number | null = null;
  private retriesLeft = 0;
  private timeoutFactor = TRAFFIC_TIMEOUT_FACTOR;
  private receiverMinHeight = 0;
  private readonly recentRequests: string[] = [];

  constructor(
    private readonly link: ResourceLink,
    spec: SegmentSpec,
    random: RandomSource,
    private readonly outbox: Outbox,
    nowMs: number,
    timeoutMs?: number,
  ) {
    this.sdu = sduForMtu(link.mtu);
    if (this.sdu < 1) throw new RangeError(`link MTU ${link.mtu} leaves no room for resource parts`);
    // The stream: a random prefix (so equal data never gives equal ciphertext) and the data, encrypted whole.
    this.stream = link.encrypt([random.bytes(RANDOM_HASH_LENGTH), spec.data]);
    this.partCount = Math.ceil(this.stream.length / this.sdu);
    this.transferSize = this.stream.length;
    let map: ReturnType<typeof buildHashmap> = null;
    let randomHash: Bytes = new Uint8Array(0);
    for (let attempt = 0; map === null && attempt < limits.maxHashmapRemaps; attempt++) {
      randomHash = random.bytes(RANDOM_HASH_LENGTH);
      map = buildHashmap(this.stream, this.sdu, randomHash);
    }
    assert(map !== null, "map hashes kept colliding: the random source is broken");
    this.randomHash = randomHash;
    this.hashmap = map.hashmap;
    this.keys = map.keys;
    this.sent = new Uint8Array(this.partCount);
    // SHA-256(data || random hash) and the proof SHA-256(data || hash): one pass over the data for both.
    const withTail = sha256WithTails(spec.data);
    this.hash = withTail(randomHash);
    this.expectedProof = withTail(this.hash);
    this.originalHash = spec.originalHash ?? this.hash;
    this.advertisement = encodeAdvertisement({
      transferSize: this.transferSize,
      dataSize: spec.totalSize,
      parts: this.partCount,
      hash: this.hash,
      randomHash,
      originalHash: this.originalHash,
      segmentIndex: spec.segmentIndex,
      totalSegments: spec.totalSegments,
      requestId: spec.requestId,
      flags: advertisementFlags({
        encrypted: true,
        compressed: false,
        split: spec.totalSegments > 1,
        isRequest: spec.requestId !== null && !spec.isResponse,
        isResponse: spec.requestId !== null && spec.isResponse,
        hasMetadata: spec.hasMetadata,
      }),
      hashmap: hashmapSegment(this.hashmap, 0),
    });
    this.advTimeoutMs = timeoutMs ?? link.rttMs * TRAFFIC_TIMEOUT_FACTOR;
    this.lastActivityMs = nowMs;
  }

  /** The RESOURCE_ADV plaintext (the same bytes on every retry; the link encrypts each copy afresh). */
  get advertisementPlaintext(): Bytes {
    return this.advertisement;
  }

  start(nowMs: number): void {
    if (this.status !== "queued") throw new TypeError(`resource segment already ${this.status}`);
    this.advertise(nowMs);
    this.retriesLeft = MAX_ADV_RETRIES;
  }

  handle(packet: ReceivedPacket, plaintext: Bytes | null, nowMs: number): void {
    switch (packet.context) {
      case Context.RESOURCE_REQ:
        return this.onRequest(packet, plaintext, nowMs);
      case Context.RESOURCE_PRF:
        return this.onProof(packet.data);
      case Context.RESOURCE_RCL:
        if (plaintext === null) return this.outbox.drop("undecryptable");
        if (!namesResource(plaintext, this.hash)) return this.outbox.drop("other-resource");
        if (!isTerminal(this.status)) this.status = "rejected";
        return;
      default:
        return this.outbox.drop("unknown-context");
    }
  }

  cancel(nowMs: number, status: "cancelled" | "failed" = "cancelled", reason: string | null = null): void {
    void nowMs;
    if (isTerminal(this.status)) return;
    this.status = status;
    this.failure = reason;
    this.outbox.push(this.link.packet(Context.RESOURCE_ICL, this.hash));
  }

  nextDeadlineMs(): number {
    switch (this.status) {
      case "advertised":
        return this.advSentMs + this.advTimeoutMs + PROCESSING_GRACE_MS;
      case "transferring":
        return this.lastActivityMs + (this.rttMs ?? 0) * this.timeoutFactor * MAX_RETRIES + SENDER_GRACE_MS + RECEIVER_RETRY_DELAYS_MS;
      case "awaiting-proof":
        return this.lastPartSentMs + (this.rttMs ?? 0) * this.timeoutFactor + SENDER_GRACE_MS;
      default:
        return Infinity;
    }
  }

  tick(nowMs: number): void {
    if (nowMs < this.nextDeadlineMs()) return;
    if (this.status === "advertised") {
      if (this.retriesLeft <= 0) return this.cancel(nowMs, "failed", "no request after the advertisement");
      this.retriesLeft--;
      this.advertise(nowMs);
    } else if (this.status === "transferring") {
      this.cancel(nowMs, "failed", "no part requests");
    } else if (this.status === "awaiting-proof") {
      if (this.retriesLeft <= 0) return this.cancel(nowMs, "failed", "no proof");
      this.retriesLeft--;
      this.outbox.push(this.link.packet(Context.CACHE_REQUEST, this.proofPacketHash()));
      this.lastPartSentMs = nowMs;
    }
  }

  private advertise(nowMs: number): void {
    this.outbox.push(this.link.packet(Context.RESOURCE_ADV, this.advertisement));
    this.status = "advertised";
    this.advSentMs = nowMs;
    this.lastActivityMs = nowMs;
    this.rttMs = null;
  }

  private onRequest(packet: ReceivedPacket, plaintext: Bytes | null, nowMs: number): void {
    if (plaintext === null) return this.outbox.drop("undecryptable");
    const decoded = decodeRequest(plaintext);
    if (!decoded.ok) return this.outbox.drop("bad-request");
    const req = decoded.value;
    if (!equal(req.hash, this.hash)) return this.outbox.drop("other-resource");
    if (this.status === "queued" || isTerminal(this.status)) return this.outbox.drop("not-transferring");
    // A request delivered twice (same packet) must not be answered twice: the hashmap sequencing would break.
    const id = toHex(packetHash(packet.raw));
    if (this.recentRequests.includes(id)) return this.outbox.drop("duplicate-request");
    this.recentRequests.push(id);
    if (this.recentRequests.length > limits.recentRequests) this.recentRequests.shift();

    if (this.rttMs === null) this.rttMs = nowMs - this.advSentMs;
    this.status = "transferring";
    this.retriesLeft = MAX_RETRIES;

    const wanted = new Set<number>();
    for (let o = 0; o < req.requested.length; o += MAPHASH_LENGTH) wanted.add(mapKey(req.requested, o));
    const scopeEnd = Math.min(this.receiverMinHeight + COLLISION_GUARD_SIZE, this.partCount);
    // Map hashes are unique within any COLLISION_GUARD_SIZE parts (buildHashmap), so each requested hash
    // names at most one part of the scope, and the search ends when all are found.
    let found = 0;
    for (let i = this.receiverMinHeight; i < scopeEnd && found < wanted.size; i++) {
      if (!wanted.has(this.keys[i]!)) continue;
      found++;
      this.outbox.push(this.link.packet(Context.RESOURCE, this.part(i)));
      if (this.sent[i] === 0) {
        this.sent[i] = 1;
        this.sentParts++;
      }
      this.lastActivityMs = nowMs;
      this.lastPartSentMs = nowMs;
    }

    if (req.exhausted) {
      // The receiver holds map hashes up to `lastMapHash`: find it and send the hashmap segment after it.
      const lastKey = mapKey(req.lastMapHash!);
      let partIndex = this.receiverMinHeight;
      for (let i = this.receiverMinHeight; i < scopeEnd; i++) {
        partIndex++;
        if (this.keys[i] === lastKey) break;
      }
      this.receiverMinHeight = Math.max(partIndex - 1 - WINDOW_MAX_FAST, 0);
      if (partIndex % HASHMAP_MAX_LENGTH !== 0) return this.cancel(nowMs, "failed", "hashmap sequencing error");
      const segment = partIndex / HASHMAP_MAX_LENGTH;
      const hashes = hashmapSegment(this.hashmap, segment);
      if (hashes.length === 0) return this.cancel(nowMs, "failed", "hashmap update past the last part");
      this.outbox.push(this.link.packet(Context.RESOURCE_HMU, encodeHashmapUpdate({ hash: this.hash, segment, hashes })));
      this.lastActivityMs = nowMs;
    }

    if (this.sentParts === this.partCount) {
      this.status = "awaiting-proof";
      this.retriesLeft = MAX_PROOF_RETRIES;
      this.timeoutFactor = PROOF_TIMEOUT_FACTOR;
    }
  }

  private onProof(data: Bytes): void {
    if (!namesResource(data, this.hash)) return this.outbox.drop("other-resource");
    if (isTerminal(this.status)) return this.outbox.drop("not-transferring");
    if (data.length !== 2 * RESOURCE_HASH_LENGTH || !equal(data.subarray(RESOURCE_HASH_LENGTH), this.expectedProof)) {
      return this.outbox.drop("bad-proof");
    }
    this.status = "complete";
  }

  private part(i: number): Bytes {
    return this.stream.subarray(i * this.sdu, Math.min((i + 1) * this.sdu, this.stream.length));
  }

  /** The packet hash of the proof the receiver sends, which a CACHE_REQUEST names. */
  private proofPacketHash(): Bytes {
    const proof = this.link.packet(Context.RESOURCE_PRF, concat(this.hash, this.expectedProof), PacketType.PROOF);
    return packetHash(encodePacket(proof, Number.MAX_SAFE_INTEGER));
  }
}

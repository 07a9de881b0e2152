// The private state of one Link and the primitives every part of it uses (building, counting, queueing,
// closing). link.ts keeps the state in a private field and hands it to inbound.ts, outbound.ts and watchdog.ts;
// none of this is part of the link's public surface.
import type { KeyObject } from "node:crypto";
import type { Bytes } from "../../core/bytes.js";
import { HEADER_1_LENGTH } from "../../core/limits.js";
import type { RandomSource } from "../../core/ports.js";
import type { DropReason } from "../../core/result.js";
import type { Identity } from "../../crypto/identity.js";
import type { Token } from "../../crypto/token.js";
import { Context, type Packet, type PacketTypeValue, type ReceivedPacket } from "../../wire/packet.js";
import type { LinkEvent } from "../types.js";
import { DeadlineTable } from "./deadlines.js";
import type { LinkSigner, SignatureCheck } from "./keys.js";
import { linkLimits } from "./limits.js";
import { Liveness } from "./liveness.js";
import { linkPacket, sentInClear } from "./packets.js";

export type LinkStatus = "pending" | "handshake" | "active" | "stale" | "closed";
export type CloseReason = "local" | "remote" | "timeout" | "failed";

/** The public fields of a Link that the machine's parts update. */
export interface LinkView {
  readonly linkId: Bytes;
  readonly initiator: boolean;
  status: LinkStatus;
  rttMs: number;
  remoteIdentity: Identity | null;
}

export interface Counters {
  txPackets: number;
  rxPackets: number;
  txBytes: number;
  rxBytes: number;
  establishmentCostBytes: number;
  droppedEvents: number;
  droppedPackets: number;
}

export interface LinkState {
  readonly link: LinkView;
  mtu: number;
  /** The MTU the initiator signalled (the most it accepts from the proof). */
  requestedMtu: number;
  readonly random: RandomSource;
  /** Our signing key on this link. */
  readonly signer: LinkSigner;
  /** The one Token of the link, from the derived key; null before the handshake and after close. */
  token: Token | null;
  /** The initiator's X25519 key, kept until the proof arrives. */
  ownX25519: KeyObject | null;
  /** Checks the peer's signatures: the destination identity, or the initiator's ephemeral Ed25519 key. */
  peerCheck: SignatureCheck | null;
  /** Initiator: the identity that must sign the LRPROOF. */
  destinationIdentity: Identity | null;
  requestedAtMs: number;
  establishmentTimeoutMs: number;
  staleSinceMs: number | null;
  /** The latest time the link was told. */
  nowMs: number;
  readonly live: Liveness;
  packets: Packet[];
  events: LinkEvent[];
  /** Responder: requests that arrived before the RTT packet, handled once it activates the link. */
  heldRequests: Array<{ packet: ReceivedPacket; plaintext: Bytes }>;
  /** Requests we sent, by request id, awaiting a response. */
  readonly requests: DeadlineTable<{ timeoutMs: number }>;
  /** Packets we sent with a receipt, by full packet hash, awaiting a proof. */
  readonly receipts: DeadlineTable<null>;
  readonly stats: Counters;
  readonly drops: Partial<Record<DropReason, number>>;
}

export function createState(o: {
  link: LinkView;
  mtu: number;
  random: RandomSource;
  signer: LinkSigner;
  nowMs: number;
  establishmentTimeoutMs: number;
}): LinkState {
  return {
    link: o.link,
    mtu: o.mtu,
    requestedMtu: o.mtu,
    random: o.random,
    signer: o.signer,
    token: null,
    ownX25519: null,
    peerCheck: null,
    destinationIdentity: null,
    requestedAtMs: o.nowMs,
    establishmentTimeoutMs: o.establishmentTimeoutMs,
    staleSinceMs: null,
    nowMs: o.nowMs,
    live: new Liveness(o.link.initiator),
    packets: [],
    events: [],
    heldRequests: [],
    requests: new DeadlineTable<{ timeoutMs: number }>(linkLimits.maxPendingRequests),
    receipts: new DeadlineTable<null>(linkLimits.maxReceipts),
    stats: { txPackets: 0, rxPackets: 0, txBytes: 0, rxBytes: 0, establishmentCostBytes: 0, droppedEvents: 0, droppedPackets: 0 },
    drops: {},
  };
}

/** Counts remote input that was not acted on. */
export function drop(s: LinkState, reason: DropReason): void {
  s.drops[reason] = (s.drops[reason] ?? 0) + 1;
}

/** Moves the link's notion of now forward (never back). */
export function advance(s: LinkState, nowMs: number): void {
  if (!Number.isFinite(nowMs)) throw new RangeError("nowMs must be a finite number");
  if (nowMs > s.nowMs) s.nowMs = nowMs;
}

export function requireKey(s: LinkState): Token {
  if (s.link.status === "closed") throw new TypeError("link is closed");
  if (s.token === null) throw new TypeError("link is not established");
  return s.token;
}

/** A link packet for `payload`, encrypted unless the reference sends that type and context in clear. */
export function build(s: LinkState, packetType: PacketTypeValue, context: number, payload: Bytes): Packet {
  if (s.link.status === "closed") throw new TypeError("link is closed");
  const data = sentInClear(packetType, context) ? payload : requireKey(s).encrypt(payload, s.random);
  if (HEADER_1_LENGTH + data.length > s.mtu) {
    throw new RangeError(`link packet of ${HEADER_1_LENGTH + data.length} bytes exceeds the link MTU of ${s.mtu}`);
  }
  return linkPacket(s.link.linkId, packetType, context, data);
}

/** Counts a packet as sent at nowMs (the reference counts at Packet.send). */
export function markSent(s: LinkState, p: Packet, nowMs: number): void {
  s.stats.txPackets++;
  s.stats.txBytes += p.data.length;
  s.live.outbound(nowMs, p.context === Context.KEEPALIVE);
}

/** Builds, counts and queues a packet the link sends on its own (for takePackets). */
export function sendOwn(s: LinkState, packetType: PacketTypeValue, context: number, payload: Bytes, nowMs: number): void {
  const p = build(s, packetType, context, payload);
  markSent(s, p, nowMs);
  if (s.packets.length >= linkLimits.maxQueuedPackets) {
    s.packets.shift();
    s.stats.droppedPackets++;
  }
  s.packets.push(p);
}

export function emit(s: LinkState, e: LinkEvent): void {
  if (s.events.length >= linkLimits.maxQueuedEvents) {
    s.events.shift();
    s.stats.droppedEvents++;
  }
  s.events.push(e);
}

/** Closes the link: forgets its keys, fails what waits on it, and reports why. */
export function closeLink(s: LinkState, reason: CloseReason): void {
  s.link.status = "closed";
  s.token = null;
  s.ownX25519 = null;
  s.receipts.clear();
  s.heldRequests = [];
  for (const e of s.requests.clear()) emit(s, { kind: "request-failed", requestId: e.key, reason: "closed" });
  emit(s, { kind: "closed", reason });
}

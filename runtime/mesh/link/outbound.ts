// The send side of a link (RNS 1.4.2: Packet.send on a link, Link.request, handle_request's response,
// identify, prove_packet, teardown). Each function returns the packet for the engine to send; local misuse
// (no key yet, a closed link, a payload over the MTU) throws.
import { concat, equal, type Bytes } from "../../core/bytes.js";
import { assertLength } from "../../core/assert.js";
import { TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import type { Identity } from "../../crypto/identity.js";
import { truncatedHash } from "../../crypto/hashes.js";
import { pathHash } from "../../wire/destination.js";
import { Context, PacketType, type Packet, type ReceivedPacket } from "../../wire/packet.js";
import { provePayload } from "./inbound.js";
import { linkLimits, linkMdu } from "./limits.js";
import { linkPacketHash, linkPacketTruncatedHash } from "./packets.js";
import { packRequest, packResponse } from "./requests.js";
import { build, closeLink, emit, markSent, requireKey, type LinkState } from "./state.js";
import { receiptTimeoutMs, requestTimeoutMs } from "./timing.js";

/** Contexts only the link itself sends; sendData() refuses them. */
const LINK_CONTEXTS: ReadonlySet<number> = new Set([
  Context.KEEPALIVE, Context.LINKIDENTIFY, Context.LINKCLOSE, Context.LINKPROOF, Context.LRRTT, Context.LRPROOF,
  Context.REQUEST, Context.RESPONSE,
]);

export interface SendOptions {
  /** Track the packet until the peer proves it ("proof") or the receipt times out ("receipt-timeout"). */
  receipt?: boolean;
  /** Receipt timeout; the reference's default is max(rtt * 6, 5 ms). */
  receiptTimeoutMs?: number;
}

export function sendData(s: LinkState, plaintext: Bytes, nowMs: number, context: number, options: SendOptions): Packet {
  if (LINK_CONTEXTS.has(context)) throw new RangeError(`context 0x${context.toString(16)} is the link's own`);
  const p = build(s, PacketType.DATA, context, plaintext);
  markSent(s, p, nowMs);
  if (options.receipt === true) {
    const deadlineMs = nowMs + (options.receiptTimeoutMs ?? receiptTimeoutMs(s.link.rttMs));
    const evicted = s.receipts.add(linkPacketHash(p), deadlineMs, null);
    if (evicted !== null) emit(s, { kind: "receipt-timeout", packetHash: evicted.key });
  }
  return p;
}

/**
 * A request: one REQUEST packet, whose truncated hash is the request id, when the packed request fits the
 * link MDU; otherwise packet null, the id is the truncated hash of the packed request and a "needs-resource"
 * event hands it to the engine.
 */
export function sendRequest(s: LinkState, path: string, data: unknown, nowMs: number, timeoutMs?: number): { requestId: Bytes; packet: Packet | null } {
  requireKey(s);
  const timeout = timeoutMs ?? requestTimeoutMs(s.link.rttMs);
  if (!(timeout > 0)) throw new RangeError("request timeout must be positive");
  if (s.requests.size >= linkLimits.maxPendingRequests) throw new RangeError(`more than ${linkLimits.maxPendingRequests} requests pending`);
  const packed = packRequest(nowMs, pathHash(path), data);
  let requestId: Bytes;
  let packet: Packet | null = null;
  if (packed.length <= linkMdu(s.mtu)) {
    packet = build(s, PacketType.DATA, Context.REQUEST, packed);
    requestId = linkPacketTruncatedHash(packet);
    markSent(s, packet, nowMs);
  } else {
    requestId = truncatedHash(packed);
    emit(s, { kind: "needs-resource", requestId, payload: packed, isResponse: false });
  }
  s.requests.add(requestId, nowMs + timeout, { timeoutMs: timeout });
  return { requestId, packet };
}

/** A response: one RESPONSE packet, or null and a "needs-resource" event when it exceeds the link MDU. */
export function sendResponse(s: LinkState, requestId: Bytes, data: unknown, nowMs: number): Packet | null {
  assertLength(requestId, TRUNCATED_HASH_LENGTH, "request id");
  requireKey(s);
  const packed = packResponse(requestId, data);
  if (packed.length > linkMdu(s.mtu)) {
    emit(s, { kind: "needs-resource", requestId: requestId.slice(), payload: packed, isResponse: true });
    return null;
  }
  const p = build(s, PacketType.DATA, Context.RESPONSE, packed);
  markSent(s, p, nowMs);
  return p;
}

/** LINKIDENTIFY: public key || signature over link id || public key (initiator only, once established). */
export function sendIdentify(s: LinkState, identity: Identity, nowMs: number): Packet {
  if (!s.link.initiator) throw new TypeError("only the initiator of a link identifies itself");
  if (s.link.status !== "active" && s.link.status !== "stale") throw new TypeError(`cannot identify on a ${s.link.status} link`);
  const signature = identity.sign(concat(s.link.linkId, identity.publicKey));
  const p = build(s, PacketType.DATA, Context.LINKIDENTIFY, concat(identity.publicKey, signature));
  markSent(s, p, nowMs);
  return p;
}

/** An explicit proof of a packet received on this link, in clear (the reference never sends implicit ones here). */
export function sendProof(s: LinkState, packet: ReceivedPacket): Packet {
  if (!equal(packet.destinationHash, s.link.linkId)) throw new TypeError("the packet was not received on this link");
  const p = build(s, PacketType.PROOF, Context.NONE, provePayload(s, packet));
  markSent(s, p, s.nowMs);
  return p;
}

/** LINKCLOSE carrying the link id, encrypted; null for a pending link, which has no key to tell anyone with. */
export function sendClose(s: LinkState, nowMs: number): Packet | null {
  if (s.link.status === "closed") return null;
  let p: Packet | null = null;
  if (s.token !== null) {
    p = build(s, PacketType.DATA, Context.LINKCLOSE, s.link.linkId);
    markSent(s, p, nowMs);
  }
  closeLink(s, "local");
  return p;
}

/** A packet for a Resource on this link (ResourceLink.packet), counted as sent now. */
export function resourcePacket(s: LinkState, context: number, data: Bytes, packetType: number): Packet {
  if (packetType !== PacketType.DATA && packetType !== PacketType.PROOF) throw new RangeError("link packets are DATA or PROOF");
  const p = build(s, packetType, context, data);
  markSent(s, p, s.nowMs);
  return p;
}

// The receive side of a link (RNS 1.4.2: Link.validate_proof, receive, rtt_packet, teardown_packet, and
// PacketReceipt.validate_link_proof). Remote input never throws: what does not fit is dropped and counted.
// Unlike the reference, only packets that decrypt (and well-formed keepalives and resource parts, which the
// link cannot authenticate) count as traffic, and a forged LRPROOF leaves the link waiting for the genuine
// one instead of spoiling the handshake.
import { concat, equal, type Bytes } from "../../core/bytes.js";
import { FULL_HASH_LENGTH, MTU, PUBLIC_KEY_LENGTH, SIGNATURE_LENGTH } from "../../core/limits.js";
import { Identity } from "../../crypto/identity.js";
import { Token } from "../../crypto/token.js";
import { truncatedHash } from "../../crypto/hashes.js";
import { Context, DestinationType, PacketType, packetHash, truncatedPacketHash, type ReceivedPacket } from "../../wire/packet.js";
import { parseLinkProof, proofSignedData } from "./handshake.js";
import { deriveLinkKey } from "./keys.js";
import { linkLimits, MODE_AES256_CBC } from "./limits.js";
import { Float64, packMsgpack, unpackMsgpack } from "./msgpack.js";
import { parseRequest, parseResponse } from "./requests.js";
import { closeLink, drop, emit, sendOwn, type LinkState } from "./state.js";

/** DATA contexts a link decrypts and acts on or passes up; anything else is dropped unread. */
const ENCRYPTED_CONTEXTS: ReadonlySet<number> = new Set([
  Context.NONE, Context.RESOURCE_ADV, Context.RESOURCE_REQ, Context.RESOURCE_HMU, Context.RESOURCE_ICL,
  Context.RESOURCE_RCL, Context.REQUEST, Context.RESPONSE, Context.CHANNEL, Context.LINKIDENTIFY,
  Context.LINKCLOSE, Context.LRRTT,
]);

export function handleLinkPacket(s: LinkState, packet: ReceivedPacket, nowMs: number): void {
  if (!equal(packet.destinationHash, s.link.linkId)) return drop(s, "bad-destination");
  if (packet.destinationType !== DestinationType.LINK) return drop(s, "bad-flags");
  if (s.link.status === "closed") return drop(s, "bad-state");
  if (packet.packetType === PacketType.PROOF) {
    if (packet.context === Context.LRPROOF) return onLinkProof(s, packet, nowMs);
    if (packet.context === Context.RESOURCE_PRF) {
      heard(s, packet, nowMs, false);
      return emit(s, { kind: "data", context: packet.context, plaintext: packet.data, packet });
    }
    return onPacketProof(s, packet, nowMs);
  }
  if (packet.packetType !== PacketType.DATA) return drop(s, "bad-flags");
  const context = packet.context;
  if (context === Context.KEEPALIVE) return onKeepalive(s, packet, nowMs);
  if (context === Context.RESOURCE) {
    // Resource parts are encrypted by the resource, not by the link.
    heard(s, packet, nowMs, false);
    return emit(s, { kind: "data", context, plaintext: packet.data, packet });
  }
  if (!ENCRYPTED_CONTEXTS.has(context)) return drop(s, "unknown");
  if (s.token === null) return drop(s, "bad-state");
  const opened = s.token.decrypt(packet.data);
  if (!opened.ok) return drop(s, opened.reason);
  const plaintext = opened.value;
  heard(s, packet, nowMs, false);
  switch (context) {
    case Context.LRRTT:
      return onRtt(s, plaintext, nowMs);
    case Context.LINKCLOSE:
      if (!equal(plaintext, s.link.linkId)) return drop(s, "bad-encoding");
      return closeLink(s, "remote");
    case Context.LINKIDENTIFY:
      return onIdentify(s, plaintext);
    case Context.REQUEST:
      return onRequest(s, packet, plaintext);
    case Context.RESPONSE:
      return onResponse(s, plaintext);
    case Context.CHANNEL:
      // The reference proves every channel packet it receives; its Channel relies on those proofs.
      sendOwn(s, PacketType.PROOF, Context.NONE, provePayload(s, packet), nowMs);
      return emit(s, { kind: "data", context, plaintext, packet });
    default:
      return emit(s, { kind: "data", context, plaintext, packet });
  }
}

/** An authenticated packet arrived: it counts as traffic and revives a stale link. */
function heard(s: LinkState, packet: ReceivedPacket, nowMs: number, keepalive: boolean): void {
  s.live.inbound(nowMs, keepalive);
  s.stats.rxPackets++;
  s.stats.rxBytes += packet.data.length;
  if (s.link.status === "stale") {
    s.link.status = "active";
    s.staleSinceMs = null;
  }
}

function onKeepalive(s: LinkState, packet: ReceivedPacket, nowMs: number): void {
  const d = packet.data;
  if (d.length !== 1 || (d[0] !== 0xff && d[0] !== 0xfe)) return drop(s, "bad-encoding");
  // The initiator ignores keepalive requests (0xFF) altogether: only it sends them.
  if (s.link.initiator && d[0] === 0xff) return drop(s, "bad-state");
  heard(s, packet, nowMs, true);
  if (d[0] === 0xff && s.live.shouldAnswerKeepalive(nowMs)) sendOwn(s, PacketType.DATA, Context.KEEPALIVE, Uint8Array.of(0xfe), nowMs);
}

/** Initiator: the destination's LRPROOF. Mode, MTU and signature are checked before anything changes. */
function onLinkProof(s: LinkState, packet: ReceivedPacket, nowMs: number): void {
  const destination = s.destinationIdentity;
  if (!s.link.initiator || s.link.status !== "pending" || s.ownX25519 === null || destination === null) return drop(s, "bad-state");
  const parsed = parseLinkProof(packet.data);
  if (!parsed.ok) return drop(s, parsed.reason);
  const proof = parsed.value;
  if (proof.mode !== MODE_AES256_CBC) return drop(s, "bad-encoding");
  const signed = proofSignedData(s.link.linkId, proof.x25519Public, destination.signingPublicKey, proof.signalling);
  if (!destination.verify(proof.signature, signed)) return drop(s, "bad-signature");
  const key = deriveLinkKey(s.ownX25519, proof.x25519Public, s.link.linkId);
  if (key === null) return drop(s, "bad-key");
  s.token = new Token(key);
  s.ownX25519 = null;
  s.peerCheck = (signature, message) => destination.verify(signature, message);
  // The confirmed MTU, kept within what we asked for and what every interface must carry.
  s.mtu = Math.max(linkLimits.minMtu, Math.min(proof.mtu || MTU, s.requestedMtu));
  s.stats.establishmentCostBytes += packet.raw.length;
  s.link.rttMs = Math.max(0, nowMs - s.requestedAtMs);
  s.link.remoteIdentity = destination;
  s.link.status = "active";
  s.live.activatedAtMs = nowMs;
  s.live.lastProofMs = nowMs;
  s.live.setRtt(s.link.rttMs);
  sendOwn(s, PacketType.DATA, Context.LRRTT, packMsgpack(new Float64(s.link.rttMs / 1000)), nowMs);
  emit(s, { kind: "established", rttMs: s.link.rttMs });
}

/** Responder: the initiator's RTT (MessagePack float seconds), which activates the link. */
function onRtt(s: LinkState, plaintext: Bytes, nowMs: number): void {
  if (s.link.initiator || s.link.status !== "handshake") return drop(s, "bad-state");
  const u = unpackMsgpack(plaintext);
  if (!u.ok || typeof u.value !== "number") {
    // The reference tears the link down when the RTT does not unpack to a number.
    drop(s, "bad-encoding");
    sendOwn(s, PacketType.DATA, Context.LINKCLOSE, s.link.linkId, nowMs);
    return closeLink(s, "failed");
  }
  const measuredMs = Math.max(0, nowMs - s.requestedAtMs);
  const reportedMs = Number.isFinite(u.value) ? u.value * 1000 : 0;
  s.link.rttMs = Math.max(measuredMs, reportedMs);
  s.link.status = "active";
  s.live.activatedAtMs = nowMs;
  s.live.setRtt(s.link.rttMs);
  emit(s, { kind: "established", rttMs: s.link.rttMs });
  const held = s.heldRequests;
  s.heldRequests = [];
  for (const h of held) onRequest(s, h.packet, h.plaintext);
}

/** Responder: the initiator reveals an identity, signed over link id || public key. */
function onIdentify(s: LinkState, plaintext: Bytes): void {
  if (s.link.initiator) return drop(s, "bad-state");
  if (plaintext.length !== PUBLIC_KEY_LENGTH + SIGNATURE_LENGTH) return drop(s, "bad-length");
  const publicKey = plaintext.slice(0, PUBLIC_KEY_LENGTH);
  const identity = Identity.fromPublicKey(publicKey);
  if (!identity.verify(plaintext.subarray(PUBLIC_KEY_LENGTH), concat(s.link.linkId, publicKey))) return drop(s, "bad-signature");
  if (s.link.remoteIdentity !== null) return; // the first identity stands, as in the reference
  s.link.remoteIdentity = identity;
  emit(s, { kind: "identified", identityHash: identity.hash, publicKey });
}

function onRequest(s: LinkState, packet: ReceivedPacket, plaintext: Bytes): void {
  if (s.link.status === "handshake" && !s.link.initiator) {
    // The reference's initiator marks its link active before its RTT packet leaves, so rncp's identify and
    // fetch request can overtake that packet. Hold the request (bounded) until the RTT activates the link.
    if (s.heldRequests.length >= linkLimits.maxHeldRequests) return drop(s, "bad-state");
    s.heldRequests.push({ packet, plaintext });
    return;
  }
  if (s.link.status !== "active") return drop(s, "bad-state");
  const r = parseRequest(plaintext);
  if (!r.ok) return drop(s, r.reason);
  emit(s, { kind: "request", requestId: truncatedPacketHash(packet.raw), ...r.value });
}

function onResponse(s: LinkState, plaintext: Bytes): void {
  if (s.link.status !== "active") return drop(s, "bad-state");
  deliverResponse(s, plaintext);
}

/** A packed response ([request id, data]), from a RESPONSE packet or a Resource, for a request we made. */
export function deliverResponse(s: LinkState, packed: Bytes): void {
  const r = parseResponse(packed);
  if (!r.ok) return drop(s, r.reason);
  if (s.requests.take(r.value.requestId) === undefined) return drop(s, "unsolicited");
  emit(s, { kind: "response", requestId: r.value.requestId.slice(), data: r.value.data });
}

/** A request that arrived as a Resource: its id is the truncated hash of the packed request. */
export function deliverRequestResource(s: LinkState, packed: Bytes): void {
  if (s.link.status !== "active" && s.link.status !== "stale") return drop(s, "bad-state");
  const r = parseRequest(packed);
  if (!r.ok) return drop(s, r.reason);
  emit(s, { kind: "request", requestId: truncatedHash(packed), ...r.value });
}

/** A proof of a packet we sent with a receipt: explicit (hash || signature) by the peer's link key. */
function onPacketProof(s: LinkState, packet: ReceivedPacket, nowMs: number): void {
  const d = packet.data;
  if (d.length !== FULL_HASH_LENGTH + SIGNATURE_LENGTH) return drop(s, "bad-length");
  const hash = d.subarray(0, FULL_HASH_LENGTH);
  if (s.receipts.get(hash) === undefined) return drop(s, "unsolicited");
  if (s.peerCheck === null || !s.peerCheck(d.subarray(FULL_HASH_LENGTH), hash)) return drop(s, "bad-signature");
  s.receipts.take(hash);
  s.live.lastProofMs = nowMs;
  emit(s, { kind: "proof", packetHash: hash.slice() });
}

/** Explicit proof data for a packet received on the link: full packet hash || our link signature over it. */
export function provePayload(s: LinkState, packet: ReceivedPacket): Bytes {
  const hash = packetHash(packet.raw);
  return concat(hash, s.signer.sign(hash));
}

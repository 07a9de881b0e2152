// Reticulum links (RNS 1.4.2, RNS/Link.py) as a sans-IO machine: an encrypted, verified session with a SINGLE
// destination, wire-compatible with the reference.
//
// How it works. The initiator sends a LINKREQUEST with fresh X25519 and Ed25519 keys and the MTU its path can
// carry ("pending"). The destination answers with an LRPROOF: its own fresh X25519 key and the MTU it confirms,
// signed by the destination identity; it is in "handshake" from then on. Both sides derive the link key
// (keys.ts). The initiator checks the proof against the identity it knows for the destination, measures the
// RTT, sends it in an LRRTT packet and is "active"; the responder becomes "active" when that packet arrives.
// Active links carry data, requests, responses, identities and proofs; the watchdog keeps them alive with
// keepalives or lets them go "stale" and then "closed". Nothing here reads a clock or sends: time comes in as
// nowMs, packets go out as return values or through takePackets(), what happened through takeEvents().
import { type Bytes } from "../../core/bytes.js";
import { assertLength } from "../../core/assert.js";
import { HEADER_1_LENGTH, MTU, TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import type { RandomSource } from "../../core/ports.js";
import { err, ok, type DropReason, type Result } from "../../core/result.js";
import type { Identity } from "../../crypto/identity.js";
import { Token } from "../../crypto/token.js";
import { Context, PacketType, type Packet, type ReceivedPacket } from "../../wire/packet.js";
import type { LinkEvent, ResourceLink } from "../types.js";
import { buildLinkProof, buildLinkRequest, linkIdOf, parseLinkRequest, proofSignedData, signallingBytes } from "./handshake.js";
import { deliverRequestResource, deliverResponse, handleLinkPacket } from "./inbound.js";
import { deriveLinkKey, ed25519Check, ephemeralSigner, ephemeralX25519, identitySigner, type LinkSigner } from "./keys.js";
import { linkLimits, linkMdu, MODE_AES256_CBC } from "./limits.js";
import { resourcePacket, sendClose, sendData, sendIdentify, sendProof, sendRequest, sendResponse, type SendOptions } from "./outbound.js";
import { advance, createState, emit, markSent, requireKey, type LinkState, type LinkStatus } from "./state.js";
import { initiatorEstablishmentTimeoutMs, responderEstablishmentTimeoutMs } from "./timing.js";
import { linkDeadlineMs, tickLink } from "./watchdog.js";

export type { LinkStatus } from "./state.js";
export type { SendOptions } from "./outbound.js";

export interface InitiateOptions {
  destinationHash: Bytes;
  /** The destination's identity, known from its announce: it must sign the proof. */
  destinationIdentity: Identity;
  random: RandomSource;
  nowMs: number;
  /** Hardware MTU of the first hop when its interface configures its MTU (else 500 is signalled). */
  hwMtu?: number;
  /** Hops to the destination; the reference counts an unknown path as 128. */
  hops?: number;
  /** Bitrate of the first hop's interface: an MTU's airtime there is added to the establishment timeout. */
  firstHopBitrateBps?: number;
}

export interface AcceptOptions {
  /** The identity of the destination the request is for; it signs the proof and every proof on the link. */
  owner: Identity;
  random: RandomSource;
  nowMs: number;
  /** Hardware MTU of the receiving interface when it configures its MTU; the link MTU is capped by it. */
  hwMtu?: number;
}

export interface LinkStats {
  txPackets: number;
  rxPackets: number;
  /** Payload bytes sent and received (ciphertext for encrypted packets), as the reference counts them. */
  txBytes: number;
  rxBytes: number;
  rttMs: number;
  /** Bytes of the request and proof packets. */
  establishmentCostBytes: number;
  /** Establishment traffic over the RTT, in bits per second (null until established). */
  establishmentRateBps: number | null;
  activatedAtMs: number | null;
  lastInboundMs: number;
  lastOutboundMs: number;
  lastDataMs: number;
  keepaliveIntervalMs: number;
  staleTimeMs: number;
  drops: Readonly<Partial<Record<DropReason, number>>>;
  droppedEvents: number;
  droppedPackets: number;
}

interface LinkInit {
  linkId: Bytes;
  initiator: boolean;
  status: LinkStatus;
  mtu: number;
  random: RandomSource;
  signer: LinkSigner;
  nowMs: number;
  establishmentTimeoutMs: number;
}

export class Link implements ResourceLink {
  readonly linkId: Bytes;
  readonly initiator: boolean;
  status: LinkStatus;
  /** Round-trip time; 0 until established. */
  rttMs = 0;
  /** Responder: the initiator's identity once it identified itself. Initiator: the destination's identity. */
  remoteIdentity: Identity | null = null;
  readonly #s: LinkState;

  private constructor(init: LinkInit) {
    this.linkId = init.linkId;
    this.initiator = init.initiator;
    this.status = init.status;
    this.#s = createState({ link: this, ...init });
  }

  /** Starts a link to a destination: the link ("pending") and the LINKREQUEST to send. */
  static initiate(o: InitiateOptions): { link: Link; request: Packet } {
    assertLength(o.destinationHash, TRUNCATED_HASH_LENGTH, "destination hash");
    const requestedMtu = Math.min(checkHwMtu(o.hwMtu), linkLimits.maxMtu);
    // Random draws in the reference's order: the X25519 key, then the Ed25519 key.
    const x = ephemeralX25519(o.random);
    const signer = ephemeralSigner(o.random);
    const request = buildLinkRequest(o.destinationHash.slice(), x.publicKey, signer.publicKey, requestedMtu);
    const link = new Link({
      linkId: linkIdOf(request),
      initiator: true,
      status: "pending",
      mtu: MTU,
      random: o.random,
      signer,
      nowMs: o.nowMs,
      establishmentTimeoutMs: initiatorEstablishmentTimeoutMs(o.hops ?? 128, o.firstHopBitrateBps),
    });
    const s = link.#s;
    s.ownX25519 = x.privateKey;
    s.destinationIdentity = o.destinationIdentity;
    s.requestedMtu = requestedMtu;
    s.stats.establishmentCostBytes += HEADER_1_LENGTH + request.data.length;
    s.live.outbound(o.nowMs, false);
    return { link, request };
  }

  /**
   * Answers a LINKREQUEST for a destination owned by `owner`: the link ("handshake") and the LRPROOF to send
   * back. A malformed request is a result, never an exception.
   */
  static accept(request: ReceivedPacket, o: AcceptOptions): Result<{ link: Link; proof: Packet }> {
    if (request.packetType !== PacketType.LINKREQUEST) return err("bad-flags", "not a link request");
    const parsed = parseLinkRequest(request.data);
    if (!parsed.ok) return parsed;
    const r = parsed.value;
    if (r.mode !== MODE_AES256_CBC) return err("bad-encoding", `link mode ${r.mode} not enabled`);
    const peerCheck = ed25519Check(r.ed25519Public);
    if (peerCheck === null) return err("bad-key", "initiator's signing key unusable");
    const hwMtu = checkHwMtu(o.hwMtu);
    const signer = identitySigner(o.owner);
    const linkId = linkIdOf(request);
    const x = ephemeralX25519(o.random);
    const key = deriveLinkKey(x.privateKey, r.x25519Public, linkId);
    if (key === null) return err("bad-key", "initiator's X25519 key unusable");
    // No signalling (or an MTU of 0) means 500; the receiving interface caps the rest, as Transport does.
    const mtu = Math.max(linkLimits.minMtu, Math.min(r.mtu || MTU, hwMtu, linkLimits.maxMtu));
    const signalling = signallingBytes(mtu, r.mode);
    const signature = signer.sign(proofSignedData(linkId, x.publicKey, signer.publicKey, signalling));
    const proof = buildLinkProof(linkId, signature, x.publicKey, signalling);
    const link = new Link({
      linkId,
      initiator: false,
      status: "handshake",
      mtu,
      random: o.random,
      signer,
      nowMs: o.nowMs,
      establishmentTimeoutMs: responderEstablishmentTimeoutMs(request.hops),
    });
    const s = link.#s;
    s.token = new Token(key);
    s.peerCheck = peerCheck;
    s.stats.establishmentCostBytes += request.raw.length + HEADER_1_LENGTH + proof.data.length;
    s.live.inbound(o.nowMs, false);
    markSent(s, proof, o.nowMs);
    return ok({ link, proof });
  }

  get mtu(): number {
    return this.#s.mtu;
  }

  /** Largest plaintext in one encrypted packet at the link MTU. */
  get mdu(): number {
    return linkMdu(this.#s.mtu);
  }

  /** Any packet addressed to the link id: proofs, data, keepalives, requests, responses, identify, close. */
  handle(packet: ReceivedPacket, nowMs: number): void {
    advance(this.#s, nowMs);
    handleLinkPacket(this.#s, packet, nowMs);
  }

  /**
   * Encrypts `plaintext` into a DATA packet (context NONE unless given). With `receipt`, the link waits for
   * the peer's proof and reports "proof" or "receipt-timeout" with the packet's full hash.
   */
  send(plaintext: Bytes, nowMs: number, context: number = Context.NONE, options: SendOptions = {}): Packet {
    advance(this.#s, nowMs);
    return sendData(this.#s, plaintext, nowMs, context, options);
  }

  /**
   * Sends a request for `path`: a REQUEST packet whose truncated hash is the request id, or, when too large
   * for one packet, packet null and a "needs-resource" event. "response" or "request-failed" follows.
   */
  request(path: string, data: unknown, nowMs: number, timeoutMs?: number): { requestId: Bytes; packet: Packet | null } {
    advance(this.#s, nowMs);
    return sendRequest(this.#s, path, data, nowMs, timeoutMs);
  }

  /** Answers a "request" event; null with a "needs-resource" event when the response exceeds one packet. */
  respond(requestId: Bytes, data: unknown, nowMs: number): Packet | null {
    advance(this.#s, nowMs);
    return sendResponse(this.#s, requestId, data, nowMs);
  }

  /** Reveals `identity` to the destination (initiator only, once established). */
  identify(identity: Identity, nowMs: number): Packet {
    advance(this.#s, nowMs);
    return sendIdentify(this.#s, identity, nowMs);
  }

  /**
   * Proves a packet received on this link: its full hash and a signature by the link's key (the initiator's
   * ephemeral Ed25519 key; the responder's destination identity).
   */
  prove(packet: ReceivedPacket): Packet {
    return sendProof(this.#s, packet);
  }

  /** Closes the link: the LINKCLOSE to send, or null when there is no one to tell (pending or closed). */
  close(nowMs: number): Packet | null {
    advance(this.#s, nowMs);
    return sendClose(this.#s, nowMs);
  }

  tick(nowMs: number): void {
    advance(this.#s, nowMs);
    tickLink(this.#s, nowMs);
  }

  nextDeadlineMs(): number {
    return linkDeadlineMs(this.#s);
  }

  /** Packets the link made on its own (RTT, keepalives, channel proofs, teardown) since the last call. */
  takePackets(): Packet[] {
    const out = this.#s.packets;
    this.#s.packets = [];
    return out;
  }

  takeEvents(): LinkEvent[] {
    const out = this.#s.events;
    this.#s.events = [];
    return out;
  }

  stats(): LinkStats {
    const s = this.#s;
    const established = s.live.activatedAtMs !== null && this.rttMs > 0;
    return {
      ...s.stats,
      rttMs: this.rttMs,
      establishmentRateBps: established ? (s.stats.establishmentCostBytes * 8 * 1000) / this.rttMs : null,
      activatedAtMs: s.live.activatedAtMs,
      lastInboundMs: s.live.lastInboundMs,
      lastOutboundMs: s.live.lastOutboundMs,
      lastDataMs: s.live.lastDataMs,
      keepaliveIntervalMs: s.live.keepaliveMs,
      staleTimeMs: s.live.staleTimeMs,
      drops: { ...s.drops },
    };
  }

  // Hooks for requests and responses that travel as Resources (runtime/mesh/resource). ----------------------

  /** Our request went out as a Resource and was delivered: its response timeout starts now. */
  requestResourceSent(requestId: Bytes, nowMs: number): void {
    advance(this.#s, nowMs);
    const e = this.#s.requests.get(requestId);
    if (e !== undefined) e.deadlineMs = nowMs + e.value.timeoutMs;
  }

  /** The response to our request is arriving as a Resource: the request no longer times out on its own. */
  responseResourceStarted(requestId: Bytes): void {
    const e = this.#s.requests.get(requestId);
    if (e !== undefined) e.deadlineMs = Infinity;
  }

  /** The Resource carrying our request, or its response, failed: "request-failed". */
  requestResourceFailed(requestId: Bytes, nowMs: number): void {
    advance(this.#s, nowMs);
    const e = this.#s.requests.take(requestId);
    if (e !== undefined) emit(this.#s, { kind: "request-failed", requestId: e.key, reason: "resource" });
  }

  /** A request arrived as a Resource (the packed request): "request", with its id the payload's hash. */
  requestResourceReceived(packed: Bytes, nowMs: number): void {
    advance(this.#s, nowMs);
    deliverRequestResource(this.#s, packed);
  }

  /** A response arrived as a Resource (the packed [request id, data]): "response". */
  responseResourceReceived(packed: Bytes, nowMs: number): void {
    advance(this.#s, nowMs);
    deliverResponse(this.#s, packed);
  }

  // ResourceLink ----------------------------------------------------------------------------------------------

  encrypt(plaintext: Bytes | readonly Bytes[]): Bytes {
    return requireKey(this.#s).encrypt(plaintext, this.#s.random);
  }

  decrypt(ciphertext: Bytes): Bytes | null {
    const t = this.#s.token;
    if (t === null) return null;
    const r = t.decrypt(ciphertext);
    return r.ok ? r.value : null;
  }

  decryptInPlace(ciphertext: Bytes): Bytes | null {
    const t = this.#s.token;
    if (t === null) return null;
    const r = t.decryptInPlace(ciphertext);
    return r.ok ? r.value : null;
  }

  /** A packet on this link, encrypted unless the reference sends that type and context in clear. */
  packet(context: number, data: Bytes, packetType: number = PacketType.DATA): Packet {
    return resourcePacket(this.#s, context, data, packetType);
  }
}

function checkHwMtu(hwMtu: number | undefined): number {
  if (hwMtu === undefined) return MTU;
  if (!Number.isInteger(hwMtu) || hwMtu < MTU) throw new RangeError(`hardware MTU ${hwMtu} is below Reticulum's MTU of ${MTU}`);
  return hwMtu;
}

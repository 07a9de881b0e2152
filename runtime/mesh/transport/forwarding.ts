// Relaying for others (RNS 1.4.2 Transport.inbound, transport-enabled part): a packet addressed to us as
// next hop is re-sent toward its destination (HEADER_2 with the next transport id, or HEADER_1 broadcast on
// the last hop, hops updated), remembering in the reverse table where it came from so its proof can
// return, or for a link request in the link table so the link proof and link traffic can be relayed both
// ways. Link proofs are checked against the destination's known key before they are passed back.
import { concat, type Bytes } from "../../core/bytes.js";
import { TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { Identity } from "../../crypto/identity.js";
import { PacketType, type ReceivedPacket } from "../../wire/packet.js";
import type { InterfaceState } from "./interfaces.js";
import { ESTABLISHMENT_TIMEOUT_PER_HOP_MS, REFERENCE_MTU, REVERSE_TIMEOUT_MS } from "./limits.js";
import { LINK_MTU_SIZE, linkIdOf, proofSignedData, requestMode, requestMtu, signallingBytes } from "./link-mtu.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

const H2_PREFIX = 2 + TRUNCATED_HASH_LENGTH;

/** A copy of `raw` with the hop byte replaced. */
export function withHops(raw: Bytes, hops: number): Bytes {
  const out = raw.slice();
  out[1] = hops;
  return out;
}

export type ForwardResult = "forwarded" | "link-request" | "no-path" | "dropped";

/**
 * Relays a packet whose transport id is ours (not an announce). `hash` is its full packet hash, `destKey`
 * the table key of its destination hash (the caller has it already: keys cost a string per lookup).
 */
export function forwardInTransport(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, hash: Bytes, nowMs: number, destKey = keyOf(p.destinationHash)): ForwardResult {
  const path = core.paths.getByKey(destKey);
  if (path === undefined) return "no-path";
  const raw = p.raw;
  let out: Bytes;
  if (path.hops > 1) {
    out = new Uint8Array(raw.length);
    out[0] = raw[0]!;
    out[1] = p.hops;
    out.set(path.nextHop, 2);
    out.set(raw.subarray(H2_PREFIX), H2_PREFIX);
  } else if (path.hops === 1) {
    // The last hop strips the transport header (and, as the reference does, the context flag with it).
    out = new Uint8Array(raw.length - TRUNCATED_HASH_LENGTH);
    out[0] = raw[0]! & 0x0f;
    out[1] = p.hops;
    out.set(raw.subarray(H2_PREFIX), 2);
  } else {
    out = withHops(raw, p.hops);
  }
  const outIface = core.interfaces.get(path.interfaceId);
  if (outIface === undefined) return "no-path";
  let result: ForwardResult = "forwarded";
  if (p.packetType === PacketType.LINKREQUEST) {
    const clamped = clampLinkRequest(out, p.data, iface, outIface);
    if (clamped === null) {
      core.drop(iface, "malformed");
      return "dropped";
    }
    out = clamped;
    const proofTimeoutMs = nowMs + iface.mtuAirtimeMs(REFERENCE_MTU) + ESTABLISHMENT_TIMEOUT_PER_HOP_MS * Math.max(1, path.hops);
    core.relay.links.set(keyOf(linkIdOf(raw, p.data.length)), {
      timestampMs: nowMs,
      nextHop: path.nextHop,
      nextHopInterfaceId: outIface.id,
      remainingHops: path.hops,
      receivedInterfaceId: iface.id,
      takenHops: p.hops,
      destinationHash: path.destinationHash,
      validated: false,
      proofTimeoutMs,
    });
    core.noteExpiry(proofTimeoutMs);
    result = "link-request";
  } else {
    core.relay.reverse.set(keyOf(hash.subarray(0, TRUNCATED_HASH_LENGTH)), {
      receivedInterfaceId: iface.id,
      outboundInterfaceId: outIface.id,
      timestampMs: nowMs,
    });
    core.noteExpiry(nowMs + REVERSE_TIMEOUT_MS);
  }
  if (core.send(outIface.id, out)) core.totals.forwarded++;
  core.paths.use(path, nowMs, destKey);
  return result;
}

/**
 * Link MTU signalling of a relayed link request: removed when the next interface can't carry it, clamped
 * to the smaller of the two interfaces' MTUs otherwise. Null when the request must be dropped.
 */
function clampLinkRequest(out: Bytes, data: Bytes, inIface: InterfaceState, outIface: InterfaceState): Bytes | null {
  const pathMtu = requestMtu(data);
  if (!pathMtu) return out;
  if (!outIface.mtuSignalling) return out.subarray(0, out.length - LINK_MTU_SIZE);
  if (outIface.hwMtu < pathMtu || inIface.hwMtu < pathMtu) {
    const s = signallingBytes(Math.min(outIface.hwMtu, inIface.hwMtu), requestMode(data));
    if (s === null) return null;
    return concat(out.subarray(0, out.length - LINK_MTU_SIZE), s);
  }
  return out;
}

/** Relays link traffic along the link table. True when it was our turn to relay it. */
export function relayLinkPacket(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, hashKey: string, nowMs: number, destKey = keyOf(p.destinationHash)): boolean {
  const entry = core.relay.links.get(destKey);
  if (entry === undefined) return false;
  let outId: number | null = null;
  if (entry.nextHopInterfaceId === entry.receivedInterfaceId) {
    if (p.hops === entry.remainingHops || p.hops === entry.takenHops) outId = entry.nextHopInterfaceId;
  } else if (iface.id === entry.nextHopInterfaceId) {
    if (p.hops === entry.remainingHops) outId = entry.receivedInterfaceId;
  } else if (iface.id === entry.receivedInterfaceId) {
    if (p.hops === entry.takenHops) outId = entry.nextHopInterfaceId;
  }
  if (outId === null) return false;
  core.hashlist.add(hashKey);
  if (core.send(outId, withHops(p.raw, p.hops))) core.totals.forwarded++;
  entry.timestampMs = nowMs;
  return true;
}

/** Checks a link proof against the destination's known public key. */
export function linkProofValid(core: TransportCore, linkId: Bytes, destinationHash: Bytes, proofData: Bytes): boolean {
  const known = core.known.get(keyOf(destinationHash));
  if (known === undefined) return false;
  const signed = proofSignedData(linkId, proofData, known.publicKey);
  if (signed === null) return false;
  return Identity.fromPublicKey(known.publicKey).verify(proofData.subarray(0, 64), signed);
}

/** Relays a link request proof back toward the link's initiator. True when the packet was ours to handle. */
export function relayLinkProof(core: TransportCore, iface: InterfaceState, p: ReceivedPacket): boolean {
  const entry = core.relay.links.get(keyOf(p.destinationHash));
  if (entry === undefined) return false;
  if (p.hops !== entry.remainingHops && iface.id === entry.nextHopInterfaceId && !entry.validated) {
    // The proof took another number of hops than the path said: if it is genuine, re-balance the path.
    if (linkProofValid(core, p.destinationHash, entry.destinationHash, p.data)) {
      entry.remainingHops = p.hops;
      const path = core.paths.get(entry.destinationHash);
      if (path !== undefined) path.hops = p.hops;
    }
  }
  if (p.hops !== entry.remainingHops || iface.id !== entry.nextHopInterfaceId) {
    core.drop(iface, "wrong-interface");
    return true;
  }
  if (!linkProofValid(core, p.destinationHash, entry.destinationHash, p.data)) {
    core.drop(iface, "bad-proof");
    return true;
  }
  entry.validated = true;
  if (core.send(entry.receivedInterfaceId, withHops(p.raw, p.hops))) core.totals.forwarded++;
  return true;
}

/** Relays a proof back along the reverse table. True when the packet was ours to handle. */
export function relayProof(core: TransportCore, iface: InterfaceState, p: ReceivedPacket): boolean {
  const key = keyOf(p.destinationHash);
  const entry = core.relay.reverse.get(key);
  if (entry === undefined) return false;
  core.relay.reverse.delete(key);
  if (iface.id !== entry.outboundInterfaceId) {
    core.drop(iface, "wrong-interface");
    return true;
  }
  if (core.send(entry.receivedInterfaceId, withHops(p.raw, p.hops))) core.totals.forwarded++;
  return true;
}

// The receive pipeline (RNS 1.4.2 Transport.inbound and packet_filter): decode, count the hop, filter
// (transport id, scope of PLAIN/GROUP packets, duplicates), relay when we are a transport node, then
// handle announces, path requests and local delivery.
//
// Dedup: every packet's full hash is remembered, except link-table traffic (remembered only once it is our
// turn to relay it) and link request proofs (remembered once delivered). Never deduplicated: announces
// (their own replay logic runs), PLAIN and GROUP packets (only neighbours are heard), and link keepalives,
// resource parts, resource requests and proofs, cache requests and channel messages.
import { concat, type Bytes } from "../../core/bytes.js";
import { MAX_HOPS } from "../../core/limits.js";
import { Context, decodePacket, DestinationType, PacketType, packetHash, type ReceivedPacket } from "../../wire/packet.js";
import type { FrameMeta } from "../types.js";
import { handleAnnounce } from "./announces.js";
import { forwardInTransport, relayLinkPacket, relayLinkProof, relayProof } from "./forwarding.js";
import type { InterfaceState } from "./interfaces.js";
import { LINK_MTU_SIZE, requestMode, requestMtu, signallingBytes } from "./link-mtu.js";
import { REFERENCE_MTU } from "./limits.js";
import { handlePathRequest, isPathRequest } from "./path-requests.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

const NEVER_FILTERED: ReadonlySet<number> = new Set([
  Context.KEEPALIVE,
  Context.RESOURCE_REQ,
  Context.RESOURCE_PRF,
  Context.RESOURCE,
  Context.CACHE_REQUEST,
  Context.CHANNEL,
]);

/** Decodes and handles one frame. `raw` is Transport's own copy. */
export function receive(core: TransportCore, iface: InterfaceState, raw: Bytes, nowMs: number, meta: FrameMeta | undefined): void {
  const decoded = decodePacket(raw);
  if (!decoded.ok) {
    const reason = decoded.reason === "too-long" ? "oversize" : decoded.reason === "bad-hops" ? "hops" : "malformed";
    return core.drop(iface, reason);
  }
  const p: ReceivedPacket = decoded.value;
  p.hops++;
  if (p.hops >= MAX_HOPS) return core.drop(iface, "hops");
  const hash = packetHash(raw);
  const hashKey = keyOf(hash);
  const verdict = filter(core, p, hashKey);
  if (verdict !== null) return core.drop(iface, verdict);

  const destKey = keyOf(p.destinationHash);
  const lrProof = p.packetType === PacketType.PROOF && p.context === Context.LRPROOF;
  if (!core.relay.links.has(destKey) && !lrProof) core.hashlist.add(hashKey);

  let handled = false;
  let linkRequestRelayed = false;
  if (core.transportEnabled) {
    if (p.transportId !== null && p.packetType !== PacketType.ANNOUNCE) {
      const r = forwardInTransport(core, iface, p, hash, nowMs, destKey);
      if (r === "dropped") return;
      if (r !== "no-path") handled = true;
      linkRequestRelayed = r === "link-request";
    }
    if (p.packetType !== PacketType.ANNOUNCE && p.packetType !== PacketType.LINKREQUEST && p.context !== Context.LRPROOF) {
      if (relayLinkPacket(core, iface, p, hashKey, nowMs, destKey)) handled = true;
    }
  }

  switch (p.packetType) {
    case PacketType.ANNOUNCE:
      return handleAnnounce(core, iface, p, nowMs);
    case PacketType.LINKREQUEST:
      if (!linkRequestRelayed && deliverLinkRequest(core, iface, p, meta)) handled = true;
      break;
    case PacketType.DATA:
      if (deliverData(core, iface, p, hashKey, nowMs, meta, destKey)) handled = true;
      break;
    case PacketType.PROOF:
      if (handleProof(core, iface, p, hashKey, meta)) handled = true;
      break;
  }
  if (!handled) core.drop(iface, core.transportEnabled && p.transportId !== null ? "no-path" : "not-for-us");
}

/** packet_filter: null to let the packet in, or the reason to drop it. */
function filter(core: TransportCore, p: ReceivedPacket, hashKey: string): "other-transport" | "hops" | "bad-announce" | "duplicate" | null {
  if (p.transportId !== null && p.packetType !== PacketType.ANNOUNCE) {
    for (let i = 0; i < 16; i++) if (p.transportId[i] !== core.transportId[i]) return "other-transport";
  }
  if (NEVER_FILTERED.has(p.context)) return null;
  if (p.destinationType === DestinationType.PLAIN || p.destinationType === DestinationType.GROUP) {
    if (p.packetType === PacketType.ANNOUNCE) return "bad-announce";
    return p.hops > 1 ? "hops" : null;
  }
  if (!core.hashlist.has(hashKey)) return null;
  if (p.packetType === PacketType.ANNOUNCE) return p.destinationType === DestinationType.SINGLE ? null : "bad-announce";
  return "duplicate";
}

/**
 * A link request for a local destination. As the reference does, its MTU signalling is clamped to what the
 * receiving interface carries: the event's `data` then differs from `raw` in those last 3 bytes.
 */
function deliverLinkRequest(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, meta: FrameMeta | undefined): boolean {
  if (p.transportId !== null && !sameId(p.transportId, core.transportId)) return false;
  const type = core.localDestinations.get(keyOf(p.destinationHash));
  if (type === undefined || type !== p.destinationType) return false;
  let data = p.data;
  const pathMtu = requestMtu(data);
  if (pathMtu) {
    // The receiving interface bounds the link MTU (to the reference MTU if it can't signal MTUs).
    const nhMtu = iface.mtuSignalling ? iface.hwMtu : REFERENCE_MTU;
    if (nhMtu < pathMtu) {
      const s = signallingBytes(nhMtu, requestMode(data));
      if (s === null) {
        core.drop(iface, "malformed");
        return true;
      }
      data = concat(data.subarray(0, data.length - LINK_MTU_SIZE), s);
    }
  }
  core.emit(packetEvent({ ...p, data }, iface.id, meta));
  return true;
}

function deliverData(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, hashKey: string, nowMs: number, meta: FrameMeta | undefined, destKey: string): boolean {
  if (p.destinationType === DestinationType.LINK) {
    const link = core.localLinks.get(destKey);
    if (link === undefined) return false;
    if (link.interfaceId !== null && link.interfaceId !== iface.id) {
      // Heard on another interface than the link uses: forget it so the copy on the right one gets in.
      core.hashlist.delete(hashKey);
      core.drop(iface, "wrong-interface");
      return true;
    }
    link.interfaceId = iface.id;
    core.emit(packetEvent(p, iface.id, meta));
    return true;
  }
  if (isPathRequest(p)) {
    handlePathRequest(core, iface, p, nowMs);
    return true;
  }
  const type = core.localDestinations.get(destKey);
  if (type === undefined || type !== p.destinationType) return false;
  core.emit(packetEvent(p, iface.id, meta));
  return true;
}

function handleProof(core: TransportCore, iface: InterfaceState, p: ReceivedPacket, hashKey: string, meta: FrameMeta | undefined): boolean {
  const destKey = keyOf(p.destinationHash);
  if (p.context === Context.LRPROOF) {
    if (core.transportEnabled && core.relay.links.has(destKey)) return relayLinkProof(core, iface, p);
    const link = core.localLinks.get(destKey);
    if (link === undefined) return false;
    core.hashlist.add(hashKey);
    if (link.interfaceId === null) link.interfaceId = iface.id;
    core.emit(packetEvent(p, iface.id, meta));
    return true;
  }
  if (p.context === Context.RESOURCE_PRF) {
    if (!core.localLinks.has(destKey)) return false;
    core.emit(packetEvent(p, iface.id, meta));
    return true;
  }
  let handled = false;
  if (core.transportEnabled && relayProof(core, iface, p)) handled = true;
  if (p.destinationType === DestinationType.LINK && core.localLinks.has(destKey)) {
    core.emit(packetEvent(p, iface.id, meta));
    return true;
  }
  if (core.receipts.has(destKey)) {
    core.emit({ kind: "proof", packet: p, interfaceId: iface.id });
    return true;
  }
  return handled;
}

function packetEvent(packet: ReceivedPacket, interfaceId: number, meta: FrameMeta | undefined) {
  return meta === undefined ? { kind: "packet" as const, packet, interfaceId } : { kind: "packet" as const, packet, interfaceId, meta };
}

function sameId(a: Bytes, b: Bytes): boolean {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return false;
  return true;
}

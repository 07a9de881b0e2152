// Sending (RNS 1.4.2 Transport.outbound): a packet to a destination with a known path of more than one hop
// is put into transport (HEADER_2 with the next hop's transport id) on the path's interface; a neighbour's
// path is used as is; otherwise the packet is broadcast on every OUT interface (or the one it is attached
// to). Broadcast announces obey the interface modes (nothing on access points; roaming and boundary
// interfaces refuse what came from roaming or boundary ones) and, once relayed (hops > 0), the announce cap.
import { concat, readUintBE, type Bytes } from "../../core/bytes.js";
import { MAX_FRAME_LENGTH, MAX_HOPS } from "../../core/limits.js";
import {
  Context,
  DestinationType,
  HeaderType,
  PacketType,
  TransportType,
  encodePacket,
  packetHash,
  truncatedPacketHash,
  type Packet,
} from "../../wire/packet.js";
import type { InterfaceState } from "./interfaces.js";
import { ESTABLISHMENT_TIMEOUT_PER_HOP_MS, REFERENCE_MTU } from "./limits.js";
import type { TransportCore } from "./state.js";
import { keyOf } from "./table.js";

export interface OutboundOptions {
  /** Send on this interface only (an attached interface in the reference). */
  interfaceId?: number;
  /** Remember the packet so a proof addressed to it is delivered as a `proof` event. */
  wantProof?: boolean;
}

export interface OutboundResult {
  /** Handed to at least one interface, or queued behind the announce cap. */
  sent: boolean;
  /** The bytes as they went out (the transport-inserted form when a path was used), or null when not sent. */
  raw: Bytes | null;
}

/** Emission time (seconds) of an announce, from its random hash. */
export function announceEmittedS(data: Bytes): number {
  return data.length >= 84 ? readUintBE(data, 79, 5) : 0;
}

export function sendOutbound(core: TransportCore, packet: Packet, nowMs: number, opts: OutboundOptions): OutboundResult {
  const raw = encodePacket(packet, MAX_FRAME_LENGTH);
  if (opts.interfaceId !== undefined && !core.interfaces.has(opts.interfaceId)) {
    throw new RangeError(`unknown interface ${opts.interfaceId}`);
  }
  const path =
    packet.packetType !== PacketType.ANNOUNCE &&
    packet.destinationType !== DestinationType.PLAIN &&
    packet.destinationType !== DestinationType.GROUP
      ? core.paths.get(packet.destinationHash)
      : undefined;
  let result: OutboundResult;
  if (path !== undefined) {
    let out: Bytes | null = raw;
    if (path.hops > 1) {
      out =
        packet.headerType === HeaderType.HEADER_1
          ? concat(Uint8Array.of((HeaderType.HEADER_2 << 6) | (TransportType.TRANSPORT << 4) | (raw[0]! & 0x0f), raw[1]!), path.nextHop, raw.subarray(2))
          : null;
    }
    const sent = out !== null && core.send(path.interfaceId, out);
    if (sent && path.hops > 1) core.paths.use(path, nowMs);
    result = { sent, raw: sent ? out : null };
  } else {
    const linkIface =
      packet.destinationType === DestinationType.LINK ? (core.localLinks.get(keyOf(packet.destinationHash))?.interfaceId ?? null) : null;
    const attached = opts.interfaceId ?? linkIface;
    result = broadcast(core, raw, packet.packetType === PacketType.ANNOUNCE ? packet : null, attached, opts.interfaceId !== undefined, nowMs);
  }
  if (result.sent && opts.wantProof === true && wantsReceipt(packet)) {
    const hops = path?.hops ?? MAX_HOPS;
    const iface = path !== undefined ? core.interfaces.get(path.interfaceId) : undefined;
    const timeoutMs = (iface?.mtuAirtimeMs(REFERENCE_MTU) ?? 0) + ESTABLISHMENT_TIMEOUT_PER_HOP_MS * (1 + hops);
    core.receipts.set(keyOf(truncatedPacketHash(raw)), nowMs + timeoutMs);
    core.noteExpiry(nowMs + timeoutMs);
  }
  return result;
}

/** The reference makes receipts for DATA only, never for PLAIN destinations, link control or resource parts. */
function wantsReceipt(p: Packet): boolean {
  if (p.packetType !== PacketType.DATA || p.destinationType === DestinationType.PLAIN) return false;
  if (p.context >= Context.KEEPALIVE && p.context <= Context.LRPROOF) return false;
  if (p.context >= Context.RESOURCE && p.context <= Context.RESOURCE_RCL) return false;
  return true;
}

/**
 * Broadcasts raw bytes on the OUT interfaces (only `attachedId` when set). `announce` is the announce
 * packet when the bytes are one; unless `attachedExplicit`, announces then follow the mode rules and cap.
 */
export function broadcast(
  core: TransportCore,
  raw: Bytes,
  announce: Packet | null,
  attachedId: number | null,
  attachedExplicit: boolean,
  nowMs: number,
): OutboundResult {
  let sent = false;
  let hashed = false;
  for (const iface of core.outOrder) {
    if (attachedId !== null && iface.id !== attachedId) continue;
    if (announce !== null && !attachedExplicit) {
      const verdict = announceVerdict(core, iface, announce, raw, nowMs);
      if (verdict === "queued") sent = true;
      if (verdict !== "send") continue;
    }
    if (!hashed) {
      core.hashlist.add(keyOf(packetHash(raw)));
      hashed = true;
    }
    if (core.send(iface.id, raw)) sent = true;
  }
  return { sent, raw: sent ? raw : null };
}

type Verdict = "send" | "block" | "queued";

/** The reference's announce propagation rules for one interface. */
function announceVerdict(core: TransportCore, iface: InterfaceState, announce: Packet, raw: Bytes, nowMs: number): Verdict {
  const destKey = keyOf(announce.destinationHash);
  const local = core.localDestinations.has(destKey);
  const path = core.paths.getByKey(destKey);
  const from = path !== undefined ? core.interfaces.get(path.interfaceId) : undefined;
  if (!local && from === undefined) return "block";
  if (iface.mode === "access_point") return "block";
  if (iface.mode === "roaming") {
    if (local) return "send";
    return from!.mode === "roaming" || from!.mode === "boundary" ? "block" : "send";
  }
  if (iface.mode === "boundary") {
    if (local) return "send";
    return from!.mode === "roaming" ? "block" : "send";
  }
  // Locally originated announces are never capped.
  if (announce.hops === 0) return "send";
  if (iface.queue.clear(nowMs)) {
    iface.queue.book(nowMs, raw.length);
    return "send";
  }
  const offered = iface.queue.offer({
    destinationKey: destKey,
    queuedAtMs: nowMs,
    hops: announce.hops,
    emittedS: announceEmittedS(announce.data),
    raw,
  });
  if (offered === "full") {
    core.drop(iface, "rate-limited");
    return "block";
  }
  return "queued";
}

/** Releases queued announces whose time has come. */
export function runAnnounceQueues(core: TransportCore, nowMs: number): void {
  for (const iface of core.interfaces.values()) {
    if (iface.queue.entries.length === 0 || nowMs < iface.queue.allowedAtMs) continue;
    iface.queue.dropStale(nowMs);
    const raw = iface.queue.take(nowMs);
    if (raw !== null) core.send(iface.id, raw);
  }
}

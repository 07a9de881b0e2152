// Packets on a link (RNS 1.4.2, Packet.pack): addressed to the link id with destination type LINK. Everything
// is encrypted with the link's Token except what the reference sends in clear: proofs (LRPROOF, packet
// proofs, RESOURCE_PRF), resource parts (the resource encrypts them), keepalives and cache requests.
import { concat, type Bytes } from "../../core/bytes.js";
import { sha256, truncatedHash } from "../../crypto/hashes.js";
import {
  Context,
  DestinationType,
  HeaderType,
  PacketType,
  TransportType,
  packFlags,
  type Packet,
  type PacketTypeValue,
} from "../../wire/packet.js";

/** Is a packet of this type and context sent in clear on a link? */
export function sentInClear(packetType: number, context: number): boolean {
  return (
    packetType === PacketType.PROOF ||
    context === Context.RESOURCE ||
    context === Context.KEEPALIVE ||
    context === Context.CACHE_REQUEST ||
    context === Context.LRPROOF
  );
}

export function linkPacket(linkId: Bytes, packetType: PacketTypeValue, context: number, data: Bytes): Packet {
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.LINK,
    packetType,
    hops: 0,
    transportId: null,
    destinationHash: linkId,
    context,
    data,
  };
}

function hashablePartOf(p: Packet): Bytes {
  return concat(Uint8Array.of(packFlags(p) & 0x0f), p.destinationHash, Uint8Array.of(p.context), p.data);
}

/** The full packet hash of a packet we built (the same as packetHash of its encoding, without encoding it). */
export function linkPacketHash(p: Packet): Bytes {
  return sha256(hashablePartOf(p));
}

export function linkPacketTruncatedHash(p: Packet): Bytes {
  return truncatedHash(hashablePartOf(p));
}

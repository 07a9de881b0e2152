// Reticulum packet codec (RNS 1.4.2 wire format).
// Byte 0 (flags): bit 7 IFAC | bit 6 header type | bit 5 context flag | bit 4 transport type |
//                 bits 3-2 destination type | bits 1-0 packet type.  Byte 1: hops.
// HEADER_1: flags, hops, destination(16), context(1), data.
// HEADER_2: flags, hops, transport id(16), destination(16), context(1), data.
// Packet hash: SHA-256 over (flags & 0x0F) || everything after the addresses' prefix, so that hops,
// header type and transport id (which change in transit) do not change the hash.
import { type Bytes } from "../core/bytes.js";
import { assert, assertLength } from "../core/assert.js";
import {
  HEADER_1_LENGTH,
  HEADER_2_LENGTH,
  MAX_FRAME_LENGTH,
  MAX_HOPS,
  MTU,
  TRUNCATED_HASH_LENGTH,
} from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import { sha256 } from "../crypto/hashes.js";

export const PacketType = { DATA: 0, ANNOUNCE: 1, LINKREQUEST: 2, PROOF: 3 } as const;
export const HeaderType = { HEADER_1: 0, HEADER_2: 1 } as const;
export const TransportType = { BROADCAST: 0, TRANSPORT: 1 } as const;
export const DestinationType = { SINGLE: 0, GROUP: 1, PLAIN: 2, LINK: 3 } as const;

export type PacketTypeValue = (typeof PacketType)[keyof typeof PacketType];
export type HeaderTypeValue = (typeof HeaderType)[keyof typeof HeaderType];
export type TransportTypeValue = (typeof TransportType)[keyof typeof TransportType];
export type DestinationTypeValue = (typeof DestinationType)[keyof typeof DestinationType];

/** Packet contexts (the byte after the addresses). */
export const Context = {
  NONE: 0x00,
  RESOURCE: 0x01,
  RESOURCE_ADV: 0x02,
  RESOURCE_REQ: 0x03,
  RESOURCE_HMU: 0x04,
  RESOURCE_PRF: 0x05,
  RESOURCE_ICL: 0x06,
  RESOURCE_RCL: 0x07,
  CACHE_REQUEST: 0x08,
  REQUEST: 0x09,
  RESPONSE: 0x0a,
  PATH_RESPONSE: 0x0b,
  COMMAND: 0x0c,
  COMMAND_STATUS: 0x0d,
  CHANNEL: 0x0e,
  KEEPALIVE: 0xfa,
  LINKIDENTIFY: 0xfb,
  LINKCLOSE: 0xfc,
  LINKPROOF: 0xfd,
  LRRTT: 0xfe,
  LRPROOF: 0xff,
} as const;

export const IFAC_FLAG = 0x80;

export interface Packet {
  headerType: HeaderTypeValue;
  contextFlag: boolean;
  transportType: TransportTypeValue;
  destinationType: DestinationTypeValue;
  packetType: PacketTypeValue;
  hops: number;
  /** Next-hop transport identity hash; present exactly when headerType is HEADER_2. */
  transportId: Bytes | null;
  destinationHash: Bytes;
  context: number;
  data: Bytes;
}

/** A packet decoded from the wire; fields are views into `raw` (no copies). */
export interface ReceivedPacket extends Packet {
  raw: Bytes;
}

export function packFlags(p: Packet): number {
  return (
    (p.headerType << 6) |
    ((p.contextFlag ? 1 : 0) << 5) |
    (p.transportType << 4) |
    (p.destinationType << 2) |
    p.packetType
  );
}

// Encoded packets are carved out of shared 8 KiB slabs, as Node's Buffer pool does: giving every packet an
// ArrayBuffer of its own (a backing store allocated, tracked and freed by the garbage collector) cost more
// than the rest of encoding a resource part. A slab lives while any packet cut from it does, so whoever keeps
// a packet for long copies it (announce and ingress tables already slice() what they hold).
const SLAB_BYTES = 8192;
let slab = new ArrayBuffer(SLAB_BYTES);
let slabUsed = 0;

function wireBytes(length: number): Bytes {
  if (length > SLAB_BYTES / 2) return new Uint8Array(length);
  if (slabUsed + length > SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = new Uint8Array(slab, slabUsed, length);
  slabUsed += (length + 7) & ~7; // 8-byte aligned starts
  return out;
}

/**
 * Encodes a packet. Local misuse (bad field sizes, over the MTU) throws. The bytes may share their ArrayBuffer
 * with other packets: use byteOffset with .buffer, and never transfer that buffer to a worker.
 */
export function encodePacket(p: Packet, mtu: number = MTU): Bytes {
  assertLength(p.destinationHash, TRUNCATED_HASH_LENGTH, "destination hash");
  if (!Number.isInteger(p.hops) || p.hops < 0 || p.hops >= MAX_HOPS) throw new RangeError(`bad hop count ${p.hops}`);
  if (!Number.isInteger(p.context) || p.context < 0 || p.context > 255) throw new RangeError("bad context");
  const h2 = p.headerType === HeaderType.HEADER_2;
  if (h2) {
    if (p.transportId === null) throw new TypeError("a HEADER_2 packet needs a transport id");
    assertLength(p.transportId, TRUNCATED_HASH_LENGTH, "transport id");
  } else if (p.transportId !== null) {
    throw new TypeError("a HEADER_1 packet carries no transport id");
  }
  const headerLength = h2 ? HEADER_2_LENGTH : HEADER_1_LENGTH;
  const length = headerLength + p.data.length;
  if (length > mtu) throw new RangeError(`packet of ${length} bytes exceeds the MTU of ${mtu}`);
  const raw = wireBytes(length);
  raw[0] = packFlags(p);
  raw[1] = p.hops;
  let o = 2;
  if (h2) {
    raw.set(p.transportId!, o);
    o += TRUNCATED_HASH_LENGTH;
  }
  raw.set(p.destinationHash, o);
  o += TRUNCATED_HASH_LENGTH;
  raw[o++] = p.context;
  raw.set(p.data, o);
  return raw;
}

/**
 * Decodes a packet from the wire. Rejects what the reference rejects (too short, hop count >= 128) and a
 * set IFAC flag, which only an interface with an access code may strip (see ifac.ts).
 */
export function decodePacket(raw: Bytes): Result<ReceivedPacket> {
  if (raw.length < HEADER_1_LENGTH) return err("too-short", `${raw.length} bytes`);
  if (raw.length > MAX_FRAME_LENGTH) return err("too-long", `${raw.length} bytes`);
  const flags = raw[0]!;
  if ((flags & IFAC_FLAG) !== 0) return err("bad-flags", "IFAC flag set on a packet without access code");
  const hops = raw[1]!;
  if (hops >= MAX_HOPS) return err("bad-hops", `hop count ${hops}`);
  const headerType = ((flags >> 6) & 1) as HeaderTypeValue;
  let transportId: Bytes | null = null;
  let o = 2;
  if (headerType === HeaderType.HEADER_2) {
    if (raw.length < HEADER_2_LENGTH) return err("too-short", `${raw.length} bytes with HEADER_2`);
    transportId = raw.subarray(2, 2 + TRUNCATED_HASH_LENGTH);
    o += TRUNCATED_HASH_LENGTH;
  }
  return ok({
    raw,
    headerType,
    contextFlag: (flags & 0x20) !== 0,
    transportType: ((flags >> 4) & 1) as TransportTypeValue,
    destinationType: ((flags >> 2) & 3) as DestinationTypeValue,
    packetType: (flags & 3) as PacketTypeValue,
    hops,
    transportId,
    destinationHash: raw.subarray(o, o + TRUNCATED_HASH_LENGTH),
    context: raw[o + TRUNCATED_HASH_LENGTH]!,
    data: raw.subarray(o + TRUNCATED_HASH_LENGTH + 1),
  });
}

/** The part of a raw packet that its hash covers: low flag nibble, then destination onward. */
export function hashablePart(raw: Bytes): Bytes {
  assert(raw.length >= HEADER_1_LENGTH, "hashablePart of a runt packet");
  const skip = ((raw[0]! >> 6) & 1) === HeaderType.HEADER_2 ? 2 + TRUNCATED_HASH_LENGTH : 2;
  const out = new Uint8Array(1 + raw.length - skip);
  out[0] = raw[0]! & 0x0f;
  out.set(raw.subarray(skip), 1);
  return out;
}

/**
 * Full 32-byte packet hash of a raw (IFAC-free) packet. The hashable part is the raw packet from the byte
 * before the destination onward, with that byte replaced by the low flag nibble: we patch it in place,
 * hash the view, and restore it, which saves a copy per packet (JavaScript runs this without preemption).
 */
export function packetHash(raw: Bytes): Bytes {
  assert(raw.length >= HEADER_1_LENGTH, "packetHash of a runt packet");
  const at = ((raw[0]! >> 6) & 1) === HeaderType.HEADER_2 ? 1 + TRUNCATED_HASH_LENGTH : 1;
  const saved = raw[at]!;
  raw[at] = raw[0]! & 0x0f;
  try {
    return sha256(raw.subarray(at));
  } finally {
    raw[at] = saved;
  }
}

export function truncatedPacketHash(raw: Bytes): Bytes {
  return packetHash(raw).subarray(0, TRUNCATED_HASH_LENGTH);
}

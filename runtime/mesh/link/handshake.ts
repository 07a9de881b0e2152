// Link establishment messages (RNS 1.4.2, RNS/Link.py).
// LINKREQUEST data = initiator X25519 public (32) || initiator Ed25519 public (32) || [signalling (3)].
// LRPROOF data = signature (64) || responder X25519 public (32) || [signalling (3)]; the destination's identity
// signs link id || responder X25519 public || destination Ed25519 public || signalling.
// Signalling is 24 bits big-endian: the mode in the top three bits, the link MTU in the low 21.
// The link id is the truncated hash of the request's hashable part less the signalling bytes, so a transport
// node that clamps the MTU on the way (it rewrites those bytes) leaves the id unchanged.
import { concat, type Bytes } from "../../core/bytes.js";
import { HALF_KEY_LENGTH, SIGNATURE_LENGTH } from "../../core/limits.js";
import { err, ok, type Result } from "../../core/result.js";
import { truncatedHash } from "../../crypto/hashes.js";
import { Context, DestinationType, HeaderType, PacketType, TransportType, packFlags, type Packet } from "../../wire/packet.js";
import { LINK_REQUEST_KEYS_LENGTH, MODE_AES256_CBC, MTU_MASK, SIGNALLING_LENGTH } from "./limits.js";

export interface Signalling {
  mtu: number;
  mode: number;
}

/** The three signalling bytes for `mtu` and `mode` (Link.signalling_bytes). */
export function signallingBytes(mtu: number, mode: number = MODE_AES256_CBC): Bytes {
  if (!Number.isInteger(mtu) || mtu < 0 || mtu > MTU_MASK) throw new RangeError(`link MTU ${mtu} does not fit 21 bits`);
  if (mode !== MODE_AES256_CBC) throw new RangeError(`link mode ${mode} is not enabled`);
  const v = mtu | (mode << 21);
  return Uint8Array.of((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

export function parseSignalling(b: Bytes): Signalling {
  const v = (b[0]! << 16) | (b[1]! << 8) | b[2]!;
  return { mtu: v & MTU_MASK, mode: (b[0]! & 0xe0) >> 5 };
}

/** Link id: truncated hash of flags' low nibble || destination || context || the request's two public keys. */
export function linkIdOf(request: Packet): Bytes {
  const keys = request.data.subarray(0, Math.min(request.data.length, LINK_REQUEST_KEYS_LENGTH));
  return truncatedHash(concat(Uint8Array.of(packFlags(request) & 0x0f), request.destinationHash, Uint8Array.of(request.context), keys));
}

export function buildLinkRequest(destinationHash: Bytes, x25519Public: Bytes, ed25519Public: Bytes, mtu: number): Packet {
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.SINGLE,
    packetType: PacketType.LINKREQUEST,
    hops: 0,
    transportId: null,
    destinationHash,
    context: Context.NONE,
    data: concat(x25519Public, ed25519Public, signallingBytes(mtu)),
  };
}

export interface LinkRequest {
  x25519Public: Bytes;
  ed25519Public: Bytes;
  /** Signalled link MTU, or null for a request without signalling (an older peer: MTU 500). */
  mtu: number | null;
  mode: number;
}

/** Splits LINKREQUEST data; 64 or 67 bytes as Link.validate_request accepts. */
export function parseLinkRequest(data: Bytes): Result<LinkRequest> {
  if (data.length !== LINK_REQUEST_KEYS_LENGTH && data.length !== LINK_REQUEST_KEYS_LENGTH + SIGNALLING_LENGTH) {
    return err("bad-length", `link request of ${data.length} bytes`);
  }
  const s = data.length > LINK_REQUEST_KEYS_LENGTH ? parseSignalling(data.subarray(LINK_REQUEST_KEYS_LENGTH)) : null;
  return ok({
    x25519Public: data.subarray(0, HALF_KEY_LENGTH),
    ed25519Public: data.subarray(HALF_KEY_LENGTH, LINK_REQUEST_KEYS_LENGTH),
    mtu: s === null ? null : s.mtu,
    mode: s === null ? MODE_AES256_CBC : s.mode,
  });
}

/** What the destination identity signs in an LRPROOF. */
export function proofSignedData(linkId: Bytes, responderX25519Public: Bytes, destinationEd25519Public: Bytes, signalling: Bytes): Bytes {
  return concat(linkId, responderX25519Public, destinationEd25519Public, signalling);
}

export function buildLinkProof(linkId: Bytes, signature: Bytes, responderX25519Public: Bytes, signalling: Bytes): Packet {
  return {
    headerType: HeaderType.HEADER_1,
    contextFlag: false,
    transportType: TransportType.BROADCAST,
    destinationType: DestinationType.LINK,
    packetType: PacketType.PROOF,
    hops: 0,
    transportId: null,
    destinationHash: linkId,
    context: Context.LRPROOF,
    data: concat(signature, responderX25519Public, signalling),
  };
}

export interface LinkProof {
  signature: Bytes;
  x25519Public: Bytes;
  /** The signalling bytes as signed (empty for a proof without signalling), and their reading. */
  signalling: Bytes;
  mtu: number | null;
  mode: number;
}

/** Splits LRPROOF data; 96 or 99 bytes as Link.validate_proof accepts. */
export function parseLinkProof(data: Bytes): Result<LinkProof> {
  const base = SIGNATURE_LENGTH + HALF_KEY_LENGTH;
  if (data.length !== base && data.length !== base + SIGNALLING_LENGTH) return err("bad-length", `link proof of ${data.length} bytes`);
  const signalling = data.subarray(base);
  const s = signalling.length > 0 ? parseSignalling(signalling) : null;
  return ok({
    signature: data.subarray(0, SIGNATURE_LENGTH),
    x25519Public: data.subarray(SIGNATURE_LENGTH, base),
    signalling,
    mtu: s === null ? null : s.mtu,
    mode: s === null ? MODE_AES256_CBC : s.mode,
  });
}

// Link MTU signalling as it rides on link requests and link proofs (RNS 1.4.2 Link.py): 3 bytes after the
// 64-byte key material of a link request (or the 96 bytes of signature and key of a link proof), holding
// the path MTU in the low 21 bits and the link mode in the top 3 bits. Transport clamps it when relaying a
// link request onto an interface with a smaller MTU, and needs it to check link proofs it relays.
import { concat, type Bytes } from "../../core/bytes.js";
import { SIGNATURE_LENGTH, TRUNCATED_HASH_LENGTH } from "../../core/limits.js";
import { sha256 } from "../../crypto/hashes.js";
import { hashablePart } from "../../wire/packet.js";

/** Link request key material: X25519 public (32) and Ed25519 public (32). */
export const LINK_KEYS_LENGTH = 64;
export const LINK_MTU_SIZE = 3;
/** The only link mode the reference enables (AES-256-CBC). */
export const LINK_MODE_AES256_CBC = 1;
const MTU_MASK = 0x1fffff;
/** A link proof: signature (64) and the responder's X25519 public key (32), then optional signalling. */
export const LINK_PROOF_LENGTH = SIGNATURE_LENGTH + LINK_KEYS_LENGTH / 2;

export function signallingBytes(mtu: number, mode: number): Bytes | null {
  if (mode !== LINK_MODE_AES256_CBC) return null;
  const v = (mtu & MTU_MASK) + (((mode << 5) & 0xe0) << 16);
  return Uint8Array.of((v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Path MTU signalled by a link request, or null when it carries none. */
export function requestMtu(data: Bytes): number | null {
  if (data.length !== LINK_KEYS_LENGTH + LINK_MTU_SIZE) return null;
  return ((data[64]! << 16) + (data[65]! << 8) + data[66]!) & MTU_MASK;
}

export function requestMode(data: Bytes): number {
  return data.length > LINK_KEYS_LENGTH ? (data[64]! & 0xe0) >> 5 : LINK_MODE_AES256_CBC;
}

export function proofMtu(data: Bytes): number | null {
  if (data.length !== LINK_PROOF_LENGTH + LINK_MTU_SIZE) return null;
  const o = LINK_PROOF_LENGTH;
  return ((data[o]! << 16) + (data[o + 1]! << 8) + data[o + 2]!) & MTU_MASK;
}

export function proofMode(data: Bytes): number {
  return data.length > LINK_PROOF_LENGTH ? data[LINK_PROOF_LENGTH]! >> 5 : LINK_MODE_AES256_CBC;
}

/** Link id of a link request: truncated hash of its hashable part without the trailing MTU signalling. */
export function linkIdOf(raw: Bytes, dataLength: number): Bytes {
  const part = hashablePart(raw);
  const cut = dataLength > LINK_KEYS_LENGTH ? dataLength - LINK_KEYS_LENGTH : 0;
  return sha256(part.subarray(0, part.length - cut)).subarray(0, TRUNCATED_HASH_LENGTH);
}

/** What a link proof's signature covers: link id, responder X25519 key, destination Ed25519 key, signalling. */
export function proofSignedData(linkId: Bytes, proofData: Bytes, destinationPublicKey: Bytes): Bytes | null {
  if (proofData.length !== LINK_PROOF_LENGTH && proofData.length !== LINK_PROOF_LENGTH + LINK_MTU_SIZE) return null;
  let signalling: Bytes = new Uint8Array(0);
  if (proofData.length === LINK_PROOF_LENGTH + LINK_MTU_SIZE) {
    const s = signallingBytes(proofMtu(proofData)!, proofMode(proofData));
    if (s === null) return null;
    signalling = s;
  }
  return concat(linkId, proofData.subarray(SIGNATURE_LENGTH, LINK_PROOF_LENGTH), destinationPublicKey.subarray(32, 64), signalling);
}

// Ratchets: extra X25519 keys a destination rotates and announces, so that traffic to it has forward secrecy.
// ratchet id = SHA-256(ratchet public key)[:10].
import type { Bytes } from "../core/bytes.js";
import { RATCHET_ID_LENGTH, RATCHET_LENGTH } from "../core/limits.js";
import type { RandomSource } from "../core/ports.js";
import { sha256 } from "./hashes.js";
import { rawPublicOf, x25519PrivateKey } from "./keys.js";

export function generateRatchet(random: RandomSource): Bytes {
  return random.bytes(RATCHET_LENGTH);
}

export function ratchetPublicKey(ratchetPrivate: Bytes): Bytes {
  return rawPublicOf(x25519PrivateKey(ratchetPrivate));
}

export function ratchetIdOf(ratchetPublic: Bytes): Bytes {
  return sha256(ratchetPublic).subarray(0, RATCHET_ID_LENGTH);
}

// Link keys (RNS 1.4.2, Link.handshake): X25519 between the two ephemeral keys, then HKDF-SHA256 to 64 bytes
// salted with the link id and no context, which keys the link's one Token (HMAC key 32 || AES-256 key 32).
// The initiator signs with a fresh Ed25519 key; the responder signs with its destination identity's key.
import type { KeyObject } from "node:crypto";
import type { Bytes } from "../../core/bytes.js";
import { HALF_KEY_LENGTH } from "../../core/limits.js";
import type { RandomSource } from "../../core/ports.js";
import { DERIVED_KEY_LENGTH, type Identity } from "../../crypto/identity.js";
import { hkdf } from "../../crypto/hashes.js";
import {
  ed25519PrivateKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  rawPublicOf,
  x25519Exchange,
  x25519PrivateKey,
  x25519PublicKey,
} from "../../crypto/keys.js";

export interface EphemeralX25519 {
  privateKey: KeyObject;
  publicKey: Bytes;
}

/** A fresh X25519 key from 32 random bytes (the reference's X25519PrivateKey.generate()). */
export function ephemeralX25519(random: RandomSource): EphemeralX25519 {
  const privateKey = x25519PrivateKey(random.bytes(HALF_KEY_LENGTH));
  return { privateKey, publicKey: rawPublicOf(privateKey) };
}

/** The 64-byte link key, or null when the peer's key is unusable (low order, refused by OpenSSL). */
export function deriveLinkKey(own: KeyObject, peerX25519Public: Bytes, linkId: Bytes): Bytes | null {
  const peer = x25519PublicKey(peerX25519Public);
  if (peer === null) return null;
  const shared = x25519Exchange(own, peer);
  if (shared === null) return null;
  return hkdf(DERIVED_KEY_LENGTH, shared, linkId, null);
}

/** Signs and checks signatures on a link: the link's own key one way, the peer's the other. */
export interface LinkSigner {
  /** Ed25519 public key (32 bytes) the peer checks our signatures with. */
  readonly publicKey: Bytes;
  sign(message: Bytes): Bytes;
}

/** The initiator's fresh Ed25519 key, from a 32-byte seed (Ed25519PrivateKey.generate()). */
export function ephemeralSigner(random: RandomSource): LinkSigner {
  const key = ed25519PrivateKey(random.bytes(HALF_KEY_LENGTH));
  return { publicKey: rawPublicOf(key), sign: (m) => ed25519Sign(key, m) };
}

/** The responder signs with the Ed25519 half of its destination identity. */
export function identitySigner(owner: Identity): LinkSigner {
  if (!owner.hasPrivateKey) throw new TypeError("the owner identity of a link must hold its private key");
  return { publicKey: owner.signingPublicKey, sign: (m) => owner.sign(m) };
}

export type SignatureCheck = (signature: Bytes, message: Bytes) => boolean;

/** Checks signatures made with a raw Ed25519 public key (the initiator's ephemeral key). */
export function ed25519Check(publicKey: Bytes): SignatureCheck | null {
  const key = ed25519PublicKey(publicKey);
  return key === null ? null : (signature, message) => ed25519Verify(key, signature, message);
}

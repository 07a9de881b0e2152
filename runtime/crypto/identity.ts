// Reticulum identities: X25519 for encryption, Ed25519 for signatures.
// Private key = X25519 private (32) || Ed25519 seed (32); public key = X25519 public (32) || Ed25519 public (32);
// identity hash = SHA-256(public key)[:16]. Encryption to an identity: ephemeral X25519 against the identity's
// (or an announced ratchet's) key, HKDF-SHA256 to 64 bytes salted with the identity hash, then a Token.
import type { KeyObject } from "node:crypto";
import { concat, type Bytes } from "../core/bytes.js";
import { assertLength } from "../core/assert.js";
import { HALF_KEY_LENGTH, PRIVATE_KEY_LENGTH, PUBLIC_KEY_LENGTH, TOKEN_OVERHEAD } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import type { RandomSource } from "../core/ports.js";
import { hkdf, truncatedHash } from "./hashes.js";
import {
  ed25519PrivateKey,
  ed25519PublicKey,
  ed25519Sign,
  ed25519Verify,
  ed25519VerifyAsync,
  rawPublicOf,
  x25519Exchange,
  x25519PrivateKey,
  x25519PublicKey,
} from "./keys.js";
import { tokenDecryptOnce, tokenEncryptOnce } from "./token.js";
import { ratchetIdOf, ratchetPublicKey } from "./ratchet.js";

export const DERIVED_KEY_LENGTH = 64;

export interface EncryptOptions {
  /** Encrypt to this announced ratchet public key instead of the identity's X25519 key. */
  ratchet?: Bytes;
  /** Fixed ephemeral X25519 private key and IV: known-answer tests only. */
  ephemeralPrivateKey?: Bytes;
  iv?: Bytes;
}

export interface Decrypted {
  plaintext: Bytes;
  /** Id of the ratchet that decrypted the token, or null when the identity key did. */
  ratchetId: Bytes | null;
}

export class Identity {
  readonly publicKey: Bytes;
  readonly hash: Bytes;
  readonly #privateKey: Bytes | null;
  #edPublic: KeyObject | null | undefined;
  #xPublic: KeyObject | null | undefined;
  #edPrivate: KeyObject | undefined;
  #xPrivate: KeyObject | undefined;

  private constructor(publicKey: Bytes, privateKey: Bytes | null) {
    this.publicKey = publicKey;
    this.hash = truncatedHash(publicKey);
    this.#privateKey = privateKey;
  }

  static generate(random: RandomSource): Identity {
    return Identity.fromPrivateKey(random.bytes(PRIVATE_KEY_LENGTH));
  }

  static fromPrivateKey(privateKey: Bytes): Identity {
    assertLength(privateKey, PRIVATE_KEY_LENGTH, "identity private key");
    const prv = privateKey.slice();
    const x = x25519PrivateKey(prv.subarray(0, HALF_KEY_LENGTH));
    const ed = ed25519PrivateKey(prv.subarray(HALF_KEY_LENGTH));
    const id = new Identity(concat(rawPublicOf(x), rawPublicOf(ed)), prv);
    id.#xPrivate = x;
    id.#edPrivate = ed;
    return id;
  }

  /** An identity known only by its public key (from an announce or a file). */
  static fromPublicKey(publicKey: Bytes): Identity {
    assertLength(publicKey, PUBLIC_KEY_LENGTH, "identity public key");
    return new Identity(publicKey.slice(), null);
  }

  get hasPrivateKey(): boolean {
    return this.#privateKey !== null;
  }

  get privateKey(): Bytes {
    if (this.#privateKey === null) throw new TypeError("identity holds no private key");
    return this.#privateKey.slice();
  }

  get encryptionPublicKey(): Bytes {
    return this.publicKey.subarray(0, HALF_KEY_LENGTH);
  }

  get signingPublicKey(): Bytes {
    return this.publicKey.subarray(HALF_KEY_LENGTH);
  }

  sign(message: Bytes): Bytes {
    if (this.#edPrivate === undefined) throw new TypeError("identity holds no private key");
    return ed25519Sign(this.#edPrivate, message);
  }

  verify(signature: Bytes, message: Bytes): boolean {
    if (this.#edPublic === undefined) this.#edPublic = ed25519PublicKey(this.signingPublicKey);
    return ed25519Verify(this.#edPublic, signature, message);
  }

  /** As verify, on the thread pool (see ed25519VerifyAsync). */
  verifyAsync(signature: Bytes, message: Bytes): Promise<boolean> {
    if (this.#edPublic === undefined) this.#edPublic = ed25519PublicKey(this.signingPublicKey);
    return ed25519VerifyAsync(this.#edPublic, signature, message);
  }

  /** Encrypts for this identity: ephemeral public key (32) || token. */
  encrypt(plaintext: Bytes, random: RandomSource, options: EncryptOptions = {}): Bytes {
    let target: KeyObject | null;
    if (options.ratchet !== undefined) {
      assertLength(options.ratchet, 32, "ratchet public key");
      target = x25519PublicKey(options.ratchet);
    } else {
      if (this.#xPublic === undefined) this.#xPublic = x25519PublicKey(this.encryptionPublicKey);
      target = this.#xPublic;
    }
    if (target === null) throw new RangeError("encryption key of the identity is unusable");
    const ephemeral = x25519PrivateKey(options.ephemeralPrivateKey ?? random.bytes(HALF_KEY_LENGTH));
    const shared = x25519Exchange(ephemeral, target);
    if (shared === null) throw new RangeError("key exchange with the identity's key failed");
    const key = hkdf(DERIVED_KEY_LENGTH, shared, this.hash);
    return concat(rawPublicOf(ephemeral), tokenEncryptOnce(key, plaintext, random, options.iv));
  }

  /**
   * Decrypts a token sent to this identity. Tries each ratchet private key first (as the reference does);
   * with `enforceRatchets`, the identity key itself is not tried.
   */
  decrypt(data: Bytes, ratchets: readonly Bytes[] = [], enforceRatchets = false): Result<Decrypted> {
    if (this.#xPrivate === undefined) throw new TypeError("identity holds no private key");
    if (data.length <= HALF_KEY_LENGTH + TOKEN_OVERHEAD - 16) return err("too-short", "token too short");
    const peer = x25519PublicKey(data.subarray(0, HALF_KEY_LENGTH));
    if (peer === null) return err("bad-key", "ephemeral key unusable");
    const body = data.subarray(HALF_KEY_LENGTH);
    for (const r of ratchets) {
      const shared = x25519Exchange(x25519PrivateKey(r), peer);
      if (shared === null) continue;
      const res = tokenDecryptOnce(hkdf(DERIVED_KEY_LENGTH, shared, this.hash), body);
      if (res.ok) return ok({ plaintext: res.value, ratchetId: ratchetIdOf(ratchetPublicKey(r)) });
    }
    if (enforceRatchets) return err("bad-mac", "no ratchet decrypted the token");
    const shared = x25519Exchange(this.#xPrivate, peer);
    if (shared === null) return err("bad-key", "key exchange failed");
    const res = tokenDecryptOnce(hkdf(DERIVED_KEY_LENGTH, shared, this.hash), body);
    return res.ok ? ok({ plaintext: res.value, ratchetId: null }) : res;
  }
}

// Reticulum's Token: Fernet without version and timestamp. iv(16) || AES-CBC(PKCS7(plaintext)) || HMAC-SHA256.
// A 64-byte key is HMAC key (32) || AES-256 key (32); a 32-byte key selects AES-128 the same way.
//
// Speed: creating an OpenSSL cipher context costs more than encrypting a packet, and a Token lives as long
// as its key (a link's lifetime). So each Token keeps one CBC encryptor and one decryptor running forever,
// and steers their chaining state: CBC feeds the previous ciphertext block into the next, so XOR-ing the
// first block with (previous block ^ wanted IV) makes the running context compute exactly
// E(P1 ^ IV), E(P2 ^ C1), ... as a fresh context with that IV would. The bytes are identical.
import * as nc from "node:crypto";
import { equalConstantTime, view, type Bytes } from "../core/bytes.js";
import { AES_BLOCK, TOKEN_OVERHEAD } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import type { RandomSource } from "../core/ports.js";
import { hmacSha256 } from "./hashes.js";

const IV_LENGTH = 16;
const MAC_LENGTH = 32;
const ZERO_IV = new Uint8Array(IV_LENGTH);
/** Bytes handed to the cipher at a time for large inputs (a multiple of the block size). */
const ENCRYPT_PIECE = 64 * 1024;

export class Token {
  private readonly signingKey: Bytes;
  private readonly encryptionKey: Bytes;
  private readonly cipher: "aes-128-cbc" | "aes-256-cbc";
  #encryptor: nc.Cipher | null = null;
  #encryptorLast = new Uint8Array(AES_BLOCK);
  #decryptor: nc.Decipher | null = null;
  #decryptorLast = new Uint8Array(AES_BLOCK);

  constructor(key: Bytes) {
    if (key.length === 64) {
      this.cipher = "aes-256-cbc";
      this.signingKey = key.slice(0, 32);
      this.encryptionKey = key.slice(32);
    } else if (key.length === 32) {
      this.cipher = "aes-128-cbc";
      this.signingKey = key.slice(0, 16);
      this.encryptionKey = key.slice(16);
    } else {
      throw new RangeError(`token key must be 32 or 64 bytes, got ${key.length}`);
    }
  }

  /**
   * Encrypts with an IV drawn from `random` (or the given 16-byte IV, for known-answer tests). The plaintext
   * may come in pieces, encrypted as if joined (a resource's random prefix and its data, never copied twice).
   */
  encrypt(plaintext: Bytes | readonly Bytes[], random: RandomSource, fixedIv?: Bytes): Bytes {
    const iv = fixedIv ?? random.bytes(IV_LENGTH);
    if (iv.length !== IV_LENGTH) throw new RangeError("token IV must be 16 bytes");
    const single = plaintext instanceof Uint8Array;
    let length = 0;
    if (single) length = plaintext.length;
    else for (const p of plaintext) length += p.length;
    const pad = AES_BLOCK - (length % AES_BLOCK);
    const out = new Uint8Array(IV_LENGTH + length + pad + MAC_LENGTH);
    out.set(iv, 0);
    const block = out.subarray(IV_LENGTH, IV_LENGTH + length + pad);
    if (single) block.set(plaintext, 0);
    else {
      let at = 0;
      for (const p of plaintext) {
        block.set(p, at);
        at += p.length;
      }
    }
    block.fill(pad, length);
    if (this.#encryptor === null) {
      this.#encryptor = nc.createCipheriv(this.cipher, this.encryptionKey, ZERO_IV).setAutoPadding(false);
      this.#encryptorLast.fill(0);
    }
    const last = this.#encryptorLast;
    for (let i = 0; i < AES_BLOCK; i++) block[i]! ^= iv[i]! ^ last[i]!;
    // Large plaintexts (a resource segment is 1 MiB) go through in pieces, each ciphertext written back over
    // its own plaintext: no second buffer the size of the whole, and the piece is still in cache when copied.
    for (let o = 0; o < block.length; o += ENCRYPT_PIECE) {
      const piece = o === 0 && block.length <= ENCRYPT_PIECE ? block : block.subarray(o, Math.min(o + ENCRYPT_PIECE, block.length));
      const ct = this.#encryptor.update(piece);
      if (ct.length !== piece.length) {
        this.#encryptor = null; // never expected with padding off; start afresh rather than drift
        throw new Error("cipher returned a partial block");
      }
      piece.set(ct);
    }
    last.set(block.subarray(block.length - AES_BLOCK));
    const body = out.subarray(0, IV_LENGTH + block.length);
    out.set(hmacSha256(this.signingKey, body), body.length);
    return out;
  }

  /**
   * Decrypts a token whose bytes the caller owns, writing the plaintext over the ciphertext: the result is a
   * view into `token` (whose bytes are then spoilt, also when the padding turns out bad). A resource segment
   * (1 MiB) needs no second buffer this way. A bad MAC leaves `token` untouched.
   */
  decryptInPlace(token: Bytes): Result<Bytes> {
    if (token.length < TOKEN_OVERHEAD || (token.length - TOKEN_OVERHEAD) % AES_BLOCK !== 0) {
      return err("bad-length", `token of ${token.length} bytes`);
    }
    const body = token.subarray(0, token.length - MAC_LENGTH);
    const mac = token.subarray(token.length - MAC_LENGTH);
    if (!equalConstantTime(mac, hmacSha256(this.signingKey, body))) return err("bad-mac");
    if (body.length === IV_LENGTH) return err("bad-length", "token without ciphertext");
    const ct = body.subarray(IV_LENGTH);
    if (this.#decryptor === null) {
      this.#decryptor = nc.createDecipheriv(this.cipher, this.encryptionKey, ZERO_IV).setAutoPadding(false);
      this.#decryptorLast.fill(0);
    }
    // The chaining steer needs the IV and the last ciphertext block, both about to be overwritten.
    const iv = body.slice(0, IV_LENGTH);
    const lastCt = ct.slice(ct.length - AES_BLOCK);
    for (let o = 0; o < ct.length; o += ENCRYPT_PIECE) {
      const piece = ct.subarray(o, Math.min(o + ENCRYPT_PIECE, ct.length));
      const pt = this.#decryptor.update(piece);
      if (pt.length !== piece.length) {
        this.#decryptor = null;
        return err("bad-length", "cipher returned a partial block");
      }
      piece.set(pt);
    }
    const last = this.#decryptorLast;
    for (let i = 0; i < AES_BLOCK; i++) ct[i]! ^= last[i]! ^ iv[i]!;
    last.set(lastCt);
    return unpad(ct);
  }

  /** Decrypts a token from the wire; a bad MAC or padding is a result, not an exception. */
  decrypt(token: Bytes): Result<Bytes> {
    if (token.length < TOKEN_OVERHEAD || (token.length - TOKEN_OVERHEAD) % AES_BLOCK !== 0) {
      return err("bad-length", `token of ${token.length} bytes`);
    }
    const body = token.subarray(0, token.length - MAC_LENGTH);
    const mac = token.subarray(token.length - MAC_LENGTH);
    if (!equalConstantTime(mac, hmacSha256(this.signingKey, body))) return err("bad-mac");
    if (body.length === IV_LENGTH) return err("bad-length", "token without ciphertext");
    const iv = body.subarray(0, IV_LENGTH);
    const ct = body.subarray(IV_LENGTH);
    if (this.#decryptor === null) {
      this.#decryptor = nc.createDecipheriv(this.cipher, this.encryptionKey, ZERO_IV).setAutoPadding(false);
      this.#decryptorLast.fill(0);
    }
    const padded = view(this.#decryptor.update(ct));
    if (padded.length !== ct.length) {
      this.#decryptor = null;
      return err("bad-length", "cipher returned a partial block");
    }
    const last = this.#decryptorLast;
    for (let i = 0; i < AES_BLOCK; i++) padded[i]! ^= last[i]! ^ iv[i]!;
    last.set(ct.subarray(ct.length - AES_BLOCK));
    return unpad(padded);
  }
}

/**
 * One-shot encryption for a key used once (identity encryption derives a key per message): a plain
 * cipher context with the IV is cheaper than setting up a Token's long-lived contexts.
 */
export function tokenEncryptOnce(key: Bytes, plaintext: Bytes, random: RandomSource, fixedIv?: Bytes): Bytes {
  if (key.length !== 64) return new Token(key).encrypt(plaintext, random, fixedIv);
  const iv = fixedIv ?? random.bytes(IV_LENGTH);
  if (iv.length !== IV_LENGTH) throw new RangeError("token IV must be 16 bytes");
  const c = nc.createCipheriv("aes-256-cbc", key.subarray(32), iv);
  const head = c.update(plaintext);
  const tail = c.final();
  const out = new Uint8Array(IV_LENGTH + head.length + tail.length + MAC_LENGTH);
  out.set(iv, 0);
  out.set(head, IV_LENGTH);
  out.set(tail, IV_LENGTH + head.length);
  const body = out.subarray(0, out.length - MAC_LENGTH);
  out.set(hmacSha256(key.subarray(0, 32), body), body.length);
  return out;
}

/** One-shot decryption, the counterpart of tokenEncryptOnce (same checks as Token.decrypt). */
export function tokenDecryptOnce(key: Bytes, token: Bytes): Result<Bytes> {
  if (key.length !== 64) return new Token(key).decrypt(token);
  if (token.length < TOKEN_OVERHEAD || (token.length - TOKEN_OVERHEAD) % AES_BLOCK !== 0) {
    return err("bad-length", `token of ${token.length} bytes`);
  }
  const body = token.subarray(0, token.length - MAC_LENGTH);
  if (!equalConstantTime(token.subarray(body.length), hmacSha256(key.subarray(0, 32), body))) return err("bad-mac");
  if (body.length === IV_LENGTH) return err("bad-length", "token without ciphertext");
  const d = nc.createDecipheriv("aes-256-cbc", key.subarray(32), body.subarray(0, IV_LENGTH)).setAutoPadding(false);
  const head = d.update(body.subarray(IV_LENGTH));
  const tail = d.final();
  const padded = tail.length === 0 ? view(head) : view(Buffer.concat([head, tail]));
  return unpad(padded);
}

function unpad(padded: Bytes): Result<Bytes> {
  // The reference strips the number of bytes the last byte names and only refuses values above the
  // block size; we refuse 0 and inconsistent padding as well, which no honest sender produces.
  const n = padded[padded.length - 1]!;
  if (n === 0 || n > AES_BLOCK) return err("bad-padding");
  for (let i = padded.length - n; i < padded.length; i++) if (padded[i] !== n) return err("bad-padding");
  return ok(padded.subarray(0, padded.length - n));
}


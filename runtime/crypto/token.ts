// Reticulum's Token: Fernet without version and timestamp. iv(16) || AES-CBC(PKCS7(plaintext)) || HMAC-SHA256.
// A 64-byte key is HMAC key (32) || AES-256 key (32); a 32-byte key selects AES-128 the same way.
import * as nc from "node:crypto";
import { concat, equalConstantTime, view, type Bytes } from "../core/bytes.js";
import { AES_BLOCK, TOKEN_OVERHEAD } from "../core/limits.js";
import { err, ok, type Result } from "../core/result.js";
import type { RandomSource } from "../core/ports.js";
import { hmacSha256 } from "./hashes.js";

const IV_LENGTH = 16;
const MAC_LENGTH = 32;

export class Token {
  private readonly signingKey: Bytes;
  private readonly encryptionKey: Bytes;
  private readonly cipher: "aes-128-cbc" | "aes-256-cbc";

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

  /** Encrypts with an IV drawn from `random` (or the given 16-byte IV, for known-answer tests). */
  encrypt(plaintext: Bytes, random: RandomSource, fixedIv?: Bytes): Bytes {
    const iv = fixedIv ?? random.bytes(IV_LENGTH);
    if (iv.length !== IV_LENGTH) throw new RangeError("token IV must be 16 bytes");
    const c = nc.createCipheriv(this.cipher, this.encryptionKey, iv);
    const body = concat(iv, view(c.update(plaintext)), view(c.final()));
    return concat(body, hmacSha256(this.signingKey, body));
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
    const d = nc.createDecipheriv(this.cipher, this.encryptionKey, body.subarray(0, IV_LENGTH));
    d.setAutoPadding(false);
    const padded = concat(view(d.update(body.subarray(IV_LENGTH))), view(d.final()));
    // The reference strips the number of bytes the last byte names and only refuses values above the
    // block size; we refuse 0 and inconsistent padding as well, which no honest sender produces.
    const n = padded[padded.length - 1]!;
    if (n === 0 || n > AES_BLOCK) return err("bad-padding");
    for (let i = padded.length - n; i < padded.length; i++) if (padded[i] !== n) return err("bad-padding");
    return ok(padded.subarray(0, padded.length - n));
  }
}
